import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { KaiwaServer } from '@kaiwa/server';
import {
  type FromServer,
  type KaiwaSetup,
  type ServerChildConfig,
  type ServerStats,
  type ToServer,
  UWS_PACKAGE,
} from './messages.js';

/*
 * The server under test, alone in its process so that the load generator does not share its event loop.
 * Started by harness.ts, which sends the config as the first IPC message (messages.ts); answers over IPC and
 * exits when told to stop, when its parent goes away, or after MAX_LIFETIME_MS whatever happens.
 *
 *   kaiwa     buildServer(): Fastify + REST + the realtime WebSocket server + ChatEngine + SQLite in a
 *             temporary file (WAL), exactly as `kaiwa start` composes it; every message is stored.
 *   ws        the bare `ws` broadcast from the ws README: every text message goes to every open client.
 *   socketio  Socket.IO 4 (websocket transport only): every client joins one room, each `m` event is
 *             emitted to the room.
 *   uws       uWebSockets.js pub/sub (the npm package `uwebsockets`, when installed): every client
 *             subscribes to one topic, every text message is published to it.
 */

const MAX_LIFETIME_MS = 15 * 60_000;
const HOST = '127.0.0.1';

let config: ServerChildConfig;
const loopDelay = monitorEventLoopDelay({ resolution: 5 });
loopDelay.enable();
let warnings = 0;
let printedWarnings = 0;

const send = (message: FromServer): void => {
  process.send?.(message);
};
/** Sends and resolves once the message is written to the IPC channel (before exiting, say). */
const sendNow = (message: FromServer): Promise<void> =>
  new Promise((resolve) => {
    if (!process.send) resolve();
    else process.send(message, undefined, {}, () => resolve());
  });

setTimeout(() => process.exit(3), MAX_LIFETIME_MS).unref();
process.on('disconnect', () => process.exit(0));

interface Served {
  port: number;
  path: string;
  setup?: KaiwaSetup;
  connections(): number;
  lastSeq?(): Promise<number>;
  close(): Promise<void>;
}

async function main(): Promise<void> {
  let served: Served;
  switch (config.system) {
    case 'kaiwa':
      served = await serveKaiwa();
      break;
    case 'ws':
      served = await serveBareWs();
      break;
    case 'socketio':
      served = await serveSocketIo();
      break;
    case 'uws':
      served = await serveUws();
      break;
    default:
      throw new Error(`unknown system ${String(config.system)}`);
  }
  if (config.prepareOnly) return;
  process.off('message', onInit);
  process.on('message', (message: ToServer) => {
    void handle(message, served).catch((error: unknown) => {
      send({ type: 'fatal', message: String((error as Error)?.stack ?? error) });
    });
  });
  send({
    type: 'ready',
    port: served.port,
    path: served.path,
    ...(served.setup ? { setup: served.setup } : {}),
  });
}

