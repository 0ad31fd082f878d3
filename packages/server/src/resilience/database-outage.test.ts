import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSqliteStore } from '@kaiwa/store-kysely';
import {
  type PrivatePostgres,
  postgresBinDirectory,
  startPrivatePostgres,
} from '@kaiwa/store-kysely/testing';
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Frame, sleep, TestClient } from '../realtime/test-support.js';
import { startTestServer, type TestServer } from '../test-support.js';
import type { FromOutageServer, ToOutageServer } from './outage-server-child.js';

/*
 * The database going away under a running server. The server runs in a child process (so "it did not
 * crash" means the process is still there), real WebSocket clients keep sending messages with
 * clientMessageIds, and each resends an unacknowledged message with the same clientMessageId after a
 * retryable error frame, as a client should. Meanwhile PostgreSQL's backends are terminated and the
 * server is crashed and restarted; MariaDB's sessions are ended with KILL. Afterwards every acknowledged
 * message must be stored exactly once and sends must work again.
 */

const postgresEnabled = process.env.KAIWA_TEST_PG_REPLICATION === '1' && postgresBinDirectory() !== undefined;
const mysqlUrl = process.env.KAIWA_TEST_MYSQL_URL || undefined;
if (!postgresEnabled) {
  console.info('PostgreSQL outage tests skipped: set KAIWA_TEST_PG_REPLICATION=1 to run them (needs initdb)');
}
if (mysqlUrl === undefined) {
  console.info(
    'MariaDB outage tests skipped: set KAIWA_TEST_MYSQL_URL=mysql://root@127.0.0.1:3306/test to run them',
  );
}

const CHILD = fileURLToPath(new URL('./outage-server-child.ts', import.meta.url));
/** The repository root: tsx resolves @kaiwa/* to sources through its tsconfig paths. */
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** The server in a child process (outage-server-child.ts). */
class OutageServer {
  readonly #messages: FromOutageServer[] = [];

  private constructor(
    readonly child: ChildProcess,
    readonly httpUrl: string,
  ) {
    child.on('message', (message: FromOutageServer) => this.#messages.push(message));
  }

  static async start(databaseUrl: string): Promise<OutageServer> {
    const child = fork(CHILD, [databaseUrl], {
      cwd: ROOT,
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const [first] = (await once(child, 'message')) as [FromOutageServer];
    if (first.type !== 'ready') {
      child.kill('SIGKILL');
      throw new Error(`the server did not start: ${JSON.stringify(first)}`);
    }
    return new OutageServer(child, first.url);
  }

  get webSocketUrl(): string {
    return `${this.httpUrl.replace(/^http/, 'ws')}/ws`;
  }

  /** Still running, and nothing uncaught happened in it. */
  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async prepare(users: number, room: string): Promise<{ roomId: string; tokens: string[] }> {
    const answer = await this.#ask({ type: 'prepare', users, room }, 'prepared');
    return answer as Extract<FromOutageServer, { type: 'prepared' }>;
  }

  /** What the server survived only because the child records it: uncaught exceptions and rejections. */
  async uncaught(): Promise<string[]> {
    return ((await this.#ask({ type: 'report' }, 'report')) as Extract<FromOutageServer, { type: 'report' }>)
      .uncaught;
  }

  async ready(): Promise<{ status: number; body: unknown }> {
    const response = await fetch(`${this.httpUrl}/ready`);
    return { status: response.status, body: await response.json().catch(() => undefined) };
  }

  async kill(): Promise<void> {
    if (!this.alive) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGKILL');
    await exited;
  }

  async #ask(message: ToOutageServer, type: FromOutageServer['type']): Promise<FromOutageServer> {
    this.child.send(message);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const index = this.#messages.findIndex((each) => each.type === type || each.type === 'failed');
      if (index >= 0) {
        const answer = this.#messages.splice(index, 1)[0]!;
        if (answer.type === 'failed') throw new Error(answer.message);
        return answer;
      }
      if (!this.alive) throw new Error(`the server exited (${this.child.exitCode ?? this.child.signalCode})`);
      if (Date.now() > deadline) throw new Error(`no ${type} from the server`);
      await sleep(20);
    }
  }
}

/** A client that sends numbered messages one after another until stopped, retrying as a client should. */
class Sender {
  /** clientMessageId → the id of the message its ack carried. */
  readonly acknowledged = new Map<string, string>();
  /** Retryable error frames received, by code. */
  readonly retryableErrors = new Map<string, number>();
  readonly unexpected: Frame[] = [];
  reconnects = 0;
  #client: TestClient | undefined;
  #stopped = false;
  #running: Promise<void> | undefined;

  constructor(
    readonly url: string,
    readonly token: string,
    readonly roomId: string,
    readonly prefix: string,
  ) {}

  start(): void {
    this.#running = this.#run();
  }

  /** Stops after the message in flight is acknowledged (retrying it as long as needed). */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#running;
    await this.#client?.close();
  }

  async #run(): Promise<void> {
    for (let n = 0; !this.#stopped; n += 1) {
      const clientMessageId = `${this.prefix}-${n}`;
      for (;;) {
        const client = await this.#connected();
        let reply: Frame;
        try {
          reply = await client.request(
            { type: 'send', roomId: this.roomId, clientMessageId, text: `message ${clientMessageId}` },
            10_000,
          );
        } catch {
          // No answer (the socket closed): reconnect and send the same message again.
          this.#client = undefined;
          this.reconnects += 1;
          continue;
        }
        if (reply.type === 'ack') {
          this.acknowledged.set(clientMessageId, (reply.message as { id: string }).id);
          break;
        }
        if (reply.type === 'error' && reply.retryable === true) {
          const code = String(reply.code);
          this.retryableErrors.set(code, (this.retryableErrors.get(code) ?? 0) + 1);
          // A client waits retryAfterMs (1 s); a quarter of it keeps the test short and retries just as well.
          await sleep(Math.min(Number(reply.retryAfterMs ?? 1000), 250));
          continue;
        }
        this.unexpected.push(reply);
        await sleep(100);
      }
      await sleep(15);
    }
  }

  async #connected(): Promise<TestClient> {
    while (this.#client === undefined || this.#client.socket.readyState !== this.#client.socket.OPEN) {
      try {
        this.#client = await TestClient.as(this.url, this.token, { presence: false });
      } catch {
        await sleep(100);
      }
    }
    return this.#client;
  }
}

