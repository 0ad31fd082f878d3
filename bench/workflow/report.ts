import { existsSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { STEPS, type WorkflowBenchResult } from './harness.js';

const HEADING = '## Workflow engine';

function number(value: number, digits = 0): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** The `## Workflow engine` section of docs/benchmarks.md for a result; `notes` (markdown) go at the end. */
export function workflowSection(result: WorkflowBenchResult, command: string, notes = ''): string {
  const { settings } = result;
  const lines = [
    HEADING,
    '',
    `Runs per second and engine overhead per step for a ${STEPS}-step workflow of no-op steps (sequential;`,
    'each step reads the previous one through a template), at three levels in the same run:',
    '',
    '- **bare functions**: the same no-op step functions awaited one after another, nothing stored;',
    '- **bare writes**: the stored transitions the engine makes, written straight through the repositories',
    '  (run and step records in one transaction, run → running, each step → running → succeeded with its',
    '  output, run → succeeded): the floor of a durable run on that database;',
    '- **engine**: `start` + `waitForRun`, which also reads the definition and the actor, renders and',
    '  validates every input, schedules the DAG, publishes every transition on the bus and reads the run back.',
    '',
    `"Overhead per step" is (engine ms/run − level ms/run) / ${STEPS}, one run at a time.`,
    '',
    `Command: \`${command}\` — ${result.date.slice(0, 16).replace('T', ' ')} UTC, Node ${result.node},`,
    `${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), ${Math.round(totalmem() / 2 ** 30)} GiB.`,
    `${number(settings.runs)} runs one at a time and ${number(settings.concurrentRuns)} with ${settings.concurrency} in flight per level`,
    `(× ${settings.postgresScale} on PostgreSQL), after a warm-up; the levels take turns in ${settings.rounds} rounds so that`,
    'a disturbance hits them alike. Raw results: `bench/results/workflow-*.json` (not committed).',
    '',
  ];
  for (const dialect of result.dialects) {
    lines.push(`### ${dialect.description}`, '');
    lines.push('| level | runs/s | ms per run | steps/s |', '| --- | ---: | ---: | ---: |');
    for (const level of dialect.levels) {
      lines.push(
        `| ${level.level} | ${number(level.runsPerSecond)} | ${number(level.meanRunMs, 3)} | ${number(level.runsPerSecond * STEPS)} |`,
      );
    }
    lines.push(
      '',
      `Engine overhead per step: **${number(dialect.overheadOverWritesPerStepMs, 3)} ms over the bare writes**,`,
      `${number(dialect.overheadPerStepMs, 3)} ms over the bare functions (storage included). Load average at the`,
      `end: ${number(dialect.loadAverage, 1)}.`,
      '',
    );
  }
  if (!result.dialects.some((dialect) => dialect.dialect === 'postgres'))
    lines.push(
      'PostgreSQL was not measured in this run (set `KAIWA_BENCH_PG_URL` or `KAIWA_TEST_PG_URL`).',
      '',
    );
  if (notes.trim() !== '') lines.push(notes.trim(), '');
  return `${lines.join('\n').trimEnd()}\n`;
}

/** bench/workflow/notes.md: the reading of the latest figures, kept by hand. */
export function readNotes(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}

/** Replaces the section in a document, or appends it. */
export function replaceWorkflowSection(document: string, section: string): string {
  const start = document.search(/^## Workflow engine\s*$/m);
  if (start === -1) return `${document.replace(/\n*$/, '\n')}\n${section}`;
  const rest = document.slice(start + 1);
  const next = rest.search(/^## /m);
  const end = next === -1 ? document.length : start + 1 + next;
  const after = document.slice(end);
  return `${document.slice(0, start)}${section}${after === '' ? '' : `\n${after}`}`;
}
