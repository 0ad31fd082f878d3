import { type ChildProcess, fork, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import type { FromInstance, InstanceSettings, ToInstance } from './instance-child.js';

/*
 * Helpers for tests and benchmarks that run several server instances: each instance a child process
 * (instance-child.ts through tsx), a PostgreSQL database of their own, and private Redis and NATS servers
 * that a test may stop and start again without disturbing anyone else. Everything binds 127.0.0.1.
 */

const CHILD = fileURLToPath(new URL('./instance-child.ts', import.meta.url));
/** The repository root: tsx resolves @kaiwa/* to sources through its tsconfig paths. */
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** A server instance in a child process. */
export class Instance {
  readonly child: ChildProcess;
  /** `ws://127.0.0.1:port`; the WebSocket endpoint is `${url}/ws`. */
  readonly url: string;
  /** What it wrote on standard output, line by line (only with `logLevel` set). */
  readonly outputLines: string[];
  readonly #messages: FromInstance[] = [];

  private constructor(child: ChildProcess, url: string, messages: FromInstance[], outputLines: string[]) {
    this.child = child;
    this.url = url;
    this.#messages = messages;
    this.outputLines = outputLines;
  }

  get webSocketUrl(): string {
    return `${this.url}/ws`;
  }

  get httpUrl(): string {
    return this.url.replace(/^ws/, 'http');
  }

  static async start(settings: InstanceSettings, timeoutMs = 30_000): Promise<Instance> {
    const child = fork(CHILD, [JSON.stringify(settings)], {
      cwd: ROOT,
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', settings.logLevel ? 'pipe' : 'ignore', 'inherit', 'ipc'],
    });
    const outputLines: string[] = [];
    if (child.stdout) {
      let partial = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        outputLines.push(...lines);
      });
    }
    const messages: FromInstance[] = [];
    child.on('message', (message: FromInstance) => messages.push(message));
    const first = await nextMessage(child, messages, ['ready', 'failed'], timeoutMs);
    if (first.type !== 'ready') {
      child.kill('SIGKILL');
      throw new Error(`instance failed to start: ${first.type === 'failed' ? first.message : first.type}`);
    }
    return new Instance(child, first.url, messages, outputLines);
  }

  /** Makes `users` signed-in members of a new public channel; returns their access tokens. */
  async prepare(users: number, room: string): Promise<Extract<FromInstance, { type: 'prepared' }>> {
    this.#send({ type: 'prepare', users, room });
    const answer = await nextMessage(this.child, this.#messages, ['prepared', 'failed'], 30_000);
    if (answer.type !== 'prepared') throw new Error(`prepare failed: ${JSON.stringify(answer)}`);
    return answer;
  }

  async ready(): Promise<{ status: number; body: unknown }> {
    const response = await fetch(`${this.httpUrl}/ready`);
    return { status: response.status, body: await response.json().catch(() => undefined) };
  }

  /** Graceful stop. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.#send({ type: 'stop' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 8_000);
    await exited;
    clearTimeout(timer);
  }

  /** SIGKILL: no goodbye to anyone. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGKILL');
    await exited;
  }

  #send(message: ToInstance): void {
    this.child.send(message);
  }
}

async function nextMessage(
  child: ChildProcess,
  messages: FromInstance[],
  types: FromInstance['type'][],
  timeoutMs: number,
): Promise<FromInstance> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const index = messages.findIndex((message) => types.includes(message.type));
    if (index >= 0) return messages.splice(index, 1)[0]!;
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`instance exited (${child.exitCode ?? child.signalCode}) before ${types.join('/')}`);
    }
    if (Date.now() > deadline) throw new Error(`no ${types.join('/')} from the instance in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
      socket.connect(port, '127.0.0.1');
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A message broker of this test alone, which it may kill and start again on the same port. */
export interface PrivateServer {
  url: string;
  port: number;
  /** SIGKILL. */
  kill(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

function privateServer(
  url: (port: number) => string,
  command: (port: number, directory: string) => [string, string[]],
): (port?: number) => Promise<PrivateServer> {
  return async (given) => {
    const port = given ?? (await freePort());
    const directory = mkdtempSync(join(tmpdir(), 'kaiwa-broker-'));
    let child: ChildProcess | undefined;
    const server: PrivateServer = {
      url: url(port),
      port,
      async kill() {
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        child.kill('SIGKILL');
        await exited;
      },
      async start() {
        const [file, args] = command(port, directory);
        child = spawn(file, args, { stdio: 'ignore' });
        await waitForPort(port);
      },
      async stop() {
        await server.kill();
        rmSync(directory, { recursive: true, force: true });
      },
    };
    await server.start();
    return server;
  };
}

/** `redis-server` (from PATH) on 127.0.0.1, without persistence. */
export const startRedisServer = privateServer(
  (port) => `redis://127.0.0.1:${port}`,
  (port, directory) => [
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', directory],
  ],
);

/** `nats-server` with JetStream (for presence in KV) on 127.0.0.1. */
export const startNatsServer = privateServer(
  (port) => `nats://127.0.0.1:${port}`,
  (port, directory) => [
    process.env.KAIWA_NATS_SERVER_BIN ?? '/usr/sbin/nats-server',
    ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', directory],
  ],
);

/** A database of its own on the PostgreSQL server of `url`; `drop` removes it even with connections open. */
export async function createPostgresDatabase(url: string): Promise<{ url: string; drop(): Promise<void> }> {
  const { default: pg } = await import('pg');
  const name = `kaiwa_scale_${randomBytes(5).toString('hex')}`;
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await admin(`create database ${name}`);
  const own = new URL(url);
  own.pathname = `/${name}`;
  return { url: own.toString(), drop: () => admin(`drop database if exists ${name} with (force)`) };
}

export function randomSecret(): string {
  return randomBytes(32).toString('hex');
}

/** Removes the presence bucket instances on `channel` made on a shared NATS server (it outlives them). */
export async function removeNatsPresenceBucket(servers: string, channel: string): Promise<void> {
  const connection = await connect({ servers, maxReconnectAttempts: 0 }).catch(() => undefined);
  if (!connection) return;
  try {
    await (await new Kvm(connection).open(`${channel}_presence`)).destroy();
  } catch {
    // Not there: nothing to remove.
  } finally {
    await connection.close();
  }
}
