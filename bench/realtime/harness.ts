import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChatEngine, type RoomEvent } from '@kaiwa/core';
import { createSqliteStore } from '@kaiwa/store-kysely';
import { encodeRoomEvent } from '../../packages/server/src/realtime/protocol.js';
import type {
  FromLoad,
  FromServer,
  KaiwaSetup,
  LoadChildConfig,
  RunPlan,
  RunResult,
  ServerChildConfig,
  ServerStats,
  SqliteSynchronous,
  SystemName,
  ToLoad,
  ToServer,
} from './messages.js';

/*
 * The orchestrator's side of the benchmark: starts the server under test and the load generator as two
 * child processes (so they do not share an event loop), drives them over IPC and gathers their numbers.
 * Used by run.ts (`npm run bench:realtime`) and by the smoke test.
 */

const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SERVER_CHILD = here('./server-child.ts');
const LOAD_CHILD = here('./load-child.ts');

/** Children still running, killed when this process exits however it exits. */
const children = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', killChildren);
}

/** Temporary directories (Kaiwa databases) still in use, removed at exit if nobody else did. */
const directories = new Set<string>();

/** Kills every child this process started (SIGKILL: they may be busy) and removes their directories. */
export function killChildren(): void {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
  directories.clear();
}

/** A forked child with typed messages: `next(type)` waits for the next message of that type. */
class Child<In extends { type: string }, Out extends { type: string }> {
  readonly process: ChildProcess;
  readonly #name: string;
  #waiters: { type: string; resolve: (message: Out) => void; reject: (error: Error) => void }[] = [];
  #failure: Error | undefined;
  readonly exited: Promise<void>;
  listener: ((message: Out) => void) | undefined;

