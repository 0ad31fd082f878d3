import { ChatEngine, type ChatStreamPart, InProcessBus, type WorkflowRun } from '@kaiwa/core';
import { createSqliteStore } from '@kaiwa/store-kysely';
import { defineStepType, WorkflowEngine } from '@kaiwa/workflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startTestServer, type TestServer } from '../../../llm/src/test-support/start-test-server.js';
import { createAssistantChatModel } from '../assistant-composition.js';
import { loadConfig } from '../config.js';
import { until } from '../realtime/test-support.js';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from './otlp-receiver.js';
import { startTracing, type Tracing } from './tracing.js';

/*
 * The spans of LLM calls and workflow runs, in this process: the real SDK exporting to a real OTLP/HTTP
 * receiver, a real OpenAI-compatible server over HTTP, and a real workflow engine on SQLite.
 */

let receiver: OtlpReceiver;
let tracing: Tracing;
let modelServer: TestServer;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  modelServer = await startTestServer();
  tracing = await startTracing(
    {
      endpoint: `${receiver.url}/v1/traces`,
      headers: {},
      serviceName: 'kaiwa-spans-test',
      resourceAttributes: { 'deployment.environment.name': 'test' },
      sampling: { kind: 'always_on' },
    },
    { onExportProblem: () => undefined },
  );
}, 30_000);

afterAll(async () => {
  await tracing?.close();
  await modelServer?.stop();
  await receiver?.close();
});

const spanNamed = (name: string, filter: (span: ReceivedSpan) => boolean = () => true) =>
  receiver.spans.find((span) => span.name === name && filter(span));

