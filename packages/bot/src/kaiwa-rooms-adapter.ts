import { createHash } from 'node:crypto';
import {
  type BlobStore,
  type ChatEngine,
  createId,
  ForbiddenError,
  isRoomEvent,
  MAX_MESSAGE_BYTES,
  type Message,
  NotFoundError,
  type PlatformAdapter,
  type PlatformAttachment,
  type PlatformCapabilities,
  PlatformError,
  type PlatformEventSink,
  type PlatformInboundEdit,
  type PlatformInboundEvent,
  type PlatformInboundMessage,
  type PlatformMessageRef,
  type PlatformOutboundMessage,
  type PlatformTarget,
  type PlatformUser,
  type RoomEvent,
  type User,
  ValidationError,
} from '@kaiwa/core';
import { RoomFeed, type RoomFeedRetry } from './room-feed.js';

/** Attachments of Kaiwa messages are named by this URL scheme; `fetchAttachment` reads their bytes. */
const FILE_URL_PREFIX = 'kaiwa-file:';

/** Characters per message; Kaiwa counts UTF-8 bytes, so this keeps even 4-byte characters within the limit. */
const MAX_TEXT_LENGTH = Math.floor(MAX_MESSAGE_BYTES / 4);

export interface KaiwaRoomsAdapterConfig {
  engine: ChatEngine;
  /** The Kaiwa user the bot (or bridge) acts as; it must be a member of the rooms it serves. */
  botUserId: string;
  /** Where uploaded attachment bytes are kept; without it the adapter cannot upload or read files. */
  blobs?: BlobStore;
  /** Only these rooms; default: every room the bot user is a member of. */
  roomIds?: string[];
  /** Largest upload in bytes. Default 25 MiB. */
  maxUploadBytes?: number;
  /**
   * Resume after restarts: the adapter keeps, per room, how far it has handed events on (a room setting
   * under `platform-cursor:<resumeKey>`), and on `connect` first replays what happened while it was away.
   * Use one key per consumer (`bridge`, `bot:helper`). Without it, only events after `connect` are seen.
   */
  resumeKey?: string;
  /**
   * A hand-on to the sink (the inbox) that fails is tried again with backoff, by default 5 times over
   * about 1.5 s; then the room stalls (see {@link KaiwaRoomsAdapter}) and `onError` is told.
   */
  retry?: RoomFeedRetry;
  /** Told when a room stalls. Default: console.error. */
  onError?: (error: unknown, context: { roomId: string; event: RoomEvent | undefined }) => void;
}

/**
 * Extra fields on inbound events from Kaiwa rooms: the message's metadata, where a relayed message keeps its
 * origin (`metadata.bridge`) and an author override (`metadata.author`).
 */
export interface KaiwaInboundExtras {
  metadata?: Record<string, unknown>;
}

/** Outbound messages may carry Kaiwa message metadata (the bridge stores the origin there). */
export type KaiwaOutboundMessage = PlatformOutboundMessage & { metadata?: Record<string, unknown> };

/**
 * The platform port over Kaiwa's own rooms, so bots and the bridge treat Kaiwa like any other platform:
 * rooms are channels, message ids are Kaiwa message ids, threads are thread roots, and the bot is a Kaiwa
 * user. Inbound events come from the engine's `message.*` and `reaction.*` events (event id
 * `<type>:<roomId>:<seq>`, so a replay is deduplicated by the inbox). An author override is kept in the
 * message's `metadata.author`, which clients show instead of the bot's name.
 *
 * Delivery: per room, events reach the sink one at a time in sequence order, none skipped, through a
 * {@link RoomFeed} over core's `OrderedRoomEvents`: an event that arrives out of order (several server
 * instances on Redis or NATS) waits for the ones before it, a gap is filled from the store, and after a bus
 * reconnect the store is read again. The cursor (with `resumeKey`, stored) only moves past an event once the
 * sink accepted it. A sink that throws is tried again with backoff (`retry`); when it keeps failing, the
 * room stalls: `onError` is told, and nothing after the failed event is handed on — it would overtake it —
 * until the next event in that room, a bus reconnect or the next `connect` tries again from the failed
 * event. Other rooms go on meanwhile. An event may so reach the sink more than once, never out of order;
 * the inbox records it once.
 *
 * @example
 * const kaiwa = new KaiwaRoomsAdapter({ engine, botUserId: bot.id });
 * await kaiwa.connect(inbox);
 * await kaiwa.send({ channelId: room.id }, { text: 'Hello', author: { name: 'alice (slack)' } });
 */
