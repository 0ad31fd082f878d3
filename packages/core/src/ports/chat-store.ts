import type { FileRecord } from '../schemas/file-record.js';
import type { Attachment, Mentions, Message } from '../schemas/message.js';
import type { Project, ProjectStatus, Ticket, TicketPriority, TicketStatus } from '../schemas/project.js';
import type { Membership, Room } from '../schemas/room.js';
import type { RoomEvent } from '../schemas/room-event.js';
import type { User, UserRole } from '../schemas/user.js';
import type { AccountRepository } from './account-repository.js';
import type { AuditRepository } from './audit-repository.js';
import type {
  BridgeRepository,
  PlatformInboxRepository,
  PlatformOutboxRepository,
} from './platform-store.js';
import type { RoomSettingRepository } from './room-setting-repository.js';
import type { WorkflowRepository } from './workflow-repository.js';

/*
 * Storage ports. The engine validates input and checks permissions; repositories only read and write.
 * A repository method that violates a uniqueness rule throws ConflictError (naming the field); one that
 * targets a missing row is a no-op unless its doc says otherwise. Lists are keyset-paginated by id (ULIDs)
 * and come back in ascending id order unless stated.
 */

export interface UserRepository {
  /** @throws ConflictError with field `username` when the name is taken. */
  insert(user: User): Promise<void>;
  findById(id: string): Promise<User | undefined>;
  findByUsername(username: string): Promise<User | undefined>;
  /** Users whose username is in the list; unknown names are left out. */
  findByUsernames(usernames: string[]): Promise<User[]>;
  findByIds(ids: string[]): Promise<User[]>;
  /** Users by id; deactivated ones only with `includeDeactivated`. */
  list(query: {
    role?: UserRole;
    after?: string;
    limit: number;
    includeDeactivated?: boolean;
  }): Promise<User[]>;
  count(): Promise<number>;
  /** `deactivatedAt: null` reactivates. */
  update(
    id: string,
    patch: Partial<Pick<User, 'displayName' | 'role' | 'forcePasswordChange' | 'updatedAt'>> & {
      deactivatedAt?: string | null;
    },
  ): Promise<void>;
}

export interface RoomRepository {
  /**
   * @param directKey for direct rooms: the two user ids sorted and joined with `:`; unique.
   * Names are unique among channels only: groups may share a name with each other and with a channel.
   * @throws ConflictError with field `name` (a channel name taken by another channel) or `directKey`.
   */
  insert(room: Room, directKey?: string): Promise<void>;
  findById(id: string): Promise<Room | undefined>;
  /** The channel of that name, else the oldest group of that name. */
  findByName(name: string): Promise<Room | undefined>;
  findDirect(directKey: string): Promise<Room | undefined>;
  /** Public channels, for browsing and joining. */
  listChannels(query: { after?: string; limit: number; includeArchived?: boolean }): Promise<Room[]>;
  /**
   * Ids of the rooms the user belongs to and, with `includeChannels`, of every channel (archived ones
   * too), each once, in no particular order: what the user may read, without loading the rows.
   *
   * @example
   * const roomIds = await store.rooms.listReadableIds(alice.id, { includeChannels: alice.role !== 'guest' });
   */
  listReadableIds(userId: string, query: { includeChannels: boolean }): Promise<string[]>;
  /** @throws ConflictError with field `name` when renaming a channel onto another channel's name. */
  update(id: string, patch: Partial<Pick<Room, 'name' | 'topic' | 'archived' | 'updatedAt'>>): Promise<void>;
  /**
   * Adds one to the room's `lastSeq` and returns the new value. Call inside a transaction: the row stays
   * locked until commit, so sequence numbers are gap-free and in commit order.
   */
  nextSeq(roomId: string): Promise<number>;
}

export interface MembershipRepository {
  /** @throws ConflictError with field `userId` when already a member. */
  insert(membership: Membership): Promise<void>;
  find(roomId: string, userId: string): Promise<Membership | undefined>;
  /**
   * The room and the user's membership of it (undefined when not a member) in one read, as the engine's
   * permission checks need them on every call that names a room; undefined when there is no such room.
   *
   * @example
   * const found = await store.memberships.findWithRoom(roomId, alice.id);
   * if (found && !found.room.archived && found.membership) console.log('alice may post');
   */
  findWithRoom(
    roomId: string,
    userId: string,
  ): Promise<{ room: Room; membership: Membership | undefined } | undefined>;
  listByRoom(roomId: string, query: { after?: string; limit: number }): Promise<Membership[]>;
  /** The rooms a user belongs to, with the membership, in room id order. */
  listByUser(userId: string): Promise<{ room: Room; membership: Membership }[]>;
  update(
    roomId: string,
    userId: string,
    patch: Partial<Pick<Membership, 'role' | 'lastReadMessageId' | 'muted'>>,
  ): Promise<void>;
  delete(roomId: string, userId: string): Promise<void>;
  countByRoom(roomId: string): Promise<number>;
}

