import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ChatStreamPart, ModelAbortedError, ModelMissingError } from '@kaiwa/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createElyzaPreset } from '../templates/elyza-preset.js';
import { type ChatTemplate, createLlama2ChatTemplate } from '../templates/llama2-chat-template.js';
import {
  BOS_ID,
  buildTinyModels,
  EOS_ID,
  idOf,
  tinyModelsUnavailable,
  tokenVector,
} from '../test-support/tiny-models.js';
import { createTransformersChatModel } from './transformers-chat-model.js';
import { createTransformersEmbeddingModel } from './transformers-embedding-model.js';

const unavailable = tinyModelsUnavailable();
if (unavailable) console.warn(unavailable);

let root: string;
let logLines: string[] = [];
const logger = (line: string) => logLines.push(line);

beforeAll(() => {
  if (unavailable) return;
  root = mkdtempSync(join(tmpdir(), 'kaiwa-llm-models-'));
  buildTinyModels(root);
});
afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

const elyza = createElyzaPreset().template;
const chat = (template: ChatTemplate = elyza) =>
  createTransformersChatModel({ localModelPath: root, model: 'tiny-llama', template, logger });

async function readAll(stream: ReadableStream<ChatStreamPart>) {
  const parts: ChatStreamPart[] = [];
  for await (const part of stream) parts.push(part);
  return parts;
}

const deltas = (parts: ChatStreamPart[]) =>
  parts.flatMap((part) => (part.type === 'text-delta' ? [part.delta] : []));

