import { mkdirSync, rmSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ChatEngine } from '@kaiwa/core';
import { createSqliteStore } from '@kaiwa/store-kysely';

/*
 * npm run bench:durability [-- --sends N] [--senders N] [--rounds N] [--modes normal,full,full-async]
 *
 * SQLite's `synchronous = NORMAL` against `FULL` (WAL mode), through the engine with its group commit, in one
 * run: single sends (one awaited `sendMessage` at a time: every commit is its own fsync under FULL) and
 * concurrent sends (`--senders` callers at once, whose changes share commits). Each round uses fresh database
 * files on the disk under .bench-data/ (not /tmp, which may be memory, where fsync costs nothing), and the
 * modes take turns round by round so a disturbance on the shared machine hits both alike; each figure's median over the
 * rounds is shown. Prints a Markdown table for docs/benchmarks.md. `--modes` adds `full-async` (NORMAL plus
 * the store's own WAL sync off the event loop, as durable as FULL).
 */

export type Synchronous = 'normal' | 'full' | 'full-async';

export interface DurabilitySettings {
  /** Messages per measurement (single and concurrent alike). */
  sends: number;
  /** Concurrent callers in the concurrent measurement. */
  senders: number;
  rounds: number;
  /** Where the database files go; must be a real disk for the numbers to mean anything. */
  directory: string;
  /** The modes measured, taking turns; default NORMAL and FULL. */
  modes?: Synchronous[];
}

export interface DurabilityRound {
  synchronous: Synchronous;
  singlePerSecond: number;
  singleP50Ms: number;
  singleP99Ms: number;
  concurrentPerSecond: number;
}

export interface DurabilityResult {
  settings: Omit<DurabilitySettings, 'directory'>;
  rounds: DurabilityRound[];
  /** Each measured mode's median of every figure over the rounds. */
  median: Record<'normal' | 'full', DurabilityRound> & Partial<Record<Synchronous, DurabilityRound>>;
}

async function measure(synchronous: Synchronous, settings: DurabilitySettings, round: number) {
  const filename = join(settings.directory, `durability-${synchronous}-${round}.sqlite`);
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${filename}${suffix}`, { force: true });
  const store = await createSqliteStore({ filename, synchronous });
  await store.migrate();
  const engine = new ChatEngine({ store });
  try {
    const users = await Promise.all(
      Array.from({ length: settings.senders }, (_, index) =>
        engine.createUser({ username: `sender-${index}` }),
      ),
    );
    const owner = users[0]!;
    const room = await engine.createRoom(owner.id, {
      kind: 'channel',
      name: 'durability',
      memberIds: users.slice(1).map((user) => user.id),
    });
    // Warm-up: prepared statements, page cache.
    for (let index = 0; index < 50; index += 1) {
      await engine.sendMessage(owner.id, { roomId: room.id, text: `warm ${index}` });
    }

    const latencies: number[] = [];
    const singleStart = performance.now();
    for (let index = 0; index < settings.sends; index += 1) {
      const start = performance.now();
      await engine.sendMessage(owner.id, {
        roomId: room.id,
        text: `single ${index}`,
        clientMessageId: `s-${index}`,
      });
      latencies.push(performance.now() - start);
    }
    const singleSeconds = (performance.now() - singleStart) / 1000;

    const perSender = Math.ceil(settings.sends / settings.senders);
    const concurrentStart = performance.now();
    await Promise.all(
      users.map(async (user, sender) => {
        for (let index = 0; index < perSender; index += 1) {
          await engine.sendMessage(user.id, {
            roomId: room.id,
            text: `concurrent ${sender}:${index}`,
            clientMessageId: `c-${sender}-${index}`,
          });
        }
      }),
    );
    const concurrentSeconds = (performance.now() - concurrentStart) / 1000;

    latencies.sort((a, b) => a - b);
    const at = (fraction: number) =>
      latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * fraction))]!;
    return {
      synchronous,
      singlePerSecond: settings.sends / singleSeconds,
      singleP50Ms: at(0.5),
      singleP99Ms: at(0.99),
      concurrentPerSecond: (perSender * settings.senders) / concurrentSeconds,
    };
  } finally {
    engine.close();
    await store.close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${filename}${suffix}`, { force: true });
  }
}

