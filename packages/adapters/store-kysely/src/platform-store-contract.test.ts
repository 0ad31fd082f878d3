import type { StoreDialect } from '@kaiwa/core';
import { platformStoreContract } from '@kaiwa/platform-queues/testing';
import { openTestStore, testSkipReason } from './test-support.js';

// The platform storage conformance suite (inbox, outbox, bridge mappings), on every supported database.
for (const dialect of ['sqlite', 'postgres', 'mysql'] satisfies StoreDialect[]) {
  const skip = testSkipReason(dialect);
  platformStoreContract({ name: dialect, open: () => openTestStore(dialect), ...(skip ? { skip } : {}) });
}
