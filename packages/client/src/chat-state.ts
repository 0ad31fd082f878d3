import {
  type Attachment,
  type Capabilities,
  type Membership,
  type Message,
  type MessagePage,
  NO_CAPABILITIES,
  type PresenceStatus,
  type Room,
  type RoomEvent,
  type RoomPreferences,
  type RoomRights,
  type RoomSummary,
  type User,
} from '@kaiwa/protocol';
import { DEFAULT_PREFERENCES, mentionsUser } from './notification-rules.js';

/*
 * Everything the chat shows, and the rules that keep it right when events arrive twice, late or after a
 * reconnect. Room events are applied strictly in sequence order: an event at or below a room's `lastSeq` is
 * a duplicate and ignored, one beyond `lastSeq + 1` waits until the gap is filled. Messages merge by id, so
 * history pages, acks and events may overlap freely. No DOM here, so it is tested in Node.
 */

/** A message that was sent but not acknowledged yet (or that failed). */
export interface OutboxEntry {
  clientMessageId: string;
  roomId: string;
  authorId: string;
  text: string;
  threadRootId: string | null;
  attachments: Attachment[];
  state: 'sending' | 'failed';
  error?: string;
  createdAt: string;
}

export interface ThreadEntry {
  loaded: boolean;
  hasOlder: boolean;
  loading: boolean;
}

export interface RoomEntry {
  room: Room;
  membership: Membership | null;
  unread: number;
  /** Unread messages that mention me, `@room` or `@here` (thread replies included). */
  mentions: number;
  /** My own choices for the room: favourite, notification level. */
  preferences: RoomPreferences;
  /**
   * What I may do here, as the server rules it (the room list, the member list, `room.rights` frames);
   * null until the server has said.
   */
  rights: RoomRights | null;
  /** Events up to this sequence number were replayed on (re)subscribing; later ones arrived live. */
  liveAfterSeq: number;
  /** Sequence number of the last event applied; null until the room is subscribed. */
  lastSeq: number | null;
  /** Every known message of the room, thread replies included, by id. */
  messages: Map<string, Message>;
  historyLoaded: boolean;
  hasOlder: boolean;
  loadingOlder: boolean;
  threads: Map<string, ThreadEntry>;
  /** Who is typing, with when that expires (ms since the epoch). */
  typing: Map<string, number>;
  /** Events that arrived beyond a gap, waiting for the missing ones. */
  held: RoomEvent[];
  /** Member user ids, once loaded. */
  memberIds: string[] | null;
  /** The read marker as it was when the room was opened: where the "new" divider goes. */
  readMarkerAtOpen: string | null | undefined;
  /** When this entry was made (ms since the epoch), so an older room list does not drop it. */
  addedAt: number;
  /** Bumped on every change, for cached views. */
  version: number;
}

export type ApplyResult = 'applied' | 'duplicate' | 'gap' | 'unknown-room';

type Listener = () => void;

/** A new message of someone else that arrived live (not replayed after a reconnect), just applied. */
export type LiveMessageListener = (message: Message, entry: RoomEntry) => void;

/** A reply the assistant is still writing, from ephemeral `message.delta` frames; never stored. */
export interface StreamingReply {
  streamId: string;
  roomId: string;
  authorId: string;
  replyToId: string;
  threadRootId: string | null;
  text: string;
}

const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * The chat as a client knows it: rooms with their messages, the outbox, people, presence, typing and
 * streamed replies. {@link KaiwaChatClient} keeps one up to date; views read it and `subscribe` to changes.
 *
 * @example
 * const stop = chat.state.subscribe(() => render(chat.state.timeline(roomId)));
 */