async function handle(message: ToServer, served: Served): Promise<void> {
  switch (message.type) {
    case 'gc': {
      const gc = (globalThis as { gc?: () => void }).gc;
      for (let round = 0; round < 3; round += 1) {
        gc?.();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      send({ type: 'stats', ...(await stats(served)) });
      return;
    }
    case 'stats':
      send({ type: 'stats', ...(await stats(served)) });
      return;
    case 'init':
      return;
    case 'stop': {
      setTimeout(() => process.exit(0), 5_000).unref();
      await served.close().catch(() => undefined);
      process.exit(0);
    }
  }
}

async function stats(served: Served): Promise<ServerStats> {
  const memory = process.memoryUsage();
  const cpu = process.cpuUsage();
  const loopDelayP99Ms = loopDelay.count > 0 ? loopDelay.percentile(99) / 1e6 : 0;
  loopDelay.reset();
  return {
    at: performance.now(),
    rssBytes: memory.rss,
    heapUsedBytes: memory.heapUsed,
    externalBytes: memory.external + memory.arrayBuffers,
    cpuMicros: cpu.user + cpu.system,
    cpuSystemMicros: cpu.system,
    loopDelayP99Ms,
    connections: served.connections(),
    warnings,
    ...(served.lastSeq ? { lastSeq: await served.lastSeq() } : {}),
  };
}

/** Log lines at warn and above: counted, the first few shown on stderr. */
const logStream = {
  write(line: string): void {
    warnings += 1;
    if (printedWarnings < 10) {
      printedWarnings += 1;
      process.stderr.write(`[kaiwa server] ${line.length > 400 ? `${line.slice(0, 400)}…` : line}\n`);
    }
  },
};

// ---------------------------------------------------------------- Kaiwa

async function serveKaiwa(): Promise<Served> {
  // Each system loads only its own modules, so the baselines' memory is not inflated by Kaiwa's.
  const { buildServer, loadConfig } = await import('@kaiwa/server');
  const ownDirectory = config.databaseFile === undefined;
  const databaseFile =
    config.databaseFile ?? join(mkdtempSync(join(tmpdir(), 'kaiwa-bench-')), 'kaiwa.sqlite');
  const dataDirectory = dirname(databaseFile);
  const serverConfig = loadConfig({
    env: {
      KAIWA_DATA_DIR: dataDirectory,
      KAIWA_DATABASE_URL: databaseFile,
      KAIWA_JWT_SECRET: config.jwtSecret ?? randomBytes(32).toString('hex'),
      KAIWA_ACCESS_TOKEN_TTL: '1h',
      // The load generator's senders post far faster than any person: measure fan-out, not the limits.
      KAIWA_USER_RATE_LIMITS: 'messages=1000000/10s',
      ...(config.sqliteSynchronous ? { KAIWA_SQLITE_SYNCHRONOUS: config.sqliteSynchronous } : {}),
      HOST,
      PORT: '0',
      LOG_LEVEL: 'warn',
      NODE_ENV: 'production',
      // Production refuses an open /metrics: close it with a token nobody here uses.
      KAIWA_METRICS_TOKEN: randomBytes(24).toString('hex'),
    },
  });
  const server = await buildServer(serverConfig, {
    logger: { level: 'warn', stream: logStream },
    announce: () => {},
  });
  const setup = config.prepared ?? (await prepareKaiwa(server, config.users));
  if (config.prepareOnly) {
    await server.close();
    // A few thousand tokens are a large message: exit only once it has left.
    await sendNow({ type: 'prepared', setup });
    process.exit(0);
  }
  const address = new URL(await server.listen());
  const firstUser = (await server.accounts.authenticate(setup.tokens[0]!))!.user;
  return {
    port: Number(address.port),
    path: '/ws',
    setup,
    connections: () => server.realtime.connectionCount(),
    lastSeq: async () => (await server.engine.getRoom(firstUser.id, setup.roomId)).lastSeq,
    async close() {
      await server.close();
      if (ownDirectory) rmSync(dataDirectory, { recursive: true, force: true });
    },
  };
}

/** `users` members of one public channel `bench`, each signed in (an access token, as after a login). */
async function prepareKaiwa(server: KaiwaServer, users: number): Promise<KaiwaSetup> {
  const tokens: string[] = [];
  const userIds: string[] = [];
  for (let index = 0; index < users; index += 1) {
    const session = await server.accounts.signInAnonymously(`bench-${index}`);
    tokens.push(session.accessToken);
    userIds.push(session.user.id);
  }
  const room = await server.engine.createRoom(userIds[0]!, { kind: 'channel', name: 'bench' });
  for (const userId of userIds.slice(1)) await server.engine.joinRoom(userId, room.id);
  return { roomId: room.id, tokens };
}

// ---------------------------------------------------------------- bare ws

async function serveBareWs(): Promise<Served> {
  const { WebSocketServer } = await import('ws');
  const http = await listeningHttpServer();
  const wss = new WebSocketServer({ server: http, path: '/ws', perMessageDeflate: false });
  wss.on('connection', (socket) => {
    socket.on('message', (data, isBinary) => {
      for (const client of wss.clients) {
        if (client.readyState === 1) client.send(data, { binary: isBinary });
      }
    });
    socket.on('error', () => {});
  });
  return {
    port: (http.address() as AddressInfo).port,
    path: '/ws',
    connections: () => wss.clients.size,
    close: () => closeHttp(http, () => wss.close()),
  };
}

// ---------------------------------------------------------------- Socket.IO

async function serveSocketIo(): Promise<Served> {
  const { Server: SocketIoServer } = await import('socket.io');
  const http = await listeningHttpServer();
  const io = new SocketIoServer(http, {
    transports: ['websocket'],
    serveClient: false,
    perMessageDeflate: false,
    httpCompression: false,
  });
  io.on('connection', (socket) => {
    void socket.join('bench');
    socket.on('m', (text: unknown) => {
      io.to('bench').emit('m', text);
    });
  });
  return {
    port: (http.address() as AddressInfo).port,
    path: '/socket.io/?EIO=4&transport=websocket',
    connections: () => io.engine.clientsCount,
    close: () => closeHttp(http, () => io.close()),
  };
}

// ---------------------------------------------------------------- uWebSockets.js

/** The part of uWebSockets.js used here (the package is not a dependency, so its types are not either). */
interface UwsModule {
  App(): UwsApp;
  DISABLED: unknown;
  us_listen_socket_close(listenSocket: unknown): void;
  us_socket_local_port(listenSocket: unknown): number;
}

interface UwsApp {
  ws(
    pattern: string,
    behavior: {
      compression: unknown;
      maxPayloadLength: number;
      maxBackpressure: number;
      open(socket: { subscribe(topic: string): boolean }): void;
      message(socket: unknown, message: ArrayBuffer, isBinary: boolean): void;
      close(): void;
    },
  ): UwsApp;
  listen(host: string, port: number, done: (listenSocket: unknown) => void): UwsApp;
  publish(topic: string, message: ArrayBuffer, isBinary: boolean): boolean;
  close(): UwsApp;
}

async function serveUws(): Promise<Served> {
  // A CommonJS module that loads the addon for this platform and Node ABI.
  const uws = createRequire(import.meta.url)(UWS_PACKAGE) as UwsModule;
  const app = uws.App();
  let open = 0;
  app.ws('/ws', {
    compression: uws.DISABLED,
    maxPayloadLength: 16 * 1024 * 1024,
    // uWS skips subscribers over this much backpressure; the other systems never drop, so neither may it.
    maxBackpressure: 1024 * 1024 * 1024,
    open(socket) {
      open += 1;
      socket.subscribe('bench');
    },
    message(_socket, message, isBinary) {
      app.publish('bench', message, isBinary);
    },
    close() {
      open -= 1;
    },
  });
  const listenSocket = await new Promise<unknown>((resolve, reject) =>
    app.listen(HOST, 0, (socket) =>
      socket ? resolve(socket) : reject(new Error('uWebSockets.js could not listen')),
    ),
  );
  return {
    port: uws.us_socket_local_port(listenSocket),
    path: '/ws',
    connections: () => open,
    async close() {
      uws.us_listen_socket_close(listenSocket);
      app.close();
    },
  };
}

async function listeningHttpServer(): Promise<HttpServer> {
  const http = createServer((_request, response) => response.writeHead(404).end());
  await new Promise<void>((resolve) => http.listen(0, HOST, resolve));
  return http;
}

function closeHttp(http: HttpServer, closeSockets: () => void): Promise<void> {
  closeSockets();
  http.closeAllConnections();
  return new Promise((resolve) => http.close(() => resolve()));
}

function onInit(message: ToServer): void {
  if (message.type !== 'init' || config !== undefined) return;
  config = message.config;
  main().catch((error: unknown) => {
    send({ type: 'fatal', message: String((error as Error)?.stack ?? error) });
    setTimeout(() => process.exit(1), 100);
  });
}
process.on('message', onInit);
