import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { BenchResult, BenchSettings } from './common.js';
import { FULL_SETTINGS, QUICK_SETTINGS, runStorageBench } from './harness.js';
import { replaceSection, storageSection } from './report.js';

/*
 * npm run bench:storage [-- --quick] [--dialects sqlite,postgres] [--messages N] [--pg-url URL]
 *                       [--keep-pg] [--pg-unnamed] [--engine-actor id|user] [--rounds N]
 *                       [--docs | --no-docs] [--report bench/results/storage-….json]
 *
 * Full run: 1,000,000 messages per database (the SQLite file is cached in .bench-data/, the PostgreSQL
 * schema is dropped afterwards unless --keep-pg), results to bench/results/ and, for a full run, the
 * `## Storage` section of docs/benchmarks.md. --quick: 20,000 messages, a smoke run in seconds.
 * --pg-unnamed: the PostgreSQL store without server-side prepared statements (`preparedStatements: false`),
 * as kysely sends them by default, to compare with. --engine-actor user: the engine level sends with each
 * author's `User` loaded once, as the realtime connection and the REST routes do (default `id`: the engine
 * reads the user per send, as for bots and workflows). --rounds: split each measurement in N rounds, the
 * levels taking turns (medians reported).
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    dialects: { type: 'string', default: 'sqlite,postgres' },
    messages: { type: 'string' },
    'pg-url': { type: 'string' },
    'keep-pg': { type: 'boolean', default: false },
    'pg-unnamed': { type: 'boolean', default: false },
    /** `user`: the engine level sends with a `User` held (realtime, REST); `id` (default): by id (bots). */
    'engine-actor': { type: 'string', default: 'id' },
    /** Rounds per measurement, the levels taking turns (default: the settings'). */
    rounds: { type: 'string' },
    docs: { type: 'boolean' },
    /** Re-renders docs/benchmarks.md from a saved result (after editing notes.md), without measuring. */
    report: { type: 'string' },
    'no-docs': { type: 'boolean', default: false },
  },
});

const settings: BenchSettings = { ...(values.quick ? QUICK_SETTINGS : FULL_SETTINGS) };
if (values.messages !== undefined) settings.messages = Number(values.messages);
if (values.rounds !== undefined) settings.rounds = Number(values.rounds);
if (values['engine-actor'] !== 'id' && values['engine-actor'] !== 'user')
  throw new Error(`--engine-actor must be id or user, not ${values['engine-actor']}`);
settings.engineActor = values['engine-actor'];
const dialects = values.dialects.split(',').map((name) => name.trim());
for (const dialect of dialects) {
  if (dialect !== 'sqlite' && dialect !== 'postgres') throw new Error(`unknown dialect ${dialect}`);
}
const postgresUrl =
  values['pg-url'] ??
  process.env.KAIWA_BENCH_PG_URL ??
  process.env.KAIWA_TEST_PG_URL ??
  'postgres://postgres@127.0.0.1:5432/test';
const command = [
  'npm run bench:storage',
  ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : []),
]
  .join(' ')
  .replace(/--pg-url[= ]\S+/, '--pg-url …');

const result = values.report
  ? (JSON.parse(readFileSync(values.report, 'utf8')) as BenchResult)
  : await runStorageBench({
      settings,
      dialects: dialects as ('sqlite' | 'postgres')[],
      dataDir: `${root}.bench-data`,
      postgresUrl,
      keepPostgres: values['keep-pg'],
      postgresPreparedStatements: !values['pg-unnamed'],
      command,
      log: (line) => console.log(line),
    });

if (!values.report) {
  mkdirSync(`${root}bench/results`, { recursive: true });
  const json = `${root}bench/results/storage-${result.startedAt.replaceAll(':', '-')}.json`;
  writeFileSync(json, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`results: ${json}`);
}

const writeDocs = values.docs ?? (!values.quick && !values['no-docs']);
if (writeDocs) {
  const file = `${root}docs/benchmarks.md`;
  const notesFile = `${root}bench/storage/notes.md`;
  // Notes are prose about the latest numbers, kept by hand next to the harness.
  const notes = existsSync(notesFile)
    ? readFileSync(notesFile, 'utf8')
        .split(/\n(?=- )/)
        .map((note) => note.replace(/^- /, '').replace(/\s+/g, ' ').trim())
        .filter((note) => note !== '')
    : [];
  const current = existsSync(file) ? readFileSync(file, 'utf8') : '';
  writeFileSync(file, replaceSection(current, storageSection(result, notes)));
  // Biome formats Markdown too (aligned tables): leave the page as `npm run lint` wants it.
  execFileSync(`${root}node_modules/.bin/biome`, ['format', '--write', file], { stdio: 'ignore' });
  console.log(`updated ${file}`);
}
