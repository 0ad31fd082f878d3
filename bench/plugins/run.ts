import { once } from 'node:events';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import {
  createContainerRuntime,
  createMemoryKeyValueStore,
  createProcessRuntime,
  detectNetworkIsolation,
  loadPluginPackage,
  type PluginHostPorts,
  type PluginRuntime,
  PluginSupervisor,
} from '../../packages/plugins/src/index.js';
import { buildPluginFolder } from '../../packages/plugins/src/test-support/build-plugin.js';
import { requirePodman, startPodmanService } from '../../packages/plugins/src/test-support/podman-service.js';
import { DEFAULT_USER_RATE_LIMITS } from '../../packages/server/src/limits/user-rate-limits.js';
import { startTestServer, type TestServer } from '../../packages/server/src/test-support.js';

/*
 * npm run bench:plugins [-- --passes 2] [--starts 10] [--calls 2000] [--messages 5000] [--deliveries 200]
 *
 * Plugins (docs/benchmarks.md, "Plugins"), each measured in every pass:
 * - start to first RPC: `PluginSupervisor.start()` (launch, then the `initialize` handshake answered) of the
 *   counter plugin (bench/plugins/fixtures), in the process runtime and in a container (podman on a private
 *   socket, started here; the image is built before the pass, its build time is printed once);
 * - RPC round trip: `steps.run` of `counter.count`, one call at a time, p50/p99;
 * - a message hook's throughput: `messages.created` calls with 32 in flight, until the plugin has counted them
 *   (these two with the supervisor's flood limit raised: by default, 1000 lines/s from a plugin stop it);
 * - delivery with a slow plugin: a server (SQLite, in-process) with a WebSocket client subscribed to a room;
 *   a member posts over REST one message at a time and the time to its `message.created` frame is measured,
 *   with no plugin and with a plugin whose message hook sleeps 500 ms (process runtime), in the same run.
 * Prints a Markdown table per measure: the median of the passes' figures, with the range.
 */

const { values } = parseArgs({
  options: {
    passes: { type: 'string', default: '2' },
    starts: { type: 'string', default: '10' },
    calls: { type: 'string', default: '2000' },
    messages: { type: 'string', default: '5000' },
    deliveries: { type: 'string', default: '200' },
  },
});
const passes = Math.max(1, Number(values.passes));
const starts = Math.max(1, Number(values.starts));
const calls = Math.max(10, Number(values.calls));
const messages = Math.max(10, Number(values.messages));
const deliveries = Math.max(10, Number(values.deliveries));

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const nullPorts = (): PluginHostPorts => ({
  postMessage: async () => ({ messageId: 'none' }),
  readMessages: async () => [],
  describeRoom: async ({ roomId }) => ({ id: roomId, name: 'plugin-bench', pluginIsMember: false }),
  storage: createMemoryKeyValueStore(),
});

const message = (index: number) => ({
  id: `m${index}`,
  roomId: 'room',
  authorId: 'user',
  text: `message ${index}`,
  createdAt: new Date(0).toISOString(),
});

interface RuntimeFigures {
  startMs: number[];
  rpcP50: number;
  rpcP99: number;
  hookPerSecond: number;
}

