import { platformStoreContract } from '@kaiwa/platform-queues/testing';
import { openTestStore, testDialects } from '../../test-support.js';

// `PlatformStorage`'s conformance suite (inbox, outbox, bridge mappings) on every database. Its options ask
// for a whole `ChatStore`, so it runs on the store of every module rather than on the platform module alone.
for (const { dialect, skip } of testDialects) {
  platformStoreContract({ name: dialect, open: () => openTestStore(dialect), ...(skip ? { skip } : {}) });
}
