import {
  type ChatModel,
  type ChatStreamPart,
  createId,
  InProcessBus,
  ModelError,
  type WorkflowRun,
  type WorkflowStepRecord,
} from '@kaiwa/core';
import { createSqliteStore } from '@kaiwa/store-kysely';
import type { StepContext, StepType } from '@kaiwa/workflow';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { instrumentBus } from './instrument-bus.js';
import { instrumentChatModel } from './instrument-chat-model.js';
import { countWorkflowOutcomes, instrumentStepTypes } from './instrument-workflows.js';
import { inboxBacklog, outboxBacklog } from './platform-queue-backlog.js';
import { ServerMetrics } from './server-metrics.js';

/** One sample's value from the registry, or undefined when the series has no such sample. */
const PAGE_ONE = { page: 1, text: 'a', confidence: 90 };
const PAGE_TWO = { page: 2, text: 'b', confidence: 90 };

async function sample(
  metrics: ServerMetrics,
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  const metricName = name.replace(/_(count|sum|bucket)$/, '');
  const metric = metrics.registry.getSingleMetric(metricName) ?? metrics.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  const found = values.find(
    (value) =>
      ((value as { metricName?: string }).metricName ?? metricName) === name &&
      Object.entries(labels).every(([key, wanted]) => String(value.labels[key]) === wanted),
  );
  return found?.value;
}

function fakeModel(parts: ChatStreamPart[], delayMs = 5): ChatModel {
  return {
    specificationVersion: 'v1',
    provider: 'fake',
    modelId: 'tiny-model',
    capabilities: { streaming: true, tools: false, stopSequences: false, seed: false },
    async generate() {
      return {
        text: 'hello',
        toolCalls: [],
        finishReason: 'stop',
        usage: { inputTokens: 7, outputTokens: 2, totalTokens: 9 },
        warnings: [],
      };
    },
    stream() {
      return new ReadableStream<ChatStreamPart>({
        async start(controller) {
          for (const part of parts) {
            await new Promise((resolve) => setTimeout(resolve, delayMs));
            controller.enqueue(part);
          }
          controller.close();
        },
      });
    },
  };
}

describe('instrumentChatModel', () => {
  it('counts requests, tokens, duration and time to first token per model, passing parts through', async () => {
    const metrics = new ServerMetrics({ collectProcessMetrics: false });
    const parts: ChatStreamPart[] = [
      { type: 'stream-start', warnings: [] },
      { type: 'text-delta', delta: 'こん' },
      { type: 'text-delta', delta: 'にちは' },
      { type: 'finish', finishReason: 'stop', usage: { inputTokens: 10, outputTokens: 3, totalTokens: 13 } },
    ];
    const model = instrumentChatModel(fakeModel(parts), metrics);
    expect(model.modelId).toBe('tiny-model');
    const seen: ChatStreamPart[] = [];
    for await (const part of model.stream({ messages: [] }) as unknown as AsyncIterable<ChatStreamPart>) {
      seen.push(part);
    }
    expect(seen).toEqual(parts);
    expect((await model.generate({ messages: [] })).text).toBe('hello');

    const labels = { model: 'tiny-model' };
    expect(
      await sample(metrics, 'kaiwa_llm_requests_total', { ...labels, operation: 'stream', outcome: 'ok' }),
    ).toBe(1);
    expect(
      await sample(metrics, 'kaiwa_llm_requests_total', { ...labels, operation: 'generate', outcome: 'ok' }),
    ).toBe(1);
    expect(await sample(metrics, 'kaiwa_llm_tokens_total', { ...labels, kind: 'input' })).toBe(17);
    expect(await sample(metrics, 'kaiwa_llm_tokens_total', { ...labels, kind: 'output' })).toBe(5);
    expect(await sample(metrics, 'kaiwa_llm_time_to_first_token_seconds_count', labels)).toBe(1);
    const firstToken = await sample(metrics, 'kaiwa_llm_time_to_first_token_seconds_sum', labels);
    const whole = await sample(metrics, 'kaiwa_llm_request_duration_seconds_sum', {
      ...labels,
      operation: 'stream',
    });
    expect(firstToken).toBeGreaterThan(0);
    expect(whole).toBeGreaterThan(firstToken ?? 0);
  });

  it('counts error parts and aborts by outcome', async () => {
    const metrics = new ServerMetrics({ collectProcessMetrics: false });
    const failing = instrumentChatModel(
      fakeModel([
        {
          type: 'error',
          error: new ModelError('backend_unreachable', 'connection refused', { isRetryable: true }),
        },
      ]),
      metrics,
    );
    const aborted = instrumentChatModel(
      fakeModel([{ type: 'error', error: new ModelError('aborted', 'cancelled', { isRetryable: false }) }]),
      metrics,
    );
    for (const model of [failing, aborted]) {
      for await (const _ of model.stream({ messages: [] }) as unknown as AsyncIterable<ChatStreamPart>) {
        // drain
      }
    }
    expect(await sample(metrics, 'kaiwa_llm_requests_total', { operation: 'stream', outcome: 'error' })).toBe(
      1,
    );
    expect(
      await sample(metrics, 'kaiwa_llm_requests_total', { operation: 'stream', outcome: 'aborted' }),
    ).toBe(1);
  });
});