describe('tracing spans in one process', () => {
  it('a streamed LLM call: model, tokens and time to first token, never the prompt or the answer', async () => {
    const { assistant } = loadConfig({
      env: { KAIWA_LLM_BASE_URL: modelServer.baseURL, KAIWA_LLM_MODEL: 'plain-model' },
    });
    const model = await createAssistantChatModel(assistant!, { tracing });
    const stream = model.stream({
      messages: [{ role: 'user', content: 'a secret question about the harvest' }],
      maxTokens: 50,
    });
    const parts: ChatStreamPart[] = [];
    for await (const part of stream) parts.push(part);
    expect(parts.at(-1)?.type).toBe('finish');

    await until(() => spanNamed('chat plain-model') !== undefined, 10_000);
    const span = spanNamed('chat plain-model')!;
    expect(span.service).toBe('kaiwa-spans-test');
    expect(span.attributes['gen_ai.request.model']).toBe('plain-model');
    expect(span.attributes['gen_ai.operation.name']).toBe('chat');
    expect(span.attributes['kaiwa.llm.operation']).toBe('stream');
    expect(typeof span.attributes['kaiwa.llm.time_to_first_token_ms']).toBe('number');
    expect(span.attributes['gen_ai.usage.output_tokens']).toBeGreaterThan(0);
    const bodies = receiver.bodies.join('\n');
    expect(bodies).not.toContain('harvest');
    expect(bodies).not.toContain('Kaiwa.');
  }, 30_000);

  it('a streamed LLM call the consumer cancels or aborts still ends its span', async () => {
    const { assistant } = loadConfig({
      env: { KAIWA_LLM_BASE_URL: modelServer.baseURL, KAIWA_LLM_MODEL: 'slow' },
    });
    const model = await createAssistantChatModel(assistant!, { tracing });
    const request = { messages: [{ role: 'user' as const, content: 'tick for a while' }], maxTokens: 500 };
    // The consumer leaves after the first text (the 'slow' model would stream for 4 s more).
    for await (const part of model.stream(request)) if (part.type === 'text-delta') break;
    // The caller aborts mid-way and reads on to the end.
    const controller = new AbortController();
    const parts: ChatStreamPart[] = [];
    for await (const part of model.stream(request, { abortSignal: controller.signal })) {
      parts.push(part);
      if (part.type === 'text-delta') controller.abort();
    }
    expect(parts.at(-1)).toMatchObject({ type: 'error', error: { code: 'aborted' } });

    const slowSpans = () => receiver.spans.filter((span) => span.name === 'chat slow');
    await until(() => slowSpans().length === 2, 10_000);
    const cancelled = slowSpans().find((span) => span.attributes['kaiwa.llm.cancelled'] === true);
    expect(cancelled?.statusCode).toBe(0); // unset: the caller stopped it, the model did not fail
    expect(typeof cancelled?.attributes['kaiwa.llm.time_to_first_token_ms']).toBe('number');
    const aborted = slowSpans().find((span) => span !== cancelled);
    expect(aborted?.statusCode).toBe(2);
    expect(aborted?.attributes['error.type']).toBe('aborted');
  }, 30_000);

  it('a method put inside a span (transcription, knowledge search …) is traced also when its object calls it', async () => {
    class Index {
      #calls = 0;
      async retrieve(query: string): Promise<number[]> {
        this.#calls += 1;
        if (query === 'fail') throw Object.assign(new Error(`no luck with ${query}`), { code: 'index_down' });
        return [query.length, this.#calls];
      }
      answer(query: string): Promise<number[]> {
        return this.retrieve(query);
      }
    }
    const index = new Index();
    tracing.traceMethod(index, 'retrieve', 'index search', { 'kaiwa.index': 'test' });
    expect(await index.answer('a private query')).toEqual([15, 1]);
    await expect(index.retrieve('fail')).rejects.toMatchObject({ code: 'index_down' });
    await until(() => receiver.spans.filter((span) => span.name === 'index search').length === 2, 10_000);
    const [ok, failed] = receiver.spans.filter((span) => span.name === 'index search');
    expect(ok?.attributes['kaiwa.index']).toBe('test');
    expect(ok?.statusCode).toBe(0);
    expect(failed?.statusCode).toBe(2);
    expect(failed?.attributes['error.type']).toBe('index_down');
    expect(receiver.bodies.join('\n')).not.toContain('private query');
    expect(receiver.bodies.join('\n')).not.toContain('no luck');
  }, 30_000);

  it('a workflow run is a trace: its steps are children of the run; a resumed run links to the first part', async () => {
    const store = await createSqliteStore({ filename: ':memory:' });
    await store.migrate();
    const bus = new InProcessBus();
    const engine = new ChatEngine({ store, bus });
    const actor = await engine.createUser({ username: 'flow' });
    const echo = defineStepType({
      type: 'echo',
      description: 'Returns its input',
      input: z.object({ text: z.string() }),
      run: async (input) => input,
    });
    const workflowBus = tracing.traceWorkflowRuns(bus);
    const workflows = new WorkflowEngine({
      store,
      bus: workflowBus,
      services: { chat: engine, store },
      steps: tracing.traceStepTypes([echo]),
    });
    try {
      await workflows.define(
        {
          id: 'traced-flow',
          name: 'Traced',
          steps: [
            { id: 'first', type: 'echo', input: { text: 'private words' } },
            { id: 'second', type: 'echo', input: { text: '{{ steps.first.text }}' } },
          ],
        },
        actor.id,
      );
      const started = await workflows.start('traced-flow', { actorId: actor.id, trigger: {} });
      const { run } = await workflows.waitForRun(started.id, { timeoutMs: 10_000 });
      expect(run.status).toBe('succeeded');

      await until(
        () => receiver.spans.filter((span) => span.name === 'workflow step echo').length === 2,
        10_000,
      );
      const runSpan = spanNamed(
        'workflow run traced-flow',
        (span) => span.attributes['kaiwa.workflow.run_id'] === run.id,
      )!;
      expect(runSpan.parentSpanId).toBe('');
      expect(runSpan.attributes['kaiwa.workflow.status']).toBe('succeeded');
      expect(runSpan.attributes['kaiwa.workflow.resumed']).toBe(false);
      const steps = receiver.spans.filter((span) => span.name === 'workflow step echo');
      for (const step of steps) {
        expect(step.traceId).toBe(runSpan.traceId);
        expect(step.parentSpanId).toBe(runSpan.spanId);
      }
      expect(steps.map((step) => step.attributes['kaiwa.workflow.step_id']).sort()).toEqual([
        'first',
        'second',
      ]);

      // The same run announced as running again by a process started after it (a restart resumed it).
      const resumed: WorkflowRun = {
        ...run,
        status: 'running',
        startedAt: new Date(Date.now() - 3_600_000).toISOString(),
        finishedAt: null,
      };
      await workflowBus.publish({ type: 'workflow.run.updated', payload: { run: resumed } });
      await workflowBus.publish({
        type: 'workflow.run.updated',
        payload: { run: { ...resumed, status: 'succeeded', finishedAt: new Date().toISOString() } },
      });
      await until(
        () => receiver.spans.filter((span) => span.name === 'workflow run traced-flow').length === 2,
        10_000,
      );
      const later = spanNamed('workflow run traced-flow', (span) => span.spanId !== runSpan.spanId)!;
      expect(later.traceId, 'one trace per run').toBe(runSpan.traceId);
      expect(later.attributes['kaiwa.workflow.resumed']).toBe(true);
      expect(later.links).toContainEqual(
        expect.objectContaining({ traceId: runSpan.traceId, spanId: runSpan.spanId }),
      );
      expect(receiver.bodies.join('\n')).not.toContain('private words');
    } finally {
      await workflows.close();
      engine.close();
      await store.close();
    }
  }, 30_000);
});
