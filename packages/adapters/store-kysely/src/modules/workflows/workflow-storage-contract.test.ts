import { workflowRepositoryContract } from '@kaiwa/workflow/testing';
import { openTestStore, testDialects } from '../../test-support.js';

// `WorkflowStorage`'s conformance suite on every database. Its options ask for a whole `ChatStore`, so it
// runs on the store of every module rather than on the workflows module alone.
for (const { dialect, skip } of testDialects) {
  workflowRepositoryContract({
    name: dialect,
    open: () => openTestStore(dialect),
    ...(skip ? { skip } : {}),
  });
}
