import { chatStorageContract } from '@kaiwa/core/testing';
import { openTestStorage, testDialects } from '../../test-support.js';
import { chatStorageModule } from './chat-storage-module.js';

// The chat module on its own, on every database: `ChatStorage`'s conformance suite, method by method.
for (const { dialect, skip } of testDialects) {
  chatStorageContract({
    name: `${dialect}, chat module only`,
    open: () => openTestStorage(dialect, [chatStorageModule]),
    ...(skip ? { skip } : {}),
  });
}
