import type { Socket } from 'node:net';
import {
  type ChatEngine,
  createId,
  KaiwaError,
  type Message,
  type SendMessageInput,
  type User,
  type UserRole,
  ValidationError,
} from '@kaiwa/core';
import { type RawData, WebSocket } from 'ws';
import { capabilitiesOf } from './capabilities.js';
import { batchLength, EncodedFrame, frameText, joinBatch, writableSocketOf } from './encoded-frame.js';
import type { RealtimeLimits } from './limits.js';
import type { RealtimeLogger } from './logger.js';
import type { RealtimeMetrics } from './metrics.js';
import {
  CLOSE_CODES,
  type ErrorCode,
  type FrameId,
  type InboundFrame,
  type InboundFrames,
  type OutboundFrame,
  PROTOCOL_VERSION,
  ProtocolError,
  parseFrame,
} from './protocol.js';
import { RoomSubscription, type SubscriptionOwner } from './room-subscription.js';
import { TokenBucket } from './token-bucket.js';

/** Who an `auth` frame's token belongs to, and what ends the connection it opened. */
export interface RealtimeIdentity {
  user: User;
  /** The session behind an access token: when it is revoked, the socket closes (4003). */
  sessionId?: string;
  /** The API key used: when it is revoked, the socket closes (4003). */
  apiKeyId?: string;
  /** When the token expires: the socket closes then (4002) unless an `auth` frame brings a fresh one. */
  expiresAt?: Date;
}

/**
 * Per-user limits shared with the REST API (and other instances): says whether the user may do one more
 * `action` now, and if not, when to try again.
 */
export type UserActionLimiter = (
  userId: string,
  action: 'messages',
) => Promise<{ allowed: true } | { allowed: false; retryAfterMs: number }>;

/** What a connection needs from the realtime server that owns it. */
export interface ConnectionHub {
  readonly engine: ChatEngine;
  readonly limits: RealtimeLimits;
  readonly logger: RealtimeLogger;
  readonly metrics: RealtimeMetrics;
  authenticate(token: string): Promise<RealtimeIdentity | undefined>;
  readonly limitUser: UserActionLimiter;
  /** Runs the handling of one inbound frame (a tracing span around it, or nothing). */
  traceFrame(frameType: string, handle: () => Promise<void>): Promise<void>;
  /** Flushes the connection's queue once the current tick is done, together with every other. */
  scheduleFlush(connection: Connection): void;
  countDelivered(events: number): void;
  addSubscription(subscription: RoomSubscription): void;
  removeSubscription(subscription: RoomSubscription): void;
  connectionReady(connection: Connection): void;
  connectionClosed(connection: Connection): void;
  setTyping(roomId: string, userId: string, typing: boolean): void;
  /** The sequence number of a message's `message.created` event, read from the store; null if too old. */
  presenceOf(userIds: string[]): Promise<Record<string, 'online' | 'away' | 'offline'>>;
}

type ConnectionState = 'new' | 'authenticating' | 'ready' | 'closing' | 'closed';

const TEXT = { binary: false } as const;
/** Where a socket's connection is kept, so one set of event handlers serves every socket. */
const CONNECTION = Symbol('kaiwa.connection');
type OwnedSocket = WebSocket & { [CONNECTION]: Connection };
const NO_ROOMS: ReadonlySet<string> = new Set();
/** How often a catching-up subscription looks whether the socket has drained. */
const DRAIN_POLL_MS = 10;
/** How long a socket may take to finish the closing handshake at shutdown. */
const SHUTDOWN_GRACE_MS = 2_000;

/**
 * One WebSocket connection: authentication, inbound frames (rate-limited, validated, handled one after
 * the other so a client's sends are stored in the order it sent them), subscriptions, and a bounded
 * outbound queue that is written once per tick, coalescing several frames into one JSON array.
 */
