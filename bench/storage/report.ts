import type { BenchResult, DialectResult, Level, ThroughputResult } from './common.js';

/*
 * The `## Storage` section of docs/benchmarks.md, written from a result. Only that section is replaced;
 * other sections (e.g. `## Realtime`) stay as they are.
 */

const LEVEL_NAMES: Record<Level, string> = {
  bare: 'bare driver (same SQL, prepared)',
  'bare-sync-fts': 'bare driver, FTS5 row in every send (before)',
  store: 'store (`store.transaction` + repositories)',
  engine: 'engine (`ChatEngine.sendMessage`)',
};

const HISTORY_NAMES: Record<string, string> = {
  bare: 'bare driver (the same two SELECTs)',
  store: '`store.messages.page`',
  engine: '`engine.history`',
};

const DIALECT_NAMES = { sqlite: 'SQLite', postgres: 'PostgreSQL' } as const;

const rate = (value: number) => Math.round(value).toLocaleString('en');
const ms = (value: number) => value.toFixed(3);

function ratio(dialect: DialectResult, result: ThroughputResult): string {
  const bare = dialect.inserts.find((r) => r.level === 'bare' && r.mode === result.mode);
  if (!bare || result.level === 'bare') return '1.00×';
  return `${(bare.perSecond / result.perSecond).toFixed(2)}×`;
}

function dialectSection(dialect: DialectResult): string[] {
  const lines = [
    `### ${DIALECT_NAMES[dialect.dialect]}: ${dialect.messages.toLocaleString('en')} messages in ${dialect.rooms} rooms`,
    '',
    `${dialect.databaseVersion}.${dialect.fillSeconds === null ? ' Filled database reused from the cache.' : ` Filled in ${dialect.fillSeconds.toFixed(0)} s.`}`,
    '',
    '| level | one send per transaction, msg/s | vs bare | 100 per transaction, msg/s | vs bare |',
    '| --- | ---: | ---: | ---: | ---: |',
  ];
  const levels = [...new Set(dialect.inserts.map((r) => r.level))];
  for (const level of levels) {
    const single = dialect.inserts.find((r) => r.level === level && r.mode === 'single');
    const batched = dialect.inserts.find((r) => r.level === level && r.mode === 'batched');
    const name =
      level === 'engine' ? `${LEVEL_NAMES[level]}; batched: 100 concurrent sends` : LEVEL_NAMES[level];
    lines.push(
      `| ${name} | ${single ? rate(single.perSecond) : '–'} | ${single ? ratio(dialect, single) : '–'} | ${batched ? rate(batched.perSecond) : '–'} | ${batched ? ratio(dialect, batched) : '–'} |`,
    );
  }
  lines.push(
    '',
    '| latest 50 messages of a random room | p50 ms | p99 ms | mean ms | calls |',
    '| --- | ---: | ---: | ---: | ---: |',
  );
  for (const result of dialect.history) {
    lines.push(
      `| ${HISTORY_NAMES[result.level] ?? result.level} | ${ms(result.p50)} | ${ms(result.p99)} | ${ms(result.mean)} | ${result.calls.toLocaleString('en')} |`,
    );
  }
  return lines;
}

/** The Markdown of the storage section for `result`, with `notes` (prose, by hand or generated). */
export function storageSection(result: BenchResult, notes: string[]): string {
  const date = result.startedAt.slice(0, 10);
  const lines = [
    '## Storage',
    '',
    'Messages written per second and history latency of the storage layer, at three levels in the same run:',
    "the bare driver running exactly the statements the store runs (captured through the store's `onQuery`",
    'hook and prepared once), the store (`store.transaction` with the repository calls the engine makes) and',
    'the engine (`ChatEngine.sendMessage`, which also validates, reads the user, room and membership and checks',
    'permissions). "vs bare" is how many times slower than the bare driver. Every send takes the room\'s next',
    'sequence number, inserts the message and appends its event in one transaction; on SQLite the search rows',
    'are written by the deferred indexer, whose work is counted (the bare level runs the same indexer SQL on',
    "the store's schedule, every 100 ms, and every level ends with a final index flush inside the timing).",
    '',
    `Command: \`${result.command}\` — ${date}, Node ${result.node}, ${result.cpus} cores (${result.cpuModel}),`,
    `${result.memoryGiB} GiB. Raw results: \`bench/results/\` (JSON, not committed).`,
    '',
  ];
  for (const dialect of result.dialects) lines.push(...dialectSection(dialect), '');
  if (notes.length > 0) lines.push('Notes:', '', ...notes.map((note) => `- ${note}`), '');
  return lines.join('\n');
}

/** `document` with its `## Storage` section replaced by `section` (or added at the end). */
export function replaceSection(document: string, section: string): string {
  const start = document.search(/^## Storage\s*$/m);
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
