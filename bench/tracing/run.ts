import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import { type OtlpReceiver, startOtlpReceiver } from '../../packages/server/src/operations/otlp-receiver.js';
import { createPostgresDatabase, Instance } from '../../packages/server/src/scale/scale-test-support.js';

/*
 * npm run bench:tracing [-- --passes 2] [-- --measure-ms 8000] [-- --senders 8] [-- --readers 8]
 *                       [-- --database postgres://…]   (PostgreSQL instead of SQLite: Node versions other
 *                                                       than the one better-sqlite3 was built for)
 *
 * What OpenTelemetry tracing costs (docs/benchmarks.md, "Tracing"): the same server (a child process on
 * SQLite, in-process bus) with tracing off, on with 10 % sampling and on with 100 % sampling, exporting
 * over OTLP/HTTP to a receiver in this process on 127.0.0.1. The three run alternately, `passes` times
 * each, each on a fresh server and database. Each sender sends messages one after the other over its
 * WebSocket, each waiting for its ack; every message also goes to the readers. Reported per configuration:
 * messages per second (acks), the send → ack latency (p50, p99) over all passes, and the server's CPU time
 * per message (from /proc: on a machine others share, the figure least disturbed by them).
 */

const { values } = parseArgs({
  options: {
    passes: { type: 'string', default: '2' },
    'measure-ms': { type: 'string', default: '8000' },
    'warmup-ms': { type: 'string', default: '2000' },
    senders: { type: 'string', default: '8' },
    readers: { type: 'string', default: '8' },
    /** A PostgreSQL server URL: each pass gets a fresh database there instead of a SQLite file. */
    database: { type: 'string' },
  },
});
const passes = Number(values.passes);
const measureMs = Number(values['measure-ms']);
const warmupMs = Number(values['warmup-ms']);
const senderCount = Number(values.senders);
const readerCount = Number(values.readers);

interface Configuration {
  name: string;
  environment: (receiver: OtlpReceiver) => Record<string, string>;
}

const CONFIGURATIONS: Configuration[] = [
  { name: 'off', environment: () => ({}) },
  {
    name: 'on, 10 % sampled',
    environment: (receiver) => ({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.1',
    }),
  },
  {
    name: 'on, 100 % sampled',
    environment: (receiver) => ({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_TRACES_SAMPLER: 'parentbased_always_on',
    }),
  },
];

interface PassResult {
  configuration: string;
  pass: number;
  messages: number;
  seconds: number;
  latenciesMs: number[];
  spansReceived: number;
  /** CPU time (user + system) the server process spent in the measurement window, in milliseconds. */
  serverCpuMs: number;
}

/** User + system CPU time of a process so far, in milliseconds (Linux /proc; NaN elsewhere). */
function cpuMsOf(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the command name.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}
const CLOCK_TICKS = 100;

/** A lean WebSocket client: auth, subscribe, then sends that wait for their ack. */
class Client {
  readonly #socket: WebSocket;
  readonly #waiting = new Map<string, (frame: Record<string, unknown>) => void>();
  #nextId = 0;

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.on('message', (data: Buffer) => {
      const parsed = JSON.parse(data.toString('utf8')) as Record<string, unknown> | Record<string, unknown>[];
      for (const frame of Array.isArray(parsed) ? parsed : [parsed]) {
        const id = typeof frame.id === 'string' ? frame.id : undefined;
        const resolve = id ? this.#waiting.get(id) : undefined;
        if (id && resolve) {
          this.#waiting.delete(id);
          resolve(frame);
        }
      }
    });
  }

  static async open(url: string, token: string, roomId: string, lastSeq: number): Promise<Client> {
    const socket = new WebSocket(url);
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    const client = new Client(socket);
    const ready = await client.request({ type: 'auth', token, presence: false });
    if (ready.type !== 'ready') throw new Error(`auth failed: ${JSON.stringify(ready)}`);
    const subscribed = await client.request({ type: 'subscribe', roomId, lastSeq });
    if (subscribed.type !== 'subscribed') throw new Error(`subscribe failed: ${JSON.stringify(subscribed)}`);
    return client;
  }

  request(frame: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = `f${this.#nextId++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to ${frame.type} in 10 s`)), 10_000);
      this.#waiting.set(id, (answer) => {
        clearTimeout(timer);
        resolve(answer);
      });
      this.#socket.send(JSON.stringify({ ...frame, id }));
    });
  }

  close(): void {
    this.#socket.close();
  }
}

function percentile(sorted: number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
}

