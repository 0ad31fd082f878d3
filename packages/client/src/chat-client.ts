import {
  type AdvertisedLimits,
  type Attachment,
  type CreateRoomInput,
  type FileRecord,
  isRoomEventType,
  type Message,
  type MessagePage,
  type ReadyFrame,
  type Room,
  type RoomEvent,
  type RoomSummary,
  type ServerFrame,
  type UpdateRoomPreferencesInput,
  type User,
} from '@kaiwa/protocol';
import { ChatState, type OutboxEntry } from './chat-state.js';
import { newClientMessageId } from './client-message-id.js';
import {
  type ConnectionStatus,
  RealtimeConnection,
  RealtimeError,
  type RealtimeOwner,
  realtimeUrl,
  type WebSocketConstructor,
} from './realtime-connection.js';
import {
  KaiwaApiError,
  KaiwaRestClient,
  type KaiwaRestClientOptions,
  type MessagePageQuery,
  type NewAccount,
} from './rest-client.js';

/*
 * The chat's behaviour: it owns the state, the REST client and the realtime connection, turns frames into
 * state changes, and offers the actions the screens call. Sends go over the WebSocket with a
 * clientMessageId and stay in the outbox until their ack; after a reconnect every room is resubscribed with
 * its last sequence number and the outbox is sent again, which the server answers without duplicates.
 */

const HISTORY_PAGE = 50;
const THREAD_PAGE = 100;
/** Messages loaded above a message jumped to, and the page size on the way from it to the present. */
const AROUND_BEFORE = 25;
const AROUND_PAGE = 200;
const AROUND_MAX_PAGES = 50;
/** A send without an ack for this long goes out again (same clientMessageId, so never twice). */
const ACK_TIMEOUT_MS = 15_000;
const TYPING_IDLE_MS = 4_000;

const DEFAULT_LIMITS: AdvertisedLimits = {
  maxFrameBytes: 96 * 1024,
  maxSubscriptions: 500,
  framesPerSecond: 50,
  frameBurst: 200,
  heartbeatIntervalMs: 30_000,
  typingThrottleMs: 2_500,
  typingExpiryMs: 6_000,
};

export interface KaiwaChatClientOptions {
  /** The signed-in (or soon signed-in) REST client whose session the chat uses. */
  rest: KaiwaRestClient;
  /** The WebSocket URL; by default `/ws` on the REST client's server (or the page's). */
  realtimeUrl?: string;
  /** The WebSocket class; the runtime's by default (Node 20 has none: pass the `ws` package's). */
  WebSocket?: WebSocketConstructor;
  /** A room's newest page asked for before the chat started ({@link prefetchHistory}), used when it opens. */
  prefetchedHistory?: PrefetchedHistory;
  /** The room list asked for before the chat started ({@link prefetchRooms}), used by `start`. */
  prefetchedRooms?: PrefetchedRooms;
}

/** The room list, on its way, and when it was asked for. */
export interface PrefetchedRooms {
  requestedAt: number;
  list: Promise<{ rooms: RoomSummary[] }>;
}

/**
 * Asks for the room list at once, before the chat has started (beside the session check of a page opened
 * with a stored session): pass it as {@link KaiwaChatClientOptions.prefetchedRooms} and `start` takes it
 * instead of asking again, so the room on the screen is not one round trip later. The list is the same
 * snapshot `start` would have asked for a moment later; the subscriptions that follow it resume from each
 * room's `lastSeq`, so nothing sent in between is missed. A failed prefetch is asked again the ordinary way.
 */
export function prefetchRooms(rest: KaiwaRestClient): PrefetchedRooms {
  const list = rest.listRooms();
  list.catch(() => undefined);
  return { requestedAt: Date.now(), list };
}

/** A room's newest page of history, on its way. */
export interface PrefetchedHistory {
  roomId: string;
  page: Promise<MessagePage>;
}

/**
 * Asks for a room's newest page of history at once, before the chat has started (a page opened at a room's
 * address while the session is still being checked and the rooms load): pass it as
 * {@link KaiwaChatClientOptions.prefetchedHistory} and {@link KaiwaChatClient.openRoom} takes it instead of
 * asking again, so the first messages are not behind the rooms list's round trip. A failed prefetch is
 * asked again the ordinary way.
 */
export function prefetchHistory(rest: KaiwaRestClient, roomId: string): PrefetchedHistory {
  const page = rest.messagePage(roomId, { limit: HISTORY_PAGE });
  page.catch(() => undefined);
  return { roomId, page };
}

/** The page's visibility where there is a page; always visible elsewhere. */
interface PageDocument {
  visibilityState?: string;
  addEventListener?: (type: string, listener: () => void) => void;
  removeEventListener?: (type: string, listener: () => void) => void;
}
const pageDocument = () => (globalThis as { document?: PageDocument }).document;
const pageVisible = () => (pageDocument()?.visibilityState ?? 'visible') === 'visible';

type AckWaiter = { resolve: (message: Message) => void; reject: (error: Error) => void };

