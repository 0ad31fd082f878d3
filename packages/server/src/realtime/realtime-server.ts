import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  type ChatEngine,
  type ChatEvent,
  type EphemeralEvent,
  InMemoryPresenceStore,
  isRoomEvent,
  type PresenceStore,
  permissions,
  type RoomEvent,
  type SessionRevocation,
  type User,
  type WorkflowRun,
  type WorkflowStepRecord,
} from '@kaiwa/core';
import type { Registry } from 'prom-client';
import { type WebSocket, WebSocketServer } from 'ws';
import { capabilitiesOf } from './capabilities.js';
import {
  Connection,
  type ConnectionHub,
  type RealtimeIdentity,
  type UserActionLimiter,
} from './connection.js';
import { EncodedFrame } from './encoded-frame.js';
import { type RealtimeLimits, resolveLimits } from './limits.js';
import { type RealtimeLogger, silentLogger } from './logger.js';
import { createRealtimeMetrics, type RealtimeMetrics } from './metrics.js';
import { frameOf, type LiveEvent, type RoomSubscription } from './room-subscription.js';
import { TypingTracker } from './typing-tracker.js';
import { WorkflowRunActors } from './workflow-run-actors.js';

export interface RealtimeOptions {
  /** The HTTP server whose upgrade requests on `path` become WebSocket connections (e.g. `fastify.server`). */
  server: Server;
  /** Default `/ws`. */
  path?: string;
  engine: ChatEngine;
  /**
   * Turns the token of an `auth` frame into who it belongs to; undefined refuses it (close 4001). The
   * session, API key and expiry it names are what can end the connection later.
   */
  authenticate: (token: string) => Promise<RealtimeIdentity | undefined>;
  /**
   * Sessions as they become known as ended, also from a resync with the store (a bus message that was
   * lost): their sockets close with 4003. `user.sessions_revoked` events on the bus close sockets anyway.
   */
  /** Per-user message limits shared with the REST API; default: none beyond the per-socket frame limit. */
  limitUser?: UserActionLimiter;
  revocations?: { onRevoked(listener: (sessionIds: string[], reason: string) => void): () => void };
  /** Where the metrics go; without one they are kept on a private registry. */
  registry?: Registry;
  logger?: RealtimeLogger;
  limits?: Partial<RealtimeLimits>;
  /** Who is online, shared with the other instances; default: this process only. */
  presence?: PresenceStore;
  /**
   * Who started a workflow run: its progress goes to them and to admins. Default: nobody, so only admins
   * hear about runs.
   */
  workflowRunActor?: (runId: string) => Promise<string | undefined>;
  /** How long an instance's presence entries live without a refresh (refreshed every third of it). */
  presenceTtlMs?: number;
  /** Runs the handling of each inbound frame, e.g. inside a tracing span; default: runs it as it is. */
  traceFrame?: (frameType: string, handle: () => Promise<void>) => Promise<void>;
}

export interface RealtimeServer {
  /** Stops accepting connections, closes every socket with 1001 and waits until they are gone. */
  close(): Promise<void>;
  /** Open WebSocket connections, authenticated or not. */
  connectionCount(): number;
}

type PresenceStatus = 'online' | 'away' | 'offline';

const DEFAULT_PRESENCE_TTL_MS = 30_000;
/**
 * How long one flush may write before it lets the event loop turn (issue 18). A message fanned out to
 * 1,000 sockets is 1,000 writes, several milliseconds; written in one go, an HTTP request or an inbound
 * frame that arrived meanwhile waits for all of them. Written in slices, each followed by `setImmediate`,
 * the poll phase runs between two slices and serves them.
 */
const FLUSH_SLICE_MS = 1;
/** Connections written between two looks at the clock. */
const FLUSH_CLOCK_STRIDE = 32;

/**
 * Serves the Kaiwa WebSocket protocol (docs/protocol.md) on `server` at `path`.
 *
 * @example
 * const realtime = attachRealtime({ server: app.server, engine, authenticate: verifyAccessToken });
 * app.addHook('onClose', () => realtime.close());
 */
