import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ChatStreamPart, ContextTooLongError, ModelAbortedError, ModelMissingError } from '@kaiwa/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createElyzaPreset, ELYZA_DEFAULT_SYSTEM_PROMPT } from '../templates/elyza-preset.js';
import { tinyGgufVocabulary, writeTinyGguf } from '../test-support/write-tiny-gguf.js';
import { createLlamaCppChatModel, type LlamaCppChatModel } from './llama-cpp-chat-model.js';

const characters = `${ELYZA_DEFAULT_SYSTEM_PROMPT}こんにちは日本の首都は？`;
const { tokens: vocabulary } = tinyGgufVocabulary(characters);
// Space is SentencePiece's '▁'; characters outside the vocabulary ('\n') fall back to byte tokens.
const idOf = (character: string) => {
  const direct = vocabulary.indexOf(character === ' ' ? '▁' : character);
  if (direct !== -1) return direct;
  const [byte] = Buffer.from(character, 'utf8');
  return vocabulary.indexOf(`<0x${byte!.toString(16).toUpperCase().padStart(2, '0')}>`);
};
const ids = (text: string) => [...text].map(idOf);

let directory: string;
let modelPath: string;
let model: LlamaCppChatModel;
const logLines: string[] = [];
const template = createElyzaPreset().template;

beforeAll(() => {
  directory = mkdtempSync(join(tmpdir(), 'kaiwa-gguf-'));
  modelPath = join(directory, 'tiny-llama.gguf');
  writeTinyGguf(modelPath, characters);
  model = createLlamaCppChatModel({
    modelPath,
    template,
    contextSize: 512,
    threads: 1,
    logger: (line) => logLines.push(line),
  });
});
afterAll(async () => {
  await model?.dispose();
  if (directory) rmSync(directory, { recursive: true, force: true });
});

async function readAll(stream: ReadableStream<ChatStreamPart>) {
  const parts: ChatStreamPart[] = [];
  for await (const part of stream) parts.push(part);
  return parts;
}
const textOf = (parts: ChatStreamPart[]) =>
  parts.map((part) => (part.type === 'text-delta' ? part.delta : '')).join('');

describe('llama.cpp chat model on a tiny random-weight GGUF', () => {
  it('tokenises the ELYZA prompt with <s>/</s> parsed as BOS/EOS, turn by turn as Meta encodes it', async () => {
    const messages = [
      { role: 'user' as const, content: 'こんにちは' },
      { role: 'assistant' as const, content: 'hi' },
      { role: 'user' as const, content: '日本の首都は？' },
    ];
    const first = `[INST] <<SYS>>\n${ELYZA_DEFAULT_SYSTEM_PROMPT}\n<</SYS>>\n\nこんにちは [/INST] hi `;
    expect(await model.promptTokenIds(messages)).toEqual([
      1,
      ...ids(first),
      2,
      1,
      ...ids('[INST] 日本の首都は？ [/INST] '),
    ]);
    // On a CPU-only machine the automatic GPU choice falls back with exactly one line.
    expect(logLines.length).toBeLessThanOrEqual(1);
    if (logLines.length === 1) {
      expect(logLines[0]).toBe('[@kaiwa/llm] llama.cpp: no GPU backend is available, running on the CPU');
    }
  });

  it('streams deltas then one finish with exact token usage, deterministically at temperature 0', async () => {
    const messages = [{ role: 'user' as const, content: 'こんにちは' }];
    const promptLength = (await model.promptTokenIds(messages)).length;
    const parts = await readAll(model.stream({ messages, maxTokens: 12 }));
    const finish = parts.at(-1);
    expect(finish?.type).toBe('finish');
    expect(parts[0]).toEqual({ type: 'stream-start', warnings: [] });
    expect(parts.slice(1, -1).every((part) => part.type === 'text-delta')).toBe(true);
    if (finish?.type !== 'finish') throw new Error('no finish');
    expect(finish.usage.inputTokens).toBe(promptLength);
    expect(finish.usage.outputTokens).toBeLessThanOrEqual(12);
    expect(finish.usage.totalTokens).toBe(promptLength + finish.usage.outputTokens!);
    if (finish.finishReason === 'length') expect(finish.usage.outputTokens).toBe(12);
    const again = await model.generate({ messages, maxTokens: 12 });
    expect(again.text).toBe(textOf(parts));
  });

  it('cuts at a stop sequence taken from the greedy answer', async () => {
    const messages = [{ role: 'user' as const, content: 'こんにちは' }];
    const { text } = await model.generate({ messages, maxTokens: 12 });
    const stop = [...text].slice(1).find((character) => character !== '\uFFFD' && character.trim() !== '');
    if (!stop) return; // the random model produced nothing usable as a stop sequence
    const stopped = await model.generate({ messages, maxTokens: 12, stopSequences: [stop] });
    expect(stopped.text).toBe(text.slice(0, text.indexOf(stop)));
    expect(stopped.finishReason).toBe('stop');
  });

  it('aborts mid-stream with an error part', async () => {
    const controller = new AbortController();
    const parts: ChatStreamPart[] = [];
    const messages = [{ role: 'user' as const, content: 'こんにちは' }];
    for await (const part of model.stream({ messages, maxTokens: 300 }, { abortSignal: controller.signal })) {
      parts.push(part);
      if (parts.length === 2) controller.abort();
    }
    const last = parts.at(-1);
    expect(last?.type === 'error' && last.error).toBeInstanceOf(ModelAbortedError);
    expect(parts.length).toBeLessThan(6);
    // The sequence is free again afterwards.
    expect((await model.generate({ messages, maxTokens: 2 })).usage.outputTokens).toBeLessThanOrEqual(2);
  });

  it('reports a missing file and a prompt longer than the context', async () => {
    const missing = createLlamaCppChatModel({ modelPath: join(directory, 'nope.gguf'), template });
    await expect(missing.generate({ messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(
      ModelMissingError,
    );
    const error = await model
      .generate({ messages: [{ role: 'user', content: 'x'.repeat(2_000) }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ContextTooLongError);
    expect((error as Error).message).toMatch(/the prompt has \d+ tokens; the context holds \d+/);
  });
});
