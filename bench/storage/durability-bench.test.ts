import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { durabilityTable, runDurabilityBench } from './durability.js';

const directory = mkdtempSync(join(tmpdir(), 'kaiwa-durability-bench-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe('bench: SQLite NORMAL vs FULL', () => {
  it('measures both modes in one run, single and concurrent, and leaves no database behind', async () => {
    const result = await runDurabilityBench({ sends: 20, senders: 4, rounds: 2, directory });
    expect(result.rounds.map((round) => round.synchronous)).toEqual(['normal', 'full', 'full', 'normal']);
    for (const round of [...result.rounds, result.median.normal, result.median.full]) {
      expect(round.singlePerSecond).toBeGreaterThan(0);
      expect(round.concurrentPerSecond).toBeGreaterThan(0);
      expect(round.singleP99Ms).toBeGreaterThanOrEqual(round.singleP50Ms);
    }
    expect(durabilityTable(result)).toMatch(
      /^\| synchronous .*\n.*\n\| `NORMAL` .*\n\| `FULL` .*\n\| FULL cost/,
    );
    expect(readdirSync(directory)).toEqual([]);
  });
});