export class Connection implements SubscriptionOwner {
  readonly socket: WebSocket;
  readonly subscriptions = new Map<string, RoomSubscription>();
  user: User | undefined;
  /** What the token said: the session or API key behind the connection, and when it expires. */
  identity: RealtimeIdentity | undefined;
  sessionId: string | undefined;
  /** Whether the client wants `presence.updated` frames. */
  wantsPresence = true;
  /** Whether the client asked for project and ticket frames (guests never get them). */
  wantsWork = true;
  /** Cleared at every heartbeat, set by any sign of life; still clear at the next one means dead. */
  alive = true;
  flushScheduled = false;
  readonly #hub: ConnectionHub;
  #state: ConnectionState = 'new';
  #queue: EncodedFrame[] = [];
  #queuedBytes = 0;
  #inbox: InboundFrame[] = [];
  #handlingInbox = false;
  readonly #bucket: TokenBucket;
  readonly #flushEarlyBytes: number;
  #rateLimitedFrames = 0;
  #rateLimitWindowStart = 0;
  // What an idle connection holds is kept small (issue 18): the timers, sets and promises below exist
  // only while they are needed, and the socket's event handlers are shared by every connection.
  #authTimer: NodeJS.Timeout | undefined;
  #expiryTimer: NodeJS.Timeout | undefined;
  #closeTimer: NodeJS.Timeout | undefined;
  /** Rooms where this connection said it is typing, to stop the indicator when it goes away. */
  #typingRooms: Set<string> | undefined;
  #inFlight: Set<Promise<void>> | undefined;
  #closed: Promise<void> | undefined;
  #resolveClosed: (() => void) | undefined;