/** What the store keeps of a message; reactions are stored apart and joined in on read. */
export type StoredMessage = Omit<Message, 'reactions'>;

export interface MessagePageQuery {
  roomId: string;
  /** Replies of this thread; absent: the room timeline (messages without a thread root). */
  threadRootId?: string;
  /** Exclusive cursors; at most one is set. */
  before?: string;
  after?: string;
  /** The store returns up to `limit` rows; ask for one more than you show to learn whether more exist. */
  limit: number;
}

export interface MessageSearchQuery {
  /** The reader: only messages in rooms they belong to, and public channels when `includeChannels`. */
  readerId: string;
  includeChannels: boolean;
  roomId?: string;
  /** The user's words; the store tokenises them with `searchTerms` from core. */
  text: string;
  before?: string;
  limit: number;
}

export interface MessageRepository {
  /**
   * Inserts unless the author already has a message with this clientMessageId.
   * @returns 'duplicate' (and writes nothing) when `(authorId, clientMessageId)` exists.
   */
  insert(message: StoredMessage): Promise<'inserted' | 'duplicate'>;
  findById(id: string): Promise<Message | undefined>;
  findByClientMessageId(authorId: string, clientMessageId: string): Promise<Message | undefined>;
  findByIds(ids: string[]): Promise<Message[]>;
  /** Newest first when `before` or no cursor is given; oldest first for `after`. Deleted messages included. */
  page(query: MessagePageQuery): Promise<Message[]>;
  update(
    id: string,
    patch: Partial<
      Pick<StoredMessage, 'text' | 'mentions' | 'attachments' | 'metadata' | 'editedAt' | 'deletedAt'>
    >,
  ): Promise<void>;
  /** Counts one more reply on a thread root. */
  recordReply(rootId: string, at: string): Promise<void>;
  /** Newest first; deleted messages never match. */
  search(query: MessageSearchQuery): Promise<Message[]>;
  /** Live timeline messages in the room newer than `afterId` (all when null) not written by `excludeAuthorId`. */
  countUnread(roomId: string, afterId: string | null, excludeAuthorId: string): Promise<number>;
  /**
   * Unread counts of every room the user belongs to, in one query: live timeline messages by others newer
   * than the user's read marker there. Rooms with nothing unread may be left out.
   */
  countUnreadByRoom(userId: string): Promise<Map<string, number>>;
  /**
   * Unread mentions of the user in every room they belong to, in one query: messages by others newer than
   * the user's read marker there (thread replies included) that name the user, `@room` or `@here`. Deleted
   * messages never count; rooms without any may be left out.
   */
  countUnreadMentionsByRoom(userId: string): Promise<Map<string, number>>;
  /**
   * Unread mentions of the user in one room, counted as {@link countUnreadMentionsByRoom} counts them; 0 when
   * the user is not a member. Reads only that room's messages, not every room's.
   *
   * @example
   * const mentionCount = await store.messages.countUnreadMentions(alice.id, room.id);
   */
  countUnreadMentions(userId: string, roomId: string): Promise<number>;
}

export interface ReactionRepository {
  /** @returns false when this user already reacted with this emoji (nothing written). */
  add(reaction: { messageId: string; userId: string; emoji: string; createdAt: string }): Promise<boolean>;
  /** @returns false when there was no such reaction. */
  remove(reaction: { messageId: string; userId: string; emoji: string }): Promise<boolean>;
}

export interface RoomEventRepository {
  append(event: RoomEvent): Promise<void>;
  /** Events with `seq > afterSeq`, in sequence order, at most `limit`. */
  listSince(roomId: string, afterSeq: number, limit: number): Promise<RoomEvent[]>;
}

export interface ProjectRepository {
  insert(project: Project): Promise<void>;
  findById(id: string): Promise<Project | undefined>;
  list(query: {
    status?: ProjectStatus;
    ownerId?: string;
    after?: string;
    limit: number;
  }): Promise<Project[]>;
  /** Every project's id, in id order, without loading the rows. */
  listIds(): Promise<string[]>;
  update(id: string, patch: Partial<Omit<Project, 'id' | 'createdAt'>>): Promise<void>;
}

export interface TicketRepository {
  insert(ticket: Ticket): Promise<void>;
  findById(id: string): Promise<Ticket | undefined>;
  list(query: {
    projectId?: string;
    status?: TicketStatus;
    priority?: TicketPriority;
    assigneeId?: string;
    dueBefore?: string;
    after?: string;
    limit: number;
  }): Promise<Ticket[]>;
  update(
    id: string,
    patch: Partial<Omit<Ticket, 'id' | 'projectId' | 'reporterId' | 'createdAt'>>,
  ): Promise<void>;
  /**
   * The oldest ticket of the project that carries exactly `label` (case-sensitive); workflow steps find the
   * ticket they created before a retry this way.
   *
   * @example
   * const earlier = await store.tickets.findByLabel(projectId, 'workflow-3f9c0a1b2c3d4e5f60718293');
   */
  findByLabel(projectId: string, label: string): Promise<Ticket | undefined>;
}