describe('workflow instrumentation', () => {
  it('times each try by step type and outcome, and counts retries', async () => {
    const metrics = new ServerMetrics({ collectProcessMetrics: false });
    const flaky: StepType = {
      type: 'ocr',
      description: 'fails on its first try',
      input: z.unknown(),
      retryable: () => true,
      async run(_input, context) {
        if (context.attempt === 1) throw new Error('scanner busy');
        return { text: 'a\n\nb', confidence: 90, pages: [PAGE_ONE, PAGE_TWO] };
      },
    };
    const [timed] = instrumentStepTypes([flaky], metrics) as [StepType];
    expect(timed.type).toBe('ocr');
    expect(timed.retryable?.(new Error('x'))).toBe(true);
    const context = { attempt: 1 } as StepContext;
    await expect(timed.run({}, context)).rejects.toThrow('scanner busy');
    await expect(timed.run({}, { ...context, attempt: 2 })).resolves.toMatchObject({
      pages: [PAGE_ONE, PAGE_TWO],
    });
    expect(
      await sample(metrics, 'kaiwa_workflow_step_attempt_duration_seconds_count', {
        type: 'ocr',
        outcome: 'error',
      }),
    ).toBe(1);
    expect(
      await sample(metrics, 'kaiwa_workflow_step_attempt_duration_seconds_count', {
        type: 'ocr',
        outcome: 'ok',
      }),
    ).toBe(1);
    expect(await sample(metrics, 'kaiwa_workflow_step_retries_total', { type: 'ocr' })).toBe(1);
    // The pages of the try that read them; the failed try read none.
    expect(await sample(metrics, 'kaiwa_ocr_pages_total')).toBe(2);
  });

  it('counts finished runs and steps once each, with the run duration', async () => {
    const metrics = new ServerMetrics({ collectProcessMetrics: false });
    const bus = countWorkflowOutcomes(new InProcessBus(), metrics);
    const run = {
      id: 'run-1',
      status: 'succeeded',
      startedAt: '2026-12-01T00:00:00.000Z',
      finishedAt: '2026-12-01T00:00:02.500Z',
    } as WorkflowRun;
    const step = { runId: 'run-1', stepId: 'read', type: 'ocr', status: 'failed' } as WorkflowStepRecord;
    await bus.publish({ type: 'workflow.run.updated', payload: { run: { ...run, status: 'running' } } });
    await bus.publish({ type: 'workflow.step.updated', payload: { runId: 'run-1', step } });
    await bus.publish({ type: 'workflow.step.updated', payload: { runId: 'run-1', step } });
    await bus.publish({ type: 'workflow.run.updated', payload: { run } });
    await bus.publish({ type: 'workflow.run.updated', payload: { run } });
    expect(await sample(metrics, 'kaiwa_workflow_runs_total', { status: 'succeeded' })).toBe(1);
    expect(await sample(metrics, 'kaiwa_workflow_runs_total', { status: 'running' })).toBeUndefined();
    expect(await sample(metrics, 'kaiwa_workflow_run_duration_seconds_sum', { status: 'succeeded' })).toBe(
      2.5,
    );
    expect(await sample(metrics, 'kaiwa_workflow_steps_total', { type: 'ocr', status: 'failed' })).toBe(1);
    await bus.close();
  });
});