  constructor(name: string, file: string, config: unknown, execArgv: string[] = []) {
    installExitHook();
    this.#name = name;
    this.process = fork(file, [], {
      cwd: REPO_ROOT,
      execArgv: ['--import', 'tsx', ...execArgv],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, NODE_ENV: 'production' },
    });
    children.add(this.process);
    this.process.on('message', (message: Out) => this.#receive(message));
    this.exited = new Promise((resolve) => {
      this.process.on('exit', (code, signal) => {
        children.delete(this.process);
        this.#fail(new Error(`${this.#name} exited (${signal ?? code})`));
        resolve();
      });
    });
    this.process.on('error', (error) => this.#fail(error));
    // The config goes over IPC: a thousand access tokens do not fit on a command line.
    this.process.send({ type: 'init', config });
  }

  send(message: In): void {
    if (this.#failure) throw this.#failure;
    this.process.send(message);
  }

  next<T extends Out['type']>(type: T, timeoutMs = 120_000): Promise<Extract<Out, { type: T }>> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((waiter) => waiter.resolve !== done);
        reject(new Error(`${this.#name}: no ${type} within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (message: Out): void => {
        clearTimeout(timer);
        resolve(message as Extract<Out, { type: T }>);
      };
      this.#waiters.push({
        type,
        resolve: done,
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
    });
  }

  /** Waits for the child to exit, killing it after `graceMs`. */
  async stop(graceMs = 8_000): Promise<void> {
    const timer = setTimeout(() => this.process.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  #receive(message: Out): void {
    if (message.type === 'fatal') {
      this.#fail(new Error(`${this.#name}: ${(message as unknown as { message: string }).message}`));
      return;
    }
    this.listener?.(message);
    const index = this.#waiters.findIndex((waiter) => waiter.type === message.type);
    if (index === -1) return;
    const [waiter] = this.#waiters.splice(index, 1);
    waiter!.resolve(message);
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.reject(error);
  }
}

// ---------------------------------------------------------------- server under test

export interface ServerOptions {
  system: SystemName;
  /** Kaiwa: users to prepare (one per client). */
  users: number;
  /** Kaiwa: create users and room in a throwaway process first, so the measured process starts clean. */
  prepareSeparately?: boolean;
  /** Extra node flags for the server process, e.g. `--cpu-prof`. */
  nodeFlags?: string[];
  /** Kaiwa: SQLite's `synchronous` setting (the server's default when absent). */
  sqliteSynchronous?: SqliteSynchronous;
}

export class ServerUnderTest {
  readonly #child: Child<ToServer, FromServer>;
  readonly port: number;
  readonly path: string;
  readonly setup: KaiwaSetup | undefined;
  readonly #cleanup: () => void;

  private constructor(
    child: Child<ToServer, FromServer>,
    ready: Extract<FromServer, { type: 'ready' }>,
    cleanup: () => void,
  ) {
    this.#child = child;
    this.port = ready.port;
    this.path = ready.path;
    this.setup = ready.setup;
    this.#cleanup = cleanup;
  }

  static async start(options: ServerOptions): Promise<ServerUnderTest> {
    installExitHook();
    const directory = mkdtempSync(join(tmpdir(), 'kaiwa-realtime-bench-'));
    directories.add(directory);
    const cleanup = (): void => {
      directories.delete(directory);
      rmSync(directory, { recursive: true, force: true });
    };
    try {
      const base: ServerChildConfig = {
        system: options.system,
        users: options.users,
        databaseFile: join(directory, 'kaiwa.sqlite'),
        jwtSecret: randomBytes(32).toString('hex'),
        ...(options.sqliteSynchronous ? { sqliteSynchronous: options.sqliteSynchronous } : {}),
      };
      let prepared: KaiwaSetup | undefined;
      if (options.system === 'kaiwa' && options.prepareSeparately) {
        const preparer = new Child<ToServer, FromServer>('kaiwa preparer', SERVER_CHILD, {
          ...base,
          prepareOnly: true,
        });
        prepared = (await preparer.next('prepared')).setup;
        await preparer.stop();
      }
      const child = new Child<ToServer, FromServer>(
        `${options.system} server`,
        SERVER_CHILD,
        { ...base, ...(prepared ? { prepared } : {}) },
        ['--expose-gc', ...(options.nodeFlags ?? [])],
      );
      const ready = await child.next('ready');
      return new ServerUnderTest(child, ready, cleanup);
    } catch (error) {
      cleanup();
      throw error;
    }
  }

  async stats(): Promise<ServerStats> {
    this.#child.send({ type: 'stats' });
    return this.#child.next('stats', 30_000);
  }

  /** Collects garbage (three rounds) and then samples. */
  async statsAfterGc(): Promise<ServerStats> {
    this.#child.send({ type: 'gc' });
    return this.#child.next('stats', 30_000);
  }

  async stop(): Promise<void> {
    try {
      this.#child.send({ type: 'stop' });
    } catch {
      // already gone
    }
    await this.#child.stop();
    this.#cleanup();
  }
}

// ---------------------------------------------------------------- load generator

export class LoadGenerator {
  readonly #child: Child<ToLoad, FromLoad>;
  onPhase: ((phase: 'measure-start' | 'measure-end') => void) | undefined;

  constructor(config: LoadChildConfig) {
    this.#child = new Child<ToLoad, FromLoad>(`${config.system} load`, LOAD_CHILD, config);
    this.#child.listener = (message) => {
      if (message.type === 'phase') this.onPhase?.(message.phase);
    };
  }

  async connect(clients: number, senders: number): Promise<number> {
    this.#child.send({ type: 'connect', clients, senders, concurrency: 64 });
    return (await this.#child.next('connected', 180_000)).millis;
  }

  async run(plan: RunPlan): Promise<RunResult> {
    this.#child.send({ type: 'run', ...plan });
    const { type: _type, ...result } = await this.#child.next(
      'result',
      plan.warmupMs + plan.measureMs + plan.drainMs + 60_000,
    );
    return result;
  }

  async close(): Promise<void> {
    try {
      this.#child.send({ type: 'close' });
    } catch {
      // already gone
    }
    await this.#child.stop(3_000);
  }
}

// ---------------------------------------------------------------- payload size

/**
 * Bytes of the `message.created` frame Kaiwa delivers for a text of `textLength` characters, measured on
 * a real engine (in-memory SQLite) with the server's own encoder. The baselines broadcast payloads of this
 * size, so every system moves the same bytes per delivery.
 */
export async function kaiwaEventFrameBytes(textLength: number): Promise<number> {
  const store = await createSqliteStore({ filename: ':memory:' });
  try {
    await store.migrate();
    const engine = new ChatEngine({ store });
    const user = await engine.createUser({ username: 'calibration' });
    const room = await engine.createRoom(user.id, { kind: 'channel', name: 'calibration' });
    let frameBytes = 0;
    engine.events.on('message.created', (event: RoomEvent) => {
      frameBytes = encodeRoomEvent(event).length;
    });
    // Same shape as the load generator's sends: a marker-sized text and a clientMessageId like `b12-3456`.
    await engine.sendMessage(user.id, {
      roomId: room.id,
      text: 'x'.repeat(textLength),
      clientMessageId: 'b12-3456',
    });
    engine.close();
    // Sequence numbers in the benchmark run to four or five digits, not one.
    return frameBytes + 4;
  } finally {
    await store.close();
  }
}

// ---------------------------------------------------------------- scenarios

export interface ScenarioSpec {
  system: SystemName;
  clients: number;
  senders: number;
  /** Messages per second, all senders together. */
  rate: number;
  warmupMs: number;
  measureMs: number;
  drainMs: number;
  /** Kaiwa: characters per message text. */
  textLength: number;
  /** Baselines: bytes per broadcast payload (see kaiwaEventFrameBytes). */
  payloadBytes: number;
  /** Kaiwa: REST history reads during the run. */
  rest?: { intervalMs: number; limit: number };
  nodeFlags?: string[];
  /** Kaiwa: SQLite's `synchronous` setting (the server's default, `full`, when absent). */
  sqliteSynchronous?: SqliteSynchronous;
}

export interface ServerWindow {
  /** CPU of the server process over the measurement window, % of one core … */
  cpuPercent: number;
  /** … of which in the kernel (on loopback, sending includes most of the receiver's TCP work). */
  cpuSystemPercent: number;
  /**
   * CPU of the whole machine over the window, % of one core (Linux: /proc/stat; NaN elsewhere). What is
   * not the server's or the load generator's is other processes disturbing the measurement.
   */
  machineCpuPercent: number;
  loopDelayP99Ms: number;
  rssBytes: number;
  /** Kaiwa: messages stored during the whole run (room sequence numbers taken). */
  storedMessages?: number;
  warnings: number;
}

export interface ScenarioResult {
  spec: ScenarioSpec;
  connectMillis: number;
  load: RunResult;
  server: ServerWindow;
}

/** One run of `spec`: fresh server and load processes, connect, send, measure, drain, stop. */
export async function runScenario(spec: ScenarioSpec): Promise<ScenarioResult> {
  const server = await ServerUnderTest.start({
    system: spec.system,
    users: spec.clients,
    ...(spec.nodeFlags ? { nodeFlags: spec.nodeFlags } : {}),
    ...(spec.sqliteSynchronous ? { sqliteSynchronous: spec.sqliteSynchronous } : {}),
  });
  const load = new LoadGenerator(loadConfig(spec, server));
  try {
    const connectMillis = await load.connect(spec.clients, spec.senders);
    const before = await server.stats();
    const [result, windowStats] = await runWithServerWindow(server, load, {
      rate: spec.rate,
      warmupMs: spec.warmupMs,
      measureMs: spec.measureMs,
      drainMs: spec.drainMs,
      ...(spec.rest ? { rest: spec.rest } : {}),
    });
    const after = await server.stats();
    return {
      spec,
      connectMillis,
      load: result,
      server: {
        ...windowStats,
        ...(before.lastSeq !== undefined && after.lastSeq !== undefined
          ? { storedMessages: after.lastSeq - before.lastSeq }
          : {}),
        warnings: after.warnings,
      },
    };
  } finally {
    await load.close();
    await server.stop();
  }
}

function loadConfig(
  spec: Pick<ScenarioSpec, 'system' | 'textLength' | 'payloadBytes'>,
  server: ServerUnderTest,
) {
  return {
    system: spec.system,
    port: server.port,
    path: server.path,
    ...(server.setup ? { setup: server.setup } : {}),
    textLength: spec.textLength,
    payloadBytes: spec.payloadBytes,
  } satisfies LoadChildConfig;
}

/** Runs `plan` and samples the server at the start and end of the measurement window. */
async function runWithServerWindow(
  server: ServerUnderTest,
  load: LoadGenerator,
  plan: RunPlan,
): Promise<[RunResult, Omit<ServerWindow, 'warnings'>]> {
  let start: Promise<ServerStats> | undefined;
  let end: Promise<ServerStats> | undefined;
  let machineStart: MachineCpu | undefined;
  let machineEnd: MachineCpu | undefined;
  load.onPhase = (phase) => {
    if (phase === 'measure-start') {
      machineStart = machineCpu();
      start = server.stats();
    } else {
      machineEnd = machineCpu();
      end = server.stats();
    }
  };
  const result = await load.run(plan);
  load.onPhase = undefined;
  // Both at once: when one sample fails, the other's failure must not go unhandled and end the run.
  const [first, last] = await Promise.all([start!, end!]);
  const wallMs = last.at - first.at;
  return [
    result,
    {
      cpuPercent: ((last.cpuMicros - first.cpuMicros) / 1000 / wallMs) * 100,
      cpuSystemPercent: ((last.cpuSystemMicros - first.cpuSystemMicros) / 1000 / wallMs) * 100,
      machineCpuPercent:
        machineStart && machineEnd
          ? ((machineEnd.busyMs - machineStart.busyMs) / (machineEnd.at - machineStart.at)) * 100
          : Number.NaN,
      loopDelayP99Ms: last.loopDelayP99Ms,
      rssBytes: last.rssBytes,
    },
  ];
}

/** CPU that processes other than the server and the load generator used during a window, % of one core. */
export function otherCpuPercent(
  server: Pick<ServerWindow, 'machineCpuPercent' | 'cpuPercent'>,
  load: Pick<RunResult, 'clientCpuPercent'>,
): number {
  const others = server.machineCpuPercent - server.cpuPercent - load.clientCpuPercent;
  return Number.isNaN(others) ? 0 : Math.max(0, others);
}

interface MachineCpu {
  busyMs: number;
  at: number;
}

/** CPU time the whole machine spent busy so far (Linux), from the first line of /proc/stat. */
export function machineCpu(): MachineCpu | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8')
      .split('\n', 1)[0]!
      .trim()
      .split(/\s+/)
      .slice(1, 9)
      .map(Number);
    const total = fields.reduce((sum, value) => sum + value, 0);
    const idle = fields[3]! + (fields[4] ?? 0);
    // USER_HZ is 100 on Linux: one tick is 10 ms.
    return { busyMs: (total - idle) * 10, at: performance.now() };
  } catch {
    return undefined;
  }
}