async function measureRuntime(runtime: PluginRuntime, folder: string): Promise<RuntimeFigures> {
  const plugin = await loadPluginPackage(folder);
  const startMs: number[] = [];
  for (let index = 0; index < starts; index++) {
    const supervisor = new PluginSupervisor({ plugin, runtime, ports: nullPorts() });
    const started = performance.now();
    await supervisor.start();
    startMs.push(performance.now() - started);
    await supervisor.stop();
  }
  // The default flood limit (1000 lines/s from the plugin, answers included) would stop it mid-measure.
  const supervisor = new PluginSupervisor({
    plugin,
    runtime,
    ports: nullPorts(),
    maxConcurrentCalls: 64,
    maxMessagesPerSecond: 1_000_000,
  });
  await supervisor.start();
  try {
    for (let index = 0; index < 200; index++) {
      await supervisor.call('steps.run', { type: 'counter.count', input: null }); // warm-up
    }
    const rtt: number[] = [];
    for (let index = 0; index < calls; index++) {
      const started = performance.now();
      await supervisor.call('steps.run', { type: 'counter.count', input: null });
      rtt.push(performance.now() - started);
    }
    const inFlight = 32;
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < messages) {
          const index = next++;
          await supervisor.call('messages.created', { message: message(index) });
        }
      }),
    );
    const elapsed = performance.now() - started;
    const counted = (await supervisor.call('steps.run', { type: 'counter.count', input: null })) as {
      output: { count: number };
    };
    if (counted.output.count < messages)
      throw new Error(`the plugin counted ${counted.output.count} of ${messages}`);
    return {
      startMs,
      rpcP50: percentile(rtt, 50),
      rpcP99: percentile(rtt, 99),
      hookPerSecond: messages / (elapsed / 1000),
    };
  } finally {
    await supervisor.stop();
  }
}

