import { createServer } from 'node:net';
import {
  BackendResponseError,
  BackendUnreachableError,
  type ChatStreamPart,
  ContextTooLongError,
  ModelAbortedError,
  ModelError,
  ModelMissingError,
  ModelTimeoutError,
  RateLimitedError,
} from '@kaiwa/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createElyzaPreset } from '../templates/elyza-preset.js';
import { startTestServer, type TestServer } from '../test-support/start-test-server.js';
import { createOpenAICompatibleChatModel } from './openai-compatible-chat-model.js';
import { createOpenAICompatibleEmbeddingModel } from './openai-compatible-embedding-model.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

const messages = [{ role: 'user' as const, content: 'say hello please' }];

function model(name: string, extra: { maxRetries?: number; timeoutMs?: number; key?: string } = {}) {
  return createOpenAICompatibleChatModel({
    baseURL: server.baseURL,
    model: name,
    maxRetries: extra.maxRetries ?? 0,
    timeoutMs: extra.timeoutMs ?? 5_000,
    ...(extra.key ? { headers: { 'x-test-key': extra.key } } : {}),
  });
}

async function readAll(stream: ReadableStream<ChatStreamPart>): Promise<ChatStreamPart[]> {
  const parts: ChatStreamPart[] = [];
  for await (const part of stream) parts.push(part);
  return parts;
}

