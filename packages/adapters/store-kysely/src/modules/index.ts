import { accountStorageModule } from './accounts/account-storage-module.js';
import { auditStorageModule } from './audit/audit-storage-module.js';
import { chatStorageModule } from './chat/chat-storage-module.js';
import { knowledgeStorageModule } from './knowledge/knowledge-storage-module.js';
import { platformStorageModule } from './platform/platform-storage-module.js';
import { pluginStorageModule } from './plugins/plugin-storage-module.js';
import { projectStorageModule } from './projects/project-storage-module.js';
import { roomSettingStorageModule } from './room-settings/room-setting-storage-module.js';
import { workflowStorageModule } from './workflows/workflow-storage-module.js';

export {
  checkStorageModules,
  composedMigrations,
  type KyselyStorageModule,
  type RepositoriesOf,
} from './storage-module.js';
export {
  accountStorageModule,
  auditStorageModule,
  chatStorageModule,
  knowledgeStorageModule,
  platformStorageModule,
  pluginStorageModule,
  projectStorageModule,
  roomSettingStorageModule,
  workflowStorageModule,
};

/** Every storage module: what `createKyselyChatStore` composes, one module per storage port of core. */
export const kaiwaStorageModules = [
  chatStorageModule,
  projectStorageModule,
  accountStorageModule,
  roomSettingStorageModule,
  workflowStorageModule,
  platformStorageModule,
  auditStorageModule,
  knowledgeStorageModule,
  pluginStorageModule,
] as const;