export interface FileRecordRepository {
  insert(file: FileRecord): Promise<void>;
  findById(id: string): Promise<FileRecord | undefined>;
  findByIds(ids: string[]): Promise<FileRecord[]>;
  /** `mimeType` is exact (`image/png`) or a prefix wildcard (`image/*`). */
  list(query: {
    roomId?: string;
    projectId?: string;
    ticketId?: string;
    mimeType?: string;
    after?: string;
    limit: number;
  }): Promise<FileRecord[]>;
  delete(id: string): Promise<void>;
}

/*
 * The repositories grouped by the feature they serve: the storage modules a store is made of. `ChatStore`
 * composes them all today; each group has its own conformance suite (core's `chatStorageContract`,
 * `projectStorageContract`, `accountStorageContract` and `auditRepositoryContract`, `@kaiwa/workflow`'s
 * `workflowRepositoryContract`, `@kaiwa/platform-queues`' `platformStoreContract`).
 */

/** Chat: users, rooms, memberships, messages with their reactions and search, and each room's event log. */
export interface ChatStorage {
  users: UserRepository;
  rooms: RoomRepository;
  memberships: MembershipRepository;
  messages: MessageRepository;
  reactions: ReactionRepository;
  roomEvents: RoomEventRepository;
}

/** Projects and their tickets, and the records of uploaded files (linked to a room, project or ticket). */
export interface ProjectStorage {
  projects: ProjectRepository;
  tickets: TicketRepository;
  files: FileRecordRepository;
}

/** Sign-in: password hashes, refresh tokens and API keys. */
export interface AccountStorage {
  accounts: AccountRepository;
}

/** Per-room settings of features, such as the assistant's. */
export interface RoomSettingStorage {
  roomSettings: RoomSettingRepository;
}

/** Workflow definitions, runs and step records (`@kaiwa/workflow`). */
export interface WorkflowStorage {
  workflows: WorkflowRepository;
}

/** The platform inbox and outbox and the bridge's links and mappings (`@kaiwa/platform-queues`). */
export interface PlatformStorage {
  platformInbox: PlatformInboxRepository;
  platformOutbox: PlatformOutboxRepository;
  bridges: BridgeRepository;
}

/** The append-only, hash-chained audit log. */
export interface AuditStorage {
  audit: AuditRepository;
}

/** Every repository, bound to one connection or one transaction: every storage module, composed. */
export interface StoreRepositories
  extends ChatStorage,
    ProjectStorage,
    AccountStorage,
    RoomSettingStorage,
    WorkflowStorage,
    PlatformStorage,
    AuditStorage {}

/** The repositories of one open transaction, plus savepoints inside it. */
export interface StoreTransaction extends StoreRepositories {
  /**
   * Runs `work` inside a savepoint: when it throws, only its writes are rolled back and the error is
   * rethrown; the transaction goes on. This is what lets several independent changes share one commit.
   *
   * @example
   * await store.transaction(async (tx) => {
   *   for (const job of jobs) await tx.savepoint(() => job(tx)).catch((error) => failures.push(error));
   * });
   */
  savepoint<T>(work: () => Promise<T>): Promise<T>;
}

export type StoreDialect = 'sqlite' | 'postgres' | 'mysql';

/**
 * The storage port. Implementations: `@kaiwa/store-kysely` (SQLite, PostgreSQL, MariaDB/MySQL).
 *
 * @example
 * const store = createSqliteStore({ filename: ':memory:' });
 * await store.migrate();
 * await store.transaction(async (tx) => { await tx.users.insert(user); });
 */
export interface ChatStore extends StoreRepositories {
  readonly dialect: StoreDialect;
  /**
   * The same repositories for reads that may lag a little behind the newest commit: old history pages,
   * search, directory listings. They are served by read replicas where the store has them (the store
   * itself otherwise); writes through them still go to the primary. Never read through them what the
   * caller has just written: that is what the store itself is for.
   *
   * @example const older = await store.lagTolerant.messages.page({ roomId, before, limit: 51 });
   */
  readonly lagTolerant: StoreRepositories;
  /** Runs `work` in one transaction: it commits when `work` resolves and rolls back when it throws. */
  transaction<T>(work: (tx: StoreTransaction) => Promise<T>): Promise<T>;
  /** Brings the schema to the newest version; running it again is a no-op. */
  migrate(): Promise<{ applied: string[] }>;
  /** Closes connections; the store is unusable afterwards. */
  close(): Promise<void>;
}

export type { Attachment, Mentions };