export function attachRealtime(options: RealtimeOptions): RealtimeServer {
  return new RealtimeHub(options);
}

/** Owns the connections, the room → subscribers index and the fan-out of bus events. */
class RealtimeHub implements ConnectionHub, RealtimeServer {
  readonly engine: ChatEngine;
  readonly limits: RealtimeLimits;
  readonly logger: RealtimeLogger;
  readonly metrics: RealtimeMetrics;
  readonly limitUser: UserActionLimiter;
  readonly traceFrame: (frameType: string, handle: () => Promise<void>) => Promise<void>;
  readonly #server: Server;
  readonly #path: string;
  readonly #authenticate: (token: string) => Promise<RealtimeIdentity | undefined>;
  readonly #stopRevocationListening: () => void;
  readonly #webSocketServer: WebSocketServer;
  readonly #connections = new Set<Connection>();
  /** Authenticated connections by user: presence, and events addressed to a user. */
  readonly #connectionsByUser = new Map<string, Set<Connection>>();
  readonly #subscribersByRoom = new Map<string, Set<RoomSubscription>>();
  /** Authenticated connections of admins, who see the progress of every workflow run. */
  readonly #adminConnections = new Set<Connection>();
  readonly #runActors: WorkflowRunActors;
  /** Presence of every instance; this one announces the users it holds connections of. */
  readonly #presence: PresenceStore;
  readonly #presenceTtlMs: number;
  readonly #presenceRefresh: NodeJS.Timeout;
  readonly #instanceId = randomUUID();
  readonly #stopReconnectListening: () => void;
  readonly #typing: TypingTracker;
  readonly #heartbeat: NodeJS.Timeout;
  readonly #stopListening: () => void;
  /** Connections with frames queued, in the order they queued them; written from `#flushNext` on. */
  #toFlush: Connection[] = [];
  #flushNext = 0;
  #flushScheduled = false;
  #undeliveredCount = 0;
  #closing: Promise<void> | undefined;

