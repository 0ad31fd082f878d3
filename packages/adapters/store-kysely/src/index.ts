export type {
  ApiKeysTable,
  Defaulted,
  FilesTable,
  KaiwaDatabase,
  KnowledgeChunksTable,
  KnowledgeIndexesTable,
  MembershipsTable,
  MessagesTable,
  PluginJobRunsTable,
  PluginKvTable,
  PluginKvUsageTable,
  ProjectsTable,
  ReactionsTable,
  RefreshTokensTable,
  RoomEventsTable,
  RoomsTable,
  SqlBigInt,
  SqlBoolean,
  TicketsTable,
  UserPasswordsTable,
  UsersTable,
} from './database.js';
export {
  DatabaseAvailability,
  type DatabaseAvailabilityChange,
  type StoreAvailability,
  withDriverErrors,
} from './driver-error-dialect.js';
export { isDatabaseBusy, isDatabaseUnavailable, translateDriverError } from './driver-errors.js';
export { createKyselyChatStore, KyselyChatStore, type KyselyChatStoreOptions } from './kysely-chat-store.js';
export { createKyselyStorage, type KyselyStorage, type KyselyStorageOptions } from './kysely-storage.js';
export { KaiwaMigrationProvider, kaiwaMigrations, migrateToLatest } from './migrations/index.js';
export type { StorageSavepoints } from './modules/composed-storage.js';
export {
  accountStorageModule,
  auditStorageModule,
  chatStorageModule,
  type KyselyStorageModule,
  kaiwaStorageModules,
  knowledgeStorageModule,
  platformStorageModule,
  pluginStorageModule,
  projectStorageModule,
  type RepositoriesOf,
  roomSettingStorageModule,
  workflowStorageModule,
} from './modules/index.js';
export { createMysqlStore, type MysqlStoreConfig } from './mysql.js';
export type { DatabasePoolStatus, PoolStatusReader } from './pool-status.js';
export { createPostgresStore, type PostgresStoreConfig } from './postgres.js';
export type { StoreObservability, StoreQueryEvent, StoreQueryListener } from './query-log.js';
export type { SearchIndexOptions } from './search-index.js';
export { createSqliteStore, type SqliteStoreConfig, type SqliteSynchronous } from './sqlite.js';
