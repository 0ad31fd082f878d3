import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  type IdleResult,
  kaiwaEventFrameBytes,
  killChildren,
  measureIdle,
  otherCpuPercent,
  type RampResult,
  REPO_ROOT,
  runRamp,
  runScenario,
  type ScenarioResult,
  type ScenarioSpec,
  waitForQuietMachine,
} from './harness.js';
import {
  type SqliteSynchronous,
  SYSTEM_LABELS,
  type SystemName,
  UWS_INSTALL_HINT,
  UWS_PACKAGE,
} from './messages.js';

/*
 * npm run bench:realtime [-- --quick] [-- --scenarios 100x1000,1000x100,1000x200,ramp,idle] [-- --systems kaiwa,ws]
 *
 * The realtime benchmark (docs/benchmarks.md, "Realtime"). Each measurement runs the server under test
 * and the load generator in two fresh child processes, on 127.0.0.1 only, bounded in time; the children
 * are killed when this process ends however it ends. Every measurement is made `--repeats` times, the
 * systems taking turns within each round, so a disturbance of the shared machine shows as a difference
 * between rounds rather than between systems. Prints the tables and writes
 * bench/results/realtime-<date>.json and .md.
 */

const USAGE = `usage: npm run bench:realtime -- [options]
  --quick                 short smoke run (about a minute)
  --scenarios <list>      any of 100x1000, 1000x100, 1000x200, ramp, idle (default: all)
  --systems <list>        any of kaiwa, ws, socketio, uws (default: all; the ramp skips socketio;
                          uws only where the npm package uwebsockets is installed, never a dependency)
  --repeats <n>           rounds of every measurement, the systems in turn within each (default 2)
  --sqlite-synchronous <list>  Kaiwa's SQLite synchronous setting: any of full, full-async, normal (default full,
                          the server's default); each one listed is measured as a system of its own
  --measure-ms <n>        measurement window per scenario (default 8000, quick 2000)
  --idle-connections <n>  idle connections for the memory measurement (default 2000, quick 500)
  --profile               write a CPU profile of every Kaiwa server to bench/results/profiles/
  --max-wait-s <n>        before each measurement, wait up to n s for 3 quiet seconds (other processes
                          using < 15 % of a core) (default 300; 0: do not wait)
  --retries <n>           repeat a measurement that other processes disturbed (more than 10 % of a
                          core busy outside the benchmark) up to n times (default 3)
  --help`;

const SCENARIOS = ['100x1000', '1000x100', '1000x200', 'ramp', 'idle'] as const;
type ScenarioName = (typeof SCENARIOS)[number];
const SYSTEMS: SystemName[] = ['kaiwa', 'ws', 'socketio', 'uws'];

/** Characters of each Kaiwa message text (a typical chat line); baselines send Kaiwa's frame size. */
const TEXT_LENGTH = 100;
const P99_AIM_MS = 50;
/** REST history reads while the fan-out runs (issue 18). */
const REST_P99_AIM_MS = 10;
/** The issue's 12 KB, read strictly as 12,000 bytes. */
const IDLE_AIM_BYTES = 12_000;

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    scenarios: { type: 'string' },
    systems: { type: 'string' },
    'measure-ms': { type: 'string' },
    'idle-connections': { type: 'string' },
    profile: { type: 'boolean', default: false },
    'max-wait-s': { type: 'string' },
    retries: { type: 'string' },
    repeats: { type: 'string' },
    'sqlite-synchronous': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const pick = <T extends string>(given: string | undefined, known: readonly T[], what: string): T[] => {
  if (!given) return [...known];
  const names = given.split(',').map((name) => name.trim());
  for (const name of names) {
    if (!known.includes(name as T)) {
      console.error(`unknown ${what} ${name}\n${USAGE}`);
      process.exit(2);
    }
  }
  return names as T[];
};

