import { afterAll, expect, it } from 'vitest';
import { until } from '../realtime/test-support.js';
import { freePort } from '../scale/scale-test-support.js';
import { type OtlpReceiver, startOtlpReceiver } from './otlp-receiver.js';
import { startTracing } from './tracing.js';

/*
 * An OTLP endpoint that does not answer must never break what is traced: calls go on, the problem is told
 * once (not once per batch), and once more when spans get through again.
 */

let receiver: OtlpReceiver | undefined;
afterAll(async () => {
  await receiver?.close();
});

it('reports an unreachable endpoint once, never throws, and reports when it answers again', async () => {
  const port = await freePort();
  const problems: ({ ok: false; error: unknown } | { ok: true })[] = [];
  const tracing = await startTracing(
    {
      endpoint: `http://127.0.0.1:${port}/v1/traces`,
      headers: {},
      serviceName: 'kaiwa-export-failure-test',
      resourceAttributes: {},
      sampling: { kind: 'always_on' },
    },
    { onExportProblem: (problem) => problems.push(problem) },
  );
  const worker = { work: async (value: number) => value * 2 };
  tracing.traceMethod(worker, 'work', 'work');
  try {
    // Several batches (one a second) while nothing listens: every call still answers.
    for (let round = 0; round < 3; round += 1) {
      expect(await worker.work(round)).toBe(round * 2);
      await new Promise((resolve) => setTimeout(resolve, 1_300));
    }
    await until(() => problems.length > 0, 15_000);
    expect(problems).toHaveLength(1);
    expect(problems[0]?.ok).toBe(false);

    receiver = await startOtlpReceiver(port);
    await until(async () => {
      await worker.work(1);
      return receiver!.spans.some((span) => span.name === 'work');
    }, 30_000);
    await until(() => problems.length === 2, 5_000);
    expect(problems[1]).toEqual({ ok: true });
  } finally {
    await tracing.close();
  }
}, 60_000);
