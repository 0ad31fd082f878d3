import type { BackendResult, LlmBenchResult } from './harness.js';

export interface Machine {
  node: string;
  cpus: string;
  memoryGiB: number;
  platform: string;
}

const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(2) : '—');
const signed = (value: number) => (value >= 0 ? `+${ms(value)}` : ms(value));
const rate = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '—');

function rows(result: BackendResult): string[] {
  if (!result.kaiwa || !result.directSummary) return [];
  const line = (path: string, s: NonNullable<BackendResult['kaiwa']>) =>
    `| ${result.backend} | ${path} | ${s.n} | ${s.outputTokens} | ${ms(s.ttftP50)} | ${ms(s.ttftP95)} | ${ms(s.totalP50)} | ${ms(s.totalP95)} | ${rate(s.tokensPerSecondP50)} |`;
  return [line('Kaiwa', result.kaiwa), line('direct', result.directSummary)];
}

/** The `## LLM` section of docs/benchmarks.md for one result. */
export function llmSection(
  result: LlmBenchResult,
  machine: Machine,
  command: string,
  notes: string[],
): string {
  const measured = result.backends.filter((backend) => backend.kaiwa);
  const lines = [
    '## LLM',
    '',
    "Time to first token (TTFT), total time per request and tokens per second through Kaiwa's `ChatModel.stream()`",
    'versus calling the same backend directly, in the same run, on tiny local models. Each backend gets a',
    `warm-up of ${result.settings.warmup} requests per path, then ${result.settings.requests} measured requests per path taking turns`,
    `(Kaiwa, direct, direct, Kaiwa, …); same prompt, \`maxTokens\` ${result.settings.maxTokens}, greedy (temperature 0).`,
    'TTFT is the time from the call to the first non-empty text delta (Kaiwa) or first generated token / text',
    'chunk (direct); tokens/s is output tokens divided by the whole request time, median over requests.',
    '',
    `Command: \`${command}\` — ${result.startedAt.slice(0, 10)}, Node ${machine.node}, ${machine.cpus},`,
    `${machine.memoryGiB} GiB, ${machine.platform}, CPU only. Run took ${(result.durationMs / 1000).toFixed(0)} s. Raw results: \`bench/results/\` (JSON, not committed).`,
    '',
    '| backend | path | n | output tokens | TTFT p50 ms | TTFT p95 ms | total p50 ms | total p95 ms | tokens/s p50 |',
    '| ------- | ---- | -: | ------------: | ----------: | ----------: | -----------: | -----------: | -----------: |',
    ...measured.flatMap(rows),
    '',
    '| backend | direct means | TTFT Δ p50 ms | TTFT Δ p95 ms | total Δ p50 ms | total Δ p95 ms | paired median Δ total ms | same output | < 5 ms |',
    '| ------- | ------------ | ------------: | ------------: | -------------: | -------------: | -----------------------: | ----------- | ------ |',
    ...measured.map((backend) => {
      const o = backend.overhead!;
      const pass = o.totalP50 < 5 && o.ttftP50 < 5 ? 'yes' : 'no';
      return `| ${backend.backend} | ${backend.direct} | ${signed(o.ttftP50)} | ${signed(o.ttftP95)} | ${signed(o.totalP50)} | ${signed(o.totalP95)} | ${signed(backend.pairedMedian!.total)} | ${backend.sameOutput ? 'yes' : 'no'} | ${pass} |`;
    }),
    ...result.backends
      .filter((backend) => backend.skipped)
      .map((backend) => `\n${backend.backend}: skipped — ${backend.skipped}`),
    '',
    'Δ = Kaiwa minus direct (difference of the percentiles; "paired median" is the median of request-by-request',
    'differences). "< 5 ms" judges the medians against the issue\'s aim of < 5 ms added per request.',
    '',
    'Notes:',
    '',
    ...notes.map((note) => `- ${note}`),
    '',
  ];
  return lines.join('\n');
}

/** Replaces the `## LLM` section (up to the next `## ` heading) or appends it; other sections stay as they are. */
export function replaceLlmSection(document: string, section: string): string {
  const start = document.search(/^## LLM\s*$/m);
  if (start === -1) return `${document.replace(/\n*$/, '')}\n\n${section}`;
  const rest = document.slice(start + 1);
  const next = rest.search(/^## /m);
  const end = next === -1 ? document.length : start + 1 + next;
  const after = document.slice(end);
  return `${document.slice(0, start)}${section}${after ? `\n${after}` : ''}`;
}
