import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chatModelContract } from '@kaiwa/core/testing';
import { afterAll, beforeAll } from 'vitest';
import { createElyzaPreset, ELYZA_DEFAULT_SYSTEM_PROMPT } from '../templates/elyza-preset.js';
import { writeTinyGguf } from '../test-support/write-tiny-gguf.js';
import { createLlamaCppChatModel, type LlamaCppChatModel } from './llama-cpp-chat-model.js';

// The port's contract on a tiny random-weight GGUF: greedy decoding makes even random weights deterministic.
let directory: string;
let model: LlamaCppChatModel;
const template = createElyzaPreset().template;

beforeAll(() => {
  directory = mkdtempSync(join(tmpdir(), 'kaiwa-gguf-contract-'));
  const modelPath = join(directory, 'tiny-llama.gguf');
  writeTinyGguf(modelPath, `${ELYZA_DEFAULT_SYSTEM_PROMPT}こんにちは日本の首都は？`);
  model = createLlamaCppChatModel({ modelPath, template, contextSize: 512, threads: 1, logger: () => {} });
});
afterAll(async () => {
  await model?.dispose();
  if (directory) rmSync(directory, { recursive: true, force: true });
});

chatModelContract({
  name: 'llama.cpp on a tiny random-weight GGUF',
  create: () => model,
  failures: [
    {
      name: 'GGUF file missing',
      code: 'model_missing',
      create: () => createLlamaCppChatModel({ modelPath: join(directory, 'nope.gguf'), template }),
    },
  ],
});
