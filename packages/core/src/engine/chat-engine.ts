import { EventEmitter } from 'eventemitter3';
import type { z } from 'zod';
import { InProcessBus } from '../bus/in-process-bus.js';
import { isMonitoredBus } from '../bus/monitored-bus.js';
import {
  ConflictError,
  DatabaseUnavailableError,
  ForbiddenError,
  NotFoundError,
  ValidationError,
} from '../errors.js';
import type { ChatEvent, ChatEventListeners, SessionRevocation } from '../events.js';
import { createId } from '../ids.js';
import { parseMentions } from '../mentions.js';
import type { Bus } from '../ports/bus.js';
import type { ChatStore, StoredMessage, StoreTransaction } from '../ports/chat-store.js';
import { IdSchema, type JsonValue, type Metadata, PageOptionsSchema } from '../schemas/common.js';
import {
  type CreateFileRecordInput,
  CreateFileRecordInputSchema,
  type FileQuery,
  FileQuerySchema,
  type FileRecord,
} from '../schemas/file-record.js';
import {
  type Attachment,
  type EditMessageInput,
  EditMessageInputSchema,
  EmojiSchema,
  type HistoryQuery,
  HistoryQuerySchema,
  type Mentions,
  type Message,
  type MessagePage,
  type SearchQuery,
  SearchQuerySchema,
  type SendMessageInput,
  SendMessageInputSchema,
} from '../schemas/message.js';
import {
  type CreateProjectInput,
  CreateProjectInputSchema,
  type CreateTicketInput,
  CreateTicketInputSchema,
  type Project,
  type ProjectQuery,
  ProjectQuerySchema,
  type Ticket,
  type TicketQuery,
  TicketQuerySchema,
  type UpdateProjectInput,
  UpdateProjectInputSchema,
  type UpdateTicketInput,
  UpdateTicketInputSchema,
} from '../schemas/project.js';
import {
  type CreateRoomInput,
  CreateRoomInputSchema,
  DEFAULT_ROOM_PREFERENCES,
  type MemberRole,
  MemberRoleSchema,
  type Membership,
  type Room,
  RoomNameSchema,
  type RoomPreferences,
  RoomPreferencesSchema,
  type RoomSummary,
  type UpdateRoomInput,
  UpdateRoomInputSchema,
  type UpdateRoomPreferencesInput,
  UpdateRoomPreferencesInputSchema,
} from '../schemas/room.js';
import type { RoomEvent, RoomEventPayloads, RoomEventType } from '../schemas/room-event.js';
import {
  type MessageSpeech,
  type MessageSpeechInput,
  MessageSpeechSchema,
  SPEECH_METADATA_KEY,
  speechOf,
} from '../schemas/speech.js';
import {
  type MessageTranscript,
  type MessageTranscriptInput,
  MessageTranscriptSchema,
  TRANSCRIPT_METADATA_KEY,
  transcriptOf,
  voiceAttachmentOf,
} from '../schemas/transcript.js';
import {
  type CreateUserInput,
  CreateUserInputSchema,
  type UpdateUserInput,
  UpdateUserInputSchema,
  type User,
  type UserRole,
  UserRoleSchema,
} from '../schemas/user.js';
import { parseInput } from '../validate.js';
import {
  canChangeRoomSetting,
  canCreateRoom,
  canDeactivateUser,
  canInvite,
  canJoinRoom,
  canManageRoom,
  canModerateRoom,
  canReadRoom,
  canReadWork,
  canRemoveMember,
  canSetMemberRoles,
  isDemotion,
  isStaff,
  type RoomRights,
  roomRightsOf,
  settingKeyOwner,
} from './permissions.js';

/**
 * The server acting on its own, for no user (reading every room's settings at start, say). Pass it where an
 * operation takes `actor: string | SystemActor`; operations that take only a user id never act for it.
 */
export const SYSTEM_ACTOR: unique symbol = Symbol.for('kaiwa.system-actor');
export type SystemActor = typeof SYSTEM_ACTOR;

/** Events that are announced but never stored: typing and presence (streamed replies: `openReplyStream`). */
export type EphemeralEvent = Extract<ChatEvent, { type: 'typing.updated' } | { type: 'presence.updated' }>;

export interface ChatEngineConfig {
  /** Where everything is kept. The engine never closes it: whoever opened it does. */
  store: ChatStore;
  /** Carries events between instances; defaults to an {@link InProcessBus}. */
  bus?: Bus;
  /** Source of the current time; tests pass a fixed clock. */
  clock?: () => Date;
  /**
   * Channels every new member (anyone but a guest) joins when their account is created, by name. A channel
   * that does not exist yet is created by the first person to arrive, who owns it; an archived one is
   * skipped.
   */
  defaultChannels?: readonly string[];
  /** Called when an event could not be published after its change was committed. */
  onPublishError?: (error: unknown, event: ChatEvent) => void;
  /**
   * Called on this instance, synchronously, when sessions end, before the call that ended them returns and
   * before the `user.sessions_revoked` event goes out: the instance that revoked refuses the tokens at once,
   * not only when the bus echoes the event back.
   */
  onSessionsRevoked?: (revocation: SessionRevocation) => void;
}

/** Thrown inside a send transaction to roll it back when the clientMessageId turned out to be taken. */
const duplicateSend = Symbol('duplicate send');
/** Thrown inside a transcript transaction when there is nothing to record (claimed already, or deleted). */
const unchangedTranscript = Symbol('unchanged transcript');

/** Where a message a workflow run posted names its run; the web UI shows the workflow badge from it. */
const WORKFLOW_METADATA_KEY = 'workflow';

/** What a message a workflow run posted carries in `metadata.workflow`. */
export interface WorkflowMessageOrigin {
  workflowId: string;
  runId: string;
  /** Who started the run: its rights decide where the run may post. */
  startedBy: string;
}

/**
 * What only the server's own code passes to {@link ChatEngine.sendMessage}: a client's request fills the
 * input, never these.
 */
export interface SendMessageOptions {
  /** The workflow run posting the message, kept in `metadata.workflow`. */
  workflow?: WorkflowMessageOrigin;
}

/**
 * Transcripts and workflow origins are the server's: a client sending or editing one would put words in
 * someone's mouth (a transcript) or pass their own words off as a workflow's.
 */
function refuseServerMetadata(metadata: Record<string, unknown>): void {
  if (TRANSCRIPT_METADATA_KEY in metadata)
    throw ValidationError.field('metadata.transcript', 'is set by the server, not by clients');
  if (WORKFLOW_METADATA_KEY in metadata)
    throw ValidationError.field('metadata.workflow', 'is set by the server, not by clients');
  if (SPEECH_METADATA_KEY in metadata)
    throw ValidationError.field('metadata.speech', 'is set by the server, not by clients');
}

/** `metadata` with what the server put in `message`'s metadata (its transcript, its workflow origin) kept. */
function withServerMetadataOf(message: Message, metadata: Metadata): Metadata {
  const kept = { ...metadata };
  for (const key of [TRANSCRIPT_METADATA_KEY, WORKFLOW_METADATA_KEY, SPEECH_METADATA_KEY]) {
    const value = message.metadata[key];
    if (value !== undefined) kept[key] = value;
  }
  return kept;
}

/** Most room changes committed together by one group commit. */
const MAX_GROUP_COMMIT = 128;

/** A room change waiting for the next commit. */
interface PendingRoomChange {
  run: (tx: StoreTransaction) => Promise<RoomEvent>;
  resolve: (event: RoomEvent) => void;
  reject: (error: unknown) => void;
}

/**
 * The chat engine: every chat operation with its validation and permission checks, on top of a
 * {@link ChatStore}. Each call takes the acting user's id first, checks before it writes, writes in one
 * transaction, and announces the change on the bus after the commit. It knows nothing of HTTP.
 *
 * @example
 * const engine = new ChatEngine({ store });
 * const alice = await engine.createUser({ username: 'alice' });
 * const room = await engine.createRoom(alice.id, { kind: 'channel', name: 'general' });
 * engine.events.on('message.created', (event) => console.log(event.payload.message.text));
 * await engine.sendMessage(alice.id, { roomId: room.id, text: 'こんにちは' });
 */
export class ChatEngine {
  /** Every event from every instance on the bus, this one's included. */
  readonly events = new EventEmitter<ChatEventListeners>();
  // Private: the engine is the one way into chat data, so nothing outside it skips its permission checks.
  readonly #store: ChatStore;
  readonly #bus: Bus;
  readonly #clock: () => Date;
  readonly #onPublishError: (error: unknown, event: ChatEvent) => void;
  readonly #onSessionsRevoked: (revocation: SessionRevocation) => void;
  readonly #defaultChannels: readonly string[];
  readonly #unsubscribe: () => void;
  readonly #pendingChanges: PendingRoomChange[] = [];
  /** Store reads of room events in flight, by room, cursor and limit (see `eventsSince`). */
  readonly #eventReads = new Map<string, Promise<RoomEvent[]>>();
  #committing = false;

