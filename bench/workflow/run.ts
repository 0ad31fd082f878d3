import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FULL_SETTINGS, QUICK_SETTINGS, runWorkflowBench, type WorkflowBenchResult } from './harness.js';
import { readNotes, replaceWorkflowSection, workflowSection } from './report.js';

/*
 * npm run bench:workflow [-- --quick] [--no-docs] [--pg-url URL] [--no-pg] [--report bench/results/workflow-….json]
 *
 * Measures the workflow engine on SQLite (a temporary file) and on PostgreSQL when a URL is known
 * (--pg-url, KAIWA_BENCH_PG_URL or KAIWA_TEST_PG_URL; a schema of its own, dropped afterwards), writes
 * bench/results/workflow-….json and, unless --quick or --no-docs, the `## Workflow engine` section of
 * docs/benchmarks.md (with bench/workflow/notes.md). --report re-renders the section from a saved result.
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'no-docs': { type: 'boolean', default: false },
    'no-pg': { type: 'boolean', default: false },
    'pg-url': { type: 'string' },
    report: { type: 'string' },
  },
});

const postgresUrl = values['no-pg']
  ? undefined
  : (values['pg-url'] ?? process.env.KAIWA_BENCH_PG_URL ?? process.env.KAIWA_TEST_PG_URL);
const command = [
  'npm run bench:workflow',
  ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : []),
]
  .join(' ')
  .replace(/--pg-url[= ]\S+/, '--pg-url …')
  .replace(/ -- --report[= ]\S+/, '');

let result: WorkflowBenchResult;
if (values.report) {
  result = JSON.parse(readFileSync(values.report, 'utf8')) as WorkflowBenchResult;
} else {
  result = await runWorkflowBench({
    settings: values.quick ? QUICK_SETTINGS : FULL_SETTINGS,
    postgresUrl,
    log: (line) => console.log(line),
  });
  mkdirSync(`${root}bench/results`, { recursive: true });
  const stamp = result.date.replace(/[:.]/g, '-');
  writeFileSync(`${root}bench/results/workflow-${stamp}.json`, `${JSON.stringify(result, null, 2)}\n`);
}
const section = workflowSection(result, command, readNotes(`${root}bench/workflow/notes.md`));
console.log(`\n${section}`);
if (!values.quick && !values['no-docs']) {
  const path = `${root}docs/benchmarks.md`;
  writeFileSync(path, replaceWorkflowSection(readFileSync(path, 'utf8'), section));
  console.log(`wrote the Workflow engine section of ${path}`);
}