const quick = values.quick;
const scenarios = pick<ScenarioName>(values.scenarios, SCENARIOS, 'scenario');
const systems = pick<SystemName>(values.systems, SYSTEMS, 'system').filter(
  (system) => system !== 'uws' || uwsInstalled(),
);
const measureMs = Number(values['measure-ms'] ?? (quick ? 2_000 : 8_000));
const idleConnections = Number(values['idle-connections'] ?? (quick ? 500 : 2_000));
const maxWaitMs = Number(values['max-wait-s'] ?? 300) * 1000;
const retries = Number(values.retries ?? 3);
const repeats = Math.max(1, Number(values.repeats ?? 2));
const synchronousModes = pick<SqliteSynchronous>(
  values['sqlite-synchronous'] ?? 'full',
  ['full', 'full-async', 'normal'],
  'sqlite-synchronous setting',
);

/** A system as measured: Kaiwa once per SQLite synchronous setting asked for. */
interface Variant {
  system: SystemName;
  sqliteSynchronous?: SqliteSynchronous;
}
const variants: Variant[] = systems.flatMap((system): Variant[] =>
  system === 'kaiwa'
    ? synchronousModes.map((sqliteSynchronous) => ({ system, sqliteSynchronous }))
    : [{ system }],
);

function labelOf(variant: Variant): string {
  return variant.system === 'kaiwa'
    ? `Kaiwa (SQLite ${(variant.sqliteSynchronous ?? 'full').toUpperCase()}, persisted)`
    : SYSTEM_LABELS[variant.system];
}
/** Other processes using more CPU than this (% of one core) during a window disturb the measurement. */
const MAX_OTHER_CPU_PERCENT = 10;
const resultsDirectory = join(REPO_ROOT, 'bench', 'results');
const profileDirectory = join(resultsDirectory, 'profiles');
/** One folder per profiled server: node writes a profile per thread (the main one is the largest). */
const profileFlags = (system: SystemName, scenario: string): string[] =>
  values.profile && system === 'kaiwa'
    ? ['--cpu-prof', `--cpu-prof-dir=${join(profileDirectory, `kaiwa-${scenario}-${Date.now()}`)}`]
    : [];