describe.skipIf(unavailable)('transformers.js chat model on a tiny local ONNX LM', () => {
  it('tokenises the ELYZA prompt with BOS/EOS as their special ids, turn by turn as Meta encodes it', async () => {
    const model = chat();
    const single = await model.promptTokenIds([{ role: 'user', content: 'こんにちは' }]);
    const text =
      '[INST] <<SYS>>\nあなたは誠実で優秀な日本人のアシスタントです。\n<</SYS>>\n\nこんにちは [/INST] ';
    expect(single).toEqual([BOS_ID, ...[...text].map(idOf)]);

    const messages = [
      { role: 'user' as const, content: 'こんにちは' },
      { role: 'assistant' as const, content: 'はい' },
      { role: 'user' as const, content: '日本の首都は？' },
    ];
    const multi = await model.promptTokenIds(messages);
    const firstTurn =
      '[INST] <<SYS>>\nあなたは誠実で優秀な日本人のアシスタントです。\n<</SYS>>\n\nこんにちは [/INST] はい ';
    const secondTurn = '[INST] 日本の首都は？ [/INST] ';
    expect(multi).toEqual([
      BOS_ID,
      ...[...firstTurn].map(idOf),
      EOS_ID,
      BOS_ID,
      ...[...secondTurn].map(idOf),
    ]);
    // The textual markers give the same ids as encoding each turn and adding BOS/EOS ids (the `turns` view).
    const fromTurns = elyza
      .format(messages)
      .turns.flatMap((turn) => [BOS_ID, ...[...turn.text].map(idOf), ...(turn.eos ? [EOS_ID] : [])]);
    expect(multi).toEqual(fromTurns);
  });

  it('streams deltas in order and finishes on EOS with exact token usage; logs the CPU fallback once', async () => {
    logLines = [];
    const model = chat();
    const messages = [{ role: 'user' as const, content: 'こんにちは' }];
    const promptLength = (await model.promptTokenIds(messages)).length;
    const parts = await readAll(model.stream({ messages }));
    expect(deltas(parts)).toEqual(['こ', 'ん', 'に', 'ち', 'は']);
    expect(parts.at(-1)).toEqual({
      type: 'finish',
      finishReason: 'stop',
      // Five characters and the EOS token.
      usage: { inputTokens: promptLength, outputTokens: 6, totalTokens: promptLength + 6 },
    });
    expect(logLines).toEqual([
      '[@kaiwa/llm] tiny-llama: WebGPU is not available, running transformers.js on the CPU',
    ]);
  });

  it('works with the plain Llama-2 template too (prompt ends without a space)', async () => {
    const result = await chat(createLlama2ChatTemplate()).generate({
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(result.text).toBe(' こんにちは');
  });

  it('cuts at stop sequences, also ones spanning tokens, and stops generating there', async () => {
    const model = chat();
    const messages = [{ role: 'user' as const, content: 'こんにちは' }];
    const single = await readAll(model.stream({ messages, stopSequences: ['ち'] }));
    expect(deltas(single).join('')).toBe('こんに');
    const spanning = await readAll(model.stream({ messages, stopSequences: ['にち'] }));
    expect(deltas(spanning)).toEqual(['こ', 'ん']);
    expect(spanning.at(-1)).toMatchObject({
      type: 'finish',
      finishReason: 'stop',
      usage: { outputTokens: 4 },
    });
  });

  it('honours maxTokens with a length finish', async () => {
    const result = await chat().generate({ messages: [{ role: 'user', content: 'x' }], maxTokens: 2 });
    expect(result).toMatchObject({ text: 'こん', finishReason: 'length', usage: { outputTokens: 2 } });
  });

  it('aborts an endless generation: an error part, and generate rejects', async () => {
    // A prompt ending in 'x' makes the tiny LM repeat 'x' forever.
    const endless: ChatTemplate = {
      name: 'raw',
      stopSequences: [],
      format: () => ({ prompt: 'x', turns: [] }),
    };
    const model = chat(endless);
    const controller = new AbortController();
    const parts: ChatStreamPart[] = [];
    for await (const part of model.stream(
      { messages: [{ role: 'user', content: '' }], maxTokens: 100_000 },
      { abortSignal: controller.signal },
    )) {
      parts.push(part);
      if (parts.length === 4) controller.abort();
    }
    expect(parts.slice(0, 4).map((part) => part.type)).toEqual([
      'stream-start',
      'text-delta',
      'text-delta',
      'text-delta',
    ]);
    const last = parts.at(-1);
    expect(last?.type === 'error' && last.error).toBeInstanceOf(ModelAbortedError);
    expect(parts.length).toBeLessThan(10);

    // Leaving the loop early cancels the stream and stops generation too.
    let seen = 0;
    for await (const part of model.stream({
      messages: [{ role: 'user', content: '' }],
      maxTokens: 100_000,
    })) {
      if (part.type === 'stream-start') continue;
      expect(part.type).toBe('text-delta');
      if (++seen === 2) break;
    }
    await expect(
      model.generate({ messages: [{ role: 'user', content: '' }] }, { abortSignal: AbortSignal.abort() }),
    ).rejects.toBeInstanceOf(ModelAbortedError);
  });

  it('names the directory and the expected files when the model is missing', async () => {
    const model = createTransformersChatModel({
      localModelPath: root,
      model: 'tiny-llama',
      dtype: 'q4',
      template: elyza,
    });
    const error = await model
      .generate({ messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelMissingError);
    expect((error as Error).message).toBe(
      `transformers.js model "tiny-llama" is incomplete: ${join(root, 'tiny-llama')} lacks onnx/model_q4.onnx ` +
        '(expected config.json, tokenizer.json, tokenizer_config.json, onnx/model_q4.onnx)',
    );
    const absent = createTransformersEmbeddingModel({ localModelPath: root, model: 'nope', logger });
    await expect(absent.embed(['x'])).rejects.toThrow(/nope.*lacks config\.json, tokenizer\.json/);
  });
});

describe.skipIf(unavailable)('transformers.js embedding model on a tiny local ONNX encoder', () => {
  it('returns one L2-normalised, mean-pooled vector per text, with token usage and dimensions', async () => {
    const embedder = createTransformersEmbeddingModel({
      localModelPath: root,
      model: 'tiny-embedder',
      logger,
    });
    expect(embedder.dimensions).toBeUndefined();
    const texts = ['ab', '日本'];
    const { embeddings, usage } = await embedder.embed(texts);
    expect(embeddings).toHaveLength(2);
    for (const [index, vector] of embeddings.entries()) {
      expect(vector).toHaveLength(4);
      expect(Math.hypot(...vector)).toBeCloseTo(1, 6);
      const tokens = [...texts[index]!].map((character) => tokenVector(idOf(character)));
      const mean = tokens[0]!.map(
        (_, column) => tokens.reduce((sum, row) => sum + row[column]!, 0) / tokens.length,
      );
      const norm = Math.hypot(...mean);
      for (const [column, value] of vector.entries()) expect(value).toBeCloseTo(mean[column]! / norm, 6);
    }
    expect(usage).toEqual({ tokens: 4 });
    expect(embedder.dimensions).toBe(4);
    await expect(embedder.embed(['a'], { abortSignal: AbortSignal.abort() })).rejects.toBeInstanceOf(
      ModelAbortedError,
    );
  });
});