  constructor(options: RealtimeOptions) {
    this.engine = options.engine;
    this.limits = resolveLimits(options.limits);
    this.logger = options.logger ?? silentLogger;
    this.metrics = createRealtimeMetrics(options.registry);
    this.limitUser = options.limitUser ?? (async () => ({ allowed: true }));
    this.traceFrame = options.traceFrame ?? ((_frameType, handle) => handle());
    this.#server = options.server;
    this.#path = options.path ?? '/ws';
    this.#authenticate = options.authenticate;
    this.#webSocketServer = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      maxPayload: this.limits.maxPayloadBytes,
      // Compression would cost a deflate per recipient and defeat serialising each event once.
      perMessageDeflate: false,
    });
    this.#typing = new TypingTracker({
      publish: (roomId, userId, typing) =>
        this.#publish({ type: 'typing.updated', payload: { roomId, userId, typing } }),
      throttleMs: this.limits.typingThrottleMs,
      expiryMs: this.limits.typingExpiryMs,
    });
    this.#runActors = new WorkflowRunActors(async (runId) => {
      try {
        return await (options.workflowRunActor?.(runId) ?? undefined);
      } catch (error) {
        this.logger.warn(
          { err: error, runId },
          'could not read a workflow run; only admins see its progress',
        );
        return undefined;
      }
    });
    this.#stopListening = this.engine.subscribe(this.#onBusEvent);
    this.#presence = options.presence ?? new InMemoryPresenceStore();
    this.#presenceTtlMs = options.presenceTtlMs ?? DEFAULT_PRESENCE_TTL_MS;
    this.#presenceRefresh = setInterval(() => this.#refreshPresence(), this.#presenceTtlMs / 3);
    this.#presenceRefresh.unref();
    // Events published while the bus was away never arrive live: every subscription rereads the store.
    this.#stopReconnectListening = this.engine.onReconnect(() => {
      this.logger.warn({}, 'bus reconnected; resynchronising room subscriptions from the store');
      for (const subscribers of this.#subscribersByRoom.values()) {
        for (const subscription of subscribers) subscription.resync();
      }
      this.#refreshPresence();
    });
    this.#stopRevocationListening =
      options.revocations?.onRevoked((sessionIds, reason) =>
        this.#closeSessions(new Set(sessionIds), reason),
      ) ?? (() => undefined);
    this.#server.on('upgrade', this.#onUpgrade);
    this.#heartbeat = setInterval(() => {
      for (const connection of this.#connections) connection.heartbeat();
    }, this.limits.heartbeatIntervalMs);
    this.#heartbeat.unref();
  }

  connectionCount(): number {
    return this.#connections.size;
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    this.#server.off('upgrade', this.#onUpgrade);
    clearInterval(this.#heartbeat);
    clearInterval(this.#presenceRefresh);
    this.#stopListening();
    this.#stopReconnectListening();
    this.#stopRevocationListening();
    this.#typing.dispose();
    const connections = [...this.#connections];
    await Promise.all(connections.map((connection) => connection.shutdown()));
    // Frames being handled may still be waiting on the engine; let them finish before the store closes.
    await Promise.all(connections.map((connection) => connection.idle()));
    await new Promise<void>((resolve) => this.#webSocketServer.close(() => resolve()));
  }

  readonly #onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (pathnameOf(request) !== this.#path) {
      // Leave other paths to other upgrade listeners; if there are none, nobody else will answer.
      if (this.#server.listenerCount('upgrade') === 1) refuseUpgrade(socket, 404, 'Not Found');
      return;
    }
    if (this.#closing) {
      refuseUpgrade(socket, 503, 'Service Unavailable');
      return;
    }
    this.#webSocketServer.handleUpgrade(request, socket, head, (webSocket) => this.#accept(webSocket));
  };

  #accept(webSocket: WebSocket): void {
    if (this.#closing) {
      webSocket.close(1001, 'server shutting down');
      return;
    }
    const connection = new Connection(webSocket, this);
    this.#connections.add(connection);
    this.metrics.openConnections.inc();
  }

  // ---------------------------------------------------------------- hub services for connections

  authenticate(token: string): Promise<RealtimeIdentity | undefined> {
    return this.#authenticate(token);
  }

  scheduleFlush(connection: Connection): void {
    this.#toFlush.push(connection);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    // Everything queued in this tick leaves in one write per connection.
    setImmediate(this.#flushAll);
  }

  countDelivered(events: number): void {
    this.#undeliveredCount += events;
  }

  /**
   * Writes the queued connections for at most FLUSH_SLICE_MS, then continues after the event loop has
   * turned. Each connection writes its whole queue at once, so its frames keep their order; one queued
   * again meanwhile is written again later, after the ones ahead of it.
   */
  readonly #flushAll = (): void => {
    const connections = this.#toFlush;
    const deadline = performance.now() + FLUSH_SLICE_MS;
    let index = this.#flushNext;
    while (index < connections.length) {
      const connection = connections[index]!;
      index += 1;
      try {
        connection.flush();
      } catch (error) {
        this.logger.error({ err: error, sessionId: connection.sessionId }, 'could not write to a websocket');
      }
      if (index % FLUSH_CLOCK_STRIDE === 0 && index < connections.length && performance.now() >= deadline) {
        break;
      }
    }
    if (index < connections.length) {
      // Under steady load the list never empties: drop the part already written now and then.
      if (index >= 1024 && index * 2 >= connections.length) {
        this.#toFlush = connections.slice(index);
        this.#flushNext = 0;
      } else this.#flushNext = index;
      setImmediate(this.#flushAll);
    } else {
      this.#toFlush = [];
      this.#flushNext = 0;
      this.#flushScheduled = false;
    }
    if (this.#undeliveredCount > 0) {
      this.metrics.eventsDelivered.inc(this.#undeliveredCount);
      this.#undeliveredCount = 0;
    }
  };

  addSubscription(subscription: RoomSubscription): void {
    let subscribers = this.#subscribersByRoom.get(subscription.roomId);
    if (!subscribers) {
      subscribers = new Set();
      this.#subscribersByRoom.set(subscription.roomId, subscribers);
    }
    subscribers.add(subscription);
  }

  removeSubscription(subscription: RoomSubscription): void {
    const subscribers = this.#subscribersByRoom.get(subscription.roomId);
    if (!subscribers) return;
    subscribers.delete(subscription);
    if (subscribers.size === 0) this.#subscribersByRoom.delete(subscription.roomId);
  }

  connectionReady(connection: Connection): void {
    const userId = connection.userId;
    let connections = this.#connectionsByUser.get(userId);
    if (!connections) {
      connections = new Set();
      this.#connectionsByUser.set(userId, connections);
    }
    connections.add(connection);
    if (connection.userRole === 'admin') this.#adminConnections.add(connection);
    if (connections.size === 1) {
      this.#presence
        .announce(this.#instanceId, [{ userId, status: 'online' }], this.#presenceTtlMs)
        .catch((error: unknown) => this.logger.warn({ err: error }, 'could not record presence'));
      this.#publish({ type: 'presence.updated', payload: { userId, status: 'online' } });
    }
  }

  connectionClosed(connection: Connection): void {
    if (!this.#connections.delete(connection)) return;
    this.metrics.openConnections.dec();
    const user = connection.user;
    if (!user) return;
    this.#adminConnections.delete(connection);
    for (const roomId of connection.typingRooms) this.#typing.stop(roomId, user.id);
    const connections = this.#connectionsByUser.get(user.id);
    if (!connections?.delete(connection) || connections.size > 0) return;
    this.#connectionsByUser.delete(user.id);
    void this.#announceOffline(user.id);
  }

  /** Offline only when no other instance holds a connection of the user either. */
  async #announceOffline(userId: string): Promise<void> {
    try {
      await this.#presence.withdraw(this.#instanceId, userId);
      if (this.#connectionsByUser.has(userId)) return;
      const { [userId]: status } = await this.#presence.statuses([userId]);
      if (status !== 'offline' || this.#connectionsByUser.has(userId)) return;
    } catch (error) {
      this.logger.warn({ err: error }, 'could not update presence');
    }
    this.#publish({ type: 'presence.updated', payload: { userId, status: 'offline' } });
  }

  #refreshPresence(): void {
    if (this.#connectionsByUser.size === 0) return;
    const entries = [...this.#connectionsByUser.keys()].map((userId) => ({
      userId,
      status: 'online' as const,
    }));
    this.#presence
      .announce(this.#instanceId, entries, this.#presenceTtlMs)
      .catch((error: unknown) => this.logger.warn({ err: error }, 'could not refresh presence'));
  }

  setTyping(roomId: string, userId: string, typing: boolean): void {
    this.#typing.update(roomId, userId, typing);
  }

  async presenceOf(userIds: string[]): Promise<Record<string, PresenceStatus>> {
    let statuses: Record<string, PresenceStatus>;
    try {
      statuses = await this.#presence.statuses(userIds);
    } catch (error) {
      this.logger.warn({ err: error }, 'could not read presence; answering from this instance alone');
      statuses = Object.fromEntries(userIds.map((userId) => [userId, 'offline' as const]));
    }
    // This instance's own users count even while the shared store is unreachable or behind.
    for (const userId of userIds) if (this.#connectionsByUser.has(userId)) statuses[userId] = 'online';
    return statuses;
  }

  // ---------------------------------------------------------------- fan-out

  readonly #onBusEvent = (event: ChatEvent): void => {
    try {
      if (isRoomEvent(event)) this.#fanOutRoomEvent(event);
      else this.#fanOutGlobalEvent(event);
    } catch (error) {
      this.logger.error({ err: error, eventType: event.type }, 'websocket fan-out failed');
    }
  };

  #fanOutRoomEvent(event: RoomEvent): void {
    const live: LiveEvent = { event, frame: undefined };
    const subscribers = this.#subscribersByRoom.get(event.roomId);
    if (subscribers) for (const subscription of subscribers) subscription.offer(live);
    // The member's own connections learn of a join or leave even without a subscription (invitations).
    if (event.type === 'member.joined' || event.type === 'member.left') {
      const userId = event.type === 'member.joined' ? event.payload.membership.userId : event.payload.userId;
      for (const connection of this.#connectionsByUser.get(userId) ?? []) {
        if (!connection.subscriptions.has(event.roomId)) connection.deliverEvent(frameOf(live));
      }
    }
  }

  #fanOutGlobalEvent(event: Exclude<ChatEvent, RoomEvent>): void {
    switch (event.type) {
      case 'user.sessions_revoked':
        this.#onSessionsRevoked(event.payload);
        return;
      case 'user.updated':
        this.#onUserUpdated(event.payload.user);
        return;
      case 'typing.updated': {
        const { roomId, userId, typing } = event.payload;
        let frame: EncodedFrame | undefined;
        for (const subscription of this.#subscribersByRoom.get(roomId) ?? []) {
          if (!subscription.active || subscription.owner.userId === userId) continue;
          frame ??= EncodedFrame.of({ type: 'typing.updated', roomId, userId, typing });
          subscription.owner.deliverEvent(frame);
        }
        return;
      }
      case 'read.updated': {
        const { roomId, userId, lastReadMessageId } = event.payload;
        let frame: EncodedFrame | undefined;
        for (const subscription of this.#subscribersByRoom.get(roomId) ?? []) {
          if (!subscription.active) continue;
          frame ??= EncodedFrame.of({ type: 'read.updated', roomId, userId, lastReadMessageId });
          subscription.owner.deliverEvent(frame);
        }
        return;
      }
      case 'message.delta': {
        const { roomId, streamId, replyToId, threadRootId, authorId, delta, done } = event.payload;
        let frame: EncodedFrame | undefined;
        for (const subscription of this.#subscribersByRoom.get(roomId) ?? []) {
          if (!subscription.active) continue;
          frame ??= EncodedFrame.of({
            type: 'message.delta',
            roomId,
            streamId,
            replyTo: replyToId,
            threadRootId,
            authorId,
            text: delta,
            ...(done ? { done: true } : {}),
          });
          subscription.owner.deliverEvent(frame);
        }
        return;
      }
      case 'presence.updated': {
        const { userId, status } = event.payload;
        let frame: EncodedFrame | undefined;
        for (const connections of this.#connectionsByUser.values()) {
          for (const connection of connections) {
            if (!connection.wantsPresence) continue;
            frame ??= EncodedFrame.of({ type: 'presence.updated', userId, status });
            connection.deliverEvent(frame);
          }
        }
        return;
      }
      case 'room.created': {
        const { room, memberIds } = event.payload;
        let frame: EncodedFrame | undefined;
        for (const memberId of memberIds) {
          for (const connection of this.#connectionsByUser.get(memberId) ?? []) {
            frame ??= EncodedFrame.of({ type: 'room.created', room, memberIds });
            connection.deliverEvent(frame);
          }
        }
        return;
      }
      case 'project.created':
      case 'project.updated':
        this.#deliverWorkFrame(() => EncodedFrame.of({ type: event.type, project: event.payload.project }));
        return;
      case 'ticket.created':
      case 'ticket.updated':
        this.#deliverWorkFrame(() => EncodedFrame.of({ type: event.type, ticket: event.payload.ticket }));
        return;
      case 'workflow.run.updated': {
        const { run } = event.payload;
        this.#runActors.withActor(run.id, run.actorId, (actorId) =>
          this.#deliverWorkflowFrame(actorId, () =>
            EncodedFrame.of({ type: 'workflow.run.updated', run: publicRun(run) }),
          ),
        );
        return;
      }
      case 'workflow.step.updated': {
        const { runId, step } = event.payload;
        this.#runActors.withActor(runId, undefined, (actorId) =>
          this.#deliverWorkflowFrame(actorId, () =>
            EncodedFrame.of({ type: 'workflow.step.updated', runId, step: publicStep(step) }),
          ),
        );
        return;
      }
      default:
        return;
    }
  }

  /** Closes the sockets whose credential the revocation ended (4003, the reason as close reason). */
  #onSessionsRevoked(revocation: SessionRevocation): void {
    const sessionIds = new Set(revocation.sessionIds);
    const apiKeyIds = new Set(revocation.apiKeyIds);
    for (const connection of [...(this.#connectionsByUser.get(revocation.userId) ?? [])]) {
      const { sessionId, apiKeyId } = connection.identity ?? {};
      const ended =
        revocation.reason === 'deactivated' ||
        (sessionId !== undefined && (revocation.allSessions || sessionIds.has(sessionId))) ||
        (apiKeyId !== undefined && apiKeyIds.has(apiKeyId));
      if (ended) connection.revoke(revocation.reason);
    }
  }

  /** Sessions found ended without a bus event (a resync with the store): any user's sockets. */
  #closeSessions(sessionIds: Set<string>, reason: string): void {
    for (const connection of [...this.#connections]) {
      const sessionId = connection.identity?.sessionId;
      if (sessionId !== undefined && sessionIds.has(sessionId)) connection.revoke(reason);
    }
  }

  /** Open connections follow the user's profile and role; a deactivated user's close. */
  #onUserUpdated(user: User): void {
    let frame: EncodedFrame | undefined;
    for (const connection of [...(this.#connectionsByUser.get(user.id) ?? [])]) {
      if (user.deactivatedAt) {
        connection.revoke('deactivated');
        continue;
      }
      const before = connection.user;
      connection.user = user;
      // The person's own clients learn what they may do now (a new role), and their name as it is now.
      if (before?.role !== user.role || before?.displayName !== user.displayName) {
        frame ??= EncodedFrame.of({ type: 'account.updated', user, capabilities: capabilitiesOf(user) });
        connection.deliverEvent(frame);
      }
      if (user.role === 'admin') this.#adminConnections.add(connection);
      else this.#adminConnections.delete(connection);
    }
  }

  /** Project and ticket changes go to everyone who may read them (`permissions.canReadWork`) and asked. */
  #deliverWorkFrame(encode: () => EncodedFrame): void {
    let frame: EncodedFrame | undefined;
    for (const connections of this.#connectionsByUser.values()) {
      for (const connection of connections) {
        if (!connection.wantsWork || !connection.user || !permissions.canReadWork(connection.user)) continue;
        frame ??= encode();
        connection.deliverEvent(frame);
      }
    }
  }

  /** Run progress goes to the run's actor and to admins, the same people the REST API shows the run to. */
  #deliverWorkflowFrame(actorId: string | undefined, encode: () => EncodedFrame): void {
    let frame: EncodedFrame | undefined;
    const actorConnections = actorId === undefined ? undefined : this.#connectionsByUser.get(actorId);
    for (const connection of actorConnections ?? []) {
      frame ??= encode();
      connection.deliverEvent(frame);
    }
    for (const connection of this.#adminConnections) {
      if (connection.user?.id === actorId) continue;
      frame ??= encode();
      connection.deliverEvent(frame);
    }
  }

  /** Typing and presence, announced by the engine as the user they are about. */
  #publish(event: EphemeralEvent): void {
    this.engine.publishEphemeral(event.payload.userId, event).catch((error: unknown) => {
      this.logger.warn({ err: error, eventType: event.type }, 'could not publish a realtime event');
    });
  }
}

/** A run as the REST API shows it: without the engine's claim. */
function publicRun(run: WorkflowRun): Omit<WorkflowRun, 'claimedBy' | 'claimedUntil'> {
  const { claimedBy: _claimedBy, claimedUntil: _claimedUntil, ...rest } = run;
  return rest;
}

function publicStep(step: WorkflowStepRecord): Omit<WorkflowStepRecord, 'runId'> {
  const { runId: _runId, ...rest } = step;
  return rest;
}

function pathnameOf(request: IncomingMessage): string | undefined {
  try {
    return new URL(request.url ?? '/', 'http://localhost').pathname;
  } catch {
    return undefined;
  }
}

function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
