import type {
  AccountRepository,
  AuditRepository,
  BridgeRepository,
  ChatStore,
  FileRecordRepository,
  KnowledgeStorage,
  MembershipRepository,
  MessageRepository,
  PlatformInboxRepository,
  PlatformOutboxRepository,
  PluginInstallationStorage,
  PluginInstallationStore,
  PluginJobRunStore,
  PluginJobStorage,
  PluginKeyValueStore,
  PluginSettingsStorage,
  PluginSettingsStore,
  PluginStorage,
  ProjectRepository,
  ReactionRepository,
  RoomEventRepository,
  RoomRepository,
  RoomSettingRepository,
  StoreDialect,
  StoreRepositories,
  StoreTransaction,
  TicketRepository,
  UserRepository,
  VectorStore,
  WorkflowRepository,
} from '@kaiwa/core';
import type { Kysely } from 'kysely';
import type { KaiwaDatabase } from './database.js';
import { ComposedStorage } from './modules/composed-storage.js';
import { kaiwaStorageModules } from './modules/index.js';
import type { DatabasePoolStatus, PoolStatusReader } from './pool-status.js';
import { PreparedQueries } from './prepared-queries.js';
import type { SearchIndexOptions } from './search-index.js';

export interface KyselyChatStoreOptions {
  /** A kysely instance on one of the supported dialects; the store owns it and destroys it on `close()`. */
  db: Kysely<KaiwaDatabase>;
  /** Which SQL dialect `db` speaks: full-text search, upserts and column types differ per dialect. */
  dialect: StoreDialect;
  /** SQLite only: tuning of the deferred full-text indexer (see `flushSearchIndex`). */
  searchIndex?: SearchIndexOptions;
  /**
   * A kysely instance whose reads go to read replicas (kysely-replication over the same primary); it
   * backs `lagTolerant`. The store destroys it on `close()`.
   */
  replicaDb?: Kysely<KaiwaDatabase>;
  /** Readers of the connection pools under `db` and `replicaDb`, for {@link KyselyChatStore.poolStatus}. */
  pools?: PoolStatusReader[];
}

/**
 * The Kaiwa storage port on kysely, for SQLite, PostgreSQL and MariaDB/MySQL: every storage module
 * (`kaiwaStorageModules`) composed, so it has every repository of `ChatStore` and runs every migration.
 */
export class KyselyChatStore implements ChatStore {
  readonly dialect: StoreDialect;
  readonly users: UserRepository;
  readonly rooms: RoomRepository;
  readonly memberships: MembershipRepository;
  readonly messages: MessageRepository;
  readonly reactions: ReactionRepository;
  readonly roomEvents: RoomEventRepository;
  readonly projects: ProjectRepository;
  readonly tickets: TicketRepository;
  readonly files: FileRecordRepository;
  readonly accounts: AccountRepository;
  readonly roomSettings: RoomSettingRepository;
  readonly workflows: WorkflowRepository;
  readonly platformInbox: PlatformInboxRepository;
  readonly platformOutbox: PlatformOutboxRepository;
  readonly bridges: BridgeRepository;
  readonly audit: AuditRepository;
  /** Knowledge chunks and their vectors, for retrieval (the `knowledge` module). */
  readonly knowledge: VectorStore;
  /** Plugins' key-value storage, quota-checked per plugin (the `plugins` module). */
  readonly pluginKeyValues: PluginKeyValueStore;
  /** Plugins' scheduled job runs, each slot claimed by one instance (the `plugins` module). */
  readonly pluginJobRuns: PluginJobRunStore;
  /** Plugins' settings as admins saved them (the `plugins` module). */
  readonly pluginSettings: PluginSettingsStore;
  /** The installed plugins: version, checksum, whether an admin stopped it (the `plugins` module). */
  readonly pluginInstallations: PluginInstallationStore;
  readonly lagTolerant: StoreRepositories;
  readonly #storage: ComposedStorage<
    StoreRepositories &
      KnowledgeStorage &
      PluginStorage &
      PluginJobStorage &
      PluginSettingsStorage &
      PluginInstallationStorage
  >;
  readonly #replicaDb: Kysely<KaiwaDatabase> | undefined;
  readonly #pools: PoolStatusReader[];