export class ChatState {
  me: User | null = null;
  /** What the server says `me` may do (from `ready`); nothing until the connection is first ready. */
  capabilities: Capabilities = NO_CAPABILITIES;
  readonly rooms = new Map<string, RoomEntry>();
  readonly users = new Map<string, User>();
  readonly presence = new Map<string, PresenceStatus>();
  /** Unacknowledged sends in the order they were made, by clientMessageId. */
  readonly outbox = new Map<string, OutboxEntry>();
  /** Replies being streamed, by stream id. */
  readonly streams = new Map<string, StreamingReply>();
  /** The room on screen, whose new messages are read as they come. */
  viewing: string | null = null;
  /** Whether the room list came from the server at least once. */
  roomsLoaded = false;
  version = 0;
  readonly #listeners = new Set<Listener>();
  readonly #liveMessageListeners = new Set<LiveMessageListener>();
  readonly #timelineCache = new Map<string, { version: number; list: Message[] }>();
  #notifyScheduled = false;

  // ---------------------------------------------------------------- change notification

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Tells listeners once per microtask, however many changes were made. */
  changed(entry?: RoomEntry): void {
    if (entry) entry.version += 1;
    this.version += 1;
    if (this.#notifyScheduled) return;
    this.#notifyScheduled = true;
    queueMicrotask(() => {
      this.#notifyScheduled = false;
      for (const listener of this.#listeners) listener();
    });
  }

  /**
   * Calls `listener` with each new message of someone else that arrived live, once each, right after it is
   * applied; messages replayed after a reconnect, history pages and acks are not live (for notifications).
   */
  onLiveMessage(listener: LiveMessageListener): () => void {
    this.#liveMessageListeners.add(listener);
    return () => this.#liveMessageListeners.delete(listener);
  }

  // ---------------------------------------------------------------- rooms

  /**
   * Takes the room list from the server; known rooms keep their messages and sequence numbers. Rooms added
   * here after `requestedAt` (created or joined while the list was on its way) are kept.
   */
  setRooms(summaries: RoomSummary[], requestedAt = Number.POSITIVE_INFINITY): void {
    const seen = new Set<string>();
    for (const summary of summaries) {
      seen.add(summary.room.id);
      this.setSummary(summary);
    }
    for (const [id, entry] of [...this.rooms]) {
      if (!seen.has(id) && entry.addedAt < requestedAt) this.removeRoom(id);
    }
    this.roomsLoaded = true;
    this.changed();
  }

  /** Takes one room as the room list shows it: membership, counts and preferences. */
  setSummary({ room, membership, unreadCount, mentionCount, preferences, rights }: RoomSummary): RoomEntry {
    const entry = this.upsertRoom(room, membership);
    entry.unread = this.viewing === room.id ? 0 : unreadCount;
    entry.mentions = this.viewing === room.id ? 0 : (mentionCount ?? 0);
    entry.preferences = preferences ?? DEFAULT_PREFERENCES;
    // Older servers list rooms without rights: the ones known stay.
    if (rights) entry.rights = rights;
    return entry;
  }

  /** What I may do in a room, as the server said it last (a `room.rights` frame, the member list). */
  setRights(roomId: string, rights: RoomRights): void {
    const entry = this.rooms.get(roomId);
    if (!entry) return;
    entry.rights = rights;
    this.changed(entry);
  }

  upsertRoom(room: Room, membership?: Membership | null): RoomEntry {
    let entry = this.rooms.get(room.id);
    if (!entry) {
      entry = {
        room,
        membership: membership ?? null,
        unread: 0,
        mentions: 0,
        preferences: DEFAULT_PREFERENCES,
        rights: null,
        liveAfterSeq: 0,
        lastSeq: null,
        messages: new Map(),
        historyLoaded: false,
        hasOlder: true,
        loadingOlder: false,
        threads: new Map(),
        typing: new Map(),
        held: [],
        memberIds: null,
        readMarkerAtOpen: undefined,
        addedAt: Date.now(),
        version: 0,
      };
      this.rooms.set(room.id, entry);
    } else {
      entry.room = room;
      if (membership) entry.membership = membership;
    }
    this.changed(entry);
    return entry;
  }

  removeRoom(roomId: string): void {
    if (!this.rooms.delete(roomId)) return;
    this.#timelineCache.delete(roomId);
    if (this.viewing === roomId) this.viewing = null;
    this.changed();
  }

  setUnread(roomId: string, unread: Record<string, number>): void {
    const entry = this.rooms.get(roomId);
    if (!entry) return;
    entry.unread = this.viewing === roomId ? 0 : (unread[roomId] ?? 0);
    // Read elsewhere (another tab): its mentions were read with it.
    if (entry.unread === 0) entry.mentions = 0;
    this.changed(entry);
  }

  markViewed(roomId: string): void {
    const entry = this.rooms.get(roomId);
    if (!entry || (entry.unread === 0 && entry.mentions === 0)) return;
    entry.unread = 0;
    entry.mentions = 0;
    this.changed(entry);
  }

  // ---------------------------------------------------------------- realtime events

  /**
   * The server confirmed a subscription from `fromSeq`. A first subscription starts the room's sequence
   * there; a resumed one asked for `lastSeq` and gets exactly that back.
   */
  subscribed(room: Room, fromSeq: number): void {
    const entry = this.upsertRoom(room);
    if (entry.lastSeq === null || fromSeq < entry.lastSeq) entry.lastSeq = fromSeq;
    entry.liveAfterSeq = Math.max(room.lastSeq, fromSeq);
    entry.held = entry.held.filter((event) => event.seq > fromSeq);
    this.changed(entry);
  }

  /** Forgets a room's sequence and messages, for when it must be loaded again from scratch. */
  resetRoom(roomId: string): void {
    const entry = this.rooms.get(roomId);
    if (!entry) return;
    entry.lastSeq = null;
    entry.messages = new Map();
    entry.historyLoaded = false;
    entry.hasOlder = true;
    entry.threads = new Map();
    entry.held = [];
    this.changed(entry);
  }

  /** Applies one room event, idempotently and in sequence order. */
  applyEvent(event: RoomEvent): ApplyResult {
    const entry = this.rooms.get(event.roomId);
    if (!entry || entry.lastSeq === null) return 'unknown-room';
    if (event.seq <= entry.lastSeq) return 'duplicate';
    if (event.seq > entry.lastSeq + 1) {
      if (!entry.held.some((held) => held.seq === event.seq)) {
        entry.held.push(event);
        entry.held.sort((a, b) => a.seq - b.seq);
      }
      return 'gap';
    }
    this.#apply(entry, event);
    entry.lastSeq = event.seq;
    // Events that waited for this one can go now.
    while (entry.held.length > 0) {
      const next = entry.held[0]!;
      if (next.seq <= entry.lastSeq) {
        entry.held.shift();
        continue;
      }
      if (next.seq !== entry.lastSeq + 1) break;
      entry.held.shift();
      if (!this.rooms.has(entry.room.id)) break;
      this.#apply(entry, next);
      entry.lastSeq = next.seq;
    }
    this.changed(entry);
    return 'applied';
  }

  #apply(entry: RoomEntry, event: RoomEvent): void {
    switch (event.type) {
      case 'message.created': {
        const message = event.payload.message;
        const added = this.#insert(entry, message, true);
        const others = added && message.authorId !== this.me?.id;
        if (others && message.threadRootId === null && this.viewing !== entry.room.id) {
          entry.unread += 1;
        }
        if (others && this.viewing !== entry.room.id && mentionsUser(message, this.me?.id ?? '')) {
          entry.mentions += 1;
        }
        if (others && event.seq > entry.liveAfterSeq) this.#liveMessage(message, entry);
        return;
      }
      case 'message.updated':
      case 'message.deleted':
        entry.messages.set(event.payload.message.id, event.payload.message);
        return;
      case 'reaction.added':
      case 'reaction.removed': {
        const { messageId, emoji, userId } = event.payload;
        const message = entry.messages.get(messageId);
        if (message) {
          entry.messages.set(
            messageId,
            withReaction(message, emoji, userId, event.type === 'reaction.added'),
          );
        }
        return;
      }
      case 'room.updated':
        entry.room = { ...event.payload.room, lastSeq: event.seq };
        return;
      case 'member.joined': {
        const membership = event.payload.membership;
        if (membership.userId === this.me?.id) entry.membership = membership;
        if (entry.memberIds && !entry.memberIds.includes(membership.userId)) {
          entry.memberIds = [...entry.memberIds, membership.userId];
        }
        return;
      }
      case 'member.left': {
        const { userId } = event.payload;
        if (entry.memberIds) entry.memberIds = entry.memberIds.filter((id) => id !== userId);
        if (userId === this.me?.id) this.removeRoom(entry.room.id);
        return;
      }
    }
  }

  #liveMessage(message: Message, entry: RoomEntry): void {
    for (const listener of this.#liveMessageListeners) {
      try {
        listener(message, entry);
      } catch (error) {
        // A view's mistake must not stop the event from being applied.
        console.error(error);
      }
    }
  }

