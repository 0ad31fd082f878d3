import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  createPostgresDatabase,
  Instance,
  randomSecret,
  removeNatsPresenceBucket,
} from '../../packages/server/src/scale/scale-test-support.js';
import { killChildren, LoadGenerator, REPO_ROOT } from '../realtime/harness.js';
import type { RunResult } from '../realtime/messages.js';

/*
 * npm run bench:scale [-- --quick] [-- --rate 300] [-- --clients 100]
 *
 * Scale-out benchmark (docs/benchmarks.md, "Scale-out"): the same room load against 1, 2 and 3 server
 * instances on a Redis bus and on a NATS bus, and against one instance with the in-process bus, all on
 * one PostgreSQL database each (the shared store multi-instance deployments need). Clients are spread
 * round-robin over the instances, so most deliveries cross the bus. Every instance and the load generator
 * (bench/realtime/load-child.ts) are child processes on 127.0.0.1; they are killed when this ends.
 *
 * Needs PostgreSQL, Redis and NATS: KAIWA_TEST_PG_URL, KAIWA_TEST_REDIS_URL, KAIWA_TEST_NATS_URL (the
 * defaults are the local test servers).
 */

const USAGE = `usage: npm run bench:scale -- [options]
  --quick            short smoke run (2 s windows, fewer configurations)
  --clients <n>      WebSocket clients in the room (default 100)
  --senders <n>      how many of them send (default 20)
  --rate <n>         messages per second in total (default 300)
  --measure-ms <n>   measurement window (default 8000)
  --help`;

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    clients: { type: 'string' },
    senders: { type: 'string' },
    rate: { type: 'string' },
    'measure-ms': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const pgUrl = process.env.KAIWA_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';
const redisUrl = process.env.KAIWA_TEST_REDIS_URL || 'redis://127.0.0.1:6379';
const natsUrl = process.env.KAIWA_TEST_NATS_URL || 'nats://127.0.0.1:4222';
const clients = Number(values.clients ?? 100);
const senders = Number(values.senders ?? 20);
const rate = Number(values.rate ?? 300);
const measureMs = Number(values['measure-ms'] ?? (values.quick ? 2_000 : 8_000));
const warmupMs = values.quick ? 1_000 : 2_000;
const TEXT_LENGTH = 100;

interface Configuration {
  bus: 'memory' | 'redis' | 'nats';
  instances: number;
}

const configurations: Configuration[] = values.quick
  ? [
      { bus: 'memory', instances: 1 },
      { bus: 'redis', instances: 2 },
      { bus: 'nats', instances: 2 },
    ]
  : [
      { bus: 'memory', instances: 1 },
      { bus: 'redis', instances: 1 },
      { bus: 'redis', instances: 2 },
      { bus: 'redis', instances: 3 },
      { bus: 'nats', instances: 1 },
      { bus: 'nats', instances: 2 },
      { bus: 'nats', instances: 3 },
      // Once more at the end: the first measurement of a run also pays for a cold machine.
      { bus: 'memory', instances: 1 },
    ];

interface Row extends Configuration {
  result: RunResult;
  /** The machine's 1-minute load average right after the window: other work shares these cores. */
  loadAverage: number;
}

async function measure(configuration: Configuration): Promise<Row> {
  const database = await createPostgresDatabase(pgUrl);
  const bus = configuration.bus === 'memory' ? 'memory' : configuration.bus === 'redis' ? redisUrl : natsUrl;
  const channel = `kaiwa_bench_${Date.now().toString(36)}`;
  const settings = {
    databaseUrl: database.url,
    bus,
    channel,
    jwtSecret: randomSecret(),
    lifetimeMs: 600_000,
  };
  const instances: Instance[] = [];
  let load: LoadGenerator | undefined;
  try {
    instances.push(await Instance.start(settings));
    for (let index = 1; index < configuration.instances; index += 1) {
      instances.push(await Instance.start(settings));
    }
    const setup = await instances[0]!.prepare(clients, 'bench');
    const ports = instances.map((instance) => Number(new URL(instance.httpUrl).port));
    load = new LoadGenerator({
      system: 'kaiwa',
      port: ports[0]!,
      ports,
      path: '/ws',
      setup: { roomId: setup.roomId, tokens: setup.tokens },
      textLength: TEXT_LENGTH,
      payloadBytes: 0,
    });
    await load.connect(clients, senders);
    const result = await load.run({ rate, warmupMs, measureMs, drainMs: 10_000 });
    return { ...configuration, result, loadAverage: loadavg()[0] ?? 0 };
  } finally {
    await load?.close();
    await Promise.all(instances.map((instance) => instance.stop()));
    await database.drop().catch(() => undefined);
    if (configuration.bus === 'nats') await removeNatsPresenceBucket(natsUrl, channel);
  }
}

function label(row: Configuration): string {
  if (row.bus === 'memory') return 'in-process bus, 1 instance';
  return `${row.bus === 'redis' ? 'Redis' : 'NATS'}, ${row.instances} instance${row.instances > 1 ? 's' : ''}`;
}

const ms = (value: number) => (Number.isFinite(value) ? `${value.toFixed(value < 10 ? 2 : 1)} ms` : '–');

function table(rows: Row[]): string {
  const lines = [
    '| configuration | deliveries/s (offered) | p50 | p95 | p99 | max | lost / dup | closes | load avg |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |',
  ];
  for (const row of rows) {
    const { result } = row;
    const closes = Object.entries(result.closes)
      .map(([code, count]) => `${code}×${count}`)
      .join(' ');
    lines.push(
      `| ${label(row)} | ${Math.round(result.deliveriesPerSecond).toLocaleString('en')} (${Math.round(
        result.offeredDeliveries,
      ).toLocaleString('en')}) | ${ms(result.latency.p50Ms)} | ${ms(result.latency.p95Ms)} | ${ms(
        result.latency.p99Ms,
      )} | ${ms(result.latency.maxMs)} | ${result.lost} / ${result.duplicated} | ${closes || '–'} | ${row.loadAverage.toFixed(1)} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const started = new Date();
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(
    `bench:scale — ${clients} clients, ${senders} senders, ${rate} msg/s (${(rate * clients).toLocaleString('en')} deliveries/s offered), ` +
      `${measureMs} ms windows; Node ${process.version}, ${cpus().length} cores (${cpu}), ${Math.round(totalmem() / 1024 ** 3)} GiB`,
  );
  const rows: Row[] = [];
  for (const configuration of configurations) {
    process.stdout.write(`  ${label(configuration)} … `);
    const row = await measure(configuration);
    rows.push(row);
    console.log(
      `${Math.round(row.result.deliveriesPerSecond).toLocaleString('en')} deliveries/s, p99 ${ms(row.result.latency.p99Ms)}, lost ${row.result.lost}, dup ${row.result.duplicated}`,
    );
  }
  const markdown = table(rows);
  console.log(`\n${markdown}`);
  const directory = join(REPO_ROOT, 'bench', 'results');
  mkdirSync(directory, { recursive: true });
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  writeFileSync(
    join(directory, `scale-${stamp}.json`),
    JSON.stringify({ started, clients, senders, rate, measureMs, rows }, null, 2),
  );
  writeFileSync(join(directory, `scale-${stamp}.md`), `${markdown}\n`);
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => killChildren());