async function runPass(
  configuration: Configuration,
  pass: number,
  receiver: OtlpReceiver,
): Promise<PassResult> {
  const directory = mkdtempSync(join(tmpdir(), 'kaiwa-tracing-bench-'));
  const database = values.database ? await createPostgresDatabase(values.database) : undefined;
  const spansBefore = receiver.spans.length;
  const instance = await Instance.start(
    {
      databaseUrl: database?.url ?? join(directory, 'kaiwa.sqlite'),
      bus: 'memory',
      channel: 'kaiwa',
      jwtSecret: randomBytes(32).toString('hex'),
      lifetimeMs: measureMs + warmupMs + 120_000,
      environment: {
        // The senders post far faster than any person: measure the server, not its limits.
        KAIWA_USER_RATE_LIMITS: 'messages=1000000/10s',
        KAIWA_REALTIME_LIMITS: 'framesPerSecond=100000,frameBurst=100000',
        OTEL_SERVICE_NAME: 'kaiwa-bench',
        ...configuration.environment(receiver),
      },
    },
    // A busy machine can take long to start a server through tsx.
    120_000,
  );
  const clients: Client[] = [];
  try {
    const setup = await instance.prepare(senderCount + readerCount, `bench-${pass}`);
    for (const token of setup.tokens) {
      clients.push(await Client.open(instance.webSocketUrl, token, setup.roomId, setup.lastSeq));
    }
    const senders = clients.slice(0, senderCount);
    const text = 'x'.repeat(100);
    let measuring = false;
    let stopped = false;
    let messages = 0;
    const latenciesMs: number[] = [];
    const loops = senders.map(async (client, index) => {
      for (let sequence = 0; !stopped; sequence += 1) {
        const started = performance.now();
        const ack = await client.request({
          type: 'send',
          roomId: setup.roomId,
          text,
          clientMessageId: `s${index}-${sequence}`,
        });
        if (ack.type !== 'ack') throw new Error(`send failed: ${JSON.stringify(ack)}`);
        if (measuring) {
          messages += 1;
          latenciesMs.push(performance.now() - started);
        }
      }
    });
    await new Promise((resolve) => setTimeout(resolve, warmupMs));
    measuring = true;
    const started = performance.now();
    const cpuBefore = cpuMsOf(instance.child.pid);
    await new Promise((resolve) => setTimeout(resolve, measureMs));
    measuring = false;
    const serverCpuMs = cpuMsOf(instance.child.pid) - cpuBefore;
    const seconds = (performance.now() - started) / 1000;
    stopped = true;
    await Promise.all(loops);
    // Let the last batch of spans arrive (batches leave every second).
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    return {
      configuration: configuration.name,
      pass,
      messages,
      seconds,
      latenciesMs,
      spansReceived: receiver.spans.length - spansBefore,
      serverCpuMs,
    };
  } finally {
    for (const client of clients) client.close();
    await instance.stop();
    await database?.drop();
    rmSync(directory, { recursive: true, force: true });
  }
}

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

async function main(): Promise<void> {
  const receiver = await startOtlpReceiver();
  const startedAt = new Date();
  const loadBefore = loadavg();
  const results: PassResult[] = [];
  try {
    for (let pass = 1; pass <= passes; pass += 1) {
      for (const configuration of CONFIGURATIONS) {
        process.stderr.write(`pass ${pass}: tracing ${configuration.name} … `);
        const result = await runPass(configuration, pass, receiver);
        results.push(result);
        const sorted = [...result.latenciesMs].sort((a, b) => a - b);
        process.stderr.write(
          `${round(result.messages / result.seconds, 0)} messages/s, p99 ${round(percentile(sorted, 0.99), 2)} ms, ` +
            `${round(result.serverCpuMs / result.messages, 2)} server CPU ms/message, ` +
            `${result.spansReceived} spans exported\n`,
        );
        // Keep the receiver's memory small between passes.
        receiver.spans.length = 0;
        receiver.bodies.length = 0;
      }
    }
  } finally {
    await receiver.close();
  }
  const loadAfter = loadavg();
  const rows = CONFIGURATIONS.map((configuration) => {
    const mine = results.filter((result) => result.configuration === configuration.name);
    const messages = mine.reduce((sum, result) => sum + result.messages, 0);
    const seconds = mine.reduce((sum, result) => sum + result.seconds, 0);
    const sorted = mine.flatMap((result) => result.latenciesMs).sort((a, b) => a - b);
    return {
      configuration: configuration.name,
      messagesPerSecond: round(messages / seconds, 0),
      perPass: mine.map((result) => round(result.messages / result.seconds, 0)),
      p50Ms: round(percentile(sorted, 0.5), 2),
      p99Ms: round(percentile(sorted, 0.99), 2),
      spansPerPass: mine.map((result) => result.spansReceived),
      cpuMsPerMessage: round(mine.reduce((sum, result) => sum + result.serverCpuMs, 0) / messages, 2),
    };
  });
  const off = rows[0]!;
  const table = [
    '| tracing | messages/s (per pass) | vs off | p50 ms | p99 ms | server CPU ms/message | vs off | spans exported (per pass) |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (row) =>
        `| ${row.configuration} | ${row.messagesPerSecond} (${row.perPass.join(', ')}) | ` +
        `${row === off ? '—' : `${round((row.messagesPerSecond / off.messagesPerSecond - 1) * 100)} %`} | ` +
        `${row.p50Ms} | ${row.p99Ms} | ${row.cpuMsPerMessage} | ` +
        `${row === off ? '—' : `${round((row.cpuMsPerMessage / off.cpuMsPerMessage - 1) * 100)} %`} | ` +
        `${row.spansPerPass.join(', ')} |`,
    ),
  ].join('\n');
  const summary = [
    `command: npm run bench:tracing${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    `date: ${startedAt.toISOString()}`,
    `node: ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}`,
    `load average (1, 5, 15 min) before: ${loadBefore.map((value) => round(value, 2)).join(', ')}; ` +
      `after: ${loadAfter.map((value) => round(value, 2)).join(', ')}`,
    `database: ${values.database ? 'PostgreSQL' : 'SQLite'}; ` +
      `${senderCount} senders and ${readerCount} readers in one room, ${passes} passes of ${measureMs} ms ` +
      `(after ${warmupMs} ms warm-up) per configuration, alternating`,
    '',
    table,
  ].join('\n');
  console.log(summary);
  const resultsDirectory = join(process.cwd(), 'bench', 'results');
  mkdirSync(resultsDirectory, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  writeFileSync(join(resultsDirectory, `tracing-${stamp}.md`), `${summary}\n`);
  writeFileSync(
    join(resultsDirectory, `tracing-${stamp}.json`),
    `${JSON.stringify({ startedAt, node: process.version, loadBefore, loadAfter, rows }, null, 2)}\n`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