  static readonly #onSocketMessage = function (this: WebSocket, data: RawData, isBinary: boolean): void {
    (this as OwnedSocket)[CONNECTION].#receive(data, isBinary);
  };
  static readonly #onSocketPong = function (this: WebSocket): void {
    (this as OwnedSocket)[CONNECTION].alive = true;
  };
  static readonly #onSocketError = function (this: WebSocket, error: Error): void {
    const connection = (this as OwnedSocket)[CONNECTION];
    connection.#hub.logger.debug({ err: error, sessionId: connection.sessionId }, 'websocket error');
  };
  static readonly #onSocketClose = function (this: WebSocket): void {
    (this as OwnedSocket)[CONNECTION].#onClose();
  };

  constructor(socket: WebSocket, hub: ConnectionHub) {
    this.socket = socket;
    this.#hub = hub;
    this.#bucket = new TokenBucket(hub.limits.framesPerSecond, hub.limits.frameBurst);
    this.#flushEarlyBytes = Math.min(hub.limits.maxBatchBytes, hub.limits.maxBufferedBytes / 4);
    this.#authTimer = setTimeout(() => {
      if (this.#state === 'new' || this.#state === 'authenticating') {
        this.#beginClose(CLOSE_CODES.authenticationTimeout, 'authentication timeout');
      }
    }, hub.limits.authTimeoutMs);
    this.#authTimer.unref();
    (socket as OwnedSocket)[CONNECTION] = this;
    socket.on('message', Connection.#onSocketMessage);
    socket.on('pong', Connection.#onSocketPong);
    socket.on('error', Connection.#onSocketError);
    socket.on('close', Connection.#onSocketClose);
  }

  /** Rooms where this connection said it is typing, to stop the indicator when it goes away. */
  get typingRooms(): ReadonlySet<string> {
    return this.#typingRooms ?? NO_ROOMS;
  }

  get engine(): ChatEngine {
    return this.#hub.engine;
  }

  get limits(): RealtimeLimits {
    return this.#hub.limits;
  }

  get userId(): string {
    if (!this.user) throw new Error('the connection is not authenticated');
    return this.user.id;
  }

  get userRole(): UserRole {
    if (!this.user) throw new Error('the connection is not authenticated');
    return this.user.role;
  }

  get isOpen(): boolean {
    return this.#state !== 'closing' && this.#state !== 'closed';
  }

  /** Resolves once the socket has closed. */
  get closed(): Promise<void> {
    if (this.#state === 'closed') return Promise.resolve();
    this.#closed ??= new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    return this.#closed;
  }

  // ---------------------------------------------------------------- outbound

  /** Queues a frame that was serialised once for many recipients. */
  deliverEvent(frame: EncodedFrame): void {
    if (this.#enqueue(frame)) this.#hub.countDelivered(1);
  }

  reply(frame: OutboundFrame): void {
    this.#enqueue(EncodedFrame.of(frame));
  }

  /** Writes everything queued: one frame as it is, several as JSON arrays of at most `maxBatchBytes`. */
  flush(): void {
    this.flushScheduled = false;
    const queue = this.#queue;
    if (queue.length === 0) return;
    this.#queue = [];
    this.#queuedBytes = 0;
    if (this.socket.readyState !== WebSocket.OPEN || !this.isOpen) return;
    const raw = writableSocketOf(this.socket);
    if (queue.length === 1) {
      const frame = queue[0]!;
      if (raw) raw.write(frame.wire);
      else this.socket.send(frame.payload, TEXT);
      return;
    }
    const maxBatchBytes = this.#hub.limits.maxBatchBytes;
    let batch: Buffer[] = [];
    let batchBytes = 1;
    for (const frame of queue) {
      if (batch.length > 0 && batchBytes + frame.payload.length + 1 > maxBatchBytes) {
        this.#writeBatch(raw, batch);
        batch = [];
        batchBytes = 1;
      }
      batch.push(frame.payload);
      batchBytes += frame.payload.length + 1;
    }
    this.#writeBatch(raw, batch);
  }

  isCongested(): boolean {
    return this.#queuedBytes + this.socket.bufferedAmount > this.#hub.limits.maxBufferedBytes / 2;
  }

  waitUntilDrained(): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (!this.isOpen || !this.isCongested()) resolve();
        else setTimeout(check, DRAIN_POLL_MS);
      };
      check();
    });
  }

  #writeBatch(raw: Socket | undefined, payloads: Buffer[]): void {
    if (raw) {
      raw.write(
        payloads.length === 1
          ? frameText(payloads, payloads[0]!.length)
          : frameText(payloads, batchLength(payloads)),
      );
    } else {
      this.socket.send(payloads.length === 1 ? payloads[0]! : joinBatch(payloads), TEXT);
    }
  }

  /** @returns false when the frame was dropped (closing, or the queue overflowed). */
  #enqueue(frame: EncodedFrame): boolean {
    if (!this.isOpen) return false;
    this.#queue.push(frame);
    this.#queuedBytes += frame.payload.length;
    // A burst within one tick (the engine on SQLite resolves in microtasks) must not look like a slow
    // consumer: past this size the queue goes to the socket now, and only what the socket holds counts.
    if (this.#queuedBytes >= this.#flushEarlyBytes) this.flush();
    if (this.#queuedBytes + this.socket.bufferedAmount > this.#hub.limits.maxBufferedBytes) {
      this.#closeSlowConsumer();
      return false;
    }
    if (this.#queue.length > 0 && !this.flushScheduled) {
      this.flushScheduled = true;
      this.#hub.scheduleFlush(this);
    }
    return true;
  }

  #closeSlowConsumer(): void {
    const bufferedBytes = this.#queuedBytes + this.socket.bufferedAmount;
    this.#hub.metrics.slowConsumerDisconnects.inc();
    this.#hub.logger.warn(
      { sessionId: this.sessionId, userId: this.user?.id, bufferedBytes },
      'closing a slow websocket consumer',
    );
    // What is already in the socket stays; what we still hold is dropped, the client resumes from the store.
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#beginClose(CLOSE_CODES.slowConsumer, 'slow consumer', this.#hub.limits.slowConsumerGraceMs);
  }

  // ---------------------------------------------------------------- lifecycle

  /** Sends a ping, or terminates the peer if it did not answer the last one. */
  heartbeat(): void {
    if (this.#state === 'closed') return;
    if (!this.alive) {
      this.#hub.logger.debug({ sessionId: this.sessionId }, 'terminating an unresponsive websocket peer');
      this.socket.terminate();
      return;
    }
    this.alive = false;
    this.socket.ping();
  }

  /** Closes with 1001 and resolves when the socket is gone. */
  shutdown(): Promise<void> {
    if (this.#state !== 'closed')
      this.#beginClose(CLOSE_CODES.goingAway, 'server shutting down', SHUTDOWN_GRACE_MS);
    return this.closed;
  }

  /** Resolves when the frames and catch-ups in progress have finished. */
  async idle(): Promise<void> {
    while (this.#inFlight && this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  track(work: Promise<void>): void {
    this.#inFlight ??= new Set();
    const inFlight = this.#inFlight;
    inFlight.add(work);
    void work.finally(() => {
      inFlight.delete(work);
      if (inFlight.size === 0 && this.#inFlight === inFlight) this.#inFlight = undefined;
    });
  }

  endSubscription(subscription: RoomSubscription, reason: 'access_lost' | 'error', error?: unknown): void {
    if (this.subscriptions.get(subscription.roomId) !== subscription) return;
    this.#removeSubscription(subscription);
    const accessLost =
      reason === 'access_lost' || (KaiwaError.isInstance(error) && error.code !== 'internal');
    if (error !== undefined && !accessLost) {
      this.#hub.logger.error(
        { err: error, sessionId: this.sessionId, roomId: subscription.roomId },
        'a room subscription failed',
      );
    }
    this.reply({
      type: 'unsubscribed',
      roomId: subscription.roomId,
      reason: accessLost ? 'access_lost' : 'error',
    });
  }

  /** Closes with 4003: the session, the API key or the account behind the connection was ended. */
  revoke(reason: string): void {
    this.#hub.logger.debug(
      { sessionId: this.sessionId, userId: this.user?.id, reason },
      'credential revoked',
    );
    this.#beginClose(CLOSE_CODES.credentialsRevoked, reason);
  }

  #beginClose(code: number, reason: string, graceMs = SHUTDOWN_GRACE_MS): void {
    if (!this.isOpen) return;
    this.#state = 'closing';
    this.#clearTimers();
    this.#releaseSubscriptions();
    this.#inbox = [];
    this.socket.close(code, reason);
    // A peer that does not read cannot see the close frame; do not wait for it forever.
    this.#closeTimer = setTimeout(() => this.socket.terminate(), graceMs);
    this.#closeTimer.unref();
  }

  #onClose(): void {
    this.#state = 'closed';
    this.#clearTimers();
    clearTimeout(this.#closeTimer);
    this.#closeTimer = undefined;
    this.#releaseSubscriptions();
    this.#inbox = [];
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#hub.connectionClosed(this);
    this.#resolveClosed?.();
  }

  #clearTimers(): void {
    clearTimeout(this.#authTimer);
    this.#authTimer = undefined;
    clearTimeout(this.#expiryTimer);
    this.#expiryTimer = undefined;
  }

  #releaseSubscriptions(): void {
    for (const subscription of this.subscriptions.values()) {
      subscription.close();
      this.#hub.removeSubscription(subscription);
    }
    this.subscriptions.clear();
  }

  #removeSubscription(subscription: RoomSubscription): void {
    subscription.close();
    this.#hub.removeSubscription(subscription);
    if (this.subscriptions.get(subscription.roomId) === subscription)
      this.subscriptions.delete(subscription.roomId);
  }

  // ---------------------------------------------------------------- inbound

  #receive(data: RawData, isBinary: boolean): void {
    if (!this.isOpen) return;
    this.alive = true;
    const limits = this.#hub.limits;
    if (!this.#bucket.take()) {
      this.#rateLimited();
      return;
    }
    if (isBinary) {
      this.#hub.metrics.framesReceived.inc({ type: 'invalid' });
      this.#refuseBeforeAuth() ||
        this.#replyError(undefined, new ProtocolError('binary_not_supported', 'frames must be JSON text'));
      return;
    }
    const bytes = toBuffer(data);
    if (bytes.length > limits.maxFrameBytes) {
      this.#hub.metrics.framesReceived.inc({ type: 'invalid' });
      this.#refuseBeforeAuth() ||
        this.#replyError(
          undefined,
          new ProtocolError('frame_too_large', `frames may be at most ${limits.maxFrameBytes} bytes`, {
            maxFrameBytes: limits.maxFrameBytes,
            size: bytes.length,
          }),
        );
      return;
    }
    const parsed = parseFrame(bytes.toString('utf8'));
    this.#hub.metrics.framesReceived.inc({ type: parsed.ok ? parsed.frame.type : 'invalid' });
    if (!parsed.ok) {
      this.#hub.logger.debug(
        { sessionId: this.sessionId, code: parsed.error.code },
        'refused a websocket frame',
      );
      this.#refuseBeforeAuth() || this.#replyError(parsed.id, parsed.error);
      return;
    }
    const frame = parsed.frame;
    if (this.#state === 'new') {
      if (frame.type !== 'auth') {
        this.#beginClose(CLOSE_CODES.authenticationFailed, 'the first frame must be auth');
        return;
      }
      this.#state = 'authenticating';
    } else if (frame.type === 'auth' && this.#state !== 'ready') {
      this.#replyError(
        frame.id,
        new ProtocolError('already_authenticated', 'this connection is being authenticated'),
      );
      return;
    }
    this.#inbox.push(frame);
    if (!this.#handlingInbox) this.track(this.#handleInbox());
  }

  /** Before `auth`, a frame that cannot be the auth frame closes the connection. */
  #refuseBeforeAuth(): boolean {
    if (this.#state !== 'new') return false;
    this.#beginClose(CLOSE_CODES.authenticationFailed, 'the first frame must be auth');
    return true;
  }

  #rateLimited(): void {
    const limits = this.#hub.limits;
    this.#hub.metrics.rateLimitedFrames.inc();
    const now = performance.now();
    if (now - this.#rateLimitWindowStart > limits.rateLimitWindowMs) {
      this.#rateLimitWindowStart = now;
      this.#rateLimitedFrames = 0;
    }
    this.#rateLimitedFrames += 1;
    if (this.#rateLimitedFrames > limits.maxRateLimitedFrames) {
      this.#hub.logger.warn(
        { sessionId: this.sessionId, userId: this.user?.id },
        'closing a flooding websocket',
      );
      this.#beginClose(CLOSE_CODES.rateLimited, 'rate limit exceeded');
      return;
    }
    this.#replyError(
      undefined,
      new ProtocolError('rate_limited', 'too many frames; slow down', {
        retryAfterMs: this.#bucket.retryAfterMs(),
      }),
    );
  }

  async #handleInbox(): Promise<void> {
    this.#handlingInbox = true;
    try {
      for (let frame = this.#inbox.shift(); frame && this.isOpen; frame = this.#inbox.shift()) {
        try {
          await this.#hub.traceFrame(frame.type, () => this.#handle(frame));
        } catch (error) {
          this.#replyError(frame.id, error);
        }
      }
    } finally {
      this.#handlingInbox = false;
    }
  }

  async #handle(frame: InboundFrame): Promise<void> {
    switch (frame.type) {
      case 'auth':
        return this.#authenticate(frame);
      case 'ping':
        return this.reply({ type: 'pong', ...withId(frame.id), serverTime: new Date().toISOString() });
      case 'subscribe':
        return this.#subscribe(frame);
      case 'unsubscribe':
        return this.#unsubscribe(frame);
      case 'fetch':
        return this.#fetch(frame);
      case 'send':
        return this.#send(frame);
      case 'edit':
        return this.#acknowledge(
          frame.id,
          await this.engine.editMessage(this.userId, frame.messageId, {
            text: frame.text,
            // The engine validates metadata against its JSON schema.
            metadata: frame.metadata as SendMessageInput['metadata'],
          }),
        );
      case 'delete':
        return this.#acknowledge(frame.id, await this.engine.deleteMessage(this.userId, frame.messageId));
      case 'react':
        return this.#acknowledge(
          frame.id,
          await this.engine.addReaction(this.userId, frame.messageId, frame.emoji),
        );
      case 'unreact':
        return this.#acknowledge(
          frame.id,
          await this.engine.removeReaction(this.userId, frame.messageId, frame.emoji),
        );
      case 'read': {
        const membership = await this.engine.markRead(this.userId, frame.roomId, frame.messageId);
        return this.reply({
          type: 'ack',
          ...withId(frame.id),
          roomId: membership.roomId,
          lastReadMessageId: membership.lastReadMessageId,
        });
      }
      case 'typing':
        return this.#typing(frame);
      case 'presence.query':
        return this.reply({
          type: 'presence.state',
          ...withId(frame.id),
          statuses: await this.#hub.presenceOf(frame.userIds),
        });
    }
  }

  async #authenticate(frame: InboundFrames['auth']): Promise<void> {
    if (this.#state === 'ready') return this.#reauthenticate(frame);
    let identity: RealtimeIdentity | undefined;
    try {
      identity = await this.#hub.authenticate(frame.token);
    } catch (error) {
      this.#hub.logger.error({ err: error }, 'websocket authentication failed with an error');
      this.#beginClose(CLOSE_CODES.internalError, 'authentication error');
      return;
    }
    // The deadline may have passed, or the peer gone, while the token was checked.
    if (this.#state !== 'authenticating') return;
    if (!identity) {
      this.#beginClose(CLOSE_CODES.authenticationFailed, 'authentication failed');
      return;
    }
    clearTimeout(this.#authTimer);
    this.#authTimer = undefined;
    const { user } = identity;
    this.user = user;
    this.#adopt(identity);
    this.sessionId = createId();
    this.wantsPresence = frame.presence ?? true;
    this.wantsWork = frame.work ?? true;
    this.#state = 'ready';
    const limits = this.#hub.limits;
    this.reply({
      type: 'ready',
      ...withId(frame.id),
      protocolVersion: PROTOCOL_VERSION,
      user,
      capabilities: capabilitiesOf(user),
      sessionId: this.sessionId,
      serverTime: new Date().toISOString(),
      ...(identity.expiresAt ? { expiresAt: identity.expiresAt.toISOString() } : {}),
      limits: {
        maxFrameBytes: limits.maxFrameBytes,
        maxSubscriptions: limits.maxSubscriptions,
        framesPerSecond: limits.framesPerSecond,
        frameBurst: limits.frameBurst,
        heartbeatIntervalMs: limits.heartbeatIntervalMs,
        typingThrottleMs: limits.typingThrottleMs,
        typingExpiryMs: limits.typingExpiryMs,
      },
    });
    this.#hub.connectionReady(this);
  }

  /**
   * A fresh token for the same user on an open connection: it replaces the old one, so the connection
   * outlives the old token's expiry. A token for someone else is refused and changes nothing.
   */
  async #reauthenticate(frame: InboundFrames['auth']): Promise<void> {
    const identity = await this.#hub.authenticate(frame.token);
    if (!this.isOpen) return;
    if (!identity || identity.user.id !== this.user?.id) {
      throw new ProtocolError(
        'already_authenticated',
        identity ? 'this connection is authenticated as another user' : 'the token was refused',
      );
    }
    this.#adopt(identity);
    this.reply({
      type: 'reauthenticated',
      ...withId(frame.id),
      ...(identity.expiresAt ? { expiresAt: identity.expiresAt.toISOString() } : {}),
    });
  }

  /** Takes the credential's session, key and expiry; closes with 4002 when the token expires. */
  #adopt(identity: RealtimeIdentity): void {
    this.identity = identity;
    clearTimeout(this.#expiryTimer);
    this.#expiryTimer = undefined;
    if (!identity.expiresAt) return;
    // setTimeout holds at most ~24.8 days; tokens live minutes.
    const delay = Math.min(Math.max(identity.expiresAt.getTime() - Date.now(), 0), 2 ** 31 - 1);
    this.#expiryTimer = setTimeout(() => this.#beginClose(CLOSE_CODES.tokenExpired, 'token expired'), delay);
    this.#expiryTimer.unref();
  }

  async #subscribe(frame: InboundFrames['subscribe']): Promise<void> {
    const existing = this.subscriptions.get(frame.roomId);
    if (!existing && this.subscriptions.size >= this.#hub.limits.maxSubscriptions) {
      throw new ProtocolError(
        'too_many_subscriptions',
        `a connection may subscribe to at most ${this.#hub.limits.maxSubscriptions} rooms`,
        { maxSubscriptions: this.#hub.limits.maxSubscriptions },
      );
    }
    if (existing) this.#removeSubscription(existing);
    // Registered before the room is read, so no live event can slip between the read and the subscription.
    const subscription = new RoomSubscription(this, frame.roomId);
    this.subscriptions.set(frame.roomId, subscription);
    this.#hub.addSubscription(subscription);
    try {
      const room = await this.engine.getRoom(this.userId, frame.roomId);
      if (subscription.closed) return;
      if (frame.lastSeq !== undefined && frame.lastSeq > room.lastSeq) {
        throw ValidationError.field('lastSeq', `is ahead of the room's last sequence number ${room.lastSeq}`);
      }
      const fromSeq = frame.lastSeq ?? room.lastSeq;
      this.reply({ type: 'subscribed', ...withId(frame.id), roomId: room.id, fromSeq, room });
      subscription.start(fromSeq, room.kind, room.archived);
    } catch (error) {
      this.#removeSubscription(subscription);
      throw error;
    }
  }

  #unsubscribe(frame: InboundFrames['unsubscribe']): void {
    const subscription = this.subscriptions.get(frame.roomId);
    if (subscription) this.#removeSubscription(subscription);
    this.reply({ type: 'unsubscribed', ...withId(frame.id), roomId: frame.roomId, reason: 'requested' });
  }

  async #fetch(frame: InboundFrames['fetch']): Promise<void> {
    const events = await this.engine.eventsSince(this.userId, frame.roomId, frame.afterSeq, frame.limit);
    // A page of large messages could outgrow the send budget: cut it at maxBatchBytes (keeping at least
    // one event) and let the client ask for the rest.
    let bytes = 0;
    let count = 0;
    for (const event of events) {
      bytes += Buffer.byteLength(JSON.stringify(event)) + 1;
      if (count > 0 && bytes > this.#hub.limits.maxBatchBytes) break;
      count += 1;
    }
    this.reply({
      type: 'events',
      ...withId(frame.id),
      roomId: frame.roomId,
      events: count < events.length ? events.slice(0, count) : events,
      hasMore: count < events.length || events.length === frame.limit,
    });
  }

  async #send(frame: InboundFrames['send']): Promise<void> {
    const verdict = await this.#hub.limitUser(this.userId, 'messages');
    if (!verdict.allowed) {
      throw new ProtocolError('rate_limited', 'too many messages from this user; slow down', {
        retryAfterMs: verdict.retryAfterMs,
        clientMessageId: frame.clientMessageId,
      });
    }
    // The user this connection authenticated, kept current by `user.updated` (see ChatEngine.sendMessage):
    // the engine need not read it again for every message.
    const message = await this.engine.sendMessage(this.user ?? this.userId, {
      roomId: frame.roomId,
      text: frame.text,
      clientMessageId: frame.clientMessageId,
      threadRootId: frame.threadRootId,
      replyToId: frame.replyToId,
      attachmentIds: frame.attachmentIds,
      // The engine validates metadata against its JSON schema.
      metadata: frame.metadata as SendMessageInput['metadata'],
    });
    if (this.#typingRooms?.delete(message.roomId)) this.#hub.setTyping(message.roomId, this.userId, false);
    this.#hub.metrics.messagesSent.inc();
    this.reply({
      type: 'ack',
      ...withId(frame.id),
      clientMessageId: frame.clientMessageId,
      message,
      seq: message.seq,
    });
  }

  #acknowledge(id: FrameId | undefined, message: Message): void {
    this.reply({ type: 'ack', ...withId(id), message });
  }

  #typing(frame: InboundFrames['typing']): void {
    if (!this.subscriptions.get(frame.roomId)?.active) {
      throw new ProtocolError('not_subscribed', 'subscribe to the room before sending typing frames', {
        issues: [{ path: ['roomId'], message: 'not subscribed' }],
      });
    }
    if (frame.typing) {
      this.#typingRooms ??= new Set();
      this.#typingRooms.add(frame.roomId);
    } else this.#typingRooms?.delete(frame.roomId);
    this.#hub.setTyping(frame.roomId, this.userId, frame.typing);
  }

  #replyError(id: FrameId | undefined, error: unknown): void {
    const { code, message, details, ...retry } = describeError(error);
    if (code === 'internal') {
      this.#hub.logger.error({ err: error, sessionId: this.sessionId }, 'a websocket frame failed');
    }
    this.reply({ type: 'error', ...withId(id), code, message, ...(details ? { details } : {}), ...retry });
  }
}