/**
 * A live chat client: the state of every room I am in, kept right across reconnects; sends that are
 * stored exactly once; typing, presence, read markers and history pages.
 *
 * Guarantees: room events are applied once each and in `seq` order (duplicates dropped, gaps fetched);
 * after a reconnect every room is subscribed again with its `lastSeq`, so the server replays exactly what
 * was missed; a send keeps its `clientMessageId` through every retry and reconnect and stays in the outbox
 * (persisted in the REST client's storage) until the server acknowledges it, so the server stores it once.
 *
 * @example
 * const chat = new KaiwaChatClient({ rest });
 * await chat.start();
 * chat.state.subscribe(() => render(chat.state));
 * const message = await chat.waitForAck(chat.send(roomId, 'hello'));
 */
export class KaiwaChatClient {
  readonly rest: KaiwaRestClient;
  readonly state = new ChatState();
  readonly realtime: RealtimeConnection;
  connection: ConnectionStatus = { state: 'stopped', attempts: 0, sessions: 0 };
  limits: AdvertisedLimits = DEFAULT_LIMITS;
  /** The last problem worth telling the user about (cleared by them). */
  notice: string | null = null;
  readonly #subscribed = new Set<string>();
  /** Rooms whose newest history page is read again once their subscription stands. */
  readonly #topUpWhenSubscribed = new Set<string>();
  readonly #userRequests = new Map<string, Promise<void>>();
  readonly #ackTimers = new Map<string, ReturnType<typeof setTimeout>>();
  readonly #readTimers = new Map<string, ReturnType<typeof setTimeout>>();
  readonly #gapFetches = new Set<string>();
  readonly #typingSent = new Map<string, number>();
  readonly #typingStop = new Map<string, ReturnType<typeof setTimeout>>();
  readonly #fileUrls = new Map<string, Promise<string>>();
  #typingTimer: ReturnType<typeof setInterval> | undefined;
  #refreshTimer: ReturnType<typeof setTimeout> | undefined;
  #roomsLoad: Promise<void> | null = null;
  #roomsReload = false;
  #unreadTimer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  #outboxKey = '';
  #prefetched: PrefetchedHistory | undefined;
  #prefetchedRooms: PrefetchedRooms | undefined;
  #unsubscribers: (() => void)[] = [];
  readonly #frameListeners = new Set<(frame: ServerFrame) => void>();
  readonly #ackWaiters = new Map<string, AckWaiter[]>();

  constructor(options: KaiwaChatClientOptions) {
    this.rest = options.rest;
    const url = options.realtimeUrl ?? realtimeUrl(this.rest.baseUrl);
    const connection: RealtimeOwner = {
      token: () => this.rest.accessToken(),
      authenticationFailed: async () => {
        try {
          await this.rest.refresh();
          return true;
        } catch (error) {
          return !(error instanceof KaiwaApiError && error.status === 401);
        }
      },
      ready: (frame, resumed) => this.#ready(frame, resumed),
      frame: (frame) => this.#frame(frame),
      status: (status) => {
        this.connection = status;
        if (status.state !== 'online') this.#subscribed.clear();
        this.state.changed();
      },
    };
    this.realtime = new RealtimeConnection(
      url,
      connection,
      options.WebSocket ? { WebSocket: options.WebSocket } : {},
    );
    this.#prefetched = options.prefetchedHistory;
    this.#prefetchedRooms = options.prefetchedRooms;
  }

  get me(): User {
    const me = this.state.me;
    if (!me) throw new Error('not signed in');
    return me;
  }

  /** Loads the rooms and people and connects; the REST client must be signed in. */
  async start(): Promise<void> {
    const user = this.rest.user;
    if (!user) throw new Error('sign in first');
    this.state.me = user;
    this.state.addUsers([user]);
    this.#outboxKey = `kaiwa.outbox.${user.id}`;
    this.#restoreOutbox();
    this.#unsubscribers.push(
      this.state.subscribe(() => this.#persistOutbox()),
      this.rest.onSession((session) => {
        if (session) {
          this.state.me = session.user;
          this.#scheduleTokenRefresh();
        }
      }),
    );
    const onVisible = () => {
      if (pageVisible() && this.state.viewing) this.markRead(this.state.viewing);
    };
    const page = pageDocument();
    page?.addEventListener?.('visibilitychange', onVisible);
    this.#unsubscribers.push(() => page?.removeEventListener?.('visibilitychange', onVisible));
    this.#scheduleTokenRefresh();
    this.realtime.start();
    await this.loadRooms(); // the directory follows when the connection is ready
  }

