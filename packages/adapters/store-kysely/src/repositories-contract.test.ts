import type { StoreDialect } from '@kaiwa/core';
import { chatStoreRepositoriesContract } from '@kaiwa/core/testing';
import { openTestStore, testSkipReason } from './test-support.js';

// The method-level conformance suite of the repositories, on every database this adapter supports.
for (const dialect of ['sqlite', 'postgres', 'mysql'] satisfies StoreDialect[]) {
  const skip = testSkipReason(dialect);
  chatStoreRepositoriesContract({
    name: dialect,
    open: () => openTestStore(dialect),
    ...(skip ? { skip } : {}),
  });
}
