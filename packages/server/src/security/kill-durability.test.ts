import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { TestClient } from '../realtime/test-support.js';
import { freePort } from '../scale/scale-test-support.js';

/*
 * kill -9 under load: a server child process on SQLite, clients sending with clientMessageIds and retrying
 * each send (same id) until it is acknowledged, the server killed with SIGKILL at random moments and started
 * again on the same port and file. Afterwards every acknowledged message must be stored exactly once.
 * KAIWA_FUZZ_SEED replays the same kill moments.
 */

const CHILD = fileURLToPath(new URL('./durability-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const SEED = Number(process.env.KAIWA_FUZZ_SEED ?? 20261203);
const KILLS = 3;
const SENDERS = 4;

/** mulberry32: a small seeded generator, so a failing run can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const directory = mkdtempSync(join(tmpdir(), 'kaiwa-durability-'));
let child: ChildProcess | undefined;
afterAll(() => {
  child?.kill('SIGKILL');
  rmSync(directory, { recursive: true, force: true });
});

async function start(
  port: number,
  prepareUsers = 0,
): Promise<{ url: string; roomId?: string; tokens: string[] }> {
  child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    cwd: ROOT,
    env: {
      ...process.env,
      KAIWA_DATA_DIR: directory,
      KAIWA_JWT_SECRET: 'durability-test-secret-0123456789abcdef',
      PORT: String(port),
      KAIWA_PREPARE_USERS: String(prepareUsers),
    },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  let output = '';
  child.stdout?.setEncoding('utf8');
  const line = new Promise<string>((resolve, reject) => {
    child?.stdout?.on('data', (chunk: string) => {
      output += chunk;
      const end = output.indexOf('\n');
      if (end >= 0) resolve(output.slice(0, end));
    });
    child?.once('exit', (code, signal) =>
      reject(new Error(`server exited (${code ?? signal}) before listening`)),
    );
  });
  return JSON.parse(await line) as { url: string; roomId?: string; tokens: string[] };
}

async function kill(): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

describe('kill -9 under load', () => {
  it('stores every acknowledged message exactly once across SIGKILLs and restarts', async () => {
    const next = random(SEED);
    const port = await freePort();
    const first = await start(port, SENDERS);
    const roomId = first.roomId!;
    const webSocketUrl = `${first.url.replace(/^http/, 'ws')}/ws`;
    const acknowledged = new Set<string>();
    let attempts = 0;
    let stopping = false;

    const sender = async (index: number) => {
      let client: TestClient | undefined;
      for (let number = 0; !stopping; number += 1) {
        const clientMessageId = `s${index}-${number}`;
        // Retried with the same clientMessageId until acknowledged, across kills and restarts.
        for (;;) {
          try {
            client ??= await TestClient.as(webSocketUrl, first.tokens[index]!, { presence: false });
            attempts += 1;
            const reply = await Promise.race([
              client.request({ type: 'send', roomId, clientMessageId, text: clientMessageId }, 5_000),
              client.closed.then(() => {
                throw new Error('closed');
              }),
            ]);
            if (reply.type === 'ack') {
              acknowledged.add(clientMessageId);
              break;
            }
            throw new Error(`refused: ${JSON.stringify(reply)}`);
          } catch {
            client?.socket.terminate();
            client = undefined;
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        }
      }
      await client?.close();
    };

    const sending = Array.from({ length: SENDERS }, (_, index) => sender(index));
    const killedAt: number[] = [];
    for (let kill_ = 0; kill_ < KILLS; kill_ += 1) {
      const delay = 300 + Math.floor(next() * 900);
      await new Promise((resolve) => setTimeout(resolve, delay));
      killedAt.push(acknowledged.size);
      await kill();
      await start(port);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    stopping = true;
    await Promise.all(sending);
    await kill();

    const database = new Database(join(directory, 'kaiwa.sqlite'), { readonly: true });
    const rows = database
      .prepare(
        'select client_message_id as id, count(*) as copies from messages where room_id = ? group by client_message_id',
      )
      .all(roomId) as { id: string | null; copies: number }[];
    database.close();
    const stored = new Map(rows.map((row) => [row.id, row.copies]));
    const lost = [...acknowledged].filter((id) => !stored.has(id));
    const duplicated = rows.filter((row) => row.copies > 1);
    console.info(
      `kill -9: seed ${SEED}, ${KILLS} SIGKILLs survived (after ${killedAt.join(', ')} acks), ${attempts} sends, ` +
        `${acknowledged.size} acknowledged, ${lost.length} acknowledged-but-lost, ${duplicated.length} duplicated`,
    );
    expect(acknowledged.size).toBeGreaterThan(20);
    expect(lost).toEqual([]);
    expect(duplicated).toEqual([]);
  }, 120_000);
});