/** Post → `message.created` on a WebSocket, one message at a time, in ms. */
async function measureDelivery(test: TestServer): Promise<{ p50: number; p99: number }> {
  const url = `${(await test.server.listen()).replace('http', 'ws')}/ws`;
  const { token } = await test.signedIn('member');
  const room = (
    await test.call('POST', '/api/v1/rooms', { token, body: { kind: 'channel', name: 'plugin-bench' } })
  ).json() as { id: string };
  const socket = new WebSocket(url);
  await once(socket, 'open');
  const waiting = new Map<string, () => void>();
  let ready: () => void = () => {};
  socket.on('message', (data) => {
    for (const frame of [JSON.parse(String(data))].flat() as {
      type: string;
      payload?: { message?: { text?: string } };
    }[]) {
      if (frame.type === 'ready' || frame.type === 'subscribed') ready();
      const text = frame.payload?.message?.text;
      if (frame.type === 'message.created' && text) waiting.get(text)?.();
    }
  });
  const frame = (type: string) =>
    new Promise<void>((resolve) => {
      ready = resolve;
    }).then(() => type);
  const authed = frame('ready');
  socket.send(JSON.stringify({ type: 'auth', token }));
  await authed;
  const subscribed = frame('subscribed');
  socket.send(JSON.stringify({ type: 'subscribe', roomId: room.id, lastSeq: 0 }));
  await subscribed;
  const samples: number[] = [];
  for (let index = 0; index < deliveries + 10; index++) {
    const text = `delivery ${index}`;
    const delivered = new Promise<void>((resolve) => waiting.set(text, resolve));
    const started = performance.now();
    const sent = await test.call('POST', `/api/v1/rooms/${room.id}/messages`, { token, body: { text } });
    if (sent.statusCode !== 201) throw new Error(`posting answered ${sent.statusCode}: ${sent.body}`);
    await delivered;
    if (index >= 10) samples.push(performance.now() - started); // 10 warm-up messages
    waiting.delete(text);
  }
  socket.close();
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

async function deliveryWith(slowPlugin: boolean): Promise<{ p50: number; p99: number }> {
  let directory: string | undefined;
  if (slowPlugin) {
    directory = await mkdtemp(join(tmpdir(), 'kaiwa-bench-plugins-'));
    await rename(await buildPluginFolder(fixture('slow')), join(directory, 'slow'));
  }
  const test = await startTestServer({
    port: 0,
    host: '127.0.0.1',
    // One member posts every message: above the default 200 per 10 s.
    userRateLimits: { ...DEFAULT_USER_RATE_LIMITS, messages: { points: 100_000, durationSeconds: 10 } },
    ...(directory
      ? { plugins: { directory, acceptUnisolatedNetwork: detectNetworkIsolation() === undefined } }
      : {}),
  });
  try {
    if (slowPlugin && test.server.plugins?.list()[0]?.state !== 'running') {
      throw new Error(`the slow plugin is not running: ${JSON.stringify(test.server.plugins?.list())}`);
    }
    return await measureDelivery(test);
  } finally {
    await test.close();
    if (directory) await rm(directory, { recursive: true, force: true });
  }
}

const rows = new Map<string, number[]>();
const record = (name: string, value: number) => rows.set(name, [...(rows.get(name) ?? []), value]);
const format = (value: number) =>
  value >= 100 ? Math.round(value).toLocaleString('en') : value.toFixed(value >= 10 ? 1 : 2);

async function main(): Promise<void> {
  const podmanHere = requirePodman('the container runtime figures');
  const counterFolder = await buildPluginFolder(fixture('counter'));
  const counterContainerFolder = await buildPluginFolder(fixture('counter'), { runtime: 'container' });
  const podman = podmanHere ? await startPodmanService() : undefined;
  const load: number[] = [loadavg()[0] ?? 0];
  try {
    const processRuntime = createProcessRuntime({
      acceptUnisolatedNetwork: detectNetworkIsolation() === undefined,
    });
    const containerRuntime = podman ? createContainerRuntime({ socketPath: podman.socketPath }) : undefined;
    if (containerRuntime) {
      const started = performance.now();
      const image = await containerRuntime.prepare(await loadPluginPackage(counterContainerFolder));
      console.log(`image ${image} ready in ${Math.round(performance.now() - started)} ms (built or found)`);
    }
    for (let pass = 1; pass <= passes; pass++) {
      console.log(`pass ${pass} of ${passes}`);
      const processFigures = await measureRuntime(processRuntime, counterFolder);
      record('process: start → first RPC, p50, ms', percentile(processFigures.startMs, 50));
      record('process: start → first RPC, max, ms', Math.max(...processFigures.startMs));
      record('process: RPC round trip p50, ms', processFigures.rpcP50);
      record('process: RPC round trip p99, ms', processFigures.rpcP99);
      record('process: message hook, messages/s', processFigures.hookPerSecond);
      if (containerRuntime) {
        const containerFigures = await measureRuntime(containerRuntime, counterContainerFolder);
        record('container: start → first RPC, p50, ms', percentile(containerFigures.startMs, 50));
        record('container: start → first RPC, max, ms', Math.max(...containerFigures.startMs));
        record('container: RPC round trip p50, ms', containerFigures.rpcP50);
        record('container: RPC round trip p99, ms', containerFigures.rpcP99);
        record('container: message hook, messages/s', containerFigures.hookPerSecond);
      }
      const without = await deliveryWith(false);
      const slow = await deliveryWith(true);
      record('delivery, no plugin: p50, ms', without.p50);
      record('delivery, no plugin: p99, ms', without.p99);
      record('delivery, slow plugin (500 ms hook): p50, ms', slow.p50);
      record('delivery, slow plugin (500 ms hook): p99, ms', slow.p99);
      load.push(loadavg()[0] ?? 0);
    }
  } finally {
    await podman?.stop();
    await Promise.all(
      [counterFolder, counterContainerFolder].map((folder) => rm(folder, { recursive: true, force: true })),
    );
  }
  console.log(
    `\n${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB, ${passes} passes; load average (1 min) ${load.map((value) => value.toFixed(1)).join(' → ')}\n`,
  );
  console.log(`| measure | median of ${passes} passes | range |`);
  console.log('| --- | ---: | ---: |');
  for (const [name, figures] of rows) {
    const sorted = [...figures].sort((a, b) => a - b);
    const middle = sorted.length / 2;
    const median =
      sorted.length % 2 === 1
        ? (sorted[Math.floor(middle)] ?? 0)
        : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
    console.log(`| ${name} | ${format(median)} | ${format(sorted[0] ?? 0)}–${format(sorted.at(-1) ?? 0)} |`);
  }
}

await main();