/**
 * Waits until processes outside the benchmark leave the machine alone: until the whole machine used less
 * than `maxBusyPercent` of one core in each of `quietSeconds` seconds in a row, for at most `maxWaitMs`.
 * Returns the busy percentage of the last second (NaN where /proc/stat is missing), so a report can say
 * how quiet it was.
 */
export async function waitForQuietMachine(
  options: {
    maxBusyPercent?: number;
    quietSeconds?: number;
    maxWaitMs?: number;
    onWait?: (busyPercent: number) => void;
  } = {},
): Promise<number> {
  const { maxBusyPercent = 15, quietSeconds = 3, maxWaitMs = 120_000, onWait } = options;
  const deadline = performance.now() + maxWaitMs;
  let quiet = 0;
  for (;;) {
    const first = machineCpu();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const second = machineCpu();
    if (!first || !second) return Number.NaN;
    const busyPercent = ((second.busyMs - first.busyMs) / (second.at - first.at)) * 100;
    quiet = busyPercent < maxBusyPercent ? quiet + 1 : 0;
    if (quiet >= quietSeconds || performance.now() > deadline) return busyPercent;
    if (quiet === 0) onWait?.(busyPercent);
  }
}

// ---------------------------------------------------------------- ramp

export interface RampSpec extends Omit<ScenarioSpec, 'rate' | 'rest'> {
  /** Deliveries per second to try, in order; messages per second = deliveries / clients. */
  deliverySteps: number[];
  /** A step passes when p99 stays below this … */
  p99LimitMs: number;
  /** … and the deliveries per second reach this fraction of the offered ones. */
  keepUpFraction: number;
  /** Try the midpoint between the last passing and the first failing step once. */
  refine: boolean;
  /**
   * A failed step during which other processes used more than this much CPU (% of one core) is repeated,
   * after waiting for the machine to be quiet, up to `retries` times.
   */
  maxOtherCpuPercent?: number;
  retries?: number;
}

