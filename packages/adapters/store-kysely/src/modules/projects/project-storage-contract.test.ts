import { projectStorageContract } from '@kaiwa/core/testing';
import { openTestStorage, testDialects } from '../../test-support.js';
import { chatStorageModule } from '../chat/chat-storage-module.js';
import { projectStorageModule } from './project-storage-module.js';

// The projects module with the chat module it requires, on every database: `ProjectStorage`'s suite.
for (const { dialect, skip } of testDialects) {
  projectStorageContract({
    name: `${dialect}, chat and projects modules`,
    open: () => openTestStorage(dialect, [chatStorageModule, projectStorageModule]),
    ...(skip ? { skip } : {}),
  });
}
