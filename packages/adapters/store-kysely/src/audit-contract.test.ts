import type { StoreDialect } from '@kaiwa/core';
import { auditRepositoryContract } from '@kaiwa/core/testing';
import { openTestStore, testSkipReason } from './test-support.js';

// The audit log conformance suite, on every database this adapter supports.
for (const dialect of ['sqlite', 'postgres', 'mysql'] satisfies StoreDialect[]) {
  const skip = testSkipReason(dialect);
  auditRepositoryContract({
    name: dialect,
    open: () => openTestStore(dialect),
    ...(skip ? { skip } : {}),
  });
}
