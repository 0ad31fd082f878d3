import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chatModelContract, embeddingModelContract } from '@kaiwa/core/testing';
import { afterAll, beforeAll } from 'vitest';
import { createElyzaPreset } from '../templates/elyza-preset.js';
import { startTestServer, type TestServer } from '../test-support/start-test-server.js';
import { writeTinyGguf } from '../test-support/write-tiny-gguf.js';
import { createOpenAICompatibleChatModel } from './openai-compatible-chat-model.js';
import { createOpenAICompatibleEmbeddingModel } from './openai-compatible-embedding-model.js';

// The ports' contracts over real HTTP and SSE: against the deterministic test server (which calls a tool when
// one is forced), and against the same server running a tiny random-weight GGUF with llama.cpp.
let directory: string;
let server: TestServer;
let closedPort: number;

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'kaiwa-http-contract-'));
  const modelPath = join(directory, 'tiny.gguf');
  writeTinyGguf(modelPath, 'こんにちは');
  server = await startTestServer({ KAIWA_TEST_GGUF: modelPath });
  closedPort = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
});
afterAll(async () => {
  await server?.stop();
  if (directory) rmSync(directory, { recursive: true, force: true });
});

const chat = (model: string, extra: Partial<Parameters<typeof createOpenAICompatibleChatModel>[0]> = {}) =>
  createOpenAICompatibleChatModel({
    baseURL: server.baseURL,
    model,
    maxRetries: 0,
    timeoutMs: 10_000,
    ...extra,
  });

const failures = [
  { name: 'model not served', code: 'model_missing' as const, create: () => chat('missing') },
  {
    name: 'nothing listening',
    code: 'backend_unreachable' as const,
    create: () =>
      createOpenAICompatibleChatModel({
        baseURL: `http://127.0.0.1:${closedPort}/v1`,
        model: 'x',
        maxRetries: 0,
      }),
  },
];

chatModelContract({
  name: 'openai-compatible /chat/completions on the test server',
  create: () => chat('echo'),
  failures,
});

chatModelContract({
  name: 'openai-compatible /completions with a prompt template',
  create: () => chat('echo', { template: createElyzaPreset({ bos: 'omit' }).template }),
});

chatModelContract({
  name: 'openai-compatible on a tiny GGUF served by llama.cpp (no tool calling)',
  create: () => chat('tiny-gguf', { capabilities: { tools: false } }),
});

embeddingModelContract({
  name: 'openai-compatible /embeddings on the test server',
  create: () =>
    createOpenAICompatibleEmbeddingModel({ baseURL: server.baseURL, model: 'embed', maxRetries: 0 }),
  failures: [
    {
      name: 'model not served',
      code: 'model_missing',
      create: () =>
        createOpenAICompatibleEmbeddingModel({ baseURL: server.baseURL, model: 'missing', maxRetries: 0 }),
    },
    {
      name: 'nothing listening',
      code: 'backend_unreachable',
      create: () =>
        createOpenAICompatibleEmbeddingModel({
          baseURL: `http://127.0.0.1:${closedPort}/v1`,
          model: 'x',
          maxRetries: 0,
        }),
    },
  ],
});
