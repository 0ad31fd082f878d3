import { accountStorageContract } from '@kaiwa/core/testing';
import { openTestStorage, testDialects } from '../../test-support.js';
import { chatStorageModule } from '../chat/chat-storage-module.js';
import { accountStorageModule } from './account-storage-module.js';

// The accounts module with the chat module it requires, on every database: `AccountStorage`'s suite.
for (const { dialect, skip } of testDialects) {
  accountStorageContract({
    name: `${dialect}, chat and accounts modules`,
    open: () => openTestStorage(dialect, [chatStorageModule, accountStorageModule]),
    ...(skip ? { skip } : {}),
  });
}