/** Runs every mode `rounds` times, taking turns, and takes each mode's median of every figure. */
export async function runDurabilityBench(settings: DurabilitySettings): Promise<DurabilityResult> {
  mkdirSync(settings.directory, { recursive: true });
  const modes = settings.modes ?? ['normal', 'full'];
  const rounds: DurabilityRound[] = [];
  for (let round = 0; round < settings.rounds; round += 1) {
    // Forwards, then backwards: each mode runs first and last equally often.
    const order = round % 2 === 0 ? modes : [...modes].reverse();
    for (const synchronous of order) rounds.push(await measure(synchronous, settings, round));
  }
  // Each figure's own median over the rounds: one disturbed round moves none of them.
  const medianOf = (synchronous: Synchronous): DurabilityRound => {
    const mine = rounds.filter((each) => each.synchronous === synchronous);
    const median = (pick: (round: DurabilityRound) => number) =>
      mine.map(pick).sort((a, b) => a - b)[Math.floor(mine.length / 2)]!;
    return {
      synchronous,
      singlePerSecond: median((round) => round.singlePerSecond),
      singleP50Ms: median((round) => round.singleP50Ms),
      singleP99Ms: median((round) => round.singleP99Ms),
      concurrentPerSecond: median((round) => round.concurrentPerSecond),
    };
  };
  const { directory: _directory, modes: _modes, ...shown } = settings;
  const median = Object.fromEntries(modes.map((mode) => [mode, medianOf(mode)]));
  return {
    settings: shown,
    rounds,
    median: { normal: medianOf('normal'), full: medianOf('full'), ...median },
  };
}

const whole = (value: number) => Math.round(value).toLocaleString('en-US');
const ms = (value: number) => value.toFixed(2);

/** The result as the Markdown table in docs/benchmarks.md. */
export function durabilityTable(result: DurabilityResult): string {
  const { normal, full, 'full-async': offLoop } = result.median;
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
  return [
    '| synchronous | single sends/s | single p50 ms | single p99 ms | concurrent sends/s |',
    '| ----------- | -------------: | ------------: | ------------: | -----------------: |',
    `| \`NORMAL\`    | ${whole(normal.singlePerSecond)} | ${ms(normal.singleP50Ms)} | ${ms(normal.singleP99Ms)} | ${whole(normal.concurrentPerSecond)} |`,
    `| \`FULL\`      | ${whole(full.singlePerSecond)} | ${ms(full.singleP50Ms)} | ${ms(full.singleP99Ms)} | ${whole(full.concurrentPerSecond)} |`,
    `| FULL cost   | ${ratio(normal.singlePerSecond, full.singlePerSecond)} slower | | | ${ratio(normal.concurrentPerSecond, full.concurrentPerSecond)} slower |`,
    ...(offLoop
      ? [
          `| \`full-async\` | ${whole(offLoop.singlePerSecond)} | ${ms(offLoop.singleP50Ms)} | ${ms(offLoop.singleP99Ms)} | ${whole(offLoop.concurrentPerSecond)} |`,
        ]
      : []),
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({
    options: {
      sends: { type: 'string', default: '2000' },
      senders: { type: 'string', default: '50' },
      rounds: { type: 'string', default: '3' },
      modes: { type: 'string', default: 'normal,full' },
    },
  });
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const settings: DurabilitySettings = {
    sends: Number(values.sends),
    senders: Number(values.senders),
    rounds: Number(values.rounds),
    directory: join(root, '.bench-data', 'durability'),
    modes: values.modes.split(',').map((mode) => {
      if (!['normal', 'full', 'full-async'].includes(mode.trim())) throw new Error(`unknown mode ${mode}`);
      return mode.trim() as Synchronous;
    }),
  };
  const result = await runDurabilityBench(settings);
  for (const round of result.rounds) {
    console.error(
      `${round.synchronous.padEnd(10)} single ${whole(round.singlePerSecond)}/s (p50 ${ms(round.singleP50Ms)} ms, ` +
        `p99 ${ms(round.singleP99Ms)} ms), concurrent ${whole(round.concurrentPerSecond)}/s`,
    );
  }
  console.log(
    `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, Node ${process.version}, ` +
      `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GiB, ` +
      `${settings.sends} sends per measurement, ${settings.senders} concurrent senders, median of ${settings.rounds} ` +
      `rounds, load average at the end ${loadavg()[0]?.toFixed(1)}.\n`,
  );
  console.log(durabilityTable(result));
}
