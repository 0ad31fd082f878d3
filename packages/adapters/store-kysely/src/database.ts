import type { ColumnType } from 'kysely';

/*
 * Table types as the database holds them: snake_case columns, timestamps as ISO strings, JSON as text.
 * Values differ a little per dialect (PostgreSQL has real booleans and returns bigint as a string), so
 * those columns admit every shape and the repositories normalise them on read.
 */

/** `boolean` on PostgreSQL, `0`/`1` on SQLite and MariaDB/MySQL. */
export type SqlBoolean = boolean | number;

/** A bigint column: PostgreSQL returns it as a string, the other drivers as a number. */
export type SqlBigInt = ColumnType<number | string, number, number>;

/** A column the database fills in when an insert leaves it out. */
export type Defaulted<T> = ColumnType<T, T | undefined, T>;

export interface UsersTable {
  id: string;
  username: string;
  display_name: string;
  role: string;
  force_password_change: SqlBoolean;
  created_at: string;
  updated_at: string;
  /** Set while the account is deactivated (migration 0006). */
  deactivated_at: string | null;
}

export interface RoomsTable {
  id: string;
  kind: string;
  name: string | null;
  /** Both user ids of a direct room, sorted and joined with `:`; null for other rooms. */
  direct_key: string | null;
  topic: string;
  archived: SqlBoolean;
  created_by: string;
  last_seq: SqlBigInt;
  created_at: string;
  updated_at: string;
}

export interface MembershipsTable {
  room_id: string;
  user_id: string;
  role: string;
  last_read_message_id: string | null;
  muted: SqlBoolean;
  joined_at: string;
}

export interface MessagesTable {
  /** SQLite only: a stable integer key that links the row to its FTS5 search row. */
  row_id: ColumnType<number, never, never>;
  id: string;
  room_id: string;
  author_id: string;
  /** Sequence number of the room event that created the message. */
  seq: number;
  text: string;
  /** JSON of `Mentions`. */
  mentions: string;
  thread_root_id: string | null;
  reply_to_id: string | null;
  /** JSON of `Attachment[]`. */
  attachments: string;
  reply_count: number;
  last_reply_at: string | null;
  client_message_id: string | null;
  /** JSON of `Metadata`. */
  metadata: string;
  created_at: string;
  edited_at: string | null;
  deleted_at: string | null;
  /** PostgreSQL only: the search document as a tsvector. */
  search_vector: Defaulted<string>;
  /** MariaDB/MySQL only: the search document with every term hex-encoded, under a FULLTEXT index. */
  search_text: Defaulted<string>;
}

export interface ReactionsTable {
  message_id: string;
  emoji: string;
  user_id: string;
  created_at: string;
}

export interface RoomSettingsTable {
  room_id: string;
  key: string;
  /** JSON of the value. */
  value: string;
  updated_at: string;
}

export interface RoomEventsTable {
  room_id: string;
  seq: SqlBigInt;
  type: string;
  /** JSON of the event payload. */
  payload: string;
  created_at: string;
}

export interface ProjectsTable {
  id: string;
  name: string;
  description: string;
  status: string;
  owner_id: string;
  created_at: string;
  updated_at: string;
}

export interface TicketsTable {
  id: string;
  project_id: string;
  title: string;
  description: string;
  status: string;
  priority: string;
  reporter_id: string;
  assignee_id: string | null;
  due_date: string | null;
  /** JSON of `string[]`. */
  labels: string;
  created_at: string;
  updated_at: string;
}

export interface FilesTable {
  id: string;
  name: string;
  mime_type: string;
  size: SqlBigInt;
  sha256: string;
  storage_key: string;
  uploader_id: string;
  room_id: string | null;
  project_id: string | null;
  ticket_id: string | null;
  created_at: string;
}

/** Password hashes live apart from users, so a user row never carries a secret. */
export interface UserPasswordsTable {
  user_id: string;
  password_hash: string;
  updated_at: string;
}

export interface RefreshTokensTable {
  id: string;
  user_id: string;
  /** SHA-256 hex of the token. */
  token_hash: string;
  family_id: string;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
}