describe('instrumentBus', () => {
  it('counts published and delivered events, and reports the connection state', async () => {
    const metrics = new ServerMetrics({ collectProcessMetrics: false });
    const raw = new InProcessBus();
    const bus = instrumentBus(raw, metrics);
    const received: string[] = [];
    bus.subscribe((event) => received.push(event.type));
    await bus.publish({ type: 'typing', payload: { roomId: 'r1', userId: 'u1', typing: true } } as never);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(received).toEqual(['typing']);
    expect(await sample(metrics, 'kaiwa_bus_published_events_total', { outcome: 'ok' })).toBe(1);
    expect(await sample(metrics, 'kaiwa_bus_delivered_events_total')).toBe(1);

    let connected = true;
    metrics.watch({ busStatus: () => ({ kind: 'redis', connected }) });
    expect(await sample(metrics, 'kaiwa_bus_connected', { kind: 'redis' })).toBe(1);
    connected = false;
    expect(await sample(metrics, 'kaiwa_bus_connected', { kind: 'redis' })).toBe(0);
    await bus.close();
  });

  it('keeps a gauge at its last value when its source fails, without failing the scrape', async () => {
    const metrics = new ServerMetrics({ collectProcessMetrics: false });
    let fail = false;
    metrics.watch({
      outbox: async () => {
        if (fail) throw new Error('database away');
        return { pending: 4, oldestAgeSeconds: 30 };
      },
    });
    expect(await metrics.registry.metrics()).toContain('kaiwa_platform_outbox_pending 4');
    fail = true;
    const text = await metrics.registry.metrics();
    expect(text).toContain('kaiwa_platform_outbox_pending 4');
    expect(text).toContain('kaiwa_platform_outbox_oldest_pending_age_seconds 30');
  });

  it('reports the platform inbox and outbox backlog from a real store', async () => {
    const store = await createSqliteStore({ filename: ':memory:' });
    await store.migrate();
    const now = new Date('2026-12-07T10:00:00.000Z');
    const clock = () => now;
    const metrics = new ServerMetrics({ collectProcessMetrics: false });
    metrics.watch({ inbox: () => inboxBacklog(store, clock), outbox: () => outboxBacklog(store, clock) });
    expect(await sample(metrics, 'kaiwa_platform_inbox_pending')).toBe(0);
    expect(await sample(metrics, 'kaiwa_platform_inbox_oldest_pending_age_seconds')).toBe(0);
    for (const [eventId, secondsAgo] of [
      ['Ev1', 90],
      ['Ev2', 30],
    ] as const) {
      await store.platformInbox.record({
        id: createId(),
        consumer: 'bridge',
        platform: 'slack',
        eventId,
        event: { kind: 'message' } as never,
        receivedAt: new Date(now.getTime() - secondsAgo * 1000).toISOString(),
      });
    }
    // Another consumer's queue is not the bridge's.
    await store.platformInbox.record({
      id: createId(),
      consumer: 'bot:helper',
      platform: 'slack',
      eventId: 'Ev3',
      event: { kind: 'message' } as never,
      receivedAt: new Date(now.getTime() - 600_000).toISOString(),
    });
    expect(await sample(metrics, 'kaiwa_platform_inbox_pending')).toBe(2);
    expect(await sample(metrics, 'kaiwa_platform_inbox_oldest_pending_age_seconds')).toBe(90);
    expect(await sample(metrics, 'kaiwa_platform_outbox_pending')).toBe(0);
    await store.close();
  });
});
