import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, platform, release, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  ALL_BACKENDS,
  type BackendName,
  FULL_SETTINGS,
  type LlmBenchResult,
  QUICK_SETTINGS,
  runLlmBench,
} from './harness.js';
import { llmSection, type Machine, replaceLlmSection } from './report.js';

/*
 * npm run bench:llm [-- --quick] [--requests N] [--warmup N] [--max-tokens N] [--budget-s S]
 *                   [--backends llama-cpp,openai-compatible,transformers] [--docs]
 *
 * Kaiwa's chat models versus the same backends called directly, on tiny local models (CPU, 127.0.0.1 only).
 * Writes bench/results/llm-<time>.json and prints the Markdown; --docs also rewrites the `## LLM` section of
 * docs/benchmarks.md (its notes come from bench/llm/notes.md). A full run takes under a minute; it gives up after 3.
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    requests: { type: 'string' },
    warmup: { type: 'string' },
    'max-tokens': { type: 'string' },
    'budget-s': { type: 'string' },
    backends: { type: 'string' },
    docs: { type: 'boolean', default: false },
  },
});

const base = values.quick ? QUICK_SETTINGS : FULL_SETTINGS;
const backends = (values.backends?.split(',') ?? base.backends) as BackendName[];
for (const backend of backends) {
  if (!ALL_BACKENDS.includes(backend))
    throw new Error(`unknown backend ${backend}: ${ALL_BACKENDS.join(', ')}`);
}
const settings = {
  requests: values.requests ? Number(values.requests) : base.requests,
  warmup: values.warmup ? Number(values.warmup) : base.warmup,
  maxTokens: values['max-tokens'] ? Number(values['max-tokens']) : base.maxTokens,
  budgetMsPerBackend: values['budget-s'] ? Number(values['budget-s']) * 1000 : base.budgetMsPerBackend,
  backends,
};

// Hard bound: whatever happens, the run stops by itself.
const watchdog = setTimeout(() => {
  console.error('bench:llm: over 3 minutes, giving up');
  process.exit(1);
}, 180_000);
watchdog.unref();

const result: LlmBenchResult = await runLlmBench(settings);
const machine: Machine = {
  node: process.version,
  cpus: `${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'})`,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  platform: `${platform()} ${release()}`,
};
const stamp = result.startedAt.replace(/[:.]/g, '-').slice(0, 19);
mkdirSync(`${root}bench/results`, { recursive: true });
const jsonPath = `${root}bench/results/llm-${stamp}.json`;
writeFileSync(jsonPath, `${JSON.stringify({ machine, ...result }, null, 2)}\n`);

const args = process.argv.slice(2).filter((arg) => arg !== '--docs');
const command = `npm run bench:llm${args.length ? ` -- ${args.join(' ')}` : ''}`;
const notes = readFileSync(new URL('./notes.md', import.meta.url), 'utf8')
  .split(/\n(?=- )/)
  .map((note) =>
    note
      .replace(/^- /, '')
      .replace(/\s*\n\s*/g, ' ')
      .trim(),
  )
  .filter(Boolean);
const section = llmSection(result, machine, command, notes);
console.log(section);
console.log(`results: ${jsonPath}`);
if (values.docs) {
  const docsPath = `${root}docs/benchmarks.md`;
  writeFileSync(docsPath, replaceLlmSection(readFileSync(docsPath, 'utf8'), section));
  // Biome pads the Markdown tables the way the rest of the file is formatted.
  execFileSync('npx', ['biome', 'format', '--write', docsPath], { cwd: root, stdio: 'ignore' });
  console.log(`updated ${docsPath}`);
}