export class KaiwaRoomsAdapter implements PlatformAdapter {
  readonly platform = 'kaiwa';
  readonly capabilities: PlatformCapabilities;
  readonly #engine: ChatEngine;
  readonly #botUserId: string;
  readonly #blobs: BlobStore | undefined;
  readonly #roomIds: Set<string> | undefined;
  readonly #roomKinds = new Map<string, string>();
  #self: PlatformUser | undefined;
  #sink: PlatformEventSink | undefined;
  #unsubscribe: (() => void) | undefined;
  readonly #legacyCursorKey: string | undefined;
  readonly #cursorKey: string | undefined;
  readonly #retry: RoomFeedRetry | undefined;
  readonly #onError: NonNullable<KaiwaRoomsAdapterConfig['onError']>;
  /** Per room the bot serves: its events in order, each handed on once the previous one was. */
  readonly #feeds = new Map<string, RoomFeed>();
  /** Rooms a live event came from that the bot is not a member of; forgotten when the bot joins one. */
  readonly #notMember = new Set<string>();
  /** Background work (store reads, hand-ons, retries), so `idle()` can wait for it. */
  readonly #work = new Set<Promise<void>>();

  constructor(config: KaiwaRoomsAdapterConfig) {
    this.#engine = config.engine;
    this.#botUserId = config.botUserId;
    this.#blobs = config.blobs;
    this.#roomIds = config.roomIds ? new Set(config.roomIds) : undefined;
    // A personal key (`<name>:<bot id>:…`), so the bot may keep it in rooms it does not manage.
    this.#cursorKey = config.resumeKey
      ? `platform-cursor:${config.botUserId}:${config.resumeKey}`
      : undefined;
    this.#legacyCursorKey = config.resumeKey ? `platform-cursor:${config.resumeKey}` : undefined;
    this.#retry = config.retry;
    this.#onError =
      config.onError ??
      ((error, { roomId, event }) =>
        console.error(
          `kaiwa: room ${roomId} stalled${event ? ` at ${event.type} seq ${event.seq}` : ''}; retrying on its next event`,
          error,
        ));
    const maxUploadBytes = config.blobs ? (config.maxUploadBytes ?? 25 * 1024 * 1024) : 0;
    this.capabilities = {
      edit: true,
      delete: true,
      reactions: true,
      threads: true,
      uploads: maxUploadBytes > 0,
      customAuthor: true,
      maxTextLength: MAX_TEXT_LENGTH,
      maxUploadBytes,
    };
  }

  get self(): PlatformUser | undefined {
    return this.#self;
  }