describe('OpenAI-compatible chat model against a real SSE server', () => {
  it('streams text deltas in order, then one finish with usage', async () => {
    const parts = await readAll(model('echo').stream({ messages }));
    expect(parts.map((part) => part.type)).toEqual([
      'stream-start',
      ...Array(8).fill('text-delta'),
      'finish',
    ]);
    expect(parts[0]).toEqual({ type: 'stream-start', warnings: [] });
    const text = parts.map((part) => (part.type === 'text-delta' ? part.delta : '')).join('');
    expect(text).toBe('Hello from Kaiwa. The end STOP after stop.');
    expect(parts.at(-1)).toEqual({
      type: 'finish',
      finishReason: 'stop',
      usage: { inputTokens: 3, outputTokens: 8, totalTokens: 11 },
    });
  });

  it('sends stop sequences, maxTokens and temperature, and reports length finishes', async () => {
    const echo = model('echo', { key: 'params' });
    const stopped = await echo.generate({ messages, stopSequences: [' STOP'], temperature: 0 });
    expect(stopped.text).toBe('Hello from Kaiwa. The end');
    expect(stopped.finishReason).toBe('stop');
    const limited = await echo.generate({ messages, maxTokens: 2 });
    expect(limited).toMatchObject({ text: 'Hello from', finishReason: 'length' });
    expect(limited.usage).toEqual({ inputTokens: 3, outputTokens: 2, totalTokens: 5 });
    const bodies = (await server.requests()).filter((request) => request.key === 'params').map((r) => r.body);
    expect(bodies[0]).toMatchObject({ model: 'echo', stop: [' STOP'], temperature: 0 });
    expect(bodies[1]).toMatchObject({ max_tokens: 2 });
  });

  it('aborts mid-stream: an error part, not a throw, and the server sees the client hang up', async () => {
    const controller = new AbortController();
    const parts: ChatStreamPart[] = [];
    for await (const part of model('slow', { key: 'abort' }).stream(
      { messages },
      { abortSignal: controller.signal },
    )) {
      parts.push(part);
      if (parts.length === 3) controller.abort();
    }
    expect(parts.slice(0, 3).map((part) => part.type)).toEqual(['stream-start', 'text-delta', 'text-delta']);
    const last = parts.at(-1);
    expect(last?.type).toBe('error');
    expect(last?.type === 'error' && last.error).toBeInstanceOf(ModelAbortedError);
    expect(parts.length).toBeLessThan(10);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const [request] = (await server.requests()).filter((r) => r.key === 'abort');
    expect(request?.closedEarly).toBe(true);
  });

  it('rejects generate with ModelAbortedError when the signal is already aborted', async () => {
    await expect(
      model('echo').generate({ messages }, { abortSignal: AbortSignal.abort() }),
    ).rejects.toBeInstanceOf(ModelAbortedError);
  });

  it('retries 429 after its Retry-After, then 503, then succeeds', async () => {
    const flaky = model('flaky', { maxRetries: 2, key: 'retry' });
    const result = await flaky.generate({ messages });
    expect(result.text).toBe('Hello from Kaiwa. The end STOP after stop.');
    const attempts = (await server.requests()).filter((r) => r.key === 'retry');
    expect(attempts).toHaveLength(3);
    // Retry-After: 1 was honoured.
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(950);
  });

  it('maps a final 429 to RateLimitedError with retryAfterMs', async () => {
    const error = await model('always-429')
      .generate({ messages })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).toMatchObject({ code: 'rate_limited', isRetryable: true, retryAfterMs: 7000 });
  });

  it('times out with ModelTimeoutError', async () => {
    const started = Date.now();
    const error = await model('hang', { timeoutMs: 300 })
      .generate({ messages })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelTimeoutError);
    expect((error as ModelError).isRetryable).toBe(true);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('maps missing models, long contexts and server errors to typed errors', async () => {
    await expect(model('missing').generate({ messages })).rejects.toBeInstanceOf(ModelMissingError);
    await expect(model('context').generate({ messages })).rejects.toMatchObject({
      code: 'context_too_long',
      isRetryable: false,
    });
    expect(
      await model('context')
        .generate({ messages })
        .catch((e: unknown) => e),
    ).toBeInstanceOf(ContextTooLongError);
    const serverError = await model('server-error')
      .generate({ messages })
      .catch((e: unknown) => e);
    expect(serverError).toBeInstanceOf(BackendResponseError);
    expect(serverError).toMatchObject({ status: 500, isRetryable: true });
    // In a stream the same failures arrive as an error part.
    const parts = await readAll(model('missing').stream({ messages }));
    expect(parts.map((part) => part.type)).toEqual(['stream-start', 'error']);
    expect(parts[1]?.type === 'error' && parts[1].error).toBeInstanceOf(ModelMissingError);
  });

  it('turns an error event mid-stream into an error part after the text so far', async () => {
    const parts = await readAll(model('mid-error').stream({ messages }));
    expect(parts[1]).toEqual({ type: 'text-delta', delta: 'partial' });
    expect(parts[2]?.type).toBe('error');
    expect(parts[2]?.type === 'error' && ModelError.isInstance(parts[2].error)).toBe(true);
  });

  it('reports an unreachable backend', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const address = probe.address();
        probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    const unreachable = createOpenAICompatibleChatModel({
      baseURL: `http://127.0.0.1:${port}/v1`,
      model: 'x',
      maxRetries: 0,
    });
    const error = await unreachable.generate({ messages }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendUnreachableError);
    expect((error as ModelError).isRetryable).toBe(true);
  });

  it('assembles streamed tool call fragments into whole tool-call parts', async () => {
    const tools = [
      { name: 'search', parameters: { type: 'object', properties: { query: { type: 'string' } } } },
    ];
    const parts = await readAll(model('tool').stream({ messages, tools }));
    expect(parts).toEqual([
      { type: 'stream-start', warnings: [] },
      { type: 'tool-call', toolCallId: 'call_a', toolName: 'search', input: '{"query":"会議"}' },
      {
        type: 'finish',
        finishReason: 'tool-calls',
        usage: { inputTokens: 3, outputTokens: 5, totalTokens: 8 },
      },
    ]);
    const result = await model('tool').generate({ messages, tools });
    expect(result.toolCalls).toEqual([
      { toolCallId: 'call_a', toolName: 'search', input: '{"query":"会議"}' },
    ]);
    expect(result.finishReason).toBe('tool-calls');
  });

  it('sends the ELYZA-formatted prompt to /completions when given a template', async () => {
    const { template } = createElyzaPreset({ bos: 'omit' });
    const elyza = createOpenAICompatibleChatModel({
      baseURL: server.baseURL,
      model: 'echo',
      template,
      maxRetries: 0,
      headers: { 'x-test-key': 'raw' },
    });
    const parts = await readAll(
      elyza.stream({ messages: [{ role: 'user', content: 'こんにちは' }], stopSequences: ['.'] }),
    );
    expect(parts.map((part) => (part.type === 'text-delta' ? part.delta : '')).join('')).toBe(
      'Hello from Kaiwa',
    );
    expect(parts.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
    const [request] = (await server.requests()).filter((r) => r.key === 'raw');
    expect(request?.path).toBe('/v1/completions');
    expect(request?.body.prompt).toBe(
      '[INST] <<SYS>>\nあなたは誠実で優秀な日本人のアシスタントです。\n<</SYS>>\n\nこんにちは [/INST] ',
    );
    expect(request?.body.stop).toEqual(['</s>', '.']);
  });
});

describe('OpenAI-compatible embedding model against a real server', () => {
  it('returns vectors in input order with usage and learns the dimensions', async () => {
    const embedder = createOpenAICompatibleEmbeddingModel({
      baseURL: server.baseURL,
      model: 'embed',
      maxRetries: 0,
    });
    expect(embedder.dimensions).toBeUndefined();
    const { embeddings, usage } = await embedder.embed(['a b', 'hello']);
    expect(embeddings).toEqual([
      [3, 2, (97 + 32 + 98) % 97, 1],
      [5, 1, [...'hello'].reduce((s, c) => s + c.codePointAt(0)!, 0) % 97, 1],
    ]);
    expect(usage).toEqual({ tokens: 3 });
    expect(embedder.dimensions).toBe(4);
    const requests = await server.requests();
    expect(requests.at(-1)?.body).toMatchObject({ encoding_format: 'float', input: ['a b', 'hello'] });
  });

  it('maps errors the same way as the chat model', async () => {
    const embedder = createOpenAICompatibleEmbeddingModel({
      baseURL: server.baseURL,
      model: 'missing',
      maxRetries: 0,
    });
    await expect(embedder.embed(['x'])).rejects.toBeInstanceOf(ModelMissingError);
  });
});