  /** Disconnects and stops every timer; the state stays as it was. */
  stop(): void {
    this.#stopped = true;
    this.realtime.stop();
    clearTimeout(this.#refreshTimer);
    clearInterval(this.#typingTimer);
    clearTimeout(this.#unreadTimer);
    for (const timer of this.#ackTimers.values()) clearTimeout(timer);
    for (const timer of this.#readTimers.values()) clearTimeout(timer);
    for (const timer of this.#typingStop.values()) clearTimeout(timer);
    for (const unsubscribe of this.#unsubscribers) unsubscribe();
    this.#unsubscribers = [];
    for (const [id, waiters] of this.#ackWaiters) {
      for (const waiter of waiters) waiter.reject(new RealtimeError('stopped', `${id} was not acknowledged`));
    }
    this.#ackWaiters.clear();
    for (const url of this.#fileUrls.values())
      void url.then(
        (href) => URL.revokeObjectURL(href),
        () => {},
      );
  }

  /** Stops, forgets the outbox and the state, and ends the session on the server and here. */
  async signOut(): Promise<void> {
    this.stop();
    try {
      this.rest.storage.removeItem(this.#outboxKey);
    } catch {
      // Nothing stored.
    }
    this.state.clear();
    await this.rest.logout();
  }

  /** Sets the notice the screens show (null clears it). */
  say(notice: string | null): void {
    this.notice = notice;
    this.state.changed();
  }

  // ---------------------------------------------------------------- tokens

  #scheduleTokenRefresh(): void {
    clearTimeout(this.#refreshTimer);
    const due = this.rest.refreshDueInMs();
    if (due === undefined || this.#stopped) return;
    // Timers longer than about 24 days fire at once; refresh tokens live at most a year anyway.
    this.#refreshTimer = setTimeout(
      () => {
        this.rest.refresh().then(
          () => this.#scheduleTokenRefresh(),
          (error: unknown) => {
            if (error instanceof KaiwaApiError && error.status === 401) return;
            // Offline: try again soon.
            this.#refreshTimer = setTimeout(() => this.#scheduleTokenRefresh(), 10_000);
          },
        );
      },
      Math.min(due, 2 ** 31 - 1),
    );
  }

  // ---------------------------------------------------------------- rooms and people

  /** Reloads the room list (one request at a time; a request during one runs once more after it). */
  loadRooms(): Promise<void> {
    if (this.#roomsLoad) {
      this.#roomsReload = true;
      return this.#roomsLoad;
    }
    this.#roomsLoad = (async () => {
      do {
        this.#roomsReload = false;
        const prefetched = this.#prefetchedRooms;
        this.#prefetchedRooms = undefined;
        const early = prefetched ? await prefetched.list.catch(() => undefined) : undefined;
        const requestedAt = early && prefetched ? prefetched.requestedAt : Date.now();
        const { rooms } = early ?? (await this.rest.listRooms());
        this.state.setRooms(rooms, requestedAt);
        for (const summary of rooms) {
          this.#subscribe(summary.room.id);
          if (summary.room.kind === 'direct' && !this.state.rooms.get(summary.room.id)?.memberIds) {
            void this.loadMembers(summary.room.id);
          }
        }
      } while (this.#roomsReload);
    })().finally(() => {
      this.#roomsLoad = null;
    });
    return this.#roomsLoad;
  }

  async #loadDirectory(): Promise<void> {
    if (!this.state.capabilities.listUsers) return;
    try {
      const { users } = await this.rest.listUsers({ limit: 200 });
      this.state.addUsers(users);
      this.#queryPresence(users.map((user) => user.id));
    } catch {
      // The directory is a convenience; people are still loaded one by one.
    }
  }

  /** Everyone the server lists (for direct messages and the people list). */
  async listUsers(): Promise<User[]> {
    await this.#loadDirectory();
    return [...this.state.users.values()].sort((a, b) => a.displayName.localeCompare(b.displayName));
  }

  /** Loads the users behind these ids that are not known yet. */
  ensureUsers(userIds: Iterable<string>): void {
    const missing = [...new Set(userIds)].filter(
      (id) => !this.state.users.has(id) && !this.#userRequests.has(id),
    );
    for (const id of missing) {
      const request = this.rest
        .getUser(id)
        .then(
          (user) => {
            this.state.addUsers([user]);
            this.#queryPresence([user.id]);
          },
          () => undefined,
        )
        .finally(() => this.#userRequests.delete(id));
      this.#userRequests.set(id, request);
    }
  }

  async loadMembers(roomId: string): Promise<void> {
    try {
      const { members, rights } = await this.rest.listMembers(roomId, { limit: 200 });
      const ids = members.map((member) => member.userId);
      this.state.setMembers(roomId, ids);
      if (rights) this.state.setRights(roomId, rights);
      this.ensureUsers(ids);
    } catch {
      // Shown without members.
    }
  }

  /** Creates a channel or a private group (a group DM: `kind: 'group'` with `memberIds`) and shows it at once. */
  async createRoom(input: CreateRoomInput): Promise<Room> {
    const room = await this.rest.createRoom(input);
    // Shown at once; the list (with my membership) follows.
    this.state.upsertRoom(room);
    this.#subscribe(room.id);
    this.loadRooms().catch(() => undefined);
    return room;
  }

  /** Public channels I may join. */
  listChannels(): Promise<{ rooms: Room[] }> {
    return this.rest.listChannels({ limit: 200 });
  }

  async joinRoom(room: Room): Promise<void> {
    const membership = await this.rest.joinRoom(room.id);
    this.state.upsertRoom(room, membership);
    this.#subscribe(room.id);
    this.loadRooms().catch(() => undefined);
  }

  async leaveRoom(roomId: string): Promise<void> {
    await this.rest.leaveRoom(roomId);
    this.realtime.send({ type: 'unsubscribe', roomId });
    this.#unsubscribed(roomId);
    this.state.removeRoom(roomId);
  }

  async openDirect(userId: string): Promise<Room> {
    const room = await this.rest.openDirectRoom(userId);
    this.state.upsertRoom(room);
    this.state.setMembers(room.id, [this.me.id, userId]);
    this.#subscribe(room.id);
    this.loadRooms().catch(() => undefined);
    return room;
  }

  /** Changes my own view of a room (favourite, notification level, muted) and shows it at once. */
  async setRoomPreferences(roomId: string, input: UpdateRoomPreferencesInput): Promise<void> {
    this.state.setSummary(await this.rest.setRoomPreferences(roomId, input));
  }

  /** Admins: a new account; the answer carries its one-time password. */
  async createAccount(input: NewAccount): Promise<{ user: User; oneTimePassword?: string }> {
    const result = await this.rest.createUser(input);
    this.state.addUsers([result.user]);
    return result;
  }

  // ---------------------------------------------------------------- viewing

  /** Shows a room: loads its history the first time, and marks it read. */
  async openRoom(roomId: string): Promise<void> {
    const entry = this.state.rooms.get(roomId);
    if (!entry) return;
    if (this.state.viewing !== roomId) {
      entry.readMarkerAtOpen = entry.unread > 0 ? (entry.membership?.lastReadMessageId ?? null) : undefined;
    }
    this.state.viewing = roomId;
    this.state.markViewed(roomId);
    this.state.changed(entry);
    if (!entry.memberIds) void this.loadMembers(roomId);
    if (!entry.historyLoaded) await this.#loadHistory(roomId);
    this.markRead(roomId);
  }

  closeRoom(): void {
    this.state.viewing = null;
    this.state.changed();
  }

  async #loadHistory(roomId: string): Promise<void> {
    const prefetched = this.#prefetched?.roomId === roomId ? this.#prefetched.page : undefined;
    this.#prefetched = undefined;
    if (prefetched) {
      const page = await prefetched.catch(() => undefined);
      if (page) {
        this.ensureUsers(page.messages.map((message) => message.authorId));
        this.state.mergeHistory(roomId, page);
        // Asked for before the room was subscribed: the newest page is asked for once more, off the way to
        // the first paint (see #topUpOnceSubscribed).
        this.#topUpOnceSubscribed(roomId);
        return;
      }
    }
    // Read before the subscription stands: a message stored between the read and the subscription would
    // be in neither, so the newest page is read again once it stands.
    if (this.state.rooms.get(roomId)?.lastSeq === null) this.#topUpWhenSubscribed.add(roomId);
    try {
      const page = await this.#history(roomId, { limit: HISTORY_PAGE });
      this.state.mergeHistory(roomId, page);
    } catch (error) {
      this.#report('could not load the messages', error);
    }
  }

  /**
   * For a history page read before the room's subscription stood: once it stands (now, or when its
   * `subscribed` arrives), the newest page is read again and merged by id, so a message stored between the
   * first read and the subscription is not lost (the server replays only what came after the subscription's
   * start, and a room subscribed to for the first time starts at its newest event).
   */
  #topUpOnceSubscribed(roomId: string): void {
    if (this.state.rooms.get(roomId)?.lastSeq === null) this.#topUpWhenSubscribed.add(roomId);
    else this.#readNewestAgain(roomId);
  }

  #readNewestAgain(roomId: string): void {
    this.#history(roomId, { limit: HISTORY_PAGE }).then(
      (again) => this.state.mergeRange(roomId, again.messages, again.hasMore),
      () => undefined,
    );
  }

  /** Forgets what the client does for a room's subscription: it was left, lost or starts over. */
  #unsubscribed(roomId: string): void {
    this.#subscribed.delete(roomId);
    this.#topUpWhenSubscribed.delete(roomId);
  }

  /** The page before the oldest message shown (infinite scroll upwards). */
  async loadOlder(roomId: string): Promise<void> {
    const entry = this.state.rooms.get(roomId);
    if (!entry || entry.loadingOlder || !entry.hasOlder) return;
    if (!entry.historyLoaded) return this.#loadHistory(roomId);
    const oldest = this.state.timeline(roomId)[0];
    entry.loadingOlder = true;
    this.state.changed(entry);
    try {
      const query = { limit: HISTORY_PAGE, ...(oldest ? { before: oldest.id } : {}) };
      this.state.mergeHistory(roomId, await this.#history(roomId, query));
    } catch (error) {
      entry.loadingOlder = false;
      this.state.changed(entry);
      this.#report('could not load older messages', error);
    }
  }

  /**
   * Loads the history around a message so it can be shown in place (a search result, a permalink): a page
   * before it and every message from it up to the history already loaded (or the newest), so the timeline
   * keeps no hole. A thread reply loads its root that way, then its thread. Returns the message.
   *
   * @example
   * const message = await chat.loadAround(roomId, messageId);
   * document.querySelector(`[data-message-id="${message.id}"]`)?.scrollIntoView({ block: 'center' });
   */
  async loadAround(roomId: string, messageId: string): Promise<Message> {
    const entry = this.state.rooms.get(roomId);
    if (!entry) throw new Error(`not a member of room ${roomId}`);
    const message = entry.messages.get(messageId) ?? (await this.rest.getMessage(messageId));
    if (message.roomId !== roomId) throw new Error(`message ${messageId} is not in room ${roomId}`);
    if (message.threadRootId) {
      await this.loadAround(roomId, message.threadRootId);
      await this.loadThread(roomId, message.threadRootId);
      return message;
    }
    const timeline = entry.historyLoaded ? this.state.timeline(roomId) : [];
    const index = timeline.findIndex((each) => each.id === messageId);
    if (index >= 0) {
      // Already in the timeline: only the context above it may be missing.
      if (index < AROUND_BEFORE && entry.hasOlder) await this.loadOlder(roomId);
      return message;
    }
    const oldestLoaded = timeline[0]?.id;
    const before = await this.#history(roomId, { before: messageId, limit: AROUND_BEFORE });
    const range = [...before.messages, message];
    // Up to what is loaded (or the newest), so nothing between the jump and the present is skipped.
    for (let cursor = messageId, pages = 0; pages < AROUND_MAX_PAGES; pages += 1) {
      const page = await this.#history(roomId, { after: cursor, limit: AROUND_PAGE });
      range.push(...page.messages);
      const last = page.messages.at(-1);
      if (!page.hasMore || !last || (oldestLoaded !== undefined && last.id >= oldestLoaded)) break;
      cursor = last.id;
    }
    this.ensureUsers([message.authorId]);
    this.state.mergeRange(roomId, range, before.hasMore);
    return message;
  }

  async loadThread(roomId: string, rootId: string, older = false): Promise<void> {
    const entry = this.state.rooms.get(roomId);
    if (!entry) return;
    const thread = entry.threads.get(rootId);
    if (thread?.loading || (thread?.loaded && !older)) return;
    entry.threads.set(rootId, {
      loaded: thread?.loaded ?? false,
      hasOlder: thread?.hasOlder ?? false,
      loading: true,
    });
    this.state.changed(entry);
    try {
      if (!entry.messages.has(rootId)) {
        const root = await this.rest.getMessage(rootId);
        this.state.mergeHistory(roomId, { messages: [root], hasMore: entry.hasOlder });
      }
      const oldest = older ? this.state.threadReplies(roomId, rootId)[0] : undefined;
      const query = { threadRootId: rootId, limit: THREAD_PAGE, ...(oldest ? { before: oldest.id } : {}) };
      this.state.mergeHistory(roomId, await this.#history(roomId, query), { threadRootId: rootId });
    } catch (error) {
      entry.threads.set(rootId, { loaded: false, hasOlder: false, loading: false });
      this.state.changed(entry);
      this.#report('could not load the thread', error);
    }
  }

  async #history(roomId: string, query: MessagePageQuery): Promise<MessagePage> {
    const page = await this.rest.messagePage(roomId, query);
    this.ensureUsers(page.messages.map((message) => message.authorId));
    return page;
  }

  /** Sets my read marker to the newest message, soon (several calls in a row make one request). */
  markRead(roomId: string): void {
    clearTimeout(this.#readTimers.get(roomId));
    this.#readTimers.set(
      roomId,
      setTimeout(() => {
        this.#readTimers.delete(roomId);
        // Read if it was on screen, even when the reader has moved on to another room since.
        if (!pageVisible()) return;
        this.state.markViewed(roomId);
        if (!this.realtime.send({ type: 'read', roomId })) {
          this.rest.markRead(roomId).catch(() => undefined);
        }
      }, 250),
    );
  }

  // ---------------------------------------------------------------- messages

  /**
   * Sends a message: shown as pending at once, stored by the server exactly once however often it is sent
   * (also after a reconnect or a reload). Returns its clientMessageId, for {@link waitForAck}.
   */
  send(
    roomId: string,
    text: string,
    options: {
      threadRootId?: string;
      attachments?: Pick<FileRecord, 'id' | 'name' | 'mimeType' | 'size'>[];
    } = {},
  ): string {
    const attachments: Attachment[] = (options.attachments ?? []).map((file) => ({
      fileId: file.id,
      name: file.name,
      mimeType: file.mimeType,
      size: file.size,
    }));
    const entry: OutboxEntry = {
      clientMessageId: newClientMessageId(),
      roomId,
      authorId: this.me.id,
      text,
      threadRootId: options.threadRootId ?? null,
      attachments,
      state: 'sending',
      createdAt: new Date().toISOString(),
    };
    this.state.queue(entry);
    this.typing(roomId, false);
    this.#transmit(entry);
    return entry.clientMessageId;
  }

  /**
   * The stored message once the server acknowledged a send (by its ack, or by its event after a
   * reconnect); rejects when the send failed for good, was discarded or the client stopped.
   */
  waitForAck(clientMessageId: string): Promise<Message> {
    return new Promise((resolve, reject) => {
      const waiters = this.#ackWaiters.get(clientMessageId) ?? [];
      waiters.push({ resolve, reject });
      this.#ackWaiters.set(clientMessageId, waiters);
    });
  }

  #settleAck(clientMessageId: string, outcome: Message | Error): void {
    const waiters = this.#ackWaiters.get(clientMessageId);
    if (!waiters) return;
    this.#ackWaiters.delete(clientMessageId);
    for (const waiter of waiters) {
      if (outcome instanceof Error) waiter.reject(outcome);
      else waiter.resolve(outcome);
    }
  }

  /** Sends a failed message again, with the same clientMessageId. */
  retry(clientMessageId: string): void {
    const entry = this.state.retrying(clientMessageId);
    if (entry) this.#transmit(entry);
  }

  /** Gives up a failed or pending send (if the server stored it already, it stays stored). */
  discard(clientMessageId: string): void {
    clearTimeout(this.#ackTimers.get(clientMessageId));
    this.state.discard(clientMessageId);
    this.#settleAck(clientMessageId, new RealtimeError('discarded', 'the message was discarded'));
  }

  #transmit(entry: OutboxEntry): void {
    const id = entry.clientMessageId;
    clearTimeout(this.#ackTimers.get(id));
    if (!this.realtime.isReady) return; // sent when the connection is ready again
    this.#ackTimers.set(
      id,
      setTimeout(() => {
        this.#ackTimers.delete(id);
        const current = this.state.outbox.get(id);
        if (current?.state === 'sending') this.#transmit(current);
      }, ACK_TIMEOUT_MS),
    );
    this.realtime
      .request({
        type: 'send',
        roomId: entry.roomId,
        clientMessageId: id,
        text: entry.text,
        ...(entry.threadRootId ? { threadRootId: entry.threadRootId } : {}),
        ...(entry.attachments.length > 0
          ? { attachmentIds: entry.attachments.map((attachment) => attachment.fileId) }
          : {}),
      })
      .then(
        () => {
          clearTimeout(this.#ackTimers.get(id));
          this.#ackTimers.delete(id);
        },
        (error: unknown) => {
          if (!(error instanceof RealtimeError) || error.code === 'disconnected') return;
          clearTimeout(this.#ackTimers.get(id));
          this.#ackTimers.delete(id);
          if (error.code === 'rate_limited' || error.code === 'internal') {
            this.#ackTimers.set(
              id,
              setTimeout(() => {
                const current = this.state.outbox.get(id);
                if (current?.state === 'sending') this.#transmit(current);
              }, 2_000),
            );
            return;
          }
          this.state.failed(id, error.message);
          this.#settleAck(id, error);
        },
      );
  }

  async edit(message: Message, text: string): Promise<void> {
    const changed = await this.rest.editMessage(message.id, text);
    this.state.mergeChanged(changed);
  }

  async remove(message: Message): Promise<void> {
    const changed = await this.rest.deleteMessage(message.id);
    this.state.mergeChanged(changed);
  }

  async react(message: Message, emoji: string, add: boolean): Promise<void> {
    this.state.mergeReaction(message.roomId, message.id, emoji, add);
    try {
      if (add) await this.rest.addReaction(message.id, emoji);
      else await this.rest.removeReaction(message.id, emoji);
    } catch (error) {
      this.state.mergeReaction(message.roomId, message.id, emoji, !add);
      this.#report('could not change the reaction', error);
    }
  }

  /** Tells the room I am typing (throttled), or that I stopped. */
  typing(roomId: string, active: boolean): void {
    const sentAt = this.#typingSent.get(roomId);
    clearTimeout(this.#typingStop.get(roomId));
    if (!active) {
      if (sentAt !== undefined) {
        this.#typingSent.delete(roomId);
        this.realtime.send({ type: 'typing', roomId, typing: false });
      }
      return;
    }
    const now = Date.now();
    if (sentAt === undefined || now - sentAt >= this.limits.typingThrottleMs) {
      if (this.realtime.send({ type: 'typing', roomId, typing: true })) this.#typingSent.set(roomId, now);
    }
    this.#typingStop.set(
      roomId,
      setTimeout(() => this.typing(roomId, false), TYPING_IDLE_MS),
    );
  }

  // ---------------------------------------------------------------- files

  /** Uploads a file into a room, for a message's attachments (a browser `File` keeps its name). */
  upload(roomId: string, file: Blob): Promise<FileRecord> {
    return this.rest.upload(roomId, file);
  }

  /** An object URL for a file's bytes (fetched once with the token). */
  fileUrl(fileId: string): Promise<string> {
    let url = this.#fileUrls.get(fileId);
    if (!url) {
      url = this.rest.fileBlob(fileId).then((blob) => URL.createObjectURL(blob));
      url.catch(() => this.#fileUrls.delete(fileId));
      this.#fileUrls.set(fileId, url);
    }
    return url;
  }

  // ---------------------------------------------------------------- realtime

  #ready({ user, capabilities, limits }: ReadyFrame, resumed: boolean): void {
    this.limits = limits;
    this.state.me = user;
    this.state.capabilities = capabilities;
    this.#subscribed.clear();
    this.#gapFetches.clear();
    for (const roomId of this.state.rooms.keys()) this.#subscribe(roomId);
    for (const entry of this.state.outbox.values()) if (entry.state === 'sending') this.#transmit(entry);
    this.#queryPresence([...this.state.users.keys()]);
    if (resumed) {
      // Rooms may have come or gone while away; counts may have changed through deletions.
      this.loadRooms().catch(() => undefined);
    } else {
      // Now that the capabilities are known.
      void this.#loadDirectory();
    }
    this.state.changed();
  }

  #subscribe(roomId: string): void {
    const entry = this.state.rooms.get(roomId);
    if (!entry || !this.realtime.isReady || this.#subscribed.has(roomId)) return;
    if (this.#subscribed.size >= this.limits.maxSubscriptions) return;
    this.#subscribed.add(roomId);
    this.realtime
      .request({
        type: 'subscribe',
        roomId,
        ...(entry.lastSeq === null ? {} : { lastSeq: entry.lastSeq }),
      })
      .catch((error: unknown) => {
        if (!(error instanceof RealtimeError) || error.code === 'disconnected') return;
        this.#unsubscribed(roomId);
        if (error.code === 'not_found' || error.code === 'forbidden') {
          this.state.removeRoom(roomId);
        } else if (error.code === 'validation_failed') {
          // The room is behind what we saw (restored from a backup?): start it over.
          this.state.resetRoom(roomId);
          this.#subscribe(roomId);
          if (this.state.viewing === roomId) void this.#loadHistory(roomId);
        }
      });
  }

  #queryPresence(userIds: string[]): void {
    const ids = userIds.filter((id) => id !== this.state.me?.id);
    for (let start = 0; start < ids.length; start += 500) {
      const batch = ids.slice(start, start + 500);
      this.realtime.request({ type: 'presence.query', userIds: batch }).catch(() => undefined);
    }
  }

  /**
   * Calls `listener` with every frame the server sends, for views that follow more than the chat state
   * (the Workflows view's run progress); returns the function that stops it.
   */
  onFrame(listener: (frame: ServerFrame) => void): () => void {
    this.#frameListeners.add(listener);
    return () => this.#frameListeners.delete(listener);
  }

  #frame(frame: ServerFrame): void {
    for (const listener of this.#frameListeners) {
      try {
        listener(frame);
      } catch (error) {
        // A view's mistake must not stop the chat from taking in the frame.
        console.error(error);
      }
    }
    if (isRoomEventType(frame.type)) {
      this.#roomEvent(frame as RoomEvent);
      return;
    }
    switch (frame.type) {
      case 'subscribed': {
        const first = this.state.rooms.get(frame.roomId)?.lastSeq === null;
        this.state.subscribed(frame.room, frame.fromSeq);
        if (this.#topUpWhenSubscribed.delete(frame.roomId)) this.#readNewestAgain(frame.roomId);
        // Messages sent before this point are counted by the server, later ones by their events.
        if (first) this.#refreshUnreadSoon();
        return;
      }
      case 'events': {
        this.#gapFetches.delete(frame.roomId);
        for (const event of frame.events) this.#roomEvent(event);
        // A gap longer than one page: fetch on while events still wait for the missing ones.
        const entry = this.state.rooms.get(frame.roomId);
        if (frame.hasMore && entry && entry.held.length > 0) this.#fetchGap(frame.roomId);
        return;
      }
      case 'ack':
        if ('clientMessageId' in frame) {
          clearTimeout(this.#ackTimers.get(frame.clientMessageId));
          this.#ackTimers.delete(frame.clientMessageId);
          this.state.acknowledged(frame.clientMessageId, frame.message);
          this.#settleAck(frame.clientMessageId, frame.message);
        }
        return;
      case 'typing.updated':
        this.state.setTyping(
          frame.roomId,
          frame.userId,
          frame.typing,
          Date.now() + this.limits.typingExpiryMs,
        );
        this.ensureUsers([frame.userId]);
        this.#watchTyping();
        return;
      case 'message.delta':
        this.state.streamDelta(frame);
        this.ensureUsers([frame.authorId]);
        return;
      case 'presence.updated':
        this.state.setPresence({ [frame.userId]: frame.status });
        return;
      case 'presence.state':
        this.state.setPresence(frame.statuses);
        return;
      case 'read.updated':
        // My marker moved in another tab or device: the counts changed.
        if (frame.userId === this.state.me?.id) this.#refreshUnreadSoon();
        return;
      case 'room.created':
        if (frame.memberIds.includes(this.state.me?.id ?? '')) {
          this.state.upsertRoom(frame.room);
          if (frame.room.kind === 'direct') this.state.setMembers(frame.room.id, frame.memberIds);
          this.ensureUsers(frame.memberIds);
          this.loadRooms().catch(() => undefined);
        }
        return;
      case 'room.rights':
        this.state.setRights(frame.roomId, frame.rights);
        return;
      case 'account.updated': {
        const couldListUsers = this.state.capabilities.listUsers;
        this.state.me = frame.user;
        this.state.capabilities = frame.capabilities;
        this.state.addUsers([frame.user]);
        // A new role may change what I may do in every room: the room list carries the rights as they are now.
        this.loadRooms().catch(() => undefined);
        if (!couldListUsers && frame.capabilities.listUsers) void this.#loadDirectory();
        this.state.changed();
        return;
      }
      case 'unsubscribed':
        this.#unsubscribed(frame.roomId);
        if (frame.reason === 'access_lost') this.state.removeRoom(frame.roomId);
        else if (frame.reason === 'error') setTimeout(() => this.#subscribe(frame.roomId), 1_000);
        return;
      default:
        return;
    }
  }

  #roomEvent(event: RoomEvent): void {
    const result = this.state.applyEvent(event);
    if (result === 'unknown-room') {
      // A join or invitation reaches my connections before I subscribe to the room.
      if (event.type === 'member.joined' || event.type === 'member.left') {
        this.loadRooms().catch(() => undefined);
      }
      return;
    }
    if (result === 'gap') {
      this.#fetchGap(event.roomId);
      return;
    }
    if (result !== 'applied') return;
    switch (event.type) {
      case 'message.created': {
        // The final text of a streamed reply replaces the stream.
        const streamId = (event.payload.message.metadata.assistant as { streamId?: unknown } | undefined)
          ?.streamId;
        if (typeof streamId === 'string') this.state.endStream(streamId);
        const { clientMessageId, authorId } = event.payload.message;
        if (clientMessageId && authorId === this.state.me?.id) {
          this.#settleAck(clientMessageId, event.payload.message);
        }
        this.ensureUsers([event.payload.message.authorId]);
        if (event.roomId === this.state.viewing) this.markRead(event.roomId);
        return;
      }
      case 'message.deleted':
        this.#refreshUnreadSoon();
        return;
      case 'member.joined':
        this.ensureUsers([event.payload.membership.userId]);
        return;
      case 'member.left':
        if (event.payload.userId === this.state.me?.id) this.#unsubscribed(event.roomId);
        return;
      default:
        return;
    }
  }

  /** Reads the events missing before held ones (this server never skips one, but a client checks). */
  #fetchGap(roomId: string): void {
    const entry = this.state.rooms.get(roomId);
    if (entry?.lastSeq == null || this.#gapFetches.has(roomId)) return;
    this.#gapFetches.add(roomId);
    this.realtime
      .request({ type: 'fetch', roomId, afterSeq: entry.lastSeq, limit: 500 })
      .catch(() => this.#gapFetches.delete(roomId));
  }

  #refreshUnreadSoon(): void {
    clearTimeout(this.#unreadTimer);
    this.#unreadTimer = setTimeout(() => {
      this.rest.unreadCounts().then(
        ({ unread }) => {
          for (const roomId of this.state.rooms.keys()) this.state.setUnread(roomId, unread);
        },
        () => undefined,
      );
    }, 500);
  }

  #watchTyping(): void {
    if (this.#typingTimer !== undefined) return;
    this.#typingTimer = setInterval(() => {
      if (!this.state.expireTyping(Date.now())) {
        clearInterval(this.#typingTimer);
        this.#typingTimer = undefined;
      }
    }, 1_000);
  }

  // ---------------------------------------------------------------- outbox persistence

  #persistedOutbox = '';

  #persistOutbox(): void {
    if (!this.#outboxKey || this.#stopped) return;
    const text = JSON.stringify([...this.state.outbox.values()]);
    if (text === this.#persistedOutbox) return;
    this.#persistedOutbox = text;
    try {
      if (this.state.outbox.size === 0) this.rest.storage.removeItem(this.#outboxKey);
      else this.rest.storage.setItem(this.#outboxKey, text);
    } catch {
      // Storage full or off: the outbox lives as long as the page.
    }
  }

  #restoreOutbox(): void {
    try {
      const text = this.rest.storage.getItem(this.#outboxKey);
      if (!text) return;
      for (const entry of JSON.parse(text) as OutboxEntry[]) {
        if (entry.authorId === this.me.id) this.state.queue(entry);
      }
    } catch {
      // A damaged outbox is dropped.
    }
  }

  #report(what: string, error: unknown): void {
    const reason =
      error instanceof KaiwaApiError ? error.explanation : error instanceof Error ? error.message : '';
    this.say(reason ? `${what}: ${reason}` : what);
  }
}

/**
 * A chat client for one server in one call: the REST client (signed in later, or already from storage) and
 * the chat on top of it.
 *
 * @example
 * // Browser, the page's own server
 * const chat = createKaiwaClient();
 * await chat.rest.login('ada', password);
 * await chat.start();
 *
 * @example
 * // Node 20
 * import { WebSocket } from 'ws';
 * const chat = createKaiwaClient({ baseUrl: 'https://chat.example.com', WebSocket });
 */
export function createKaiwaClient(
  options: KaiwaRestClientOptions & Omit<KaiwaChatClientOptions, 'rest'> = {},
): KaiwaChatClient {
  const { realtimeUrl: url, WebSocket, ...restOptions } = options;
  return new KaiwaChatClient({
    rest: new KaiwaRestClient(restOptions),
    ...(url === undefined ? {} : { realtimeUrl: url }),
    ...(WebSocket === undefined ? {} : { WebSocket }),
  });
}
