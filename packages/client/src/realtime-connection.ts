import {
  CLOSE_CODES,
  type ClientFrameInput,
  type FrameId,
  type ReadyFrame,
  type ServerFrame,
} from '@kaiwa/protocol';

/*
 * The WebSocket connection to /ws: authenticate with the access token, hand every frame (batches are JSON
 * arrays) to the owner, and reconnect after a loss with growing, jittered waits. The owner resubscribes with
 * each room's last sequence number when `ready` comes again, so nothing is lost. A browser's offline event
 * drops the socket at once; an app-level ping notices a connection that died silently. The WebSocket class
 * is the runtime's unless one is passed (Node 20 has none: pass the `ws` package's).
 */

/** The part of a WebSocket the connection uses: the browser's, Node 22's and the `ws` package's fit. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: EventHandler<unknown> | null;
  onmessage: EventHandler<{ data: unknown }> | null;
  onclose: EventHandler<{ code: number; reason: string }> | null;
  onerror: EventHandler<unknown> | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

// A method's parameters are checked both ways, so the browser's `(event: MessageEvent) => …` fits.
type EventHandler<Event> = { handle(event: Event): void }['handle'];

/** A WebSocket class: `globalThis.WebSocket`, or `WebSocket` from the `ws` package in Node 20. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** `WebSocket.OPEN`, the same in every implementation. */
const OPEN = 1;

/** The runtime's WebSocket class, if it has one. */
export function globalWebSocket(): WebSocketConstructor | undefined {
  return (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
}

type EventTargetLike = {
  addEventListener?: (type: string, listener: () => void) => void;
  removeEventListener?: (type: string, listener: () => void) => void;
};
const runtime = () => globalThis as EventTargetLike;

export type ConnectionState = 'connecting' | 'online' | 'waiting' | 'stopped';

export interface ConnectionStatus {
  state: ConnectionState;
  /** When the next attempt starts, while waiting. */
  retryAt?: number;
  /** Failed attempts since the last good connection. */
  attempts: number;
  /** How many times a connection became ready: more than one means it was resumed. */
  sessions: number;
}

export interface RealtimeOwner {
  /** A valid access token for the `auth` frame. */
  token(): Promise<string>;
  /** The server refused the token: refresh it; false when the session is gone and retrying is pointless. */
  authenticationFailed(): Promise<boolean>;
  /** `ready` came: the user, what they may do, and the connection's limits. */
  ready(frame: ReadyFrame, resumed: boolean): void;
  frame(frame: ServerFrame): void;
  status(status: ConnectionStatus): void;
}

/** Waits between attempts: 0.5 s, 1 s, 2 s … up to 15 s, each with up to 30 % jitter. */
export function backoffMs(attempt: number, random = Math.random): number {
  const base = Math.min(15_000, 500 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (1 + 0.3 * random()));
}

const PING_AFTER_SILENCE_MS = 20_000;
const DEAD_AFTER_SILENCE_MS = 45_000;

interface PendingRequest {
  resolve: (frame: ServerFrame) => void;
  reject: (error: Error) => void;
}

/** A realtime request failed: the server's error code (`rate_limited`, `forbidden`, …) or `disconnected`. */
export class RealtimeError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'RealtimeError';
    this.code = code;
  }
}

/**
 * One WebSocket connection to a Kaiwa server that comes back by itself. {@link KaiwaChatClient} owns one; use
 * it directly for a client that keeps its own state.
 *
 * @example
 * import { WebSocket } from 'ws';
 * const connection = new RealtimeConnection('wss://chat.example.com/ws', {
 *   token: () => rest.accessToken(),
 *   authenticationFailed: async () => (await rest.refresh(), true),
 *   ready: (frame) => connection.send({ type: 'subscribe', roomId }),
 *   frame: (frame) => console.log(frame.type),
 *   status: (status) => console.log(status.state),
 * }, { WebSocket });
 * connection.start();
 */
