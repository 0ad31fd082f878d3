import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BenchSettings } from './common.js';
import { runStorageBench } from './harness.js';
import { replaceSection, storageSection } from './report.js';

// A smoke run of the storage benchmark with tiny numbers: it must run end to end and report sane figures.

const TINY: BenchSettings = {
  messages: 2_000,
  rooms: 4,
  users: 3,
  singleSends: 150,
  batchedSends: 300,
  batchSize: 50,
  historyCalls: 100,
  warmup: 20,
  rounds: 2,
  postgresSingleSends: 50,
  postgresBatchedSends: 100,
};

const dataDir = mkdtempSync(join(tmpdir(), 'kaiwa-storage-bench-'));
afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

describe('storage benchmark', () => {
  it('measures every level on SQLite and reports sane figures', async () => {
    const result = await runStorageBench({ settings: TINY, dialects: ['sqlite'], dataDir, command: 'test' });
    expect(result.dialects).toHaveLength(1);
    const sqlite = result.dialects[0]!;
    expect(sqlite).toMatchObject({
      dialect: 'sqlite',
      messages: TINY.messages,
      rooms: TINY.rooms,
      cached: false,
    });
    expect(sqlite.statements.insertMessage).toMatch(/^insert into "messages"/);

    const levels = ['bare', 'bare-sync-fts', 'store', 'engine'];
    expect(sqlite.inserts.map((r) => `${r.level}/${r.mode}`)).toEqual([
      ...levels.map((level) => `${level}/single`),
      ...levels.map((level) => `${level}/batched`),
    ]);
    for (const insert of sqlite.inserts) {
      expect(insert.messages).toBe(insert.mode === 'single' ? TINY.singleSends : TINY.batchedSends);
      expect(insert.batch).toBe(insert.mode === 'single' ? 1 : TINY.batchSize);
      expect(insert.seconds).toBeGreaterThan(0);
      expect(insert.perSecond).toBeGreaterThan(0);
    }
    expect(sqlite.history.map((r) => r.level)).toEqual(['bare', 'store', 'engine']);
    for (const history of sqlite.history) {
      expect(history.calls).toBe(TINY.historyCalls);
      expect(history.p50).toBeGreaterThan(0);
      expect(history.p99).toBeGreaterThanOrEqual(history.p50);
    }

    // A second run reuses the filled file.
    const again = await runStorageBench({
      settings: { ...TINY, singleSends: 20, batchedSends: 50, historyCalls: 20 },
      dialects: ['sqlite'],
      dataDir,
      command: 'test',
    });
    expect(again.dialects[0]).toMatchObject({ cached: true, fillSeconds: null, messages: TINY.messages });

    const section = storageSection(result, ['a note']);
    expect(section).toMatch(/^## Storage\n/);
    expect(section).toContain('| engine (`ChatEngine.sendMessage`)');
    expect(section).toContain('- a note');
  }, 60_000);

  it('replaces only the storage section of the benchmarks page', () => {
    const page =
      '# Benchmarks\n\nIntro.\n\n## Realtime\n\nrealtime text\n\n## Storage\n\nold\n\n## Later\n\nlater text\n';
    const replaced = replaceSection(page, '## Storage\n\nnew\n');
    expect(replaced).toBe(
      '# Benchmarks\n\nIntro.\n\n## Realtime\n\nrealtime text\n\n## Storage\n\nnew\n\n## Later\n\nlater text\n',
    );
    expect(replaceSection('# Benchmarks\n\n## Realtime\n\nx\n', '## Storage\n\nnew\n')).toBe(
      '# Benchmarks\n\n## Realtime\n\nx\n\n## Storage\n\nnew\n',
    );
    expect(replaceSection('', '## Storage\n\nnew\n')).toBe('# Benchmarks\n\n## Storage\n\nnew\n');
  });
});
