import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ChatStreamPart, ModelAbortedError } from '@kaiwa/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLlamaCppChatModel } from '../llama-cpp/llama-cpp-chat-model.js';
import { createLlama2ChatTemplate } from '../templates/llama2-chat-template.js';
import { startTestServer, type TestServer } from '../test-support/start-test-server.js';
import { writeTinyGguf } from '../test-support/write-tiny-gguf.js';
import { createOpenAICompatibleChatModel } from './openai-compatible-chat-model.js';

let directory: string;
let modelPath: string;
let server: TestServer;

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'kaiwa-gguf-server-'));
  modelPath = join(directory, 'tiny.gguf');
  writeTinyGguf(modelPath, 'こんにちは');
  server = await startTestServer({ KAIWA_TEST_GGUF: modelPath });
});
afterAll(async () => {
  await server?.stop();
  if (directory) rmSync(directory, { recursive: true, force: true });
});

const messages = [{ role: 'user' as const, content: 'hello' }];

describe('OpenAI-compatible chat model against a server running a tiny GGUF with llama.cpp', () => {
  it('streams what the model generates, with its usage, over real SSE', async () => {
    const direct = createLlamaCppChatModel({
      modelPath,
      template: createLlama2ChatTemplate(),
      threads: 1,
      logger: () => {},
    });
    const expected = await direct.generate({ messages, maxTokens: 10 });
    await direct.dispose();

    const model = createOpenAICompatibleChatModel({
      baseURL: server.baseURL,
      model: 'tiny-gguf',
      maxRetries: 0,
    });
    const parts: ChatStreamPart[] = [];
    for await (const part of model.stream({ messages, maxTokens: 10 })) parts.push(part);
    const text = parts.map((part) => (part.type === 'text-delta' ? part.delta : '')).join('');
    expect(text).toBe(expected.text);
    expect(parts.at(-1)).toEqual({
      type: 'finish',
      finishReason: expected.finishReason,
      usage: expected.usage,
    });
    const whole = await model.generate({ messages, maxTokens: 10 });
    expect(whole.text).toBe(expected.text);
  });

  it('aborts mid-stream', async () => {
    const model = createOpenAICompatibleChatModel({
      baseURL: server.baseURL,
      model: 'tiny-gguf',
      maxRetries: 0,
    });
    const controller = new AbortController();
    const parts: ChatStreamPart[] = [];
    for await (const part of model.stream({ messages, maxTokens: 300 }, { abortSignal: controller.signal })) {
      parts.push(part);
      if (parts.length === 2) controller.abort();
    }
    const last = parts.at(-1);
    expect(last?.type === 'error' && last.error).toBeInstanceOf(ModelAbortedError);
    // Two text parts, then the abort: nothing generated after it reaches the caller.
    expect(parts.length).toBe(3);
  });
});