  /**
   * Adds a message not seen before; a known one is left as it is (events after it keep it current).
   * A new thread reply that came live counts towards its root's replies.
   */
  #insert(entry: RoomEntry, message: Message, live: boolean): boolean {
    this.#settleOutbox(message);
    if (entry.messages.has(message.id)) return false;
    entry.messages.set(message.id, message);
    if (live && message.threadRootId) {
      const root = entry.messages.get(message.threadRootId);
      if (root) {
        entry.messages.set(root.id, {
          ...root,
          replyCount: root.replyCount + 1,
          lastReplyAt: message.createdAt,
        });
      }
    }
    return true;
  }

  /**
   * A message read from history. Once the room's events stream in (its lastSeq known), a message newer than
   * the last event applied is left to its own event, which comes next: taken from the page first, it would
   * make its event look like a repeat, which counts no unread and notifies nobody.
   */
  #insertRead(entry: RoomEntry, message: Message): void {
    if (entry.lastSeq !== null && message.seq > entry.lastSeq) return;
    this.#insert(entry, message, false);
  }

  #settleOutbox(message: Message): void {
    if (message.clientMessageId && message.authorId === this.me?.id) {
      if (this.outbox.delete(message.clientMessageId)) this.changed();
    }
  }

  /** The server acknowledged a send: the message is stored, whatever the connection does next. */
  acknowledged(clientMessageId: string, message: Message): void {
    this.outbox.delete(clientMessageId);
    const entry = this.rooms.get(message.roomId);
    if (entry) {
      this.#insert(entry, message, true);
      this.changed(entry);
    } else {
      this.changed();
    }
  }

  /**
   * The answer of a REST change to a message (edit, delete): its text and state are newer than anything
   * before; reactions are left to their own events.
   */
  mergeChanged(message: Message): void {
    const entry = this.rooms.get(message.roomId);
    const known = entry?.messages.get(message.id);
    if (!entry || !known) return;
    entry.messages.set(message.id, {
      ...known,
      text: message.text,
      mentions: message.mentions,
      attachments: message.attachments,
      editedAt: message.editedAt,
      deletedAt: message.deletedAt,
    });
    this.changed(entry);
  }

  /** My own reaction change, shown before its event arrives. */
  mergeReaction(roomId: string, messageId: string, emoji: string, added: boolean): void {
    const entry = this.rooms.get(roomId);
    const message = entry?.messages.get(messageId);
    if (!entry || !message || !this.me) return;
    entry.messages.set(messageId, withReaction(message, emoji, this.me.id, added));
    this.changed(entry);
  }

  // ---------------------------------------------------------------- history

  /**
   * Merges a page of history. Messages already known are kept: they came from events, which are at least
   * as new as any page fetched since the room was subscribed.
   */
  mergeHistory(roomId: string, page: MessagePage, options: { threadRootId?: string } = {}): void {
    const entry = this.rooms.get(roomId);
    if (!entry) return;
    for (const message of page.messages) this.#insertRead(entry, message);
    if (options.threadRootId) {
      const thread = entry.threads.get(options.threadRootId) ?? {
        loaded: false,
        hasOlder: false,
        loading: false,
      };
      entry.threads.set(options.threadRootId, {
        loaded: true,
        hasOlder: page.hasMore,
        loading: false,
      });
      const root = entry.messages.get(options.threadRootId);
      if (root && !page.hasMore && !thread.loaded) {
        const replies = this.threadReplies(roomId, options.threadRootId).length;
        if (replies > root.replyCount) entry.messages.set(root.id, { ...root, replyCount: replies });
      }
    } else {
      entry.hasOlder = page.hasMore;
      entry.historyLoaded = true;
      entry.loadingOlder = false;
    }
    this.changed(entry);
  }

  /**
   * Merges top-level messages from around an older message (a jump into history): a page before it and
   * every message from it up to the history already loaded, so the timeline has no hole. `hasOlder` (the
   * answer of the page before it) is taken only when the range reaches further back than what was loaded.
   */
  mergeRange(roomId: string, messages: Message[], hasOlder: boolean): void {
    const entry = this.rooms.get(roomId);
    if (!entry) return;
    const oldestBefore = entry.historyLoaded ? this.timeline(roomId)[0] : undefined;
    for (const message of messages) this.#insertRead(entry, message);
    const oldest = messages.reduce<Message | undefined>(
      (first, message) => (!first || message.id < first.id ? message : first),
      undefined,
    );
    if (!entry.historyLoaded || (oldest && (!oldestBefore || oldest.id < oldestBefore.id))) {
      entry.hasOlder = hasOlder;
    }
    entry.historyLoaded = true;
    this.changed(entry);
  }

  /** Top-level messages of a room, oldest first. */
  timeline(roomId: string): Message[] {
    const entry = this.rooms.get(roomId);
    if (!entry) return [];
    const cached = this.#timelineCache.get(roomId);
    if (cached && cached.version === entry.version) return cached.list;
    const list = [...entry.messages.values()].filter((message) => message.threadRootId === null).sort(byId);
    this.#timelineCache.set(roomId, { version: entry.version, list });
    return list;
  }

  threadReplies(roomId: string, rootId: string): Message[] {
    const entry = this.rooms.get(roomId);
    if (!entry) return [];
    return [...entry.messages.values()].filter((message) => message.threadRootId === rootId).sort(byId);
  }

  message(roomId: string, messageId: string): Message | undefined {
    return this.rooms.get(roomId)?.messages.get(messageId);
  }

  // ---------------------------------------------------------------- outbox

  queue(entry: OutboxEntry): void {
    this.outbox.set(entry.clientMessageId, entry);
    this.changed(this.rooms.get(entry.roomId));
  }

  failed(clientMessageId: string, error: string): void {
    const entry = this.outbox.get(clientMessageId);
    if (!entry) return;
    this.outbox.set(clientMessageId, { ...entry, state: 'failed', error });
    this.changed(this.rooms.get(entry.roomId));
  }

  retrying(clientMessageId: string): OutboxEntry | undefined {
    const entry = this.outbox.get(clientMessageId);
    if (!entry) return undefined;
    const retried: OutboxEntry = { ...entry, state: 'sending' };
    delete retried.error;
    this.outbox.set(clientMessageId, retried);
    this.changed(this.rooms.get(entry.roomId));
    return retried;
  }

  discard(clientMessageId: string): void {
    const entry = this.outbox.get(clientMessageId);
    if (!entry) return;
    this.outbox.delete(clientMessageId);
    this.changed(this.rooms.get(entry.roomId));
  }

  pending(roomId: string, threadRootId: string | null): OutboxEntry[] {
    return [...this.outbox.values()].filter(
      (entry) => entry.roomId === roomId && entry.threadRootId === threadRootId,
    );
  }

  // ---------------------------------------------------------------- streamed replies

  /** Adds a `message.delta` to its stream; the last one (`done`) ends it. */
  streamDelta(delta: {
    roomId: string;
    streamId: string;
    replyTo: string;
    threadRootId: string | null;
    authorId: string;
    text: string;
    done?: boolean;
  }): void {
    const entry = this.rooms.get(delta.roomId);
    if (!entry) return;
    if (delta.done) {
      this.endStream(delta.streamId);
      return;
    }
    const stream = this.streams.get(delta.streamId);
    if (stream) stream.text += delta.text;
    else {
      this.streams.set(delta.streamId, {
        streamId: delta.streamId,
        roomId: delta.roomId,
        authorId: delta.authorId,
        replyToId: delta.replyTo,
        threadRootId: delta.threadRootId,
        text: delta.text,
      });
    }
    this.changed(entry);
  }

  /** Drops a stream: it ended, or its final message arrived. */
  endStream(streamId: string): void {
    const stream = this.streams.get(streamId);
    if (!stream) return;
    this.streams.delete(streamId);
    const entry = this.rooms.get(stream.roomId);
    if (entry) this.changed(entry);
    else this.changed();
  }

  /** Replies being streamed into a room's timeline (`threadRootId` null) or a thread. */
  streaming(roomId: string, threadRootId: string | null): StreamingReply[] {
    return [...this.streams.values()].filter(
      (stream) => stream.roomId === roomId && stream.threadRootId === threadRootId,
    );
  }

  // ---------------------------------------------------------------- people

  addUsers(users: User[]): void {
    for (const user of users) this.users.set(user.id, user);
    if (users.length > 0) this.changed();
  }

  setPresence(statuses: Record<string, PresenceStatus>): void {
    for (const [userId, status] of Object.entries(statuses)) this.presence.set(userId, status);
    this.changed();
  }

  setTyping(roomId: string, userId: string, typing: boolean, expiresAt: number): void {
    const entry = this.rooms.get(roomId);
    if (!entry || userId === this.me?.id) return;
    if (typing) entry.typing.set(userId, expiresAt);
    else if (!entry.typing.delete(userId)) return;
    this.changed(entry);
  }

  /** Drops typing indicators that ran out; returns whether any is left. */
  expireTyping(now: number): boolean {
    let left = false;
    for (const entry of this.rooms.values()) {
      let dropped = false;
      for (const [userId, expiresAt] of entry.typing) {
        if (expiresAt <= now) {
          entry.typing.delete(userId);
          dropped = true;
        } else {
          left = true;
        }
      }
      if (dropped) this.changed(entry);
    }
    return left;
  }

  setMembers(roomId: string, memberIds: string[]): void {
    const entry = this.rooms.get(roomId);
    if (!entry) return;
    entry.memberIds = memberIds;
    this.changed(entry);
  }

  /** A display name for a user id, or a placeholder while the user is loading. */
  nameOf(userId: string): string {
    return this.users.get(userId)?.displayName ?? 'someone';
  }

  /** How a room is called: `#name` for channels and groups, the other person for direct rooms. */
  roomTitle(roomId: string): string {
    const entry = this.rooms.get(roomId);
    if (!entry) return 'room';
    if (entry.room.kind !== 'direct') return entry.room.name ?? 'room';
    const peer = this.directPeer(roomId);
    return peer ? this.nameOf(peer) : 'direct message';
  }

  /** The other person of a direct room, once its members are known. */
  directPeer(roomId: string): string | undefined {
    const entry = this.rooms.get(roomId);
    if (entry?.room.kind !== 'direct' || !entry.memberIds) return undefined;
    return entry.memberIds.find((id) => id !== this.me?.id) ?? entry.memberIds[0];
  }

  clear(): void {
    this.me = null;
    this.capabilities = NO_CAPABILITIES;
    this.rooms.clear();
    this.users.clear();
    this.presence.clear();
    this.outbox.clear();
    this.#timelineCache.clear();
    this.viewing = null;
    this.roomsLoaded = false;
    this.changed();
  }
}

/** The message with `userId`'s reaction `emoji` added or removed; unchanged when it already was so. */
export function withReaction(message: Message, emoji: string, userId: string, added: boolean): Message {
  const reactions = message.reactions.map((reaction) => ({ ...reaction, userIds: [...reaction.userIds] }));
  const existing = reactions.find((reaction) => reaction.emoji === emoji);
  if (added) {
    if (existing?.userIds.includes(userId)) return message;
    if (existing) existing.userIds.push(userId);
    else reactions.push({ emoji, count: 1, userIds: [userId] });
  } else {
    if (!existing?.userIds.includes(userId)) return message;
    existing.userIds = existing.userIds.filter((id) => id !== userId);
  }
  return {
    ...message,
    reactions: reactions
      .map((reaction) => ({ ...reaction, count: reaction.userIds.length }))
      .filter((reaction) => reaction.count > 0),
  };
}
