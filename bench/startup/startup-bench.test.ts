import { describe, expect, it } from 'vitest';
import { replaceStartupSection, type Sample, type StartupResult, startupSection } from './report.js';

const sample = (median: number): Sample => ({ median, min: median - 1, max: median + 1, samples: [median] });
const imported = (ms: number) => ({ importMs: sample(ms), processMs: sample(ms + 80), rssMiB: sample(100) });
const started = (ms: number) => ({ healthMs: sample(ms), rssMiB: sample(120), settledRssMiB: sample(121) });
const modules = (optional: string[]) => ({ files: 1_100, packages: 100, optional });

const result: StartupResult = {
  startedAt: '2026-12-06T12:00:00.000Z',
  command: 'npm run bench:startup',
  node: 'v20.20.2',
  cpus: 2,
  cpuModel: 'CPU',
  memoryGiB: 24,
  runs: 3,
  nodeMs: sample(40),
  builds: [
    {
      label: 'before',
      dist: 'old/dist',
      import: imported(1_800),
      firstStart: started(2_100),
      restart: started(2_300),
      modules: { import: modules(['discord.js']), start: modules(['discord.js', 'openai']) },
    },
    {
      label: 'Kaiwa server',
      dist: 'packages/server/dist',
      import: imported(800),
      firstStart: started(1_000),
      restart: started(1_100),
      modules: { import: modules([]), start: modules([]) },
    },
  ],
  fastify: { import: imported(100), start: started(250), modules: modules([]) },
};

describe('the start-up section', () => {
  it('has a column per build and the baseline, and names the optional packages each start loaded', () => {
    const section = startupSection(result, ['a note']);
    expect(section).toMatch(/^## Start-up\n/);
    expect(section).toContain(
      '| median of the runs (range) | before | Kaiwa server | bare Fastify (baseline) |',
    );
    expect(section).toContain(
      '| restart (same data dir): spawn → `/health` 200, ms | 2,300 (2299–2301) | 1,100',
    );
    expect(section).toContain('Optional packages loaded by a start, before: `discord.js`, `openai`.');
    expect(section).toContain('Optional packages loaded by a start, Kaiwa server: none.');
    expect(section).toContain('- a note');
  });

  it('replaces only its own section of the page, or adds it at the end', () => {
    const page = '# Benchmarks\n\n## Start-up\n\nold\n\n## Storage\n\nkept\n';
    expect(replaceStartupSection(page, '## Start-up\n\nnew\n')).toBe(
      '# Benchmarks\n\n## Start-up\n\nnew\n\n## Storage\n\nkept\n',
    );
    expect(replaceStartupSection('# Benchmarks\n\n## Storage\n\nx\n', '## Start-up\n\nnew\n')).toBe(
      '# Benchmarks\n\n## Storage\n\nx\n\n## Start-up\n\nnew\n',
    );
  });
});