  constructor(config: ChatEngineConfig) {
    this.#store = config.store;
    this.#bus = config.bus ?? new InProcessBus();
    this.#clock = config.clock ?? (() => new Date());
    this.#onPublishError =
      config.onPublishError ??
      ((error, event) => console.error(`kaiwa: could not publish ${event.type}; it is stored`, error));
    this.#onSessionsRevoked = config.onSessionsRevoked ?? (() => undefined);
    this.#defaultChannels = (config.defaultChannels ?? []).map((name) => parseInput(RoomNameSchema, name));
    this.#unsubscribe = this.#bus.subscribe((event) => {
      (this.events.emit as (type: string, event: ChatEvent) => boolean)(event.type, event);
    });
  }

  /** Stops listening to the bus. Neither the bus nor the store is closed. */
  close(): void {
    this.#unsubscribe();
    this.events.removeAllListeners();
  }

  // ---------------------------------------------------------------- users

  /**
   * Creates a user. There is no acting user: the application decides who may sign up. A password hash,
   * when given, is stored in the same transaction, so there is never a user without its credentials.
   * @throws ConflictError (field `username`) when the name is taken.
   */
  async createUser(input: CreateUserInput, credentials: { passwordHash?: string } = {}): Promise<User> {
    const data = parseInput(CreateUserInputSchema, input);
    const now = this.#now();
    const user: User = {
      id: createId(),
      username: data.username,
      displayName: data.displayName ?? data.username,
      role: data.role,
      forcePasswordChange: data.forcePasswordChange,
      createdAt: now,
      updatedAt: now,
    };
    const { passwordHash } = credentials;
    if (passwordHash === undefined) await this.#store.users.insert(user);
    else {
      await this.#store.transaction(async (tx) => {
        await tx.users.insert(user);
        await tx.accounts.setPasswordHash(user.id, passwordHash, now);
      });
    }
    await this.#publish({ type: 'user.created', payload: { user } });
    if (user.role !== 'guest') await this.#joinDefaultChannels(user);
    return user;
  }

  /** Puts a new member into the default channels, creating those that do not exist yet. */
  async #joinDefaultChannels(user: User): Promise<void> {
    for (const name of this.#defaultChannels) {
      const existing = await this.#store.rooms.findByName(name);
      if (existing?.kind === 'channel') {
        if (!existing.archived) await this.joinRoom(user.id, existing.id);
        continue;
      }
      try {
        await this.createRoom(user.id, { kind: 'channel', name });
      } catch (error) {
        // Two people arriving at once: the other one created it; join theirs.
        if (!(error instanceof ConflictError)) throw error;
        const created = await this.#store.rooms.findByName(name);
        if (created?.kind === 'channel' && !created.archived) await this.joinRoom(user.id, created.id);
      }
    }
  }

  /**
   * Replaces a user's password hash and signs the user out everywhere (every refresh token is revoked), in
   * one transaction. `forceChange` sets whether the next sign-in must change it again: true after an admin
   * reset, false when the user chose it. The caller has checked who may do this.
   */
  async setPassword(userId: string, passwordHash: string, options: { forceChange: boolean }): Promise<User> {
    const target = await this.getUser(userId);
    const updatedAt = this.#now();
    const sessionIds = await this.#store.transaction(async (tx) => {
      await tx.accounts.setPasswordHash(target.id, passwordHash, updatedAt);
      const ended = await tx.accounts.revokeRefreshTokensOfUser(target.id, updatedAt);
      await tx.users.update(target.id, { forcePasswordChange: options.forceChange, updatedAt });
      return ended;
    });
    const user: User = { ...target, forcePasswordChange: options.forceChange, updatedAt };
    await this.#publish({ type: 'user.updated', payload: { user } });
    await this.announceSessionsRevoked({
      userId: user.id,
      sessionIds,
      apiKeyIds: [],
      allSessions: true,
      reason: options.forceChange ? 'password_reset' : 'password_changed',
      at: updatedAt,
    });
    return user;
  }

  /**
   * Deactivates an account (admins only, not their own): it can no longer sign in or act, every session
   * ends (refresh tokens revoked in the same transaction; access tokens and sockets everywhere through
   * `user.sessions_revoked`), it leaves user lists, and its messages stay.
   */
  async deactivateUser(actorId: string, userId: string): Promise<User> {
    const actor = await this.#actor(actorId);
    const target = await this.getUser(userId);
    if (!canDeactivateUser(actor, target)) {
      throw new ForbiddenError(
        'deactivate user',
        actor.role === 'admin' ? 'admins cannot deactivate themselves' : 'only admins deactivate users',
      );
    }
    if (target.deactivatedAt) return target;
    const at = this.#now();
    const sessionIds = await this.#store.transaction(async (tx) => {
      await tx.users.update(target.id, { deactivatedAt: at, updatedAt: at });
      return tx.accounts.revokeRefreshTokensOfUser(target.id, at);
    });
    const user: User = { ...target, deactivatedAt: at, updatedAt: at };
    await this.#publish({ type: 'user.updated', payload: { user } });
    await this.announceSessionsRevoked({
      userId: user.id,
      sessionIds,
      apiKeyIds: [],
      allSessions: true,
      reason: 'deactivated',
      at,
    });
    return user;
  }

  /** Lets a deactivated account sign in again (admins only). Its old sessions stay ended. */
  async reactivateUser(actorId: string, userId: string): Promise<User> {
    const actor = await this.#actor(actorId);
    const target = await this.getUser(userId);
    if (!canDeactivateUser(actor, target)) {
      throw new ForbiddenError('reactivate user', 'only admins reactivate other users');
    }
    if (!target.deactivatedAt) return target;
    const updatedAt = this.#now();
    await this.#store.users.update(target.id, { deactivatedAt: null, updatedAt });
    const { deactivatedAt: _deactivatedAt, ...rest } = target;
    const user: User = { ...rest, updatedAt };
    await this.#publish({ type: 'user.updated', payload: { user } });
    return user;
  }

  /**
   * Announces ended sessions or API keys on the bus (ephemeral), so every instance refuses their tokens and
   * closes their sockets at once. The engine calls it for the changes it makes; the account layer calls it
   * after a logout, a refresh-token reuse or an API-key revocation it has written.
   */
  async announceSessionsRevoked(revocation: SessionRevocation): Promise<void> {
    this.#onSessionsRevoked(revocation);
    await this.#publish({ type: 'user.sessions_revoked', payload: revocation });
  }

  async getUser(userId: string): Promise<User> {
    const user = await this.#store.users.findById(parseId(userId, 'userId'));
    if (!user) throw new NotFoundError('user', userId);
    return user;
  }

  /** Users by id, in no particular order; unknown ids are left out. */
  async getUsers(userIds: string[]): Promise<User[]> {
    if (userIds.length === 0) return [];
    return this.#store.users.findByIds(userIds.map((id) => parseId(id, 'userIds')));
  }

  async getUserByUsername(username: string): Promise<User> {
    const user = await this.#store.users.findByUsername(username.toLowerCase());
    if (!user) throw new NotFoundError('user', username);
    return user;
  }

  /** Users by id; deactivated accounts only with `includeDeactivated` (for admin screens). */
  async listUsers(
    query: { role?: UserRole; after?: string; limit?: number; includeDeactivated?: boolean } = {},
  ): Promise<User[]> {
    const page = parseInput(PageOptionsSchema, { after: query.after, limit: query.limit });
    const role = query.role === undefined ? undefined : parseInput(UserRoleSchema, query.role);
    return this.#store.lagTolerant.users.list({
      ...page,
      ...(role ? { role } : {}),
      ...(query.includeDeactivated ? { includeDeactivated: true } : {}),
    });
  }

  /**
   * People change their own display name; only admins change roles and the forced password change (in
   * either direction: a user clears it by choosing a password, through {@link setPassword}).
   */
  async updateUser(actorId: string, userId: string, patch: UpdateUserInput): Promise<User> {
    const actor = await this.#actor(actorId);
    const data = parseInput(UpdateUserInputSchema, patch);
    const target = await this.getUser(userId);
    const self = actor.id === target.id;
    if (!self && actor.role !== 'admin')
      throw new ForbiddenError('update user', 'only admins change other users');
    if ((data.role !== undefined || data.forcePasswordChange !== undefined) && actor.role !== 'admin') {
      throw new ForbiddenError('update user', 'only admins change roles or force a password change');
    }
    if (data.role !== undefined && self && data.role !== 'admin') {
      throw new ForbiddenError('update user', 'admins cannot demote themselves');
    }
    const updatedAt = this.#now();
    const demoted = data.role !== undefined && isDemotion(target.role, data.role);
    // A demotion ends the user's sessions in the same transaction as the role change.
    const sessionIds = await this.#store.transaction(async (tx) => {
      await tx.users.update(target.id, { ...data, updatedAt });
      return demoted ? tx.accounts.revokeRefreshTokensOfUser(target.id, updatedAt) : [];
    });
    const user: User = { ...target, ...data, updatedAt };
    await this.#publish({ type: 'user.updated', payload: { user } });
    if (demoted) {
      await this.announceSessionsRevoked({
        userId: user.id,
        sessionIds,
        apiKeyIds: [],
        allSessions: true,
        reason: 'role_changed',
        at: updatedAt,
      });
    }
    return user;
  }

  // ---------------------------------------------------------------- rooms

  /**
   * Creates a channel or a private group; the creator becomes its owner. Channel names are unique (a taken
   * one is a ConflictError on `name`: channels are public anyway); group names are not, so that creating a
   * group can never reveal that a private group of that name exists.
   */
  async createRoom(actorId: string, input: CreateRoomInput): Promise<Room> {
    const actor = await this.#actor(actorId);
    if (!canCreateRoom(actor)) throw new ForbiddenError('create room', 'guests cannot create rooms');
    const data = parseInput(CreateRoomInputSchema, input);
    const memberIds = [...new Set(data.memberIds)].filter((id) => id !== actor.id);
    await this.#requireUsers(memberIds, 'memberIds');
    const now = this.#now();
    const room: Room = {
      id: createId(),
      kind: data.kind,
      name: data.name,
      topic: data.topic,
      archived: false,
      createdBy: actor.id,
      lastSeq: 0,
      createdAt: now,
      updatedAt: now,
    };
    await this.#store.transaction(async (tx) => {
      await tx.rooms.insert(room);
      await tx.memberships.insert(this.#membership(room.id, actor.id, 'owner', now));
      for (const userId of memberIds)
        await tx.memberships.insert(this.#membership(room.id, userId, 'member', now));
    });
    await this.#publish({ type: 'room.created', payload: { room, memberIds: [actor.id, ...memberIds] } });
    return room;
  }

  /** The direct room of the actor and another user, created on first use. */
  async openDirectRoom(actorId: string, otherUserId: string): Promise<Room> {
    const actor = await this.#actor(actorId);
    if (actor.role === 'guest')
      throw new ForbiddenError('open direct room', 'guests cannot start direct messages');
    const other = await this.getUser(otherUserId);
    if (other.id === actor.id) throw ValidationError.field('otherUserId', 'must be another user');
    const directKey = [actor.id, other.id].sort().join(':');
    const existing = await this.#store.rooms.findDirect(directKey);
    if (existing) return existing;
    const now = this.#now();
    const room: Room = {
      id: createId(),
      kind: 'direct',
      name: null,
      topic: '',
      archived: false,
      createdBy: actor.id,
      lastSeq: 0,
      createdAt: now,
      updatedAt: now,
    };
    try {
      await this.#store.transaction(async (tx) => {
        await tx.rooms.insert(room, directKey);
        await tx.memberships.insert(this.#membership(room.id, actor.id, 'member', now));
        await tx.memberships.insert(this.#membership(room.id, other.id, 'member', now));
      });
    } catch (error) {
      // Both people opened it at once: the other call won, use its room.
      const winner =
        error instanceof ConflictError ? await this.#store.rooms.findDirect(directKey) : undefined;
      if (winner) return winner;
      throw error;
    }
    await this.#publish({ type: 'room.created', payload: { room, memberIds: [actor.id, other.id] } });
    return room;
  }

  /** A room its reader may read; `SYSTEM_ACTOR` (a server service, e.g. knowledge indexing) reads any. */
  async getRoom(actorId: string | SystemActor, roomId: string): Promise<Room> {
    if (actorId === SYSTEM_ACTOR) return this.#room(roomId);
    const actor = await this.#actor(actorId);
    return (await this.#readableRoom(actor, roomId)).room;
  }

  /** The actor's rooms with their membership and unread count. */
  async listRooms(actorId: string): Promise<RoomSummary[]> {
    const actor = await this.#actor(actorId);
    const [rows, unread, mentions, preferences] = await Promise.all([
      this.#store.memberships.listByUser(actor.id),
      this.#store.messages.countUnreadByRoom(actor.id),
      this.#store.messages.countUnreadMentionsByRoom(actor.id),
      this.#store.roomSettings.listByKey(roomPreferencesKey(actor.id)),
    ]);
    const preferencesByRoom = new Map(preferences.map(({ roomId, value }) => [roomId, value]));
    return rows.map(({ room, membership }) => ({
      room,
      membership,
      unreadCount: unread.get(room.id) ?? 0,
      mentionCount: mentions.get(room.id) ?? 0,
      preferences: readRoomPreferences(preferencesByRoom.get(room.id)),
      rights: roomRightsOf(actor, room, membership),
    }));
  }

  /**
   * Changes the actor's own view of a room they belong to: favourite, notification level, muted. Nobody
   * else sees these; nothing is announced to the room.
   *
   * @throws NotFoundError when the actor is not a member of the room.
   * @example
   * const summary = await engine.setRoomPreferences(alice.id, room.id, { favourite: true, notify: 'mentions' });
   */
  async setRoomPreferences(
    actorId: string,
    roomId: string,
    patch: UpdateRoomPreferencesInput,
  ): Promise<RoomSummary> {
    const actor = await this.#actor(actorId);
    const data = parseInput(UpdateRoomPreferencesInputSchema, patch);
    const { room, membership } = await this.#readableRoom(actor, roomId);
    if (!membership) throw new NotFoundError('membership', `${room.id}/${actor.id}`);
    const key = roomPreferencesKey(actor.id);
    const now = this.#now();
    const { preferences, muted } = await this.#store.transaction(async (tx) => {
      const merged: RoomPreferences = { ...readRoomPreferences(await tx.roomSettings.get(room.id, key)) };
      if (data.favourite !== undefined) merged.favourite = data.favourite;
      if (data.notify !== undefined) merged.notify = data.notify;
      if (data.favourite !== undefined || data.notify !== undefined) {
        await tx.roomSettings.set(room.id, key, merged, now);
      }
      if (data.muted !== undefined) await tx.memberships.update(room.id, actor.id, { muted: data.muted });
      return { preferences: merged, muted: data.muted ?? membership.muted };
    });
    const [unreadCount, mentionCount] = await Promise.all([
      this.#store.messages.countUnread(room.id, membership.lastReadMessageId, actor.id),
      this.#store.messages.countUnreadMentions(actor.id, room.id),
    ]);
    return {
      room,
      membership: { ...membership, muted },
      unreadCount,
      mentionCount,
      preferences,
      rights: roomRightsOf(actor, room, membership),
    };
  }

  /** Public channels anyone but a guest may join. */
  async listChannels(actorId: string, page: { after?: string; limit?: number } = {}): Promise<Room[]> {
    const actor = await this.#actor(actorId);
    if (actor.role === 'guest') return [];
    return this.#store.lagTolerant.rooms.listChannels(parseInput(PageOptionsSchema, page));
  }

  async updateRoom(actorId: string, roomId: string, patch: UpdateRoomInput): Promise<Room> {
    const actor = await this.#actor(actorId);
    const data = parseInput(UpdateRoomInputSchema, patch);
    const { room, membership } = await this.#readableRoom(actor, roomId);
    if (!canManageRoom(actor, room, membership)) {
      throw new ForbiddenError('update room', 'only room owners, room moderators and admins manage a room');
    }
    if (room.archived && data.archived !== false) {
      throw new ForbiddenError('update room', 'the room is archived; unarchive it first');
    }
    return this.#roomChange(room.id, 'room.updated', async (tx) => {
      await tx.rooms.update(room.id, { ...data, updatedAt: this.#now() });
      const updated = await tx.rooms.findById(room.id);
      return { room: updated! };
    }).then(({ payload }) => payload.room);
  }

  /** Joins a public channel. */
  async joinRoom(actorId: string, roomId: string): Promise<Membership> {
    const actor = await this.#actor(actorId);
    const room = await this.#room(roomId);
    const existing = await this.#store.memberships.find(room.id, actor.id);
    if (existing) return existing;
    if (!canJoinRoom(actor, room)) {
      if (room.kind !== 'channel') throw new NotFoundError('room', roomId);
      throw new ForbiddenError(
        'join room',
        room.archived ? 'the room is archived' : 'guests join by invitation only',
      );
    }
    return this.#addMember(room, actor.id);
  }

  /** Adds another user to a room the actor may invite to. */
  async inviteToRoom(actorId: string, roomId: string, userId: string): Promise<Membership> {
    const actor = await this.#actor(actorId);
    const { room, membership } = await this.#readableRoom(actor, roomId);
    if (!canInvite(actor, room, membership))
      throw new ForbiddenError('invite', 'you may not invite to this room');
    const invitee = await this.getUser(userId);
    const existing = await this.#store.memberships.find(room.id, invitee.id);
    if (existing) return existing;
    return this.#addMember(room, invitee.id);
  }

  async leaveRoom(actorId: string, roomId: string): Promise<void> {
    const actor = await this.#actor(actorId);
    await this.#removeMember(await this.#room(roomId), actor.id);
  }

  /** Removes someone else: room owners and admins remove anyone, room moderators only plain members. */
  async removeFromRoom(actorId: string, roomId: string, userId: string): Promise<void> {
    const actor = await this.#actor(actorId);
    const { room, membership } = await this.#readableRoom(actor, roomId);
    if (!canManageRoom(actor, room, membership))
      throw new ForbiddenError('remove member', 'you may not manage this room');
    const target = await this.#store.memberships.find(room.id, parseId(userId, 'userId'));
    if (!target) throw new NotFoundError('membership', `${room.id}/${userId}`);
    if (!canRemoveMember(actor, room, membership, target)) {
      throw new ForbiddenError(
        'remove member',
        'room moderators remove only members; owners and admins remove owners and moderators',
      );
    }
    await this.#removeMember(room, target.userId);
  }

  async setMemberRole(
    actorId: string,
    roomId: string,
    userId: string,
    role: MemberRole,
  ): Promise<Membership> {
    const actor = await this.#actor(actorId);
    const newRole = parseInput(MemberRoleSchema, role);
    const { room, membership } = await this.#readableRoom(actor, roomId);
    if (!canSetMemberRoles(actor, room, membership)) {
      throw new ForbiddenError('set member role', 'only room owners and admins change member roles');
    }
    const target = await this.#store.memberships.find(room.id, parseId(userId, 'userId'));
    if (!target) throw new NotFoundError('membership', `${room.id}/${userId}`);
    const updated = { ...target, role: newRole };
    await this.#roomChange(room.id, 'member.updated', async (tx) => {
      await tx.memberships.update(room.id, target.userId, { role: newRole });
      return { membership: updated };
    });
    return updated;
  }

  /**
   * What the actor may do in a room they can read (manage, invite, change roles, remove whom, change its
   * settings), by the rules this engine enforces: clients show only the controls that will work.
   *
   * @throws NotFoundError when the actor may not read the room.
   * @example
   * const { invite } = await engine.roomRights(alice.id, room.id);
   */
  async roomRights(actorId: string, roomId: string): Promise<RoomRights> {
    const actor = await this.#actor(actorId);
    const { room, membership } = await this.#readableRoom(actor, roomId);
    return roomRightsOf(actor, room, membership);
  }

  async listMembers(actorId: string, roomId: string, page: { after?: string; limit?: number } = {}) {
    const actor = await this.#actor(actorId);
    const { room } = await this.#readableRoom(actor, roomId);
    return this.#store.memberships.listByRoom(room.id, parseInput(PageOptionsSchema, page));
  }

  /**
   * A user's membership of a room the actor can read (the actor's own by default); undefined when that user
   * is not a member.
   */
  async findMembership(
    actorId: string,
    roomId: string,
    userId: string = actorId,
  ): Promise<Membership | undefined> {
    const actor = await this.#actor(actorId);
    const { room, membership } = await this.#readableRoom(actor, roomId);
    if (userId === actor.id) return membership;
    return this.#store.memberships.find(room.id, parseId(userId, 'userId'));
  }

  // ---------------------------------------------------------------- room settings

  /**
   * A feature's setting in a room (the assistant's model, a bot's cursor), or undefined. Readers of the room
   * read them; `SYSTEM_ACTOR` reads any.
   */
  async getRoomSetting(
    actor: string | SystemActor,
    roomId: string,
    key: string,
  ): Promise<JsonValue | undefined> {
    const room =
      actor === SYSTEM_ACTOR
        ? await this.#room(roomId)
        : (await this.#readableRoom(await this.#actor(actor), roomId)).room;
    return this.#store.roomSettings.get(room.id, parseSettingKey(key));
  }

  /**
   * Stores a room setting and announces `room.settings.updated` on the bus, so every instance re-reads it
   * (personal keys are stored quietly).
   * The room's owner and admins change its settings; a member keeps its own state under a personal key
   * (see `settingKeyOwner`); `SYSTEM_ACTOR` (a server service keeping its own state) changes any.
   * @throws ForbiddenError for anyone else.
   */
  async setRoomSetting(
    actorId: string | SystemActor,
    roomId: string,
    key: string,
    value: JsonValue,
  ): Promise<void> {
    const room =
      actorId === SYSTEM_ACTOR
        ? await this.#room(roomId)
        : await this.#settingsRoom(actorId, roomId, key, 'change room settings');
    parseSettingKey(key);
    await this.#store.roomSettings.set(room.id, key, value, this.#now());
    // Personal state (a bot's cursor) is nobody else's business: only shared settings are announced.
    if (settingKeyOwner(key) === undefined) {
      await this.#publish({ type: 'room.settings.updated', payload: { roomId: room.id, key } });
    }
  }

  /**
   * Stores a personal setting only if there is none yet; true when this call stored it. Of several racing
   * callers (on several instances) exactly one gets true, so work is claimed once (an assistant's answer).
   * `SYSTEM_ACTOR` (a server service claiming a batch of indexing) claims any key, quietly too.
   */
  async claimRoomSetting(
    actorId: string | SystemActor,
    roomId: string,
    key: string,
    value: JsonValue,
  ): Promise<boolean> {
    const room =
      actorId === SYSTEM_ACTOR
        ? await this.#room(roomId)
        : await this.#settingsRoom(actorId, roomId, key, 'claim a room setting');
    return this.#store.roomSettings.insertIfAbsent(room.id, parseSettingKey(key), value, this.#now());
  }

  /**
   * Removes a server service's own room setting (a claim it is done with), quietly. Only `SYSTEM_ACTOR`.
   *
   * @example
   * await engine.deleteRoomSetting(SYSTEM_ACTOR, roomId, 'knowledge.claim:42:1');
   */
  async deleteRoomSetting(actor: SystemActor, roomId: string, key: string): Promise<void> {
    if (actor !== SYSTEM_ACTOR)
      throw new ForbiddenError('delete a room setting', 'only the server itself may');
    const room = await this.#room(roomId);
    await this.#store.roomSettings.delete(room.id, parseSettingKey(key));
  }

  /** Every room's value of one setting, for a service starting up. */
  async listRoomSettings(actor: SystemActor, key: string): Promise<{ roomId: string; value: JsonValue }[]> {
    if (actor !== SYSTEM_ACTOR) throw new ForbiddenError('list room settings', 'only the server itself may');
    return this.#store.roomSettings.listByKey(parseSettingKey(key));
  }

  async #settingsRoom(actorId: string, roomId: string, key: string, action: string): Promise<Room> {
    const actor = await this.#actor(actorId);
    const { room, membership } = await this.#readableRoom(actor, roomId);
    parseSettingKey(key);
    // Personal state needs only a readable room (a bot keeps a cursor in a channel it reads).
    if (canChangeRoomSetting(actor, room, membership, key)) return room;
    throw new ForbiddenError(action, 'only the room owner or an admin may change its settings');
  }

  // ---------------------------------------------------------------- events

  /**
   * Hears every event from every instance on the bus, this one's included; returns the unsubscribe. For
   * services in this process, which decide who may see what (the realtime server checks each connection's
   * subscriptions, a bot its memberships).
   */
  subscribe(listener: (event: ChatEvent) => void): () => void {
    return this.#bus.subscribe(listener);
  }

  /** Called after the bus reconnected (events published meanwhile never arrive: re-read the store). */
  onReconnect(listener: () => void): () => void {
    return isMonitoredBus(this.#bus) ? this.#bus.onReconnect(listener) : () => undefined;
  }

  /**
   * Opens a streamed reply (an assistant's answer as it is generated) in a room the actor posts in; checked
   * once here, then each `publish` announces a `message.delta` on every instance (nothing is stored; the
   * final message is sent as usual). Publish `done` last.
   */
  async openReplyStream(
    actorId: string,
    input: { roomId: string; replyToId: string; threadRootId: string | null },
  ): Promise<{ streamId: string; publish(delta: string, done: boolean): Promise<void> }> {
    const actor = await this.#actor(actorId);
    const { room } = await this.#postableRoom(actor, input.roomId, 'stream a reply');
    const streamId = createId();
    const replyToId = parseId(input.replyToId, 'replyToId');
    const threadRootId = input.threadRootId === null ? null : parseId(input.threadRootId, 'threadRootId');
    return {
      streamId,
      publish: (delta, done) =>
        this.#bus.publish({
          type: 'message.delta',
          payload: { roomId: room.id, streamId, replyToId, threadRootId, authorId: actor.id, delta, done },
        }),
    };
  }

  /**
   * Announces typing or presence on every instance; nothing is stored. The actor must be the user the
   * event is about, and typing needs a room the actor reads.
   * @throws the bus's error when it could not publish.
   */
  async publishEphemeral(actorId: string, event: EphemeralEvent): Promise<void> {
    // Going offline is announced also for an account that was just deactivated (its sockets are closing).
    const leaving = event.type === 'presence.updated' && event.payload.status === 'offline';
    const actor = leaving ? await this.getUser(actorId) : await this.#actor(actorId);
    if (event.payload.userId !== actor.id) {
      throw new ForbiddenError(`announce ${event.type}`, 'only about yourself');
    }
    if (event.type === 'typing.updated') await this.#readableRoom(actor, event.payload.roomId);
    await this.#bus.publish(event);
  }

  // ---------------------------------------------------------------- messages

  /**
   * Sends a message. With a `clientMessageId` the send is idempotent per author: repeating it returns the
   * first message and stores nothing new, also when two sends race.
   *
   * The actor is a user id, or the {@link User} the caller already holds, which saves reading it again: the
   * realtime connection passes the user it authenticated, kept current by `user.updated` events.
   *
   * @example
   * await engine.sendMessage(alice.id, { roomId: room.id, text: 'hi', clientMessageId: 'c-1' });
   * await engine.sendMessage(alice, { roomId: room.id, text: 'hi again' }); // alice: a User held already
   * @throws ValidationError naming `metadata.transcript` or `metadata.workflow` when the input carries what
   *   only the server sets; the workflow runtime passes its run as `options.workflow` instead.
   */
  async sendMessage(
    actorOrId: User | string,
    input: SendMessageInput,
    options: SendMessageOptions = {},
  ): Promise<Message> {
    const actor = typeof actorOrId === 'string' ? await this.#actor(actorOrId) : heldActor(actorOrId);
    const data = parseInput(SendMessageInputSchema, input);
    refuseServerMetadata(data.metadata);
    const metadata: Metadata = options.workflow
      ? { ...data.metadata, [WORKFLOW_METADATA_KEY]: { ...options.workflow } }
      : data.metadata;
    try {
      return await this.#storeMessage(actor, data, metadata);
    } catch (error) {
      // A repeated send is not looked up before: the unique (author, clientMessageId) key turns it into
      // 'duplicate' inside the transaction, which saves a read on every first send. A repeat still answers
      // with the first message whatever changed since (the room archived or left, a thread root deleted),
      // so a refused send looks for an earlier one too, as the lookup before every send did.
      const refused =
        error === duplicateSend ||
        error instanceof ValidationError ||
        error instanceof NotFoundError ||
        error instanceof ForbiddenError;
      if (!data.clientMessageId || !refused) throw error;
      const earlier = await this.#earlierSend(actor.id, data.clientMessageId, data.roomId);
      if (earlier) return earlier;
      if (error === duplicateSend)
        throw new ConflictError('clientMessageId was taken by a send that is gone', 'clientMessageId');
      throw error;
    }
  }

  /** The checks and the write of {@link sendMessage}; a repeated `clientMessageId` throws `duplicateSend`. */
  async #storeMessage(
    actor: User,
    data: z.output<typeof SendMessageInputSchema>,
    metadata: Metadata,
  ): Promise<Message> {
    const { room } = await this.#postableRoom(actor, data.roomId, 'send message');

    let threadRoot: Message | undefined;
    if (data.threadRootId) {
      threadRoot = await this.#messageInRoom(data.threadRootId, room.id, 'threadRootId');
      // Replies to a reply join the same thread: threads are one level deep.
      if (threadRoot.threadRootId)
        threadRoot = await this.#messageInRoom(threadRoot.threadRootId, room.id, 'threadRootId');
      if (threadRoot.deletedAt) throw ValidationError.field('threadRootId', 'the thread root was deleted');
    }
    if (data.replyToId) await this.#messageInRoom(data.replyToId, room.id, 'replyToId');

    const now = this.#now();
    const message: StoredMessage = {
      id: createId(),
      roomId: room.id,
      authorId: actor.id,
      seq: 0,
      text: data.text,
      mentions: await this.#mentions(data.text),
      threadRootId: threadRoot?.id ?? null,
      replyToId: data.replyToId ?? null,
      attachments: await this.#attachments(actor, room, data.attachmentIds),
      replyCount: 0,
      lastReplyAt: null,
      clientMessageId: data.clientMessageId ?? null,
      metadata,
      createdAt: now,
      editedAt: null,
      deletedAt: null,
    };
    const { payload } = await this.#roomChange(room.id, 'message.created', async (tx, seq) => {
      const stored = { ...message, seq };
      if ((await tx.messages.insert(stored)) === 'duplicate') throw duplicateSend;
      if (threadRoot) await tx.messages.recordReply(threadRoot.id, now);
      return { message: { ...stored, reactions: [] } };
    });
    return payload.message;
  }

  /** Authors edit their own messages. */
  async editMessage(actorId: string, messageId: string, input: EditMessageInput): Promise<Message> {
    const actor = await this.#actor(actorId);
    const data = parseInput(EditMessageInputSchema, input);
    if (data.metadata) refuseServerMetadata(data.metadata);
    const message = await this.#message(messageId);
    await this.#postableRoom(actor, message.roomId, 'edit message');
    if (message.authorId !== actor.id)
      throw new ForbiddenError('edit message', 'only the author edits a message');
    if (message.deletedAt) throw new ForbiddenError('edit message', 'the message was deleted');
    const mentions = await this.#mentions(data.text);
    const { payload } = await this.#roomChange(message.roomId, 'message.updated', async (tx) => {
      await tx.messages.update(message.id, {
        text: data.text,
        mentions,
        editedAt: this.#now(),
        // New metadata replaces the old, but what the server put there (transcript, workflow origin) stays.
        ...(data.metadata ? { metadata: withServerMetadataOf(message, data.metadata) } : {}),
      });
      return { message: (await tx.messages.findById(message.id))! };
    });
    return payload.message;
  }

  /**
   * Soft-deletes a message: its text, mentions, attachments and metadata are dropped, a tombstone with id,
   * author and times stays so threads and cursors keep their shape. Deleting twice is a no-op.
   */
  async deleteMessage(actorId: string, messageId: string): Promise<Message> {
    const actor = await this.#actor(actorId);
    const message = await this.#message(messageId);
    const { room, membership } = await this.#readableRoom(actor, message.roomId);
    if (message.authorId !== actor.id && !canModerateRoom(actor, room, membership)) {
      throw new ForbiddenError(
        'delete message',
        'only the author, room moderators and admins delete a message',
      );
    }
    if (message.deletedAt) return message;
    const { payload } = await this.#roomChange(room.id, 'message.deleted', async (tx) => {
      await tx.messages.update(message.id, {
        text: '',
        mentions: { userIds: [], room: false, here: false },
        attachments: [],
        metadata: {},
        deletedAt: this.#now(),
      });
      return { message: (await tx.messages.findById(message.id))! };
    });
    return payload.message;
  }

  /** A message its room's readers may read; `SYSTEM_ACTOR` (a server service, e.g. indexing) reads any. */
  async getMessage(actorId: string | SystemActor, messageId: string): Promise<Message> {
    const message = await this.#message(messageId);
    if (actorId !== SYSTEM_ACTOR) await this.#readableRoom(await this.#actor(actorId), message.roomId);
    return message;
  }

  // ---------------------------------------------------------------- transcripts

  /**
   * Records the transcript state of a voice message (a message with an `audio/*` attachment) in
   * `metadata.transcript` and announces it as `message.updated`; a `done` transcript's text becomes findable by
   * {@link search}. Only the server's transcription service writes transcripts, as `SYSTEM_ACTOR`.
   * With `onlyIfAbsent` it claims the message instead: it records only when there is no transcript yet and
   * returns undefined otherwise, so of several instances hearing the same send, one transcribes.
   * @throws ForbiddenError for any other actor, or when the message was deleted.
   * @throws ValidationError when the message has no audio attachment or the transcript is malformed.
   */
  async recordTranscript(
    actor: SystemActor,
    messageId: string,
    transcript: MessageTranscriptInput,
    options: { onlyIfAbsent?: boolean } = {},
  ): Promise<Message | undefined> {
    if (actor !== SYSTEM_ACTOR) throw new ForbiddenError('record a transcript', 'only the server itself may');
    const value = parseInput(MessageTranscriptSchema, { ...transcript, updatedAt: this.#now() });
    const message = await this.#message(parseId(messageId, 'messageId'));
    return this.#writeTranscript(message, value, options.onlyIfAbsent ?? false);
  }

  /**
   * Asks for a voice message to be transcribed again (after a failure, or with a better transcriber): sets its
   * transcript to `pending` and announces it; the caller then runs the transcriber. The author, the room's
   * moderators and admins may.
   * @throws ForbiddenError for anyone else or a deleted message; ValidationError without an audio attachment.
   */
  async requestTranscript(actorId: string, messageId: string): Promise<Message> {
    const actor = await this.#actor(actorId);
    const message = await this.#message(messageId);
    const { room, membership } = await this.#readableRoom(actor, message.roomId);
    if (message.authorId !== actor.id && !canModerateRoom(actor, room, membership)) {
      throw new ForbiddenError(
        'transcribe message',
        'only the author, room moderators and admins ask for a transcript',
      );
    }
    const pending = parseInput(MessageTranscriptSchema, { status: 'pending', updatedAt: this.#now() });
    return (await this.#writeTranscript(message, pending, false))!;
  }

  /**
   * Records the spoken form of a message (`metadata.speech`, announced as `message.updated`): `pending`, then
   * `done` naming an audio file of the message's room, which the same change adds to its attachments, or
   * `failed`. With `onlyIfAbsent` nothing changes when the message already has a speech state (several
   * instances hearing one reply claim it once). Undefined when nothing changed (claimed already, or the
   * message was deleted meanwhile).
   * @throws ValidationError naming `fileId` when the file is not an audio file of the message's room.
   */
  async recordSpeech(
    actor: SystemActor,
    messageId: string,
    speech: MessageSpeechInput,
    options: { onlyIfAbsent?: boolean } = {},
  ): Promise<Message | undefined> {
    if (actor !== SYSTEM_ACTOR) throw new ForbiddenError('record speech', 'only the server itself may');
    const value: MessageSpeech = parseInput(MessageSpeechSchema, { ...speech, updatedAt: this.#now() });
    const message = await this.#message(parseId(messageId, 'messageId'));
    if (message.deletedAt) return undefined;
    let attachment: Attachment | undefined;
    if (value.status === 'done') {
      const file = await this.#store.files.findById(parseId(value.fileId, 'fileId'));
      if (!file || file.roomId !== message.roomId)
        throw ValidationError.field('fileId', "no such file in the message's room");
      if (!file.mimeType.startsWith('audio/')) throw ValidationError.field('fileId', 'is not an audio file');
      attachment = { fileId: file.id, name: file.name, mimeType: file.mimeType, size: file.size };
    }
    try {
      const { payload } = await this.#roomChange(message.roomId, 'message.updated', async (tx) => {
        const current = await tx.messages.findById(message.id);
        if (!current || current.deletedAt) throw unchangedTranscript;
        // The same "nothing changed" signal as for transcripts.
        if (options.onlyIfAbsent && speechOf(current)) throw unchangedTranscript;
        const attachments =
          attachment && !current.attachments.some((each) => each.fileId === attachment.fileId)
            ? [...current.attachments, attachment]
            : undefined;
        await tx.messages.update(message.id, {
          metadata: { ...current.metadata, [SPEECH_METADATA_KEY]: value },
          ...(attachments ? { attachments } : {}),
        });
        return { message: (await tx.messages.findById(message.id))! };
      });
      return payload.message;
    } catch (error) {
      if (error !== unchangedTranscript) throw error;
      return undefined;
    }
  }

  async #writeTranscript(
    message: Message,
    transcript: MessageTranscript,
    onlyIfAbsent: boolean,
  ): Promise<Message | undefined> {
    if (message.deletedAt) throw new ForbiddenError('transcribe message', 'the message was deleted');
    if (!voiceAttachmentOf(message))
      throw ValidationError.field('messageId', 'the message has no audio attachment to transcribe');
    try {
      const { payload } = await this.#roomChange(message.roomId, 'message.updated', async (tx) => {
        // Read in the transaction: an edit or a deletion since the load above is not undone.
        const current = await tx.messages.findById(message.id);
        if (!current || current.deletedAt) throw unchangedTranscript;
        if (onlyIfAbsent && transcriptOf(current)) throw unchangedTranscript;
        await tx.messages.update(message.id, {
          metadata: { ...current.metadata, [TRANSCRIPT_METADATA_KEY]: transcript },
        });
        return { message: (await tx.messages.findById(message.id))! };
      });
      return payload.message;
    } catch (error) {
      if (error !== unchangedTranscript) throw error;
      return undefined;
    }
  }

  /** Adds the actor's reaction; adding the same one again changes nothing. */
  async addReaction(actorId: string, messageId: string, emoji: string): Promise<Message> {
    return this.#react(actorId, messageId, emoji, 'reaction.added');
  }

  /** Removes the actor's reaction; removing one that is not there changes nothing. */
  async removeReaction(actorId: string, messageId: string, emoji: string): Promise<Message> {
    return this.#react(actorId, messageId, emoji, 'reaction.removed');
  }

  /**
   * A page of a room's timeline or of a thread, oldest first. Cursors are message ids, so pages stay
   * stable while new messages arrive. `SYSTEM_ACTOR` (a server service, e.g. knowledge indexing) reads any room.
   */
  async history(actorId: string | SystemActor, query: HistoryQuery): Promise<MessagePage> {
    const data = parseInput(HistoryQuerySchema, query);
    const room =
      actorId === SYSTEM_ACTOR
        ? await this.#room(data.roomId)
        : (await this.#readableRoom(await this.#actor(actorId), data.roomId)).room;
    if (data.threadRootId) await this.#messageInRoom(data.threadRootId, room.id, 'threadRootId');
    // Older pages (a `before` cursor) may come from a read replica: the client already holds newer
    // messages, so a replica a moment behind shows nothing stale. The newest page and catch-up (`after`)
    // read the primary, so a sender always sees what they just sent.
    const messages = data.before ? this.#store.lagTolerant.messages : this.#store.messages;
    const rows = await messages.page({
      roomId: room.id,
      limit: data.limit + 1,
      ...(data.threadRootId ? { threadRootId: data.threadRootId } : {}),
      ...(data.before ? { before: data.before } : {}),
      ...(data.after ? { after: data.after } : {}),
    });
    const hasMore = rows.length > data.limit;
    const page = rows.slice(0, data.limit);
    return { messages: data.after ? page : page.reverse(), hasMore };
  }

  /** Full-text search over the messages the actor may read, newest first. */
  async search(actorId: string, query: SearchQuery): Promise<Message[]> {
    const actor = await this.#actor(actorId);
    const data = parseInput(SearchQuerySchema, query);
    if (data.roomId) await this.#readableRoom(actor, data.roomId);
    // Search may lag a moment behind (replicas, SQLite's deferred index alike).
    return this.#store.lagTolerant.messages.search({
      readerId: actor.id,
      includeChannels: actor.role !== 'guest',
      text: data.query,
      limit: data.limit,
      ...(data.roomId ? { roomId: data.roomId } : {}),
      ...(data.before ? { before: data.before } : {}),
    });
  }

  /**
   * Everything the actor may read, as ids: the rooms they belong to, every public channel unless they are a
   * guest, and every project unless they are a guest (project and ticket files are readable by all but
   * guests). Retrieval filters knowledge chunks by it before ranking, so a chunk of a room the actor cannot
   * read is never a candidate. A file is readable with its room or its project, as `getFileRecord` decides.
   *
   * @example
   * const { roomIds, projectIds } = await engine.readableScope(alice.id);
   * await vectors.query({ index, model, vector, k: 10, filter: { roomIds, projectIds } });
   */
  async readableScope(actorId: string): Promise<{ roomIds: string[]; projectIds: string[] }> {
    const actor = await this.#actor(actorId);
    // Every public channel is readable to whoever reads work (anyone but a guest; `canReadRoom`): ids only,
    // in two small queries, since retrieval asks on every question.
    const readsWork = canReadWork(actor);
    const [roomIds, projectIds] = await Promise.all([
      this.#store.rooms.listReadableIds(actor.id, { includeChannels: readsWork }),
      readsWork ? this.#store.projects.listIds() : [],
    ]);
    return { roomIds, projectIds };
  }

  /**
   * Sets the actor's read marker in a room: to `messageId`, or to the newest message when omitted.
   * Setting it to an older message marks the rest unread again.
   */
  async markRead(actorId: string, roomId: string, messageId?: string): Promise<Membership> {
    const actor = await this.#actor(actorId);
    const room = await this.#room(roomId);
    const membership = await this.#store.memberships.find(room.id, actor.id);
    if (!membership) throw new ForbiddenError('mark read', 'you are not a member of this room');
    let lastReadMessageId: string | null;
    if (messageId) lastReadMessageId = (await this.#messageInRoom(messageId, room.id, 'messageId')).id;
    else lastReadMessageId = (await this.#store.messages.page({ roomId: room.id, limit: 1 }))[0]?.id ?? null;
    await this.#store.memberships.update(room.id, actor.id, { lastReadMessageId });
    await this.#publish({
      type: 'read.updated',
      payload: { roomId: room.id, userId: actor.id, lastReadMessageId },
    });
    return { ...membership, lastReadMessageId };
  }

  /** Unread timeline messages per room the actor belongs to. */
  async unreadCounts(actorId: string): Promise<Record<string, number>> {
    const rooms = await this.listRooms(actorId);
    return Object.fromEntries(rooms.map((summary) => [summary.room.id, summary.unreadCount]));
  }

  /**
   * The room's events after sequence number `afterSeq`, in order: what a reconnecting client missed,
   * edits, deletes and reactions included. `SYSTEM_ACTOR` (a server service catching up, e.g. knowledge
   * indexing) reads any room's.
   */
  async eventsSince(
    actorId: string | SystemActor,
    roomId: string,
    afterSeq: number,
    limit = 500,
  ): Promise<RoomEvent[]> {
    const room =
      actorId === SYSTEM_ACTOR
        ? await this.#room(roomId)
        : (await this.#readableRoom(await this.#actor(actorId), roomId)).room;
    if (!Number.isInteger(afterSeq) || afterSeq < 0)
      throw ValidationError.field('afterSeq', 'must be an integer ≥ 0');
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      throw ValidationError.field('limit', 'must be 1–1000');
    // Many readers of one room ask for the same page at once (every subscriber that saw the same gap, or
    // resumed after the same reconnect): they share one store read. The events are frozen data.
    const key = `${room.id}:${afterSeq}:${limit}`;
    let read = this.#eventReads.get(key);
    if (!read) {
      read = this.#store.roomEvents
        .listSince(room.id, afterSeq, limit)
        .finally(() => this.#eventReads.delete(key));
      this.#eventReads.set(key, read);
    }
    return [...(await read)];
  }

  // ---------------------------------------------------------------- projects and tickets

  async createProject(actorId: string, input: CreateProjectInput): Promise<Project> {
    const actor = await this.#workActor(actorId, 'create project');
    const data = parseInput(CreateProjectInputSchema, input);
    const now = this.#now();
    const project: Project = { id: createId(), ...data, ownerId: actor.id, createdAt: now, updatedAt: now };
    await this.#store.projects.insert(project);
    await this.#publish({ type: 'project.created', payload: { project } });
    return project;
  }

  async getProject(actorId: string, projectId: string): Promise<Project> {
    await this.#workActor(actorId, 'read project');
    return this.#project(projectId);
  }

  async listProjects(actorId: string, query: ProjectQuery = {}): Promise<Project[]> {
    await this.#workActor(actorId, 'list projects');
    const { after, ...filters } = parseInput(ProjectQuerySchema, query);
    return this.#store.projects.list({ ...dropUndefined(filters), ...(after ? { after } : {}) });
  }

  /** The owner, moderators and admins edit a project; only they hand it to a new owner. */
  async updateProject(actorId: string, projectId: string, patch: UpdateProjectInput): Promise<Project> {
    const actor = await this.#workActor(actorId, 'update project');
    const data = parseInput(UpdateProjectInputSchema, patch);
    const project = await this.#project(projectId);
    if (project.ownerId !== actor.id && !isStaff(actor)) {
      throw new ForbiddenError('update project', 'only the owner, moderators and admins edit a project');
    }
    if (data.ownerId) await this.#requireUsers([data.ownerId], 'ownerId');
    const updated: Project = { ...project, ...data, updatedAt: this.#now() };
    await this.#store.projects.update(project.id, { ...data, updatedAt: updated.updatedAt });
    await this.#publish({ type: 'project.updated', payload: { project: updated } });
    return updated;
  }

  async createTicket(actorId: string, input: CreateTicketInput): Promise<Ticket> {
    const actor = await this.#workActor(actorId, 'create ticket');
    const data = parseInput(CreateTicketInputSchema, input);
    const project = await this.#project(data.projectId, 'projectId');
    if (project.status === 'archived') throw new ForbiddenError('create ticket', 'the project is archived');
    if (data.assigneeId) await this.#requireUsers([data.assigneeId], 'assigneeId');
    const now = this.#now();
    const ticket: Ticket = {
      id: createId(),
      ...data,
      labels: [...new Set(data.labels)],
      reporterId: actor.id,
      createdAt: now,
      updatedAt: now,
    };
    await this.#store.tickets.insert(ticket);
    await this.#publish({ type: 'ticket.created', payload: { ticket } });
    return ticket;
  }

  async getTicket(actorId: string, ticketId: string): Promise<Ticket> {
    await this.#workActor(actorId, 'read ticket');
    return this.#ticket(ticketId);
  }

  async listTickets(actorId: string, query: TicketQuery = {}): Promise<Ticket[]> {
    await this.#workActor(actorId, 'list tickets');
    const { after, ...filters } = parseInput(TicketQuerySchema, query);
    return this.#store.tickets.list({ ...dropUndefined(filters), ...(after ? { after } : {}) });
  }

  /** The reporter, the assignee, the project owner, moderators and admins edit a ticket. */
  async updateTicket(actorId: string, ticketId: string, patch: UpdateTicketInput): Promise<Ticket> {
    const actor = await this.#workActor(actorId, 'update ticket');
    const data = parseInput(UpdateTicketInputSchema, patch);
    const ticket = await this.#ticket(ticketId);
    const project = await this.#project(ticket.projectId);
    const allowed =
      isStaff(actor) || [ticket.reporterId, ticket.assigneeId, project.ownerId].includes(actor.id);
    if (!allowed) {
      throw new ForbiddenError(
        'update ticket',
        'only the reporter, the assignee, the project owner and staff edit it',
      );
    }
    if (data.assigneeId) await this.#requireUsers([data.assigneeId], 'assigneeId');
    if (data.labels) data.labels = [...new Set(data.labels)];
    const updated: Ticket = { ...ticket, ...data, updatedAt: this.#now() };
    await this.#store.tickets.update(ticket.id, { ...data, updatedAt: updated.updatedAt });
    await this.#publish({ type: 'ticket.updated', payload: { ticket: updated } });
    return updated;
  }

  // ---------------------------------------------------------------- file records

  /**
   * Records a stored file, linked to a room (the actor must be able to post there), a project or a
   * ticket. The bytes are the blob store's business; this keeps what is known about them.
   */
  async createFileRecord(actorId: string, input: CreateFileRecordInput): Promise<FileRecord> {
    const actor = await this.#actor(actorId);
    const data = parseInput(CreateFileRecordInputSchema, input);
    if (data.roomId) await this.#postableRoom(actor, data.roomId, 'upload file');
    if (data.projectId || data.ticketId) {
      if (!canReadWork(actor))
        throw new ForbiddenError('upload file', 'guests cannot attach files to projects');
      if (data.projectId) await this.#project(data.projectId, 'projectId');
      if (data.ticketId) {
        const ticket = await this.#ticket(data.ticketId, 'ticketId');
        if (data.projectId && ticket.projectId !== data.projectId) {
          throw ValidationError.field('ticketId', 'the ticket belongs to another project');
        }
      }
    }
    const file: FileRecord = {
      id: createId(),
      name: data.name,
      mimeType: data.mimeType.toLowerCase(),
      size: data.size,
      sha256: data.sha256,
      storageKey: data.storageKey,
      uploaderId: actor.id,
      roomId: data.roomId ?? null,
      projectId: data.projectId ?? null,
      ticketId: data.ticketId ?? null,
      createdAt: this.#now(),
    };
    await this.#store.files.insert(file);
    await this.#publish({ type: 'file.created', payload: { file } });
    return file;
  }

  /** A file record the actor may read; `SYSTEM_ACTOR` (a server service, the transcriber) reads any. */
  async getFileRecord(actorId: string | SystemActor, fileId: string): Promise<FileRecord> {
    const actor = actorId === SYSTEM_ACTOR ? SYSTEM_ACTOR : await this.#actor(actorId);
    const file = await this.#store.files.findById(parseId(fileId, 'fileId'));
    if (!file || (actor !== SYSTEM_ACTOR && !(await this.#canReadFile(actor, file))))
      throw new NotFoundError('file', fileId);
    return file;
  }

  /** Files of one room, project or ticket the actor may read. */
  async listFiles(actorId: string | SystemActor, query: FileQuery): Promise<FileRecord[]> {
    const { after, ...filters } = parseInput(FileQuerySchema, query);
    if (!filters.roomId && !filters.projectId && !filters.ticketId) {
      throw ValidationError.field('roomId', 'give a roomId, projectId or ticketId');
    }
    if (actorId === SYSTEM_ACTOR) {
      // A server service (knowledge indexing) lists any room's files.
      if (filters.roomId) await this.#room(filters.roomId);
    } else {
      const actor = await this.#actor(actorId);
      if (filters.roomId) await this.#readableRoom(actor, filters.roomId);
      if ((filters.projectId || filters.ticketId) && !canReadWork(actor)) {
        throw new ForbiddenError('list files', 'guests cannot read projects');
      }
    }
    return this.#store.files.list({ ...dropUndefined(filters), ...(after ? { after } : {}) });
  }

  /** The uploader, room moderators and staff delete a file record. */
  async deleteFileRecord(actorId: string, fileId: string): Promise<FileRecord> {
    const actor = await this.#actor(actorId);
    const file = await this.getFileRecord(actor.id, fileId);
    let allowed = file.uploaderId === actor.id || isStaff(actor);
    if (!allowed && file.roomId) {
      const room = await this.#room(file.roomId);
      allowed = canModerateRoom(actor, room, await this.#store.memberships.find(room.id, actor.id));
    }
    if (!allowed)
      throw new ForbiddenError('delete file', 'only the uploader, moderators and admins delete a file');
    await this.#store.files.delete(file.id);
    await this.#publish({ type: 'file.deleted', payload: { file } });
    return file;
  }

  // ---------------------------------------------------------------- internals

  #now(): string {
    return this.#clock().toISOString();
  }

  async #publish(event: ChatEvent): Promise<void> {
    try {
      await this.#bus.publish(event);
    } catch (error) {
      this.#onPublishError(error, event);
    }
  }

  /**
   * Writes a change to a room and its event atomically: `write` gets the room's next sequence number, does
   * the change and returns the payload; the event is stored with it and published after the commit.
   *
   * Changes are group-committed: while one transaction commits, the changes that arrive queue up and then
   * share the next transaction, each inside its own savepoint, so one change that fails rolls back alone.
   * A change on its own is committed at once, so nothing waits for a timer, and no caller hears back
   * before its change is committed.
   */
  #roomChange<K extends RoomEventType>(
    roomId: string,
    type: K,
    write: (tx: StoreTransaction, seq: number) => Promise<RoomEventPayloads[K]>,
  ): Promise<Extract<RoomEvent, { type: K }>> {
    return new Promise<RoomEvent>((resolve, reject) => {
      this.#pendingChanges.push({
        run: async (tx) => {
          // Taking the number first locks the room row, so concurrent changes to a room commit in seq order.
          const seq = await tx.rooms.nextSeq(roomId);
          const payload = await write(tx, seq);
          const event = { roomId, seq, type, payload, createdAt: this.#now() } as RoomEvent;
          await tx.roomEvents.append(event);
          return event;
        },
        resolve,
        reject,
      });
      if (!this.#committing) void this.#commitPendingChanges();
    }) as Promise<Extract<RoomEvent, { type: K }>>;
  }

  async #commitPendingChanges(): Promise<void> {
    this.#committing = true;
    try {
      while (this.#pendingChanges.length > 0) {
        const batch = this.#pendingChanges.splice(0, MAX_GROUP_COMMIT);
        const outcomes =
          batch.length === 1 ? [await this.#commitOne(batch[0]!)] : await this.#commitGroup(batch);
        for (const [index, change] of batch.entries()) {
          const outcome = outcomes[index]!;
          if ('event' in outcome) {
            await this.#publish(outcome.event);
            change.resolve(outcome.event);
          } else change.reject(outcome.error);
        }
      }
    } finally {
      this.#committing = false;
    }
  }

  async #commitOne(change: PendingRoomChange): Promise<Outcome> {
    try {
      return { event: await this.#store.transaction((tx) => change.run(tx)) };
    } catch (error) {
      return { error };
    }
  }

  /** Commits several changes in one transaction, each in a savepoint of its own: each one's outcome. */
  async #commitGroup(batch: PendingRoomChange[]): Promise<Outcome[]> {
    try {
      return await this.#store.transaction(async (tx) => {
        const outcomes: Outcome[] = [];
        for (const change of batch) {
          try {
            outcomes.push({ event: await tx.savepoint(() => change.run(tx)) });
          } catch (error) {
            outcomes.push({ error });
          }
        }
        return outcomes;
      });
    } catch (error) {
      // The connection went: maybe before the COMMIT, maybe after the server took it, so the changes may
      // stand. Writing them again could store a message twice, so every caller hears the error (a send
      // repeated with its clientMessageId then finds the message if it was stored).
      if (error instanceof DatabaseUnavailableError) return batch.map(() => ({ error }));
      // The shared transaction was refused as a whole (a deadlock, a busy database), so none of it stands:
      // each change gets one transaction of its own, which cannot write anything twice.
      const outcomes: Outcome[] = [];
      for (const change of batch) outcomes.push(await this.#commitOne(change));
      return outcomes;
    }
  }

  #membership(roomId: string, userId: string, role: MemberRole, joinedAt: string): Membership {
    return { roomId, userId, role, lastReadMessageId: null, muted: false, joinedAt };
  }

  async #addMember(room: Room, userId: string): Promise<Membership> {
    const membership = this.#membership(room.id, userId, 'member', this.#now());
    try {
      await this.#roomChange(room.id, 'member.joined', async (tx) => {
        await tx.memberships.insert(membership);
        return { membership };
      });
    } catch (error) {
      // Joined twice at once: the first join stands.
      const existing =
        error instanceof ConflictError ? await this.#store.memberships.find(room.id, userId) : undefined;
      if (existing) return existing;
      throw error;
    }
    return membership;
  }

  async #removeMember(room: Room, userId: string): Promise<void> {
    const membership = await this.#store.memberships.find(room.id, userId);
    if (!membership) throw new NotFoundError('membership', `${room.id}/${userId}`);
    await this.#roomChange(room.id, 'member.left', async (tx) => {
      await tx.memberships.delete(room.id, userId);
      return { roomId: room.id, userId };
    });
  }

  async #react(
    actorId: string,
    messageId: string,
    emoji: string,
    type: 'reaction.added' | 'reaction.removed',
  ): Promise<Message> {
    const actor = await this.#actor(actorId);
    const value = parseInput(EmojiSchema, emoji);
    const message = await this.#message(messageId);
    await this.#postableRoom(actor, message.roomId, 'react');
    if (message.deletedAt) throw new ForbiddenError('react', 'the message was deleted');
    const reaction = { messageId: message.id, userId: actor.id, emoji: value };
    try {
      await this.#roomChange(message.roomId, type, async (tx) => {
        const changed =
          type === 'reaction.added'
            ? await tx.reactions.add({ ...reaction, createdAt: this.#now() })
            : await tx.reactions.remove(reaction);
        if (!changed) throw unchangedReaction;
        return reaction;
      });
    } catch (error) {
      if (error !== unchangedReaction) throw error;
    }
    return this.#message(message.id);
  }

  async #actor(actorId: string): Promise<User> {
    const user = await this.#store.users.findById(parseId(actorId, 'actorId'));
    if (!user) throw new NotFoundError('user', actorId);
    if (user.deactivatedAt) throw new ForbiddenError('act', 'the account is deactivated');
    return user;
  }

  async #workActor(actorId: string, action: string): Promise<User> {
    const actor = await this.#actor(actorId);
    if (!canReadWork(actor))
      throw new ForbiddenError(action, 'guests have no access to projects and tickets');
    return actor;
  }

  async #room(roomId: string): Promise<Room> {
    const room = await this.#store.rooms.findById(parseId(roomId, 'roomId'));
    if (!room) throw new NotFoundError('room', roomId);
    return room;
  }

  /** The room and the actor's membership; rooms the actor may not read look absent. */
  async #readableRoom(
    actor: User,
    roomId: string,
  ): Promise<{ room: Room; membership: Membership | undefined }> {
    const found = await this.#store.memberships.findWithRoom(parseId(roomId, 'roomId'), actor.id);
    if (!found) throw new NotFoundError('room', roomId);
    if (!canReadRoom(actor, found.room, found.membership)) throw new NotFoundError('room', roomId);
    return found;
  }

  async #postableRoom(
    actor: User,
    roomId: string,
    action: string,
  ): Promise<{ room: Room; membership: Membership }> {
    const { room, membership } = await this.#readableRoom(actor, roomId);
    if (!membership) throw new ForbiddenError(action, 'join the room first');
    if (room.archived) throw new ForbiddenError(action, 'the room is archived');
    return { room, membership };
  }

  async #message(messageId: string): Promise<Message> {
    const message = await this.#store.messages.findById(parseId(messageId, 'messageId'));
    if (!message) throw new NotFoundError('message', messageId);
    return message;
  }

  async #messageInRoom(messageId: string, roomId: string, field: string): Promise<Message> {
    const message = await this.#store.messages.findById(messageId);
    if (!message || message.roomId !== roomId)
      throw ValidationError.field(field, 'no such message in this room');
    return message;
  }

  async #earlierSend(
    authorId: string,
    clientMessageId: string,
    roomId: string,
  ): Promise<Message | undefined> {
    const earlier = await this.#store.messages.findByClientMessageId(authorId, clientMessageId);
    if (earlier && earlier.roomId !== roomId) {
      throw new ConflictError(
        'clientMessageId was already used for a message in another room',
        'clientMessageId',
      );
    }
    return earlier;
  }

  async #mentions(text: string): Promise<Mentions> {
    const parsed = parseMentions(text);
    const users =
      parsed.usernames.length > 0 ? await this.#store.users.findByUsernames(parsed.usernames) : [];
    const idByName = new Map(users.map((user) => [user.username, user.id]));
    const userIds = parsed.usernames.flatMap((name) => idByName.get(name) ?? []);
    return { userIds, room: parsed.room, here: parsed.here };
  }

  async #attachments(actor: User, room: Room, fileIds: string[]): Promise<Attachment[]> {
    if (fileIds.length === 0) return [];
    const files = new Map((await this.#store.files.findByIds(fileIds)).map((file) => [file.id, file]));
    return fileIds.map((id, index) => {
      const file = files.get(id);
      if (!file || file.roomId !== room.id) {
        throw ValidationError.field(['attachmentIds', index], 'no such file in this room');
      }
      if (file.uploaderId !== actor.id)
        throw ValidationError.field(['attachmentIds', index], 'attach your own uploads');
      return { fileId: file.id, name: file.name, mimeType: file.mimeType, size: file.size };
    });
  }

  async #requireUsers(userIds: string[], field: string): Promise<void> {
    if (userIds.length === 0) return;
    const found = new Set((await this.#store.users.findByIds(userIds)).map((user) => user.id));
    const index = userIds.findIndex((id) => !found.has(id));
    if (index >= 0) {
      throw ValidationError.field(
        userIds.length === 1 && field !== 'memberIds' ? [field] : [field, index],
        'no such user',
      );
    }
  }

  async #project(projectId: string, field?: string): Promise<Project> {
    const project = await this.#store.projects.findById(parseId(projectId, 'projectId'));
    if (!project) {
      if (field) throw ValidationError.field(field, 'no such project');
      throw new NotFoundError('project', projectId);
    }
    return project;
  }

  async #ticket(ticketId: string, field?: string): Promise<Ticket> {
    const ticket = await this.#store.tickets.findById(parseId(ticketId, 'ticketId'));
    if (!ticket) {
      if (field) throw ValidationError.field(field, 'no such ticket');
      throw new NotFoundError('ticket', ticketId);
    }
    return ticket;
  }

  async #canReadFile(actor: User, file: FileRecord): Promise<boolean> {
    if (file.roomId) {
      const room = await this.#store.rooms.findById(file.roomId);
      if (room && canReadRoom(actor, room, await this.#store.memberships.find(room.id, actor.id)))
        return true;
    }
    return (file.projectId !== null || file.ticketId !== null) && canReadWork(actor);
  }
}