function withId(id: FrameId | undefined): { id?: FrameId } {
  return id === undefined ? {} : { id };
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/**
 * An error as an `error` frame: protocol and engine errors keep their code, anything else is internal.
 * A database that is down or locked (`database_unavailable`, `busy`) is no bug: the frame says
 * `retryable` and when, so the client sends the same frame (same `clientMessageId`) again.
 */
function describeError(error: unknown): {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
  retryable?: true;
  retryAfterMs?: number;
} {
  if (KaiwaError.isInstance(error) && (error.code === 'database_unavailable' || error.code === 'busy')) {
    const retryAfterMs = (error as { retryAfterMs?: unknown }).retryAfterMs;
    return {
      code: error.code,
      message: error.message,
      retryable: true,
      retryAfterMs: typeof retryAfterMs === 'number' ? retryAfterMs : 1000,
    };
  }
  if (error instanceof ProtocolError) {
    return { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) };
  }
  if (KaiwaError.isInstance(error) && error.code !== 'internal') {
    const details: Record<string, unknown> = {};
    if ('issues' in error) details.issues = error.issues;
    if ('field' in error && error.field !== undefined) details.field = error.field;
    if ('entity' in error) details.entity = error.entity;
    if ('action' in error) details.action = error.action;
    return { code: error.code, message: error.message, details };
  }
  return { code: 'internal', message: 'internal error' };
}
