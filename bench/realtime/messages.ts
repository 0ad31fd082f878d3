import type { LatencySummary } from './histogram.js';

/*
 * What the benchmark processes tell each other over their IPC channels: the orchestrator (run.ts or the
 * smoke test, through harness.ts), the server under test (server-child.ts) and the load generator
 * (load-child.ts).
 */

/**
 * The servers under test: Kaiwa (buildServer: Fastify, realtime, engine, SQLite) and three baselines, the
 * last (uWebSockets.js) only where it was installed by hand (see UWS_INSTALL_HINT).
 */
export type SystemName = 'kaiwa' | 'ws' | 'socketio' | 'uws';

export const SYSTEM_LABELS: Record<SystemName, string> = {
  kaiwa: 'Kaiwa (SQLite, persisted)',
  ws: 'bare ws broadcast',
  socketio: 'Socket.IO',
  uws: 'uWebSockets.js pub/sub',
};

/**
 * The npm package `uwebsockets` repackages the upstream uWebSockets.js binaries (every platform's addon is
 * in its tarball; nothing is downloaded at install time). It is a third party's package, so it is no
 * dependency of Kaiwa: the benchmark uses it when it is there.
 */
export const UWS_PACKAGE = 'uwebsockets';
export const UWS_INSTALL_HINT =
  'uWebSockets.js baseline skipped: `npm i --no-save uwebsockets` installs it for the benchmark (not a dependency)';

// ---------------------------------------------------------------- server child

export interface ServerChildConfig {
  system: SystemName;
  /** Kaiwa: users to create, each with an access token, all members of one public channel. */
  users: number;
  /** Kaiwa: the SQLite file; made (with the users) when `prepare` is set, reused otherwise. */
  databaseFile?: string;
  /** Kaiwa: create the users and the room, then exit without serving. */
  prepareOnly?: boolean;
  /** Kaiwa: signs the access tokens, so a prepared database works across processes. */
  jwtSecret?: string;
  /** Kaiwa: the database already has users, room and tokens (from a `prepareOnly` run). */
  prepared?: KaiwaSetup;
  /** Kaiwa: `KAIWA_SQLITE_SYNCHRONOUS`; the server's default (`full`) when absent. */
  sqliteSynchronous?: SqliteSynchronous;
}

/**
 * SQLite's `synchronous` setting for Kaiwa: `full` syncs the WAL at every commit, on the event loop;
 * `full-async` syncs it on the threadpool before the write resolves (as durable); `normal` at checkpoints.
 */
export type SqliteSynchronous = 'full' | 'full-async' | 'normal';

export interface KaiwaSetup {
  roomId: string;
  /** One access token per user; user i is `tokens[i]`. */
  tokens: string[];
}

export type ToServer =
  | { type: 'init'; config: ServerChildConfig }
  | { type: 'stats' }
  | { type: 'gc' }
  | { type: 'stop' };

export type FromServer =
  | { type: 'ready'; port: number; path: string; setup?: KaiwaSetup }
  | { type: 'prepared'; setup: KaiwaSetup }
  | ({ type: 'stats' } & ServerStats)
  | { type: 'fatal'; message: string };

export interface ServerStats {
  /** Wall clock (performance.now) of the server process when sampled. */
  at: number;
  rssBytes: number;
  heapUsedBytes: number;
  externalBytes: number;
  /** Cumulative CPU time of the process (user + system), µs, and the system (kernel) part of it. */
  cpuMicros: number;
  cpuSystemMicros: number;
  /** Event-loop delay p99 (ms) since the previous stats sample. */
  loopDelayP99Ms: number;
  /** Kaiwa: the room's last sequence number (every stored message takes one). */
  lastSeq?: number;
  /** Kaiwa: messages stored in the room. */
  storedMessages?: number;
  /** Open WebSocket connections as the server counts them. */
  connections: number;
  /** Warning or error lines the server logged so far. */
  warnings: number;
}

// ---------------------------------------------------------------- load child

export interface LoadChildConfig {
  system: SystemName;
  port: number;
  /** Several server instances (bench:scale): client i connects to `ports[i % ports.length]`. */
  ports?: number[];
  path: string;
  /** Kaiwa: room and tokens. */
  setup?: KaiwaSetup;
  /** Kaiwa: characters of each message text. Baselines: bytes of each broadcast WebSocket payload. */
  textLength: number;
  payloadBytes: number;
}

export interface RunPlan {
  /** Messages per second sent in total (spread evenly over the senders). */
  rate: number;
  warmupMs: number;
  measureMs: number;
  /** Longest wait, after sending stopped, for the last deliveries. */
  drainMs: number;
  /** Kaiwa: REST history reads during the run. */
  rest?: { intervalMs: number; limit: number };
}

export type ToLoad =
  | { type: 'init'; config: LoadChildConfig }
  | { type: 'connect'; clients: number; senders: number; concurrency: number }
  | ({ type: 'run' } & RunPlan)
  | { type: 'close' };

export type FromLoad =
  | { type: 'connected'; clients: number; millis: number }
  | { type: 'phase'; phase: 'measure-start' | 'measure-end' }
  | ({ type: 'result' } & RunResult)
  | { type: 'fatal'; message: string };

export interface RunResult {
  /** Offered messages per second and deliveries per second (offered × receivers). */
  offeredRate: number;
  offeredDeliveries: number;
  measureSeconds: number;
  /** Messages sent during the measurement window, and per second. */
  sentInWindow: number;
  /** Deliveries received during the measurement window, per second. */
  deliveriesPerSecond: number;
  /** Latency of deliveries of messages sent during the window (send → receipt, same process clock). */
  latency: LatencySummary;
  /** Deliveries still owed at the end of the window (sent but not yet received), all receivers. */
  backlogAtWindowEnd: number;
  /**
   * Cumulative since the connections opened. Each receiver tracks, per sender, the highest message number
   * it got: `duplicated` counts deliveries at or below it (a repeat, or one out of order), `lost` the
   * accepted messages that never arrived, `gaps` the jumps over a number (expected where a send was
   * rejected). Rejected sends (an `error` answer) are not stored, so they are not expected anywhere.
   */
  sentTotal: number;
  rejectedSends: number;
  /** Error codes answered to sends, with counts. */
  errors: Record<string, number>;
  expectedDeliveries: number;
  receivedDeliveries: number;
  lost: number;
  duplicated: number;
  gaps: number;
  /** Time the drain took until every expected delivery had arrived (or the drain limit). */
  drainMs: number;
  /** Close codes of connections that ended during the run, with counts. */
  closes: Record<string, number>;
  /** Mean bytes received per delivery (WebSocket payload + framing), all connections, during the window. */
  bytesPerDelivery: number;
  /** CPU of the load process during the window, in % of one core, and its event-loop delay p99. */
  clientCpuPercent: number;
  clientLoopDelayP99Ms: number;
  rest?: { requests: number; failures: number; latency: LatencySummary };
}
