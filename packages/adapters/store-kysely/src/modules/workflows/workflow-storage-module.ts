import type { WorkflowStorage } from '@kaiwa/core';
import { defineKyselyStorageModule } from '../storage-module.js';
import { workflowsMigration } from './migrations/0004-workflows.js';
import { KyselyWorkflowRepository } from './workflow-repository.js';

/**
 * `WorkflowStorage`: workflow definitions, runs, step records and webhook deliveries (`@kaiwa/workflow`).
 * Its tables have no foreign keys into other modules' tables (run actors are user ids), so it needs no
 * other module.
 *
 * @example
 * const storage = createKyselyStorage({ db, dialect, modules: [workflowStorageModule] });
 */
export const workflowStorageModule = defineKyselyStorageModule({
  name: 'workflows',
  migrations: (dialect) => ({ '0004_workflows': workflowsMigration(dialect) }),
  repositories: (context): WorkflowStorage => ({ workflows: new KyselyWorkflowRepository(context) }),
});
