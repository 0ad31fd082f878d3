import type { StoreDialect } from '@kaiwa/core';
import { chatStoreContract } from '@kaiwa/core/testing';
import { openTestStore, testSkipReason } from './test-support.js';

// The shared storage conformance suite, on every database this adapter supports.
for (const dialect of ['sqlite', 'postgres', 'mysql'] satisfies StoreDialect[]) {
  const skip = testSkipReason(dialect);
  chatStoreContract({ name: dialect, open: () => openTestStore(dialect), ...(skip ? { skip } : {}) });
}