async function until(probe: () => Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  const started = Date.now();
  while (!(await probe())) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what} not within ${timeoutMs} ms`);
    await sleep(50);
  }
  return Date.now() - started;
}

/** Every acknowledged message is stored once, under the id its ack carried, and nothing else is stored. */
function expectStoredExactlyOnce(senders: Sender[], stored: { clientMessageId: string; id: string }[]): void {
  const acknowledged = new Map(senders.flatMap((sender) => [...sender.acknowledged]));
  const counts = new Map<string, number>();
  for (const row of stored) counts.set(row.clientMessageId, (counts.get(row.clientMessageId) ?? 0) + 1);
  const duplicated = [...counts].filter(([, count]) => count > 1);
  expect(duplicated).toEqual([]);
  const lost = [...acknowledged.keys()].filter((clientMessageId) => !counts.has(clientMessageId));
  expect(lost).toEqual([]);
  for (const row of stored) expect(acknowledged.get(row.clientMessageId)).toBe(row.id);
  expect(stored.length).toBe(acknowledged.size);
}

async function acknowledgedAfter(senders: Sender[], counts: number[], more: number): Promise<void> {
  await until(
    async () => senders.every((sender, index) => sender.acknowledged.size >= counts[index]! + more),
    15_000,
    `${more} more acknowledged sends per client`,
  );
}

describe.skipIf(!postgresEnabled)('server on a PostgreSQL that is terminated and restarted', () => {
  let cluster: PrivatePostgres;
  let instance: OutageServer;

  beforeAll(async () => {
    cluster = await startPrivatePostgres();
    instance = await OutageServer.start(cluster.url);
  }, 60_000);

  afterAll(async () => {
    await instance?.kill();
    await cluster?.stop();
  });

  /** Runs one statement on a connection of its own (the server may have restarted since the last one). */
  async function query<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
    const client = new pg.Client({ connectionString: cluster.url });
    await client.connect();
    try {
      return (await client.query<R>(text, values)).rows;
    } finally {
      await client.end();
    }
  }

  it('stays up, answers 503 database_unavailable meanwhile, and stores every acknowledged send once', async () => {
    const prepared = await instance.prepare(3, 'outage-pg');
    const senders = prepared.tokens.map(
      (token, index) => new Sender(instance.webSocketUrl, token, prepared.roomId, `pg${index}`),
    );
    for (const sender of senders) sender.start();
    await acknowledgedAfter(senders, [0, 0, 0], 5);

    // Every session of the server's pool, idle or busy, is terminated, three times over. The first round
    // finds the sessions the senders use; a later one may come before the pool has opened new ones.
    const terminatedPerRound: number[] = [];
    for (let round = 0; round < 3; round += 1) {
      const terminated = await query(
        `select pg_terminate_backend(pid) from pg_stat_activity
          where backend_type = 'client backend' and pid <> pg_backend_pid()`,
      );
      terminatedPerRound.push(terminated.length);
      await sleep(300);
    }
    expect(terminatedPerRound[0], `sessions terminated per round: ${terminatedPerRound}`).toBeGreaterThan(0);
    expect(instance.alive).toBe(true);
    await acknowledgedAfter(
      senders,
      senders.map((sender) => sender.acknowledged.size),
      3,
    );

    // A crash: no checkpoint, every connection cut. The server must stay up and say why it cannot serve.
    await cluster.stopServer('immediate');
    const notReadyMs = await until(async () => (await instance.ready()).status === 503, 5_000, '/ready 503');
    const ready = await fetch(`${instance.httpUrl}/ready`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { error: { code: string } }).error.code).toBe('database_unavailable');
    const rest = await fetch(`${instance.httpUrl}/api/v1/rooms/${prepared.roomId}/messages`, {
      headers: { authorization: `Bearer ${prepared.tokens[0]}` },
    });
    expect(rest.status).toBe(503);
    expect(rest.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await rest.json()).toMatchObject({ error: { code: 'database_unavailable' } });
    await sleep(1_000);
    expect(instance.alive).toBe(true);

    await cluster.startServer();
    const readyAgainMs = await until(
      async () => (await instance.ready()).status === 200,
      10_000,
      '/ready 200',
    );
    await acknowledgedAfter(
      senders,
      senders.map((sender) => sender.acknowledged.size),
      5,
    );
    await Promise.all(senders.map((sender) => sender.stop()));

    expect(instance.alive).toBe(true);
    expect(await instance.uncaught()).toEqual([]);
    expect(senders.flatMap((sender) => sender.unexpected)).toEqual([]);
    const retried = senders.reduce(
      (sum, sender) => sum + (sender.retryableErrors.get('database_unavailable') ?? 0),
      0,
    );
    expect(retried).toBeGreaterThan(0);
    const stored = await query<{ clientMessageId: string; id: string }>(
      'select client_message_id as "clientMessageId", id from messages where room_id = $1 and client_message_id is not null',
      [prepared.roomId],
    );
    expectStoredExactlyOnce(senders, stored);
    console.info(
      `PostgreSQL outage: ${stored.length} acknowledged sends stored once, ${retried} retried after database_unavailable, ` +
        `/ready 503 after ${notReadyMs} ms and 200 again ${readyAgainMs} ms after the restart`,
    );
  }, 60_000);
});

describe.skipIf(mysqlUrl === undefined)('server on a MariaDB whose sessions are killed', () => {
  const database = `kaiwa_t_${randomBytes(6).toString('hex')}`;
  let admin: mysql.Connection;
  let instance: OutageServer;

  beforeAll(async () => {
    admin = await mysql.createConnection({ uri: mysqlUrl! });
    await admin.query(`create database ${database} character set utf8mb4 collate utf8mb4_bin`);
    const target = new URL(mysqlUrl!);
    target.pathname = `/${database}`;
    instance = await OutageServer.start(target.toString());
  }, 60_000);

  afterAll(async () => {
    await instance?.kill();
    await admin?.query(`drop database if exists ${database}`);
    await admin?.end();
  });

  it('stays up through KILL of its connections and stores every acknowledged send once', async () => {
    const prepared = await instance.prepare(3, 'outage-mysql');
    const senders = prepared.tokens.map(
      (token, index) => new Sender(instance.webSocketUrl, token, prepared.roomId, `my${index}`),
    );
    for (const sender of senders) sender.start();
    await acknowledgedAfter(senders, [0, 0, 0], 5);

    let killed = 0;
    for (let round = 0; round < 4; round += 1) {
      // The server's own database tells its sessions apart from everyone else's on the shared server.
      const [rows] = await admin.query<mysql.RowDataPacket[]>(
        'select id from information_schema.processlist where db = ? and id <> connection_id()',
        [database],
      );
      for (const row of rows) {
        await admin.query(`kill ${Number(row.id)}`).catch(() => undefined);
        killed += 1;
      }
      await sleep(300);
    }
    expect(killed).toBeGreaterThan(0);
    expect(instance.alive).toBe(true);
    await acknowledgedAfter(
      senders,
      senders.map((sender) => sender.acknowledged.size),
      5,
    );
    await Promise.all(senders.map((sender) => sender.stop()));

    expect(instance.alive).toBe(true);
    expect((await instance.ready()).status).toBe(200);
    expect(senders.flatMap((sender) => sender.unexpected)).toEqual([]);
    const [stored] = await admin.query<mysql.RowDataPacket[]>(
      `select client_message_id as clientMessageId, id from ${database}.messages
        where room_id = ? and client_message_id is not null`,
      [prepared.roomId],
    );
    expectStoredExactlyOnce(senders, stored as { clientMessageId: string; id: string }[]);
    const retried = senders.reduce(
      (sum, sender) => sum + (sender.retryableErrors.get('database_unavailable') ?? 0),
      0,
    );
    console.info(
      `MariaDB KILL: ${killed} sessions killed, ${stored.length} acknowledged sends stored once, ${retried} retried`,
    );
  }, 60_000);
});

describe('server on a SQLite file another process holds locked', () => {
  const folder = mkdtempSync(join(tmpdir(), 'kaiwa-sqlite-busy-server-'));
  const filename = join(folder, 'kaiwa.sqlite');
  let test: TestServer;
  let url: string;

  beforeAll(async () => {
    const store = await createSqliteStore({ filename, busyTimeoutMs: 100 });
    test = await startTestServer({ port: 0, host: '127.0.0.1' }, { store });
    url = `${(await test.server.listen()).replace('http', 'ws')}/ws`;
  });

  afterAll(async () => {
    await test?.close();
    rmSync(folder, { recursive: true, force: true });
  });

  it('answers busy (503, Retry-After; a retryable error frame) and takes the same send once the lock is gone', async () => {
    const { token, user } = await test.signedIn('member');
    const room = await test.server.engine.createRoom(user.id, { kind: 'channel', name: 'busy-room' });
    const client = await TestClient.as(url, token, { presence: false });
    const holder = new Database(filename);
    try {
      holder.exec('begin immediate');
      const rest = await test.call('POST', `/api/v1/rooms/${room.id}/messages`, {
        token,
        body: { text: 'over REST', clientMessageId: 'busy-rest' },
      });
      expect(rest.statusCode).toBe(503);
      expect(rest.headers['retry-after']).toBe('1');
      expect(rest.json()).toMatchObject({ error: { code: 'busy', details: { retryable: true } } });

      const frame = { type: 'send', roomId: room.id, clientMessageId: 'busy-ws', text: 'over the socket' };
      const refused = await client.request(frame);
      expect(refused).toMatchObject({ type: 'error', code: 'busy', retryable: true, retryAfterMs: 1000 });
      holder.exec('rollback');

      const ack = await client.request(frame);
      expect(ack).toMatchObject({ type: 'ack', clientMessageId: 'busy-ws' });
      const again = await test.call('POST', `/api/v1/rooms/${room.id}/messages`, {
        token,
        body: { text: 'over REST', clientMessageId: 'busy-rest' },
      });
      expect(again.statusCode).toBe(201);
      const stored = holder
        .prepare('select client_message_id from messages where room_id = ? order by client_message_id')
        .all(room.id);
      expect(stored).toEqual([{ client_message_id: 'busy-rest' }, { client_message_id: 'busy-ws' }]);
    } finally {
      holder.close();
      await client.close();
    }
  });
});