  constructor(options: KyselyChatStoreOptions) {
    this.dialect = options.dialect;
    this.#replicaDb = options.replicaDb;
    this.#pools = options.pools ?? [];
    this.#storage = new ComposedStorage<
      StoreRepositories &
        KnowledgeStorage &
        PluginStorage &
        PluginJobStorage &
        PluginSettingsStorage &
        PluginInstallationStorage
    >({
      db: options.db,
      dialect: options.dialect,
      modules: kaiwaStorageModules,
      searchIndex: options.searchIndex,
    });
    const repositories = this.#storage.repositoriesOn(options.db);
    this.users = repositories.users;
    this.rooms = repositories.rooms;
    this.memberships = repositories.memberships;
    this.messages = repositories.messages;
    this.reactions = repositories.reactions;
    this.roomEvents = repositories.roomEvents;
    this.projects = repositories.projects;
    this.tickets = repositories.tickets;
    this.files = repositories.files;
    this.accounts = repositories.accounts;
    this.roomSettings = repositories.roomSettings;
    this.workflows = repositories.workflows;
    this.platformInbox = repositories.platformInbox;
    this.platformOutbox = repositories.platformOutbox;
    this.bridges = repositories.bridges;
    this.audit = repositories.audit;
    this.knowledge = repositories.knowledge;
    this.pluginKeyValues = repositories.pluginKeyValues;
    this.pluginJobRuns = repositories.pluginJobRuns;
    this.pluginSettings = repositories.pluginSettings;
    this.pluginInstallations = repositories.pluginInstallations;
    this.lagTolerant = options.replicaDb
      ? this.#storage.repositoriesOn(options.replicaDb, new PreparedQueries())
      : (this as StoreRepositories);
  }

  /** The kysely instance underneath, for queries the port does not cover (reports, maintenance). */
  get db(): Kysely<KaiwaDatabase> {
    return this.#storage.db;
  }

  transaction<T>(work: (tx: StoreTransaction) => Promise<T>): Promise<T> {
    return this.#storage.transaction(work);
  }

  /**
   * SQLite writes the search rows of new messages in batches, shortly after they are sent and before any
   * search runs, so searches always see every sent message. This indexes what is pending now (a backup
   * before copying the file, a benchmark that wants the work counted) and returns how many messages it
   * looked at. A no-op on PostgreSQL and MariaDB/MySQL, which index each message as it is written.
   */
  flushSearchIndex(): Promise<number> {
    return this.#storage.flushSearchIndex();
  }

  /**
   * The connection pools' state now: open, idle and waiting, for monitoring. Empty on SQLite (one
   * connection in this process, no pool) and for a store made from a kysely instance of your own.
   */
  poolStatus(): DatabasePoolStatus[] {
    return this.#pools.flatMap((read) => read() ?? []);
  }

  migrate(): Promise<{ applied: string[] }> {
    return this.#storage.migrate();
  }

  close(): Promise<void> {
    return this.#storage.close(this.#replicaDb);
  }
}

/**
 * A store on a kysely instance you configured yourself (your own dialect options, plugins or logging).
 * The factories for each database also tune the connection (SQLite pragmas, utf8mb4 on MariaDB/MySQL);
 * here that is up to you: on SQLite, at least `pragma foreign_keys = ON`.
 *
 * @example
 * import { Kysely, SqliteDialect } from 'kysely';
 * import Database from 'better-sqlite3';
 *
 * const db = new Kysely<KaiwaDatabase>({ dialect: new SqliteDialect({ database: new Database('chat.db') }) });
 * const store = createKyselyChatStore({ db, dialect: 'sqlite' });
 * await store.migrate();
 */
export function createKyselyChatStore(options: KyselyChatStoreOptions): KyselyChatStore {
  return new KyselyChatStore(options);
}