const startedAt = new Date();
const machine = {
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? 'unknown',
  memoryGiB: Math.round(totalmem() / 1024 ** 3),
  node: process.version,
  platform: `${process.platform} ${process.arch}`,
};
const command = `npm run bench:realtime${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
let payloadBytes = 0;
const scenarioResults: (ScenarioResult & { name: string; round: number; attempt: number })[] = [];
const rampResults: (RampResult & { round: number })[] = [];
const idleResults: (IdleResult & { round: number })[] = [];
/** Busy CPU (% of one core) of the machine right before each measurement, by other processes. */
const quietness: number[] = [];
/** Measurements that failed (a child crashed, a handshake timed out …): reported, and the run goes on. */
const failures: { what: string; error: string }[] = [];

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killChildren();
    process.exit(130);
  });
}
// Whatever happens, the whole run ends: about 5 minutes on a quiet machine; waiting for quiet and
// repeating disturbed measurements can stretch that, but never beyond 45 minutes.
setTimeout(() => {
  console.error('realtime benchmark: overall time limit reached; stopping');
  killChildren();
  failures.push({ what: 'the run', error: 'overall time limit (45 minutes) reached' });
  writeReport();
  process.exit(1);
}, 45 * 60_000).unref();

async function attempt<T>(what: string, work: () => Promise<T>): Promise<T | undefined> {
  try {
    return await work();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log(`  FAILED: ${message}`);
    failures.push({ what, error: message });
    killChildren();
    return undefined;
  }
}

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** Whether the uWebSockets.js baseline can run; says once how to install it when it cannot. */
function uwsInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve(UWS_PACKAGE);
    return true;
  } catch {
    process.stderr.write(`${UWS_INSTALL_HINT}\n`);
    return false;
  }
}

async function quietMachine(): Promise<void> {
  if (maxWaitMs <= 0) return;
  let waited = false;
  const busy = await waitForQuietMachine({
    maxWaitMs,
    onWait: (percent) => {
      if (!waited) log(`  other processes keep ${Math.round(percent)} % of a core busy; waiting for quiet …`);
      waited = true;
    },
  });
  quietness.push(busy);
  if (waited) log(`  going on at ${Math.round(busy)} % busy`);
}

// ---------------------------------------------------------------- run

payloadBytes = await kaiwaEventFrameBytes(TEXT_LENGTH);
log(`Kaiwa delivers ${payloadBytes}-byte message.created frames for ${TEXT_LENGTH}-character texts;`);
log(`the baselines broadcast ${payloadBytes}-byte payloads.`);

const loadScenarios: { name: ScenarioName; clients: number; senders: number; rate: number }[] = [
  { name: '100x1000', clients: 100, senders: 50, rate: 1_000 },
  { name: '1000x100', clients: 1_000, senders: 10, rate: 100 },
  // 200,000 deliveries/s to 1,000 subscribers: 20 senders, each within Kaiwa's 50 frames/s.
  { name: '1000x200', clients: 1_000, senders: 20, rate: 200 },
];

for (const scenario of loadScenarios) {
  if (!scenarios.includes(scenario.name)) continue;
  for (let repeat = 1; repeat <= repeats; repeat += 1) {
    for (const variant of variants) {
      const { system } = variant;
      log(`\n${scenario.name}: ${labelOf(variant)} (round ${repeat} of ${repeats}) …`);
      const spec: ScenarioSpec = {
        ...variant,
        clients: scenario.clients,
        senders: scenario.senders,
        rate: scenario.rate,
        warmupMs: quick ? 1_000 : 2_000,
        measureMs,
        drainMs: 5_000,
        textLength: TEXT_LENGTH,
        payloadBytes,
        ...(system === 'kaiwa' ? { rest: { intervalMs: 50, limit: 50 } } : {}),
        nodeFlags: profileFlags(system, scenario.name),
      };
      for (let round = 1; ; round += 1) {
        await quietMachine();
        const result = await attempt(`${scenario.name} ${system}`, () => runScenario(spec));
        if (!result) break;
        log(describeScenario(result));
        const others = otherCpuPercent(result.server, result.load);
        if (others > MAX_OTHER_CPU_PERCENT && round <= retries) {
          log(`  other processes used ${Math.round(others)} % of a core meanwhile: measuring again`);
          continue;
        }
        scenarioResults.push({ name: scenario.name, round: repeat, attempt: round, ...result });
        break;
      }
    }
  }
}

for (let repeat = 1; repeat <= repeats && scenarios.includes('ramp'); repeat += 1) {
  for (const variant of variants.filter((each) => each.system !== 'socketio')) {
    const { system } = variant;
    log(`\nramp: ${labelOf(variant)} (round ${repeat} of ${repeats}) …`);
    await quietMachine();
    const result = await attempt(`ramp ${system}`, () =>
      runRamp({
        ...variant,
        clients: 100,
        senders: 100,
        warmupMs: 1_000,
        measureMs: quick ? 1_500 : 3_000,
        drainMs: 5_000,
        textLength: TEXT_LENGTH,
        payloadBytes,
        deliverySteps: quick
          ? [100_000, 200_000, 300_000, 400_000]
          : [50_000, 100_000, 150_000, 200_000, 250_000, 300_000, 350_000, 400_000, 450_000],
        p99LimitMs: P99_AIM_MS,
        keepUpFraction: 0.95,
        refine: !quick,
        maxOtherCpuPercent: MAX_OTHER_CPU_PERCENT,
        retries,
        nodeFlags: profileFlags(system, 'ramp'),
      }),
    );
    if (!result) continue;
    rampResults.push({ ...result, round: repeat });
    for (const step of result.steps) log(`  ${describeStep(step)}`);
    log(`  max sustained ${thousands(result.maxSustainedDeliveries)} deliveries/s`);
  }
}

for (let repeat = 1; repeat <= repeats && scenarios.includes('idle'); repeat += 1) {
  for (const system of systems) {
    log(`\nidle: ${idleConnections} ${SYSTEM_LABELS[system]} connections (round ${repeat} of ${repeats}) …`);
    await quietMachine();
    const result = await attempt(`idle ${system}`, () => measureIdle(system, idleConnections));
    if (!result) continue;
    idleResults.push({ ...result, round: repeat });
    log(
      `  RSS ${mib(result.rssBeforeBytes)} → ${mib(result.rssAfterBytes)}: ${kib(result.rssPerConnectionBytes)} per connection`,
    );
  }
}

// ---------------------------------------------------------------- report

writeReport();

/** Writes bench/results/realtime-<date>.json and .md and prints the Markdown. */
function writeReport(): void {
  const markdown = renderMarkdown();
  const stamp = startedAt.toISOString().replace(/:/g, '-').replace(/\..*$/, '');
  mkdirSync(resultsDirectory, { recursive: true });
  const jsonFile = join(resultsDirectory, `realtime-${stamp}.json`);
  const markdownFile = join(resultsDirectory, `realtime-${stamp}.md`);
  const report = {
    command,
    startedAt: startedAt.toISOString(),
    machine,
    textLength: TEXT_LENGTH,
    payloadBytes,
    busyBeforeEachMeasurementPercent: quietness,
    scenarios: scenarioResults,
    ramps: rampResults,
    idle: idleResults,
    failures,
  };
  writeFileSync(jsonFile, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(markdownFile, markdown);
  console.log(`\n${markdown}`);
  log(`results: ${jsonFile}\n         ${markdownFile}`);
}

// Lost or repeated deliveries in the fixed scenarios, or repeats anywhere, fail the run. (An overloaded
// ramp step may lose deliveries legitimately: Kaiwa closes slow consumers with 4009 and they would resume.)
const broken =
  failures.length > 0 ||
  scenarioResults.some((result) => result.load.lost > 0 || result.load.duplicated > 0) ||
  rampResults.some((ramp) => ramp.steps.some((step) => step.load.duplicated > 0));
process.exit(broken ? 1 : 0);

// ---------------------------------------------------------------- formatting

function renderMarkdown(): string {
  const lines: string[] = [];
  lines.push(
    `Measured ${startedAt.toISOString().slice(0, 10)} with \`${command}\` on ${machine.cpus} cores ` +
      `(${machine.cpuModel}), ${machine.memoryGiB} GiB, Node ${machine.node}, ${machine.platform}. ` +
      `Payload: ${TEXT_LENGTH}-character message texts; Kaiwa's \`message.created\` frame is ${payloadBytes} bytes ` +
      'and the baselines broadcast payloads of that size.',
    '',
  );
  if (scenarioResults.length > 0) {
    lines.push(
      '| scenario | round | system | deliveries/s (offered) | p50 | p95 | p99 | max | lost / dup | server CPU | load CPU | other CPU | server loop delay p99 | REST p99 |',
      '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const result of scenarioResults) {
      const load = result.load;
      lines.push(
        `| ${result.name.replace('x', ' clients × ')} msg/s | ${result.round} | ${labelOf(result.spec)} | ` +
          `${thousands(load.deliveriesPerSecond)} (${thousands(load.offeredDeliveries)}) | ${ms(load.latency.p50Ms)} | ` +
          `${ms(load.latency.p95Ms)} | ${ms(load.latency.p99Ms)} | ${ms(load.latency.maxMs)} | ` +
          `${load.lost} / ${load.duplicated} | ${percent(result.server.cpuPercent)} | ${percent(load.clientCpuPercent)} | ` +
          `${percent(otherCpuPercent(result.server, load))} | ${ms(result.server.loopDelayP99Ms)} | ` +
          `${load.rest ? `${ms(load.rest.latency.p99Ms)} (${load.rest.requests} reads)` : '–'} |`,
      );
    }
    lines.push('');
    const kaiwa = scenarioResults.filter((result) => result.spec.system === 'kaiwa');
    for (const result of kaiwa) {
      const stored = result.server.storedMessages ?? 0;
      lines.push(
        `- ${result.name.replace('x', ' clients × ')} msg/s, round ${result.round}, ${labelOf(result.spec)}: ${thousands(stored)} messages stored for ` +
          `${thousands(result.load.sentTotal - result.load.rejectedSends)} accepted sends ` +
          `(${result.load.rejectedSends} rejected${formatErrors(result.load.errors)}); p99 aim < ${P99_AIM_MS} ms: ` +
          `${result.load.latency.p99Ms < P99_AIM_MS ? 'met' : 'missed'}` +
          (result.load.rest
            ? `; REST history p99 aim < ${REST_P99_AIM_MS} ms: ${result.load.rest.latency.p99Ms < REST_P99_AIM_MS ? 'met' : 'missed'}.`
            : '.'),
      );
    }
    if (kaiwa.length > 0) lines.push('');
  }
  if (rampResults.length > 0) {
    lines.push(
      `Ramp (100 clients, all sending; ${quick ? 1.5 : 3} s per step): a step passes when p99 < ${P99_AIM_MS} ms, ` +
        'at least 95 % of the offered deliveries arrive within the window, and nothing is lost.',
      '',
      '| system | round | max sustained deliveries/s | peak deliveries/s | first failing step |',
      '| --- | ---: | ---: | ---: | --- |',
    );
    for (const ramp of rampResults) {
      const failed = ramp.steps.find((step, index) => !step.passed && !repeated(ramp, index));
      lines.push(
        `| ${labelOf(ramp.spec)} | ${ramp.round} | ${thousands(ramp.maxSustainedDeliveries)} | ` +
          `${thousands(ramp.peakDeliveries)} | ${failed ? `${thousands(failed.offeredDeliveries)}: ${verdict(failed)}` : 'none'} |`,
      );
    }
    lines.push('');
    for (const kaiwaRamp of rampResults.filter((ramp) => ramp.spec.system === 'kaiwa')) {
      const round = kaiwaRamp.round;
      const wsRamp = rampResults.find((ramp) => ramp.spec.system === 'ws' && ramp.round === round);
      if (!wsRamp) continue;
      lines.push(
        `- Round ${round}, ${labelOf(kaiwaRamp.spec)}, aim: max sustained deliveries ≥ the bare ws broadcast's: ` +
          `${kaiwaRamp.maxSustainedDeliveries >= wsRamp.maxSustainedDeliveries ? 'met' : 'missed'} ` +
          `(${thousands(kaiwaRamp.maxSustainedDeliveries)} vs ${thousands(wsRamp.maxSustainedDeliveries)}).`,
      );
    }
    lines.push(
      '',
      '| system | round | offered deliveries/s | deliveries/s | p50 | p99 | server CPU | load CPU | other CPU | result |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    );
    for (const ramp of rampResults) {
      ramp.steps.forEach((step, index) => {
        lines.push(
          `| ${labelOf(ramp.spec)} | ${ramp.round} | ${thousands(step.offeredDeliveries)} | ` +
            `${thousands(step.load.deliveriesPerSecond)} | ${ms(step.load.latency.p50Ms)} | ${ms(step.load.latency.p99Ms)} | ` +
            `${percent(step.server.cpuPercent)} | ${percent(step.load.clientCpuPercent)} | ` +
            `${percent(otherCpuPercent(step.server, step.load))} | ` +
            `${repeated(ramp, index) ? `disturbed (${verdict(step)}), repeated` : verdict(step)} |`,
        );
      });
    }
    lines.push('');
  }
  if (idleResults.length > 0) {
    lines.push(
      '| system | round | idle connections | server RSS before → after | RSS per connection | JS heap per connection |',
      '| --- | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const idle of idleResults) {
      lines.push(
        `| ${SYSTEM_LABELS[idle.system]} | ${idle.round} | ${thousands(idle.connections)} | ${mib(idle.rssBeforeBytes)} → ${mib(idle.rssAfterBytes)} | ` +
          `${kib(idle.rssPerConnectionBytes)} | ${kib(idle.heapPerConnectionBytes)} |`,
      );
    }
    const kaiwaIdle = idleResults.filter((idle) => idle.system === 'kaiwa');
    if (kaiwaIdle.length > 0) lines.push('');
    for (const idle of kaiwaIdle) {
      lines.push(
        `- Round ${idle.round}: Kaiwa idle connections are authenticated and subscribed; aim ≤ 12 KB (${thousands(IDLE_AIM_BYTES)} bytes) ` +
          `of RSS each: ${idle.rssPerConnectionBytes <= IDLE_AIM_BYTES ? 'met' : 'missed'} ` +
          `(${thousands(idle.rssPerConnectionBytes)} bytes).`,
      );
    }
    lines.push('');
  }
  if (failures.length > 0) {
    lines.push('Failed measurements:', '');
    for (const failure of failures) lines.push(`- ${failure.what}: ${failure.error}`);
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}

/** Whether a ramp step was measured again right after it (because other processes disturbed it). */
function repeated(ramp: RampResult, index: number): boolean {
  const next = ramp.steps[index + 1];
  return next !== undefined && next.offeredDeliveries === ramp.steps[index]!.offeredDeliveries;
}

/** A step's outcome, noting when the load generator rather than the server was the limit. */
function verdict(step: RampResult['steps'][number]): string {
  const saturated = step.load.clientCpuPercent >= 90 ? ' (load generator saturated)' : '';
  return `${step.passed ? 'pass' : step.reason}${saturated}`;
}

function describeScenario(result: ScenarioResult): string {
  const load = result.load;
  return (
    `  ${thousands(load.deliveriesPerSecond)} deliveries/s of ${thousands(load.offeredDeliveries)} offered; ` +
    `p50 ${ms(load.latency.p50Ms)}, p95 ${ms(load.latency.p95Ms)}, p99 ${ms(load.latency.p99Ms)}, max ${ms(load.latency.maxMs)}; ` +
    `lost ${load.lost}, dup ${load.duplicated}, rejected ${load.rejectedSends}${formatErrors(load.errors)}; ` +
    `server CPU ${percent(result.server.cpuPercent)}, load CPU ${percent(load.clientCpuPercent)}, ` +
    `other CPU ${percent(otherCpuPercent(result.server, load))}, server loop delay p99 ${ms(result.server.loopDelayP99Ms)}` +
    (load.rest
      ? `; REST p50 ${ms(load.rest.latency.p50Ms)} p99 ${ms(load.rest.latency.p99Ms)} (${load.rest.requests})`
      : '') +
    (result.server.storedMessages !== undefined
      ? `; stored ${result.server.storedMessages} of ${load.sentTotal - load.rejectedSends} accepted`
      : '') +
    (Object.keys(load.closes).length > 0 ? `; closes ${JSON.stringify(load.closes)}` : '')
  );
}

function describeStep(step: RampResult['steps'][number]): string {
  return (
    `${thousands(step.offeredDeliveries)} offered → ${thousands(step.load.deliveriesPerSecond)}/s, ` +
    `p50 ${ms(step.load.latency.p50Ms)} p99 ${ms(step.load.latency.p99Ms)}, server CPU ${percent(step.server.cpuPercent)}, ` +
    `load CPU ${percent(step.load.clientCpuPercent)}, other CPU ${percent(otherCpuPercent(step.server, step.load))}: ` +
    verdict(step)
  );
}

function formatErrors(errors: Record<string, number>): string {
  const entries = Object.entries(errors);
  return entries.length === 0 ? '' : `: ${entries.map(([code, count]) => `${code} ×${count}`).join(', ')}`;
}

function thousands(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

function ms(value: number): string {
  // NaN (no samples) arrives over IPC as null.
  if (typeof value !== 'number' || Number.isNaN(value)) return '–';
  return `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`;
}

function percent(value: number): string {
  return Number.isNaN(value) ? '–' : `${Math.round(value)} %`;
}

function mib(bytes: number): string {
  return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}
