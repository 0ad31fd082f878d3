import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Bus, ChatEngine, type ChatStore, NotFoundError, type User } from '@kaiwa/core';
import { createSqliteStore } from '@kaiwa/store-kysely';
import { Registry } from 'prom-client';
import { type ClientOptions, WebSocket } from 'ws';
import { attachRealtime, type RealtimeLimits, type RealtimeServer } from './index.js';

/*
 * Test helpers for the realtime tests: a real SQLite store and engine, a real HTTP server on 127.0.0.1
 * with the realtime server attached, and a small WebSocket client that records every frame it gets.
 */

export interface Chat {
  store: ChatStore;
  engine: ChatEngine;
  alice: User;
  bob: User;
  carol: User;
  /** Test tokens: `token-alice` and so on. */
  tokens: Map<string, User>;
  close(): Promise<void>;
}

/** Opens a store (in memory, or on `filename`), an engine and three users, reusing them if they exist. */
export async function openChat(options: { filename?: string; bus?: Bus } = {}): Promise<Chat> {
  const store = await createSqliteStore({ filename: options.filename ?? ':memory:' });
  await store.migrate();
  const engine = new ChatEngine({ store, ...(options.bus ? { bus: options.bus } : {}) });
  const user = async (username: string): Promise<User> => {
    try {
      return await engine.getUserByUsername(username);
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
      return engine.createUser({ username });
    }
  };
  const alice = await user('alice');
  const bob = await user('bob');
  const carol = await user('carol');
  const tokens = new Map([alice, bob, carol].map((each) => [`token-${each.username}`, each]));
  return {
    store,
    engine,
    alice,
    bob,
    carol,
    tokens,
    async close() {
      engine.close();
      await store.close();
    },
  };
}

export interface Served {
  server: Server;
  realtime: RealtimeServer;
  registry: Registry;
  url: string;
  stop(): Promise<void>;
}

/** An HTTP server on an ephemeral port with the realtime server attached at `/ws`. */
export async function serve(chat: Chat, limits: Partial<RealtimeLimits> = {}): Promise<Served> {
  const server = createServer((_request, response) => response.writeHead(404).end());
  const registry = new Registry();
  const realtime = attachRealtime({
    server,
    engine: chat.engine,
    authenticate: async (token) => {
      const user = chat.tokens.get(token);
      return user && { user };
    },
    registry,
    limits,
    workflowRunActor: async (runId) => (await chat.store.workflows.findRun(runId))?.actorId,
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    server,
    realtime,
    registry,
    url: `ws://127.0.0.1:${port}/ws`,
    async stop() {
      await realtime.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The value of a counter or gauge without labels. */
export async function metricValue(registry: Registry, name: string): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values.reduce((sum, value) => sum + value.value, 0);
}

/** A frame from the server: loosely typed, tests look at the fields they care about. */
export type Frame = { type: string; [field: string]: unknown };

export interface Closed {
  code: number;
  reason: string;
}

/** A WebSocket client that keeps every frame, unpacking coalesced JSON arrays. */
export class TestClient {
  readonly socket: WebSocket;
  readonly frames: Frame[] = [];
  /** How many of the received WebSocket messages were coalesced arrays. */
  batches = 0;
  readonly closed: Promise<Closed>;
  #nextId = 1;
  #waiters = new Set<() => void>();

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.on('message', (data: Buffer) => {
      const parsed = JSON.parse(data.toString('utf8')) as Frame | Frame[];
      if (Array.isArray(parsed)) {
        this.batches += 1;
        this.frames.push(...parsed);
      } else this.frames.push(parsed);
      for (const wake of [...this.#waiters]) wake();
    });
    this.closed = new Promise((resolve) => {
      socket.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        for (const wake of [...this.#waiters]) wake();
      });
    });
    socket.on('error', () => {});
  }

  static async connect(url: string, options: ClientOptions = {}): Promise<TestClient> {
    const socket = new WebSocket(url, options);
    const client = new TestClient(socket);
    await once(socket, 'open');
    return client;
  }

  /** Connects and authenticates as the owner of `token`. */
  static async as(
    url: string,
    token: string,
    options: ClientOptions & { presence?: boolean; work?: boolean } = {},
  ) {
    const { presence, work, ...socketOptions } = options;
    const client = await TestClient.connect(url, socketOptions);
    const ready = await client.request({
      type: 'auth',
      token,
      ...(presence === undefined ? {} : { presence }),
      ...(work === undefined ? {} : { work }),
    });
    if (ready.type !== 'ready') throw new Error(`authentication failed: ${JSON.stringify(ready)}`);
    return client;
  }

  send(frame: object | string): void {
    this.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Sends `frame` with a fresh id and resolves with the reply that echoes it. */
  async request(frame: Record<string, unknown>, timeoutMs = 5_000): Promise<Frame> {
    const id = `r${this.#nextId++}`;
    const from = this.frames.length;
    this.send({ ...frame, id });
    return this.waitFor((each) => each.id === id, { from, timeoutMs });
  }

  /** The first frame from index `from` on that matches, waiting for it if needed. */
  waitFor(
    predicate: (frame: Frame) => boolean,
    options: { from?: number; timeoutMs?: number } = {},
  ): Promise<Frame> {
    const { from = 0, timeoutMs = 5_000 } = options;
    return new Promise((resolve, reject) => {
      let checked = from;
      const check = (): boolean => {
        for (; checked < this.frames.length; checked += 1) {
          const frame = this.frames[checked]!;
          if (predicate(frame)) {
            resolve(frame);
            return true;
          }
        }
        return false;
      };
      if (check()) return;
      const wake = (): void => {
        if (check()) done();
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(`no matching frame within ${timeoutMs} ms; got ${describe(this.frames.slice(from))}`),
        );
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
      };
      this.#waiters.add(wake);
    });
  }

  /** Waits until `count` room events of `roomId` have arrived, and returns them. */
  async roomEvents(roomId: string, count: number, timeoutMs = 5_000): Promise<Frame[]> {
    const events = (): Frame[] => this.frames.filter((frame) => frame.roomId === roomId && 'seq' in frame);
    const deadline = Date.now() + timeoutMs;
    while (events().length < count) {
      if (Date.now() > deadline) {
        throw new Error(
          `expected ${count} events in ${roomId}, got ${events().length}: ${describe(events())}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return events();
  }

  close(): Promise<Closed> {
    this.socket.close();
    return this.closed;
  }
}

/** Sequence numbers of the room events among `frames`. */
export function seqs(frames: Frame[]): number[] {
  return frames.filter((frame) => 'seq' in frame).map((frame) => frame.seq as number);
}

export function range(first: number, last: number): number[] {
  return Array.from({ length: last - first + 1 }, (_, index) => first + index);
}

/** Resolves after `milliseconds`. */
export function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

/** Polls `condition` every 10 ms until it holds. */
export async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(10);
  }
}

function describe(frames: Frame[]): string {
  const shown = frames.length > 20 ? frames.slice(-20) : frames;
  return JSON.stringify(
    shown.map((frame) => ({ type: frame.type, id: frame.id, seq: frame.seq, code: frame.code })),
  );
}