export class RealtimeConnection {
  readonly #url: string;
  readonly #owner: RealtimeOwner;
  readonly #WebSocket: WebSocketConstructor | undefined;
  #socket: WebSocketLike | null = null;
  #status: ConnectionStatus = { state: 'stopped', attempts: 0, sessions: 0 };
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #watchdog: ReturnType<typeof setInterval> | undefined;
  #lastHeard = 0;
  #nextId = 1;
  readonly #pending = new Map<FrameId, PendingRequest>();
  #authFailures = 0;

  constructor(url: string, owner: RealtimeOwner, options: { WebSocket?: WebSocketConstructor } = {}) {
    this.#url = url;
    this.#owner = owner;
    this.#WebSocket = options.WebSocket ?? globalWebSocket();
  }

  get status(): ConnectionStatus {
    return this.#status;
  }

  get isReady(): boolean {
    return this.#status.state === 'online';
  }

  /** Connects, and keeps connecting after every loss until `stop`. */
  start(): void {
    if (this.#status.state !== 'stopped') return;
    if (!this.#WebSocket) {
      throw new RealtimeError('no_websocket', 'this runtime has no WebSocket: pass one (`ws` in Node 20)');
    }
    runtime().addEventListener?.('online', this.#onOnline);
    runtime().addEventListener?.('offline', this.#onOffline);
    this.#connect();
  }

  stop(): void {
    runtime().removeEventListener?.('online', this.#onOnline);
    runtime().removeEventListener?.('offline', this.#onOffline);
    clearTimeout(this.#retryTimer);
    this.#drop(1000, 'signed out');
    this.#setStatus({ state: 'stopped', attempts: 0, sessions: this.#status.sessions });
  }

  /** Reconnects now, without waiting for the backoff. */
  reconnectNow(): void {
    if (this.#status.state === 'stopped' || this.#status.state === 'online') return;
    clearTimeout(this.#retryTimer);
    this.#drop(1000, 'reconnecting');
    this.#connect();
  }

  /** Sends a frame if the connection is ready; returns whether it went out. */
  send(frame: ClientFrameInput): boolean {
    if (!this.isReady || !this.#socket) return false;
    try {
      this.#socket.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  /** Sends a frame with a fresh id and resolves with the answer of the same id (an `error` rejects). */
  request(frame: ClientFrameInput): Promise<ServerFrame> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      if (!this.send({ ...frame, id })) {
        this.#pending.delete(id);
        reject(new RealtimeError('disconnected', 'not connected'));
      }
    });
  }

  #onOnline = (): void => {
    if (this.#status.state === 'waiting' || this.#status.state === 'connecting') {
      this.#setStatus({ ...this.#status, attempts: 0 });
      this.reconnectNow();
    }
  };

  #onOffline = (): void => {
    if (this.#status.state === 'stopped') return;
    // The socket cannot deliver anything now; waiting for it to time out would only hide the loss.
    this.#lost();
  };

  #connect(): void {
    clearTimeout(this.#retryTimer);
    this.#setStatus({
      state: 'connecting',
      attempts: this.#status.attempts,
      sessions: this.#status.sessions,
    });
    let socket: WebSocketLike;
    try {
      socket = new (this.#WebSocket as WebSocketConstructor)(this.#url);
    } catch {
      this.#lost();
      return;
    }
    this.#socket = socket;
    socket.onopen = () => {
      if (this.#socket !== socket) return;
      this.#lastHeard = Date.now();
      this.#owner.token().then(
        (token) => {
          if (this.#socket === socket && socket.readyState === OPEN) {
            socket.send(JSON.stringify({ type: 'auth', id: 'auth', token }));
          }
        },
        () => {
          if (this.#socket === socket) this.#lost();
        },
      );
    };
    socket.onmessage = (event) => {
      if (this.#socket !== socket) return;
      this.#lastHeard = Date.now();
      let parsed: unknown;
      try {
        parsed = JSON.parse(String(event.data));
      } catch {
        return;
      }
      const frames = Array.isArray(parsed) ? parsed : [parsed];
      for (const frame of frames) {
        if (this.#socket !== socket) return;
        this.#receive(frame as ServerFrame);
      }
    };
    socket.onclose = (event) => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      // A refused, expired or revoked token: refresh it (a revoked sign-in fails and signs out).
      if (
        event.code === CLOSE_CODES.authenticationFailed ||
        event.code === CLOSE_CODES.tokenExpired ||
        event.code === CLOSE_CODES.credentialsRevoked
      ) {
        this.#authFailures += 1;
        this.#stopWatchdog();
        this.#rejectPending();
        // A refused token is refreshed once; a second refusal in a row waits like any failure.
        this.#owner.authenticationFailed().then(
          (retry) => {
            if (!retry) this.stop();
            else if (this.#authFailures <= 1) this.#connect();
            else this.#lost();
          },
          () => this.#lost(),
        );
        return;
      }
      this.#lost();
    };
    socket.onerror = () => {
      // A close event follows.
    };
  }

  #receive(frame: ServerFrame): void {
    if (frame.type === 'ready') {
      this.#authFailures = 0;
      const resumed = this.#status.sessions > 0;
      this.#setStatus({ state: 'online', attempts: 0, sessions: this.#status.sessions + 1 });
      this.#startWatchdog();
      this.#pending.get('auth')?.resolve(frame);
      this.#owner.ready(frame, resumed);
      return;
    }
    this.#owner.frame(frame);
    const id = 'id' in frame ? frame.id : undefined;
    if (id === undefined || id === 'auth') return;
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    if (frame.type === 'error') pending.reject(new RealtimeError(frame.code, frame.message));
    else pending.resolve(frame);
  }

  /** The connection is gone (or never came): try again after a wait. */
  #lost(): void {
    if (this.#status.state === 'stopped') return;
    this.#drop(4000, 'connection lost');
    const attempts = this.#status.attempts + 1;
    const wait = backoffMs(attempts);
    this.#setStatus({
      state: 'waiting',
      retryAt: Date.now() + wait,
      attempts,
      sessions: this.#status.sessions,
    });
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => this.#connect(), wait);
  }

  #drop(code: number, reason: string): void {
    this.#stopWatchdog();
    const socket = this.#socket;
    this.#socket = null;
    if (socket) {
      socket.onopen = null;
      socket.onmessage = null;
      socket.onclose = null;
      socket.onerror = null;
      try {
        socket.close(code, reason);
      } catch {
        // Already closed.
      }
    }
    this.#rejectPending();
  }

  #rejectPending(): void {
    for (const pending of this.#pending.values()) {
      pending.reject(new RealtimeError('disconnected', 'the connection was lost'));
    }
    this.#pending.clear();
  }

  #startWatchdog(): void {
    this.#stopWatchdog();
    this.#watchdog = setInterval(() => {
      const silence = Date.now() - this.#lastHeard;
      if (silence > DEAD_AFTER_SILENCE_MS) this.#lost();
      else if (silence > PING_AFTER_SILENCE_MS) this.send({ type: 'ping' });
    }, 5_000);
  }

  #stopWatchdog(): void {
    clearInterval(this.#watchdog);
    this.#watchdog = undefined;
  }

  #setStatus(status: ConnectionStatus): void {
    this.#status = status;
    this.#owner.status(status);
  }
}

/**
 * The WebSocket URL of a server: `baseUrl`'s origin with ws(s) and `/ws`, or the page's own server when
 * `baseUrl` is empty or a path.
 *
 * @example realtimeUrl('https://chat.example.com') // 'wss://chat.example.com/ws'
 */
export function realtimeUrl(baseUrl = ''): string {
  const page = (globalThis as { location?: { href: string } }).location?.href;
  if (!/^https?:\/\//i.test(baseUrl) && !page) {
    throw new RealtimeError('no_url', 'outside a page, give the server as an absolute baseUrl');
  }
  const url = new URL(`${baseUrl.replace(/\/+$/, '')}/ws`, page);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href;
}
