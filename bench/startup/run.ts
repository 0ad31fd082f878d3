import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  type BuildResult,
  type ImportResult,
  type ModuleCount,
  replaceStartupSection,
  type Sample,
  type StartResult,
  type StartupResult,
  startupSection,
  startupTable,
} from './report.js';

/*
 * npm run bench:startup [-- --runs 9] [--docs | --no-docs] [--dist DIR] [--label TEXT]
 *                       [--compare DIR --compare-label TEXT] [--report bench/results/startup-….json]
 *
 * Start-up of the built server with nothing optional configured (docs/benchmarks.md, "Start-up"); build it
 * first (`npm run build`). Every sample is a fresh `node` process, the measurements taking turns run by run:
 * `node -e 0`; `await import()` of the server's entry and, as the baseline, of fastify; `kaiwa start` on an
 * empty data directory and again on the same one, and a bare Fastify server, each until `GET /health`
 * answers 200, with the process's RSS then and two seconds later. One more, untimed run of each counts the
 * module files loaded (packages/server/src/module-trace.mjs). Prints the table, writes
 * bench/results/startup-<date>.json and, unless --no-docs, the `## Start-up` section of docs/benchmarks.md
 * (notes from bench/startup/notes.md).
 *
 * --dist: the server build to measure (default packages/server/dist). --compare: another build of the server
 * (e.g. of the main branch, its dist folder copied where it resolves the same packages) measured in the
 * same runs, in a column of its own. --report FILE: re-render the docs section from a saved result.
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '9' },
    docs: { type: 'boolean' },
    'no-docs': { type: 'boolean', default: false },
    dist: { type: 'string', default: join(root, 'packages/server/dist') },
    label: { type: 'string', default: 'Kaiwa server' },
    compare: { type: 'string' },
    'compare-label': { type: 'string', default: 'compared build' },
    /** Re-renders docs/benchmarks.md from a saved result (after editing notes.md), without measuring. */
    report: { type: 'string' },
  },
});
const runs = Math.max(1, Number(values.runs));

const BARE_FASTIFY = join(root, 'bench/startup/bare-fastify.mjs');
const MODULE_TRACE = join(root, 'packages/server/src/module-trace.mjs');
const FASTIFY_ENTRY = join(root, 'node_modules/fastify/fastify.js');
const SETTLE_MS = 2_000;

/** Packages a server with nothing optional configured should not load (reported when it does). */
const OPTIONAL_PACKAGES = [
  'discord.js',
  'botbuilder',
  '@slack/bolt',
  '@slack/web-api',
  'telegraf',
  'openai',
  'node-llama-cpp',
  '@huggingface/transformers',
  'onnxruntime-node',
  'tesseract.js',
  'pdfjs-dist',
  '@napi-rs/canvas',
  '@aws-sdk/client-s3',
  'ioredis',
  '@nats-io/transport-node',
  'pg',
  'mysql2',
];

interface Build {
  label: string;
  dist: string;
  entry: string;
  cli: string;
}
const build = (label: string, dist: string): Build => {
  const folder = resolve(dist);
  return { label, dist: folder, entry: join(folder, 'index.js'), cli: join(folder, 'cli.js') };
};
const builds: Build[] = [
  ...(values.compare ? [build(values['compare-label'], values.compare)] : []),
  build(values.label, values.dist),
];

for (const { cli } of values.report ? [] : builds) {
  if (!existsSync(cli)) {
    console.error(`${cli} is missing: run \`npm run build\` first`);
    process.exit(1);
  }
}

/** The environment of a child: this one's, without any KAIWA_ setting (so nothing optional is on). */
function cleanEnvironment(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('KAIWA_') && name !== 'NODE_OPTIONS') env[name] = value;
  }
  return { ...env, NODE_ENV: 'development', ...extra };
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

function summary(samples: number[]): Sample {
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median, min: sorted[0]!, max: sorted.at(-1)!, samples };
}

/** RSS of a running process, MiB (Linux: /proc; elsewhere NaN). */
function rssMiB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kiB = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1]);
    return kiB / 1024;
  } catch {
    return Number.NaN;
  }
}

/** Runs `node args…` to its end; returns its stdout and the wall time from spawn to exit. */
function runNode(args: string[], env: NodeJS.ProcessEnv): Promise<{ stdout: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      const ms = performance.now() - start;
      children.delete(child);
      if (code === 0) resolve({ stdout, ms });
      else reject(new Error(`node ${args.join(' ')} exited with ${code}: ${stderr.slice(-2000)}`));
    });
  });
}

/** `await import(entry)` in a fresh process: the import's own time, the process's, and RSS after it. */
async function measureImport(entry: string): Promise<{ importMs: number; processMs: number; rss: number }> {
  const script = `const start = performance.now();
await import(${JSON.stringify(pathToFileURL(entry).href)});
const importMs = performance.now() - start;
process.stdout.write(JSON.stringify({ importMs, rss: process.memoryUsage().rss / 1048576 }));
process.exit(0);`;
  const { stdout, ms } = await runNode(['--input-type=module', '-e', script], cleanEnvironment({}));
  const { importMs, rss } = JSON.parse(stdout) as { importMs: number; rss: number };
  return { importMs, processMs: ms, rss };
}