type Outcome = { event: RoomEvent } | { error: unknown };

/** Thrown inside a reaction transaction to roll it back when nothing changed. */
const unchangedReaction = Symbol('unchanged reaction');

/**
 * A user the caller loaded itself (the realtime connection's, from its token) stands in for reading the
 * actor again. It can be stale only between a change and the `user.updated` event that carries it to the
 * caller; what a send checks of it is the account being active (posting needs a membership, not a role).
 * A deactivation or a demotion closes the user's sockets (`user.updated`, `user.sessions_revoked`), and a
 * socket whose event was lost cannot outlive its access token, whose renewal reads the account; that socket
 * keeps receiving its rooms' events meanwhile anyway, so sending on it widens nothing. Anyone else passes
 * the id.
 */
function heldActor(user: User): User {
  parseId(user.id, 'actorId');
  if (user.deactivatedAt) throw new ForbiddenError('act', 'the account is deactivated');
  return user;
}

function parseId(value: string, field: string): string {
  if (typeof value !== 'string' || !IdSchema.safeParse(value).success)
    throw ValidationError.field(field, 'must be a ULID');
  return value;
}

function dropUndefined<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };
}

/** Setting keys: 1–200 characters. */
/** The personal room setting that holds a member's {@link RoomPreferences}. */
function roomPreferencesKey(userId: string): string {
  return `x:${userId}:preferences`;
}

/** Stored preferences, with defaults for what is missing or no longer valid. */
function readRoomPreferences(value: JsonValue | undefined): RoomPreferences {
  const parsed = RoomPreferencesSchema.partial().safeParse(value ?? {});
  return { ...DEFAULT_ROOM_PREFERENCES, ...(parsed.success ? parsed.data : {}) };
}

function parseSettingKey(key: string): string {
  if (typeof key !== 'string' || key.length === 0 || key.length > 200) {
    throw ValidationError.field('key', 'must be 1–200 characters');
  }
  return key;
}
