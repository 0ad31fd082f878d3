/*
 * The `## Start-up` section of docs/benchmarks.md, written from a result of bench/startup/run.ts. Only that
 * section is replaced; the other sections stay as they are.
 */

/** Medians of one measurement over the runs, with the samples. */
export interface Sample {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

export interface ImportResult {
  /** `await import(entry)` inside the process, ms. */
  importMs: Sample;
  /** From spawning `node` until it exited after the import, ms. */
  processMs: Sample;
  /** RSS right after the import, MiB. */
  rssMiB: Sample;
}

export interface StartResult {
  /** From spawning the process until `GET /health` answered 200, ms. */
  healthMs: Sample;
  /** RSS when /health first answered, MiB. */
  rssMiB: Sample;
  /** RSS two seconds later, idle, MiB. */
  settledRssMiB: Sample;
}

export interface ModuleCount {
  /** Distinct module files loaded. */
  files: number;
  /** Distinct npm packages they belong to. */
  packages: number;
  /** The optional heavy packages among them. */
  optional: string[];
}

/** One build of the server, measured. */
export interface BuildResult {
  /** How the table names it, e.g. `Kaiwa server` or `before (eager imports)`. */
  label: string;
  /** Its dist folder, relative to the repository root when inside it. */
  dist: string;
  import: ImportResult;
  /** On an empty data directory: migrations and the first admin included. */
  firstStart: StartResult;
  /** On the data directory of the first start. */
  restart: StartResult;
  modules: { import: ModuleCount; start: ModuleCount };
}

export interface StartupResult {
  startedAt: string;
  command: string;
  node: string;
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  runs: number;
  /** `node -e 0`: spawn to exit, ms. */
  nodeMs: Sample;
  /** The server builds measured, the one under test last. */
  builds: BuildResult[];
  /** The baseline: a bare Fastify server with one route. */
  fastify: { import: ImportResult; start: StartResult; modules: ModuleCount };
}

const ms = (sample: Sample) => Math.round(sample.median).toLocaleString('en');
const mib = (sample: Sample) => sample.median.toFixed(0);
const range = (sample: Sample) => `${sample.min.toFixed(0)}–${sample.max.toFixed(0)}`;
const timing = (sample: Sample) => `${ms(sample)} (${range(sample)})`;
const memory = (sample: Sample) => `${mib(sample)} (${range(sample)})`;
const files = (count: ModuleCount) => `${count.files.toLocaleString('en')} (${count.packages})`;

/** The result as a Markdown table (also printed by run.ts): one column per build, then the baseline. */
export function startupTable(result: StartupResult): string[] {
  const { builds, fastify } = result;
  const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const line = (name: string, build: (b: BuildResult) => string, baseline: string) =>
    row([name, ...builds.map(build), baseline]);
  return [
    row(['median of the runs (range)', ...builds.map((build) => build.label), 'bare Fastify (baseline)']),
    row(['---', ...builds.map(() => '---:'), '---:']),
    line(
      '`await import()` of the entry, ms',
      (b) => timing(b.import.importMs),
      timing(fastify.import.importMs),
    ),
    line(
      '`node` spawn → exit after that import, ms',
      (b) => timing(b.import.processMs),
      timing(fastify.import.processMs),
    ),
    line('RSS after the import, MiB', (b) => memory(b.import.rssMiB), memory(fastify.import.rssMiB)),
    line(
      'first start (empty data dir): spawn → `/health` 200, ms',
      (b) => timing(b.firstStart.healthMs),
      timing(fastify.start.healthMs),
    ),
    line('restart (same data dir): spawn → `/health` 200, ms', (b) => timing(b.restart.healthMs), '–'),
    line('RSS at `/health` (restart), MiB', (b) => memory(b.restart.rssMiB), memory(fastify.start.rssMiB)),
    line(
      'RSS 2 s later, idle (restart), MiB',
      (b) => memory(b.restart.settledRssMiB),
      memory(fastify.start.settledRssMiB),
    ),
    line('module files (npm packages) loaded by the import', (b) => files(b.modules.import), '–'),
    line(
      'module files (npm packages) loaded by a start',
      (b) => files(b.modules.start),
      files(fastify.modules),
    ),
  ];
}

/** The Markdown of the start-up section for `result`, with `notes` (prose kept by hand in notes.md). */
export function startupSection(result: StartupResult, notes: string[]): string {
  const lines = [
    '## Start-up',
    '',
    'How long the built server takes to load and to start, and how much memory it holds, with nothing',
    'optional configured: `kaiwa start` with `NODE_ENV=development`, `PORT=0`, a temporary `KAIWA_DATA_DIR`',
    '(SQLite, files on disk, in-process bus) and no other `KAIWA_*` setting: no bridge, no LLM backend, no S3,',
    'no Redis or NATS. The baseline in the same run is a bare Fastify server with one `/health` route',
    '(`bench/startup/bare-fastify.mjs`). Every sample is a fresh process, the measurements take turns run by',
    'run, and the table shows the median with the range. A first start also migrates the new database and',
    "hashes the first admin's password; a restart finds both done. Module files are counted in one more run",
    'of each, through `packages/server/src/module-trace.mjs`.',
    '',
    `Command: \`${result.command}\` — ${result.startedAt.slice(0, 10)}, Node ${result.node}, ${result.cpus} cores (${result.cpuModel}),`,
    `${result.memoryGiB} GiB, ${result.runs} runs; \`node -e 0\` takes ${ms(result.nodeMs)} ms here. Raw results:`,
    '`bench/results/` (JSON, not committed).',
    '',
    ...startupTable(result),
    '',
  ];
  for (const build of result.builds) {
    const optional = build.modules.start.optional;
    lines.push(
      `Optional packages loaded by a start, ${build.label}: ${
        optional.length === 0 ? 'none' : optional.map((name) => `\`${name}\``).join(', ')
      }.`,
      '',
    );
  }
  if (notes.length > 0) lines.push('Notes:', '', ...notes.map((note) => `- ${note}`), '');
  return lines.join('\n');
}

/** `document` with its `## Start-up` section replaced by `section` (or added at the end). */
export function replaceStartupSection(document: string, section: string): string {
  const start = document.search(/^## Start-up\s*$/m);
  const body = section.endsWith('\n') ? section : `${section}\n`;
  if (start === -1) {
    const base = document.trim() === '' ? '# Benchmarks\n' : document.replace(/\n*$/, '\n');
    return `${base}\n${body}`;
  }
  const rest = document.slice(start + 1);
  const next = rest.search(/^## /m);
  const end = next === -1 ? document.length : start + 1 + next;
  const after = document.slice(end);
  return `${document.slice(0, start)}${body}${after === '' ? '' : `\n${after}`}`;
}