export interface RampStep {
  offeredDeliveries: number;
  /** 1 unless the step was repeated because other processes disturbed it. */
  attempt: number;
  passed: boolean;
  reason: string;
  load: RunResult;
  server: Omit<ServerWindow, 'warnings'>;
}

export interface RampResult {
  spec: RampSpec;
  steps: RampStep[];
  /** Highest offered deliveries/s that passed (0 when none did). */
  maxSustainedDeliveries: number;
  /** Highest deliveries/s received in any step. */
  peakDeliveries: number;
  warnings: number;
}

/** Raises the send rate step by step on one set of connections until a step fails. */
export async function runRamp(spec: RampSpec): Promise<RampResult> {
  const server = await ServerUnderTest.start({
    system: spec.system,
    users: spec.clients,
    ...(spec.nodeFlags ? { nodeFlags: spec.nodeFlags } : {}),
    ...(spec.sqliteSynchronous ? { sqliteSynchronous: spec.sqliteSynchronous } : {}),
  });
  const load = new LoadGenerator(loadConfig(spec, server));
  const steps: RampStep[] = [];
  try {
    await load.connect(spec.clients, spec.senders);
    const tryStep = async (offeredDeliveries: number, attempt = 1): Promise<RampStep> => {
      const rate = offeredDeliveries / spec.clients;
      const [result, window] = await runWithServerWindow(server, load, {
        rate,
        warmupMs: spec.warmupMs,
        measureMs: spec.measureMs,
        drainMs: spec.drainMs,
      });
      const keptUp = result.deliveriesPerSecond >= spec.keepUpFraction * offeredDeliveries;
      const fastEnough = result.latency.p99Ms < spec.p99LimitMs;
      const intact = result.lost === 0 && result.duplicated === 0 && result.rejectedSends === 0;
      const reasons = [
        ...(fastEnough ? [] : [`p99 ${result.latency.p99Ms.toFixed(1)} ms`]),
        ...(keptUp ? [] : [`${Math.round(result.deliveriesPerSecond)} deliveries/s`]),
        ...(intact
          ? []
          : [`lost ${result.lost}, dup ${result.duplicated}, rejected ${result.rejectedSends}`]),
      ];
      const step = {
        offeredDeliveries,
        attempt,
        passed: keptUp && fastEnough && intact,
        reason: reasons.join('; ') || 'ok',
        load: result,
        server: window,
      };
      steps.push(step);
      const disturbed =
        otherCpuPercent(window, result) > (spec.maxOtherCpuPercent ?? Number.POSITIVE_INFINITY);
      if (!step.passed && disturbed && result.lost === 0 && attempt <= (spec.retries ?? 0)) {
        await waitForQuietMachine();
        return tryStep(offeredDeliveries, attempt + 1);
      }
      return step;
    };
    let lastPass = 0;
    let firstFail: number | undefined;
    for (const offered of spec.deliverySteps) {
      const step = await tryStep(offered);
      if (!step.passed) {
        firstFail = offered;
        break;
      }
      lastPass = offered;
      // A step that could not even drain leaves a backlog behind; the next would measure that.
      if (step.load.lost > 0) break;
    }
    if (spec.refine && firstFail !== undefined && steps.at(-1)!.load.lost === 0) {
      const middle = Math.round((lastPass + firstFail) / 2 / 1000) * 1000;
      if (middle > lastPass && middle < firstFail) {
        const step = await tryStep(middle);
        if (step.passed) lastPass = middle;
      }
    }
    const final = await server.stats();
    return {
      spec,
      steps,
      maxSustainedDeliveries: lastPass,
      peakDeliveries: Math.max(0, ...steps.map((step) => step.load.deliveriesPerSecond)),
      warnings: final.warnings,
    };
  } finally {
    await load.close();
    await server.stop();
  }
}

