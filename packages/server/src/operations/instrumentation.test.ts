import { randomUUID } from 'node:crypto';
import { createRedisBus } from '@kaiwa/bus-redis';
import {
  type ChatModel,
  type ChatStreamPart,
  createId,
  encodeBusEnvelope,
  InProcessBus,
  ModelError,
  type WorkflowRun,
  type WorkflowStepRecord,
} from '@kaiwa/core';
import { createSqliteStore } from '@kaiwa/store-kysely';
import type { StepContext, StepType } from '@kaiwa/workflow';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { until } from '../realtime/test-support.js';
import { instrumentBus } from './instrument-bus.js';
import { instrumentChatModel } from './instrument-chat-model.js';
import { countWorkflowOutcomes, instrumentStepTypes } from './instrument-workflows.js';
import { inboxBacklog, outboxBacklog } from './platform-queue-backlog.js';
import { ServerMetrics } from './server-metrics.js';

const redisUrl = process.env.KAIWA_TEST_REDIS_URL || undefined;
if (!redisUrl) console.info('[bus delivery lag over Redis] skipped: set KAIWA_TEST_REDIS_URL to run it');

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
    const bus = instrumentBus(raw, metrics, 'memory');
    const received: string[] = [];
    bus.subscribe((event) => received.push(event.type));
    await bus.publish({ type: 'typing', payload: { roomId: 'r1', userId: 'u1', typing: true } } as never);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(received).toEqual(['typing']);
    expect(await sample(metrics, 'kaiwa_bus_published_events_total', { outcome: 'ok' })).toBe(1);
    expect(await sample(metrics, 'kaiwa_bus_delivered_events_total')).toBe(1);
    // Its own events have no lag to measure; the series is there from the start all the same.
    expect(await sample(metrics, 'kaiwa_bus_delivery_lag_seconds_count', { kind: 'memory' })).toBe(0);

    let connected = true;
    metrics.watch({ busStatus: () => ({ kind: 'redis', connected }) });
    expect(await sample(metrics, 'kaiwa_bus_connected', { kind: 'redis' })).toBe(1);
    connected = false;
    expect(await sample(metrics, 'kaiwa_bus_connected', { kind: 'redis' })).toBe(0);
    await bus.close();
  });

  it.skipIf(!redisUrl)('measures the delivery lag of events from another instance over Redis', async () => {
    const channel = `kaiwa:test:lag:${randomUUID()}`;
    const [rawA, rawB] = await Promise.all([
      createRedisBus({ url: redisUrl, channel }),
      createRedisBus({ url: redisUrl, channel }),
    ]);
    const metricsA = new ServerMetrics({ collectProcessMetrics: false });
    const metricsB = new ServerMetrics({ collectProcessMetrics: false });
    const a = instrumentBus(rawA, metricsA, 'redis');
    const b = instrumentBus(rawB, metricsB, 'redis');
    const onB: string[] = [];
    b.subscribe((event) => onB.push(event.type));
    const count = 50;
    for (let index = 0; index < count; index += 1) {
      await a.publish({
        type: 'typing',
        payload: { roomId: 'r1', userId: `u${index}`, typing: true },
      } as never);
    }
    await until(() => onB.length === count, 5_000);
    const lag = (metrics: ServerMetrics, name: string) => sample(metrics, name, { kind: 'redis' });
    expect(await lag(metricsB, 'kaiwa_bus_delivery_lag_seconds_count')).toBe(count);
    const lagSum = (await lag(metricsB, 'kaiwa_bus_delivery_lag_seconds_sum')) ?? Number.NaN;
    expect(lagSum).toBeGreaterThanOrEqual(0);
    expect(lagSum / count).toBeLessThan(2);
    expect(await lag(metricsB, 'kaiwa_bus_delivery_clock_skew_total')).toBe(0);
    // The publisher delivered its own events at once: counted, with no lag to measure.
    expect(await sample(metricsA, 'kaiwa_bus_delivered_events_total')).toBe(count);
    expect(await lag(metricsA, 'kaiwa_bus_delivery_lag_seconds_count')).toBe(0);

    // A publisher whose clock runs a minute ahead: no negative lag, counted as clock skew.
    const ahead = encodeBusEnvelope(
      'host-ahead',
      { type: 'typing', payload: {} } as never,
      undefined,
      Date.now() + 60_000,
    );
    await rawA.client.publish(channel, ahead);
    await until(() => onB.length === count + 1, 5_000);
    expect(await lag(metricsB, 'kaiwa_bus_delivery_clock_skew_total')).toBe(1);
    expect(await lag(metricsB, 'kaiwa_bus_delivery_lag_seconds_count')).toBe(count + 1);
    expect(await lag(metricsB, 'kaiwa_bus_delivery_lag_seconds_sum')).toBe(lagSum);
    await Promise.all([a.close(), b.close()]);
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