/**
 * Starts a server (`node args…`), waits for its `listening on <url>` line, then asks `GET /health` until
 * it answers 200. Returns the time from spawn to that answer and the RSS then and `SETTLE_MS` later; the
 * server is stopped with SIGTERM before it returns.
 */
async function measureStart(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ healthMs: number; rss: number; settledRss: number }> {
  const start = performance.now();
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  try {
    const base = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "listening on" line in 60 s: ${output}`)), 60_000);
      const read = (chunk: Buffer) => {
        output += chunk;
        const url = /listening on (https?:\/\/[^\s(]+)/.exec(output)?.[1];
        if (url) {
          clearTimeout(timer);
          resolve(url.replace('://localhost:', '://127.0.0.1:'));
        }
      };
      child.stdout!.on('data', read);
      child.stderr!.on('data', read);
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`server exited with ${code} before listening: ${output.slice(-2000)}`));
      });
    });
    let healthMs = Number.NaN;
    while (Number.isNaN(healthMs)) {
      const response = await fetch(`${base}/health`).catch(() => undefined);
      if (response?.status === 200) healthMs = performance.now() - start;
      await response?.arrayBuffer();
      if (Number.isNaN(healthMs)) await new Promise((resolve) => setTimeout(resolve, 5));
      if (performance.now() - start > 60_000) throw new Error(`/health did not answer 200: ${output}`);
    }
    const rss = rssMiB(child.pid!);
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    return { healthMs, rss, settledRss: rssMiB(child.pid!) };
  } finally {
    child.kill('SIGTERM');
    const stopped = await Promise.race([
      exited,
      new Promise((resolve) => setTimeout(() => resolve('timeout'), 20_000)),
    ]);
    if (stopped === 'timeout') child.kill('SIGKILL');
    children.delete(child);
  }
}

/** The module files a command loads (one untimed run with module-trace.mjs preloaded). */
function countModules(files: string[]): ModuleCount {
  const distinct = new Set(files.filter((line) => line !== ''));
  const packages = new Set<string>();
  for (const file of distinct) {
    const name = /.*node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file)?.[1];
    if (name) packages.add(name);
  }
  return {
    files: distinct.size,
    packages: packages.size,
    optional: OPTIONAL_PACKAGES.filter((name) => packages.has(name)),
  };
}

async function traced(run: (env: Record<string, string>) => Promise<unknown>): Promise<ModuleCount> {
  const directory = mkdtempSync(join(tmpdir(), 'kaiwa-trace-'));
  const file = join(directory, 'modules.txt');
  try {
    writeFileSync(file, '');
    await run({ KAIWA_MODULE_TRACE: file });
    return countModules(readFileSync(file, 'utf8').split('\n'));
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

const kaiwaStartArgs = (cli: string, trace: boolean) => [
  ...(trace ? ['--import', MODULE_TRACE] : []),
  cli,
  'start',
];
const kaiwaEnv = (dataDir: string, extra: Record<string, string> = {}) =>
  cleanEnvironment({ PORT: '0', HOST: '127.0.0.1', KAIWA_DATA_DIR: dataDir, ...extra });

interface ImportSamples {
  importMs: number[];
  processMs: number[];
  rss: number[];
}
interface StartSamples {
  healthMs: number[];
  rss: number[];
  settledRss: number[];
}
const importSamples = (): ImportSamples => ({ importMs: [], processMs: [], rss: [] });
const startSamples = (): StartSamples => ({ healthMs: [], rss: [], settledRss: [] });
const push = <K extends string>(into: Record<K, number[]>, from: Record<K, number>) => {
  for (const key of Object.keys(from) as K[]) into[key].push(from[key]);
};

/** An argument as a shell would need it written. */
const quoted = (argument: string) => (/^[\w@%+=:,./-]+$/.test(argument) ? argument : `'${argument}'`);

/** Every measurement, `runs` times taking turns, then the module counts. */
async function measure(): Promise<StartupResult> {
  // One warm-up of each (file cache, the parent's own fetch), not counted.
  await fetch('http://127.0.0.1:9/').catch(() => undefined);
  for (const { entry, cli } of builds) {
    const warmDir = mkdtempSync(join(tmpdir(), 'kaiwa-startup-'));
    await measureImport(entry);
    await measureStart(kaiwaStartArgs(cli, false), kaiwaEnv(warmDir));
    rmSync(warmDir, { recursive: true, force: true });
  }
  await measureStart([BARE_FASTIFY], cleanEnvironment({ PORT: '0' }));

  const node: number[] = [];
  const fastify = { import: importSamples(), start: startSamples() };
  const measured = builds.map(() => ({
    import: importSamples(),
    first: startSamples(),
    restart: startSamples(),
  }));

  const startedAt = new Date().toISOString();
  for (let run = 1; run <= runs; run++) {
    node.push((await runNode(['-e', '0'], cleanEnvironment({}))).ms);
    push(fastify.import, await measureImport(FASTIFY_ENTRY));
    push(fastify.start, await measureStart([BARE_FASTIFY], cleanEnvironment({ PORT: '0' })));
    const progress: string[] = [];
    for (const [index, { label, entry, cli }] of builds.entries()) {
      const samples = measured[index]!;
      push(samples.import, await measureImport(entry));
      const dataDir = mkdtempSync(join(tmpdir(), 'kaiwa-startup-'));
      try {
        push(samples.first, await measureStart(kaiwaStartArgs(cli, false), kaiwaEnv(dataDir)));
        push(samples.restart, await measureStart(kaiwaStartArgs(cli, false), kaiwaEnv(dataDir)));
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
      progress.push(
        `${label}: import ${samples.import.importMs.at(-1)!.toFixed(0)} ms, /health ${samples.restart.healthMs.at(-1)!.toFixed(0)} ms, RSS ${samples.restart.rss.at(-1)!.toFixed(0)} MiB`,
      );
    }
    console.error(`run ${run}/${runs}: ${progress.join('; ')}`);
  }

  const importResult = (from: ImportSamples): ImportResult => ({
    importMs: summary(from.importMs),
    processMs: summary(from.processMs),
    rssMiB: summary(from.rss),
  });
  const startResult = (from: StartSamples): StartResult => ({
    healthMs: summary(from.healthMs),
    rssMiB: summary(from.rss),
    settledRssMiB: summary(from.settledRss),
  });
  const shown = (folder: string) => (folder.startsWith(root) ? folder.slice(root.length) : folder);

  const buildResults: BuildResult[] = [];
  for (const [index, { label, dist, entry, cli }] of builds.entries()) {
    const traceDir = mkdtempSync(join(tmpdir(), 'kaiwa-startup-'));
    const modules = {
      import: await traced((extra) =>
        runNode(
          [
            '--import',
            MODULE_TRACE,
            '--input-type=module',
            '-e',
            `await import(${JSON.stringify(pathToFileURL(entry).href)}); process.exit(0);`,
          ],
          cleanEnvironment(extra),
        ),
      ),
      start: await traced((extra) => measureStart(kaiwaStartArgs(cli, true), kaiwaEnv(traceDir, extra))),
    };
    rmSync(traceDir, { recursive: true, force: true });
    const samples = measured[index]!;
    buildResults.push({
      label,
      dist: shown(dist),
      import: importResult(samples.import),
      firstStart: startResult(samples.first),
      restart: startResult(samples.restart),
      modules,
    });
  }
  const fastifyModules = await traced((extra) =>
    measureStart(['--import', MODULE_TRACE, BARE_FASTIFY], cleanEnvironment({ PORT: '0', ...extra })),
  );

  return {
    startedAt,
    command: [
      'npm run bench:startup',
      ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2).map(quoted)] : []),
    ]
      .join(' ')
      .replaceAll(root, ''),
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown CPU',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    runs,
    nodeMs: summary(node),
    builds: buildResults,
    fastify: {
      import: importResult(fastify.import),
      start: startResult(fastify.start),
      modules: fastifyModules,
    },
  };
}

const result: StartupResult = values.report
  ? (JSON.parse(readFileSync(values.report, 'utf8')) as StartupResult)
  : await measure();
console.log(startupTable(result).join('\n'));
for (const { label, modules } of result.builds) {
  console.log(
    `${label}: optional packages loaded by a start: ${modules.start.optional.join(', ') || 'none'}; by the import: ${modules.import.optional.join(', ') || 'none'}`,
  );
}
if (!values.report) {
  mkdirSync(`${root}bench/results`, { recursive: true });
  const json = `${root}bench/results/startup-${result.startedAt.replaceAll(':', '-')}.json`;
  writeFileSync(json, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`results: ${json}`);
}

if (values.docs ?? !values['no-docs']) {
  const file = `${root}docs/benchmarks.md`;
  const notesFile = `${root}bench/startup/notes.md`;
  // Notes are prose about the latest numbers (and the figures before lazy loading), kept by hand.
  const notes = existsSync(notesFile)
    ? readFileSync(notesFile, 'utf8')
        .split(/\n(?=- )/)
        .map((note) => note.replace(/^- /, '').replace(/\s+/g, ' ').trim())
        .filter((note) => note !== '')
    : [];
  const current = existsSync(file) ? readFileSync(file, 'utf8') : '';
  writeFileSync(file, replaceStartupSection(current, startupSection(result, notes)));
  // Biome formats Markdown too (aligned tables): leave the page as `npm run lint` wants it.
  execFileSync(`${root}node_modules/.bin/biome`, ['format', '--write', file], { stdio: 'ignore' });
  console.log(`updated ${file}`);
}
