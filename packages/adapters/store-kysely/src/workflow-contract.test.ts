import type { StoreDialect } from '@kaiwa/core';
import { workflowRepositoryContract } from '@kaiwa/workflow/testing';
import { openTestStore, testSkipReason } from './test-support.js';

// The workflow repository conformance suite, on every database this adapter supports.
for (const dialect of ['sqlite', 'postgres', 'mysql'] satisfies StoreDialect[]) {
  const skip = testSkipReason(dialect);
  workflowRepositoryContract({
    name: dialect,
    open: () => openTestStore(dialect),
    ...(skip ? { skip } : {}),
  });
}