export interface ApiKeysTable {
  id: string;
  user_id: string;
  name: string;
  /** SHA-256 hex of the key. */
  key_hash: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

/** `0005_platform_bridge`: inbound platform events, handled once per consumer. */
export interface PlatformInboxTable {
  id: string;
  consumer: string;
  platform: string;
  event_id: string;
  /** JSON of the event. */
  event: string;
  status: string;
  attempts: number;
  available_at: string;
  last_error: string | null;
  received_at: string;
  finished_at: string | null;
}

/** `0005_platform_bridge`: outbound platform calls waiting for delivery. */
export interface PlatformOutboxTable {
  id: string;
  consumer: string;
  idempotency_key: string;
  platform: string;
  target: string;
  operation: string;
  /** JSON of the payload. */
  payload: string;
  /** JSON of the consumer's meta. */
  meta: string;
  status: string;
  attempts: number;
  available_at: string;
  last_error: string | null;
  /** JSON of the delivery result. */
  result: string | null;
  created_at: string;
  finished_at: string | null;
}

export interface BridgeEndpointsTable {
  bridge_id: string;
  platform: string;
  channel_id: string;
  created_at: string;
}

export interface BridgeMessagesTable {
  bridge_id: string;
  group_id: string;
  platform: string;
  channel_id: string;
  message_id: string;
  thread_id: string | null;
  role: string;
  created_at: string;
}

/** One version of a workflow definition. */
export interface WorkflowDefinitionsTable {
  id: string;
  version: number;
  name: string;
  /** JSON of the `WorkflowDefinition`. */
  definition: string;
  created_by: string;
  created_at: string;
}

export interface WorkflowRunsTable {
  id: string;
  workflow_id: string;
  workflow_version: number;
  status: string;
  actor_id: string;
  /** JSON of what started the run. */
  trigger_payload: string;
  /** JSON of `WorkflowErrorInfo`. */
  error: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  updated_at: string;
  claimed_by: string | null;
  claimed_until: string | null;
}

export interface WorkflowStepsTable {
  run_id: string;
  step_id: string;
  position: number;
  type: string;
  status: string;
  attempts: number;
  /** JSON of the step's output. */
  output: string | null;
  /** JSON of `WorkflowErrorInfo`. */
  error: string | null;
  started_at: string | null;
  finished_at: string | null;
  updated_at: string;
}

/** Accepted webhook deliveries, so a replayed one is refused. */
export interface WorkflowWebhookDeliveriesTable {
  workflow_id: string;
  delivery_id: string;
  received_at: string;
}

/** The audit log (migration 0007): append-only, each row chained to the one before by its hash. */
export interface AuditLogTable {
  seq: number;
  id: string;
  at: string;
  actor_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  outcome: string;
  request_id: string | null;
  remote_address: string | null;
  /** JSON of the details. */
  details: string;
  previous_hash: string;
  hash: string;
}

/** One row (id 1): the newest seq and hash, locked by every append so appends happen one at a time. */
export interface AuditChainHeadTable {
  id: number;
  seq: number;
  hash: string;
}

/** A plugin's key-value entry (`0010_plugin_storage`). */
export interface PluginKvTable {
  plugin_id: string;
  /** VARBINARY on MariaDB/MySQL, which hands it back as bytes of UTF-8. */
  key: ColumnType<string | Uint8Array, string, string>;
  /** JSON of the value. */
  value: string;
  /** UTF-8 bytes of the key plus the JSON: what the entry counts against the plugin's quota. */
  bytes: SqlBigInt;
}

/** A plugin's storage usage, the row its writes lock (`0010_plugin_storage`). */
export interface PluginKvUsageTable {
  plugin_id: string;
  bytes: SqlBigInt;
}

/** A claimed run of a plugin's scheduled job (`0011_plugin_job_runs`). */
export interface PluginJobRunsTable {
  plugin_id: string;
  job: string;
  /** ISO 8601, the slot's time. */
  scheduled_at: string;
  instance_id: string;
  /** `running`, `done` or `failed`. */
  status: string;
  claimed_at: string;
  finished_at: string | null;
  duration_ms: ColumnType<number | string | null, number | null, number | null>;
  reason: string | null;
}

/** An installed plugin (`0012_plugin_installations`). */
export interface PluginInstallationsTable {
  plugin_id: string;
  version: string;
  enabled: SqlBoolean;
  /** SHA-256 hex of the tarball installed; null for a folder placed by hand. */
  sha256: string | null;
  installed_at: string;
  updated_at: string;
}

/** A plugin's settings as an admin saved them (`0013_plugin_settings`). */
export interface PluginSettingsTable {
  plugin_id: string;
  /** JSON object of the values, by setting key. */
  settings: string;
  updated_at: string;
  /** The admin's user id; null for the system. */
  updated_by: string | null;
}

/** The schema `0001_initial` creates, as kysely sees it. */
/** A vector index of the knowledge module: one embedding model, one dimension. */
export interface KnowledgeIndexesTable {
  name: string;
  model: string;
  dimensions: number;
  created_at: string;
}

/**
 * A knowledge chunk with its vector: `embedding` is the vector as little-endian float32 bytes on every
 * database; on PostgreSQL with pgvector, `embedding_vector` (added when pgvector is first used) holds it too.
 */
export interface KnowledgeChunksTable {
  index_name: string;
  id: string;
  source_type: string;
  source_id: string;
  room_id: string | null;
  project_id: string | null;
  file_id: string | null;
  page: number | null;
  text: string;
  metadata: string;
  embedding: Uint8Array;
  /** PostgreSQL with pgvector only: added on first use, not by a migration. */
  embedding_vector?: string | null;
  /** SQLite only: the chunk's row in the `knowledge_search` FTS5 table. */
  search_row?: number | null;
  /** PostgreSQL only: the chunk's search terms (see search-syntax.ts). */
  search_vector?: string;
  /** MariaDB/MySQL only: the chunk's search terms as hex words (see search-syntax.ts). */
  search_text?: string | null;
}

export interface KaiwaDatabase {
  users: UsersTable;
  rooms: RoomsTable;
  memberships: MembershipsTable;
  messages: MessagesTable;
  reactions: ReactionsTable;
  room_events: RoomEventsTable;
  room_settings: RoomSettingsTable;
  projects: ProjectsTable;
  tickets: TicketsTable;
  files: FilesTable;
  user_passwords: UserPasswordsTable;
  refresh_tokens: RefreshTokensTable;
  api_keys: ApiKeysTable;
  workflow_definitions: WorkflowDefinitionsTable;
  workflow_runs: WorkflowRunsTable;
  workflow_steps: WorkflowStepsTable;
  workflow_webhook_deliveries: WorkflowWebhookDeliveriesTable;
  platform_inbox: PlatformInboxTable;
  platform_outbox: PlatformOutboxTable;
  bridge_endpoints: BridgeEndpointsTable;
  bridge_messages: BridgeMessagesTable;
  audit_log: AuditLogTable;
  audit_chain_head: AuditChainHeadTable;
  knowledge_indexes: KnowledgeIndexesTable;
  knowledge_chunks: KnowledgeChunksTable;
  plugin_kv: PluginKvTable;
  plugin_kv_usage: PluginKvUsageTable;
  plugin_job_runs: PluginJobRunsTable;
  plugin_settings: PluginSettingsTable;
  plugin_installations: PluginInstallationsTable;
}