  async connect(sink: PlatformEventSink): Promise<void> {
    const bot = await this.#engine.getUser(this.#botUserId);
    this.#self = toPlatformUser(bot, true);
    this.#sink = sink;
    this.#stopFeeds();
    const memberships = await this.#engine.listRooms(this.#botUserId);
    // The feeds exist before the bus is listened to, so live events that arrive while the starting points
    // are read are held by them rather than taken for rooms seen for the first time.
    const rooms = memberships
      .map(({ room }) => room)
      .filter((room) => !this.#roomIds || this.#roomIds.has(room.id));
    for (const room of rooms) this.#feeds.set(room.id, this.#newFeed(room.id));
    const stopListening = this.#engine.subscribe((event) => {
      if (isRoomEvent(event)) this.#onLive(event);
    });
    // Events published while the bus was away never arrive live: every room reads the store again.
    const stopReconnect = this.#engine.onReconnect(() => {
      for (const feed of this.#feeds.values()) feed.resync();
    });
    this.#unsubscribe = () => {
      stopListening();
      stopReconnect();
    };
    for (const room of rooms) {
      this.#feeds.get(room.id)?.start(await this.#startingPoint(room.id, room.lastSeq));
    }
    await this.idle();
  }

  async disconnect(): Promise<void> {
    this.#stopFeeds();
    await this.idle();
    this.#sink = undefined;
  }

  /**
   * Resolves once every event seen so far has been handed to the sink, or its room stalled.
   *
   * @example
   * await engine.sendMessage(alice.id, { roomId, text: 'hi' });
   * await kaiwa.idle(); // the inbox has recorded it
   */
  async idle(): Promise<void> {
    while (this.#work.size > 0) await Promise.allSettled([...this.#work]);
  }

  #stopFeeds(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    for (const feed of this.#feeds.values()) feed.close();
    this.#feeds.clear();
    this.#notMember.clear();
  }

  #track(work: Promise<void>): void {
    const guarded = work.catch((error: unknown) => this.#onError(error, { roomId: '', event: undefined }));
    this.#work.add(guarded);
    void guarded.finally(() => this.#work.delete(guarded));
  }

  #newFeed(roomId: string): RoomFeed {
    return new RoomFeed({
      roomId,
      read: (afterSeq, limit) => this.#engine.eventsSince(this.#botUserId, roomId, afterSeq, limit),
      handle: (event) => this.#forward(event),
      onStalled: (error, event) => this.#onError(error, { roomId, event }),
      ...(this.#retry ? { retry: this.#retry } : {}),
      track: (work) => this.#track(work),
    });
  }

  /** Where a room's delivery starts: the stored cursor, or (first time, or without `resumeKey`) now. */
  async #startingPoint(roomId: string, lastSeq: number): Promise<number> {
    if (!this.#cursorKey) return lastSeq;
    const stored =
      (await this.#engine.getRoomSetting(this.#botUserId, roomId, this.#cursorKey)) ??
      // Where cursors were kept before they were personal keys (see the constructor).
      (this.#legacyCursorKey
        ? await this.#engine.getRoomSetting(this.#botUserId, roomId, this.#legacyCursorKey)
        : undefined);
    if (typeof stored === 'number') return stored;
    // First time in this room: start from now rather than relaying its whole history.
    await this.#saveCursor(roomId, lastSeq);
    return lastSeq;
  }

  #onLive(event: RoomEvent): void {
    const roomId = event.roomId;
    if (this.#roomIds && !this.#roomIds.has(roomId)) return;
    const feed = this.#feeds.get(roomId);
    if (feed) {
      feed.offer(event);
      return;
    }
    const joinedNow = event.type === 'member.joined' && event.payload.membership.userId === this.#botUserId;
    if (joinedNow) this.#notMember.delete(roomId);
    else if (this.#notMember.has(roomId)) return;
    // A room the bot was not following (joined after connect): delivery starts with this event.
    const fresh = this.#newFeed(roomId);
    this.#feeds.set(roomId, fresh);
    fresh.offer(event);
    const forget = () => {
      fresh.close();
      if (this.#feeds.get(roomId) === fresh) this.#feeds.delete(roomId);
    };
    this.#track(
      (async () => {
        try {
          const member = await this.#engine.findMembership(this.#botUserId, roomId).catch(() => undefined);
          if (fresh.closed) return;
          if (!member) {
            forget();
            this.#notMember.add(roomId);
            return;
          }
          fresh.start(await this.#startingPoint(roomId, event.seq - 1));
        } catch (error) {
          // The store is unreachable: the room's next event tries again (the store keeps this one).
          forget();
          this.#onError(error, { roomId, event });
        }
      })(),
    );
  }

  async send(target: PlatformTarget, message: KaiwaOutboundMessage): Promise<PlatformMessageRef[]> {
    return this.#call(async () => {
      const attachmentIds = await this.#upload(target.channelId, message.attachments ?? []);
      const metadata: Record<string, unknown> = { ...(message.metadata ?? {}) };
      if (message.author) metadata.author = { ...message.author };
      const parts = splitText(message.text.trim() === '' ? fallbackText(message) : message.text);
      const refs: PlatformMessageRef[] = [];
      for (const [index, text] of parts.entries()) {
        const sent = await this.#engine.sendMessage(this.#botUserId, {
          roomId: target.channelId,
          text,
          ...(target.threadId ? { threadRootId: target.threadId } : {}),
          ...(index === 0 && message.replyToMessageId ? { replyToId: message.replyToMessageId } : {}),
          ...(index === 0 ? { attachmentIds } : {}),
          metadata: metadata as never,
        });
        refs.push(toRef(sent));
      }
      return refs;
    });
  }

  async edit(ref: PlatformMessageRef, message: PlatformOutboundMessage): Promise<void> {
    await this.#call(() =>
      this.#engine.editMessage(this.#botUserId, ref.messageId, {
        text: message.text.trim() === '' ? fallbackText(message) : message.text,
      }),
    );
  }

  async delete(ref: PlatformMessageRef): Promise<void> {
    await this.#call(() => this.#engine.deleteMessage(this.#botUserId, ref.messageId));
  }

  async react(ref: PlatformMessageRef, emoji: string): Promise<void> {
    await this.#call(() => this.#engine.addReaction(this.#botUserId, ref.messageId, emoji));
  }

  async unreact(ref: PlatformMessageRef, emoji: string): Promise<void> {
    await this.#call(() => this.#engine.removeReaction(this.#botUserId, ref.messageId, emoji));
  }

  /** The bytes of an inbound attachment (its URL is `kaiwa-file:<fileId>`). */
  async fetchAttachment(attachment: PlatformAttachment): Promise<Uint8Array> {
    if (attachment.data) return attachment.data;
    const fileId = attachment.url?.startsWith(FILE_URL_PREFIX)
      ? attachment.url.slice(FILE_URL_PREFIX.length)
      : undefined;
    if (!fileId || !this.#blobs) {
      throw new PlatformError('kaiwa', 'unsupported', `cannot read attachment ${attachment.name}`);
    }
    const blobs = this.#blobs;
    return this.#call(async () => {
      const file = await this.#engine.getFileRecord(this.#botUserId, fileId);
      return readAll(await blobs.get(file.storageKey));
    });
  }

  async #upload(roomId: string, attachments: PlatformAttachment[]): Promise<string[]> {
    const ids: string[] = [];
    for (const attachment of attachments) {
      if (!attachment.data) continue;
      if (!this.#blobs || attachment.data.byteLength > this.capabilities.maxUploadBytes) {
        throw new PlatformError('kaiwa', 'unsupported', `cannot upload ${attachment.name} here`, {
          retryable: false,
        });
      }
      const storageKey = `platform/${createId()}`;
      await this.#blobs.put(storageKey, attachment.data);
      const file = await this.#engine.createFileRecord(this.#botUserId, {
        name: attachment.name,
        mimeType: attachment.mimeType,
        size: attachment.data.byteLength,
        sha256: createHash('sha256').update(attachment.data).digest('hex'),
        storageKey,
        roomId,
      });
      ids.push(file.id);
    }
    return ids;
  }

  /** Hands one event to the sink, then moves the room's cursor past it; throws to be tried again. */
  async #forward(event: RoomEvent): Promise<void> {
    const sink = this.#sink;
    if (!sink) throw new Error('the adapter is disconnected');
    const inbound = await this.#toInbound(event);
    if (inbound) {
      await sink.accept(inbound);
      await this.#saveCursor(event.roomId, event.seq);
    }
    if (event.type === 'member.left' && event.payload.userId === this.#botUserId) {
      // The bot left: nothing more from this room until it joins again.
      this.#feeds.get(event.roomId)?.close();
      this.#feeds.delete(event.roomId);
      this.#notMember.add(event.roomId);
    }
  }

  async #saveCursor(roomId: string, seq: number): Promise<void> {
    if (!this.#cursorKey) return;
    await this.#engine.setRoomSetting(this.#botUserId, roomId, this.#cursorKey, seq);
  }

  async #toInbound(event: RoomEvent): Promise<PlatformInboundEvent | undefined> {
    const roomId = event.roomId;
    if (this.#roomIds && !this.#roomIds.has(roomId)) return undefined;
    if (!(await this.#engine.findMembership(this.#botUserId, roomId).catch(() => undefined)))
      return undefined;
    const base = {
      platform: 'kaiwa',
      eventId: `${event.type}:${roomId}:${event.seq}`,
      channelId: roomId,
      at: event.createdAt,
    };
    switch (event.type) {
      case 'message.created': {
        const message = event.payload.message;
        const author = await this.#user(message.authorId);
        const inbound: PlatformInboundMessage & KaiwaInboundExtras = {
          ...base,
          kind: 'message',
          messageId: message.id,
          threadId: message.threadRootId,
          replyToMessageId: message.replyToId,
          author,
          text: message.text,
          mentions: {
            userIds: message.mentions.userIds,
            bot: message.mentions.userIds.includes(this.#botUserId),
          },
          attachments: message.attachments.map((attachment) => ({
            name: attachment.name,
            mimeType: attachment.mimeType,
            size: attachment.size,
            url: `${FILE_URL_PREFIX}${attachment.fileId}`,
          })),
          direct: (await this.#roomKind(roomId)) === 'direct',
          metadata: message.metadata,
        };
        return inbound;
      }
      case 'message.updated': {
        const message = event.payload.message;
        const inbound: PlatformInboundEdit & KaiwaInboundExtras = {
          ...base,
          kind: 'message.edited',
          messageId: message.id,
          threadId: message.threadRootId,
          author: await this.#user(message.authorId),
          text: message.text,
          metadata: message.metadata,
        };
        return inbound;
      }
      case 'message.deleted':
        return { ...base, kind: 'message.deleted', messageId: event.payload.message.id };
      case 'reaction.added':
      case 'reaction.removed':
        return {
          ...base,
          kind: event.type,
          messageId: event.payload.messageId,
          user: await this.#user(event.payload.userId),
          emoji: event.payload.emoji,
        };
      default:
        return undefined;
    }
  }

  async #user(userId: string): Promise<PlatformUser> {
    const user = await this.#engine.getUser(userId).catch(() => undefined);
    if (!user) return { id: userId, name: userId, isBot: false };
    return toPlatformUser(user, user.id === this.#botUserId);
  }

  async #roomKind(roomId: string): Promise<string | undefined> {
    let kind = this.#roomKinds.get(roomId);
    if (kind === undefined) {
      kind = (await this.#engine.getRoom(this.#botUserId, roomId).catch(() => undefined))?.kind;
      if (kind) this.#roomKinds.set(roomId, kind);
    }
    return kind;
  }

  /** Runs an engine call and turns Kaiwa errors into platform errors, as other adapters do. */
  async #call<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof PlatformError) throw error;
      if (error instanceof NotFoundError)
        throw new PlatformError('kaiwa', 'not_found', error.message, { cause: error });
      if (error instanceof ForbiddenError)
        throw new PlatformError('kaiwa', 'forbidden', error.message, { cause: error });
      if (error instanceof ValidationError) {
        throw new PlatformError('kaiwa', 'invalid_request', error.message, { cause: error });
      }
      // Anything else (a lost database connection) may pass: try again later.
      throw new PlatformError(
        'kaiwa',
        'unavailable',
        error instanceof Error ? error.message : String(error),
        {
          cause: error,
        },
      );
    }
  }
}

/**
 * Creates a {@link KaiwaRoomsAdapter}.
 *
 * @example const kaiwa = createKaiwaRoomsAdapter({ engine, botUserId: bot.id });
 */
export function createKaiwaRoomsAdapter(config: KaiwaRoomsAdapterConfig): KaiwaRoomsAdapter {
  return new KaiwaRoomsAdapter(config);
}

function toPlatformUser(user: User, isBot: boolean): PlatformUser {
  return { id: user.id, name: user.username, displayName: user.displayName, isBot };
}

function toRef(message: Message): PlatformMessageRef {
  return {
    channelId: message.roomId,
    messageId: message.id,
    ...(message.threadRootId ? { threadId: message.threadRootId } : {}),
  };
}

/** A message with files only still needs text in Kaiwa: the file names. */
function fallbackText(message: PlatformOutboundMessage): string {
  const names = (message.attachments ?? []).map((attachment) => attachment.name).join(', ');
  return names === '' ? '\u2026' : names;
}

/** Splits over-long text at line ends where it can, never inside a character. */
function splitText(text: string): string[] {
  const characters = [...text];
  if (characters.length <= MAX_TEXT_LENGTH) return [text];
  const parts: string[] = [];
  let start = 0;
  while (start < characters.length) {
    let end = Math.min(characters.length, start + MAX_TEXT_LENGTH);
    if (end < characters.length) {
      const newline = characters.lastIndexOf('\n', end);
      if (newline > start) end = newline + 1;
    }
    parts.push(characters.slice(start, end).join(''));
    start = end;
  }
  return parts.filter((part) => part.trim() !== '');
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