// ---------------------------------------------------------------- idle connections

export interface IdleResult {
  system: SystemName;
  connections: number;
  connectMillis: number;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  heapBeforeBytes: number;
  heapAfterBytes: number;
  rssPerConnectionBytes: number;
  heapPerConnectionBytes: number;
  /** Connections the server counted as open when measured. */
  serverConnections: number;
}

/**
 * Server RSS per idle connection: RSS after GC with `connections` idle clients (authenticated and
 * subscribed for Kaiwa, joined for Socket.IO) minus RSS after GC before they connected, divided by N.
 * Kaiwa's users are made in a separate process first, so the measured process starts as after a restart.
 */
export async function measureIdle(
  system: SystemName,
  connections: number,
  settleMs = 2_000,
): Promise<IdleResult> {
  const server = await ServerUnderTest.start({ system, users: connections, prepareSeparately: true });
  const load = new LoadGenerator({
    system,
    port: server.port,
    path: server.path,
    ...(server.setup ? { setup: server.setup } : {}),
    textLength: 0,
    payloadBytes: 0,
  });
  try {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const before = await server.statsAfterGc();
    const connectMillis = await load.connect(connections, 0);
    await new Promise((resolve) => setTimeout(resolve, settleMs));
    const after = await server.statsAfterGc();
    return {
      system,
      connections,
      connectMillis,
      rssBeforeBytes: before.rssBytes,
      rssAfterBytes: after.rssBytes,
      heapBeforeBytes: before.heapUsedBytes,
      heapAfterBytes: after.heapUsedBytes,
      rssPerConnectionBytes: (after.rssBytes - before.rssBytes) / connections,
      heapPerConnectionBytes: (after.heapUsedBytes - before.heapUsedBytes) / connections,
      serverConnections: after.connections,
    };
  } finally {
    await load.close();
    await server.stop();
  }
}
