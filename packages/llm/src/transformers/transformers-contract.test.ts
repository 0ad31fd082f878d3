import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chatModelContract, embeddingModelContract } from '@kaiwa/core/testing';
import { afterAll, beforeAll } from 'vitest';
import { createElyzaPreset } from '../templates/elyza-preset.js';
import { buildTinyModels, tinyModelsUnavailable } from '../test-support/tiny-models.js';
import { createTransformersChatModel, type TransformersChatModel } from './transformers-chat-model.js';
import {
  createTransformersEmbeddingModel,
  type TransformersEmbeddingModel,
} from './transformers-embedding-model.js';

// The port's contracts on the tiny ONNX models Debian's python3-onnx writes (see tiny-models.ts).
const unavailable = tinyModelsUnavailable();
let root: string;
let chat: TransformersChatModel;
let embedder: TransformersEmbeddingModel;
const template = createElyzaPreset().template;
const logger = () => {};

beforeAll(() => {
  if (unavailable) return;
  root = mkdtempSync(join(tmpdir(), 'kaiwa-llm-contract-'));
  buildTinyModels(root);
  chat = createTransformersChatModel({ localModelPath: root, model: 'tiny-llama', template, logger });
  embedder = createTransformersEmbeddingModel({ localModelPath: root, model: 'tiny-embedder', logger });
});
afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

chatModelContract({
  name: 'transformers.js on a tiny ONNX LM',
  ...(unavailable ? { skip: unavailable } : {}),
  create: () => chat,
  failures: [
    {
      name: 'model files missing for the dtype',
      code: 'model_missing',
      create: () =>
        createTransformersChatModel({
          localModelPath: root,
          model: 'tiny-llama',
          dtype: 'q4',
          template,
          logger,
        }),
    },
  ],
});

embeddingModelContract({
  name: 'transformers.js on a tiny ONNX encoder',
  ...(unavailable ? { skip: unavailable } : {}),
  // Characters of the tiny vocabulary, with different mean token vectors.
  texts: ['こんにちは', 'hello world', '日本の首都'],
  create: () => embedder,
  failures: [
    {
      name: 'model directory missing',
      code: 'model_missing',
      create: () => createTransformersEmbeddingModel({ localModelPath: root, model: 'nope', logger }),
    },
  ],
});
