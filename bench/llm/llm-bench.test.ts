import { describe, expect, it } from 'vitest';
import { QUICK_SETTINGS, runLlmBench } from './harness.js';
import { llmSection, replaceLlmSection } from './report.js';

describe('bench:llm harness', () => {
  it('measures Kaiwa and direct calls on every local backend with tiny numbers', async () => {
    const result = await runLlmBench({ ...QUICK_SETTINGS, requests: 2, warmup: 1, maxTokens: 3 });
    expect(result.backends.map((backend) => backend.backend)).toEqual([
      'llama-cpp',
      'openai-compatible',
      'transformers',
    ]);
    for (const backend of result.backends) {
      if (backend.skipped) continue;
      expect(backend.kaiwa?.n).toBe(2);
      expect(backend.directSummary?.n).toBe(2);
      expect(backend.sameOutput).toBe(true);
      expect(backend.kaiwa!.ttftP50).toBeGreaterThan(0);
      expect(backend.kaiwa!.totalP50).toBeGreaterThanOrEqual(backend.kaiwa!.ttftP50);
      expect(Number.isFinite(backend.overhead!.totalP50)).toBe(true);
    }
    const machine = { node: process.version, cpus: '2 cores', memoryGiB: 1, platform: 'test' };
    const section = llmSection(result, machine, 'npm run bench:llm', ['a note']);
    expect(section).toMatch(/^## LLM\n/);
    const document = '# Benchmarks\n\n## Storage\n\nkept\n\n## LLM\n\nold\n\n## Other\n\nalso kept\n';
    const replaced = replaceLlmSection(document, section);
    expect(replaced).toContain('kept\n\n## LLM\n');
    expect(replaced).not.toContain('old');
    expect(replaced).toContain('## Other\n\nalso kept\n');
    expect(replaceLlmSection('# B\n\n## Storage\n\nx\n', section)).toBe(
      `# B\n\n## Storage\n\nx\n\n${section}`,
    );
  }, 60_000);
});
