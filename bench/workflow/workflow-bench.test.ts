import { describe, expect, it } from 'vitest';
import { runWorkflowBench, STEPS } from './harness.js';
import { replaceWorkflowSection, workflowSection } from './report.js';

// A smoke run of the workflow benchmark with tiny numbers (SQLite only): it must run end to end.

describe('workflow benchmark', () => {
  it('measures every level and renders its section', async () => {
    const result = await runWorkflowBench({
      settings: { runs: 4, concurrentRuns: 8, concurrency: 4, warmup: 1, rounds: 2, postgresScale: 1 },
      postgresUrl: undefined,
      log: () => {},
    });
    const [sqlite] = result.dialects;
    expect(sqlite?.levels.map((level) => level.level)).toHaveLength(5);
    for (const level of sqlite!.levels) expect(level.runsPerSecond).toBeGreaterThan(0);
    expect(sqlite!.overheadPerStepMs).toBeGreaterThan(0);
    const section = workflowSection(result, 'npm run bench:workflow');
    expect(section).toContain(`${STEPS}-step`);
    const document = replaceWorkflowSection('# Benchmarks\n\n## Storage\n\ntext\n', section);
    expect(replaceWorkflowSection(document, section)).toBe(document);
    expect(document.indexOf('## Storage')).toBeLessThan(document.indexOf('## Workflow engine'));
  });
});
