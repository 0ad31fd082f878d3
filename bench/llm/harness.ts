import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChatMessage, ChatModel, ChatRequest } from '@kaiwa/core';
import {
  type ChatTemplate,
  createLlama2ChatTemplate,
  createLlamaCppChatModel,
  createOpenAICompatibleChatModel,
  createTransformersChatModel,
} from '@kaiwa/llm';
// The tiny model builders of @kaiwa/llm's own tests, imported from source (they are not exported).
import { buildTinyModels, tinyModelsUnavailable } from '../../packages/llm/src/test-support/tiny-models.js';
import { writeTinyGguf } from '../../packages/llm/src/test-support/write-tiny-gguf.js';

export type BackendName = 'llama-cpp' | 'openai-compatible' | 'transformers';
export const ALL_BACKENDS: BackendName[] = ['llama-cpp', 'openai-compatible', 'transformers'];

export interface LlmBenchSettings {
  /** Measured requests per path (Kaiwa and direct each), after the warm-up. */
  requests: number;
  /** Unmeasured requests per path first. */
  warmup: number;
  maxTokens: number;
  /** Stop a backend's measured loop after this long (both paths keep the same count). */
  budgetMsPerBackend: number;
  backends: BackendName[];
}

export const FULL_SETTINGS: LlmBenchSettings = {
  requests: 100,
  warmup: 5,
  maxTokens: 32,
  budgetMsPerBackend: 50_000,
  backends: ALL_BACKENDS,
};
export const QUICK_SETTINGS: LlmBenchSettings = {
  requests: 3,
  warmup: 1,
  maxTokens: 4,
  budgetMsPerBackend: 5_000,
  backends: ALL_BACKENDS,
};

/** One request's timings, in milliseconds from the call. */
export interface Sample {
  ttftMs: number;
  totalMs: number;
  outputTokens: number;
  text: string;
}

export interface Summary {
  n: number;
  ttftP50: number;
  ttftP95: number;
  totalP50: number;
  totalP95: number;
  /** Output tokens per second of the whole request (tokens / total time), median over requests. */
  tokensPerSecondP50: number;
  outputTokens: number;
}

export interface BackendResult {
  backend: BackendName;
  /** What "direct" means for this backend. */
  direct: string;
  skipped?: string;
  kaiwa?: Summary;
  directSummary?: Summary;
  /** Kaiwa minus direct: difference of the percentiles, ms. */
  overhead?: { ttftP50: number; ttftP95: number; totalP50: number; totalP95: number };
  /** Median of the per-pair differences (Kaiwa request i minus direct request i), ms. */
  pairedMedian?: { ttft: number; total: number };
  /** True when both paths produced the same text and token count on every request. */
  sameOutput?: boolean;
  samples?: { kaiwa: Sample[]; direct: Sample[] };
}

export interface LlmBenchResult {
  settings: LlmBenchSettings;
  prompt: string;
  startedAt: string;
  durationMs: number;
  backends: BackendResult[];
}

type Runner = () => Promise<Sample>;

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

function summarise(samples: Sample[]): Summary {
  const ttft = samples.map((sample) => sample.ttftMs);
  const total = samples.map((sample) => sample.totalMs);
  return {
    n: samples.length,
    ttftP50: percentile(ttft, 50),
    ttftP95: percentile(ttft, 95),
    totalP50: percentile(total, 50),
    totalP95: percentile(total, 95),
    tokensPerSecondP50: percentile(
      samples.map((sample) => (sample.outputTokens * 1000) / sample.totalMs),
      50,
    ),
    outputTokens: percentile(
      samples.map((sample) => sample.outputTokens),
      50,
    ),
  };
}

/** Drains a Kaiwa stream, timing the first text delta and the end. */
async function timeKaiwa(model: ChatModel, request: ChatRequest): Promise<Sample> {
  const start = performance.now();
  let ttftMs = Number.NaN;
  let text = '';
  let outputTokens = 0;
  for await (const part of model.stream(request)) {
    if (part.type === 'text-delta') {
      if (Number.isNaN(ttftMs)) ttftMs = performance.now() - start;
      text += part.delta;
    } else if (part.type === 'finish') outputTokens = part.usage.outputTokens ?? 0;
    else if (part.type === 'error') throw part.error;
  }
  const totalMs = performance.now() - start;
  return { ttftMs: Number.isNaN(ttftMs) ? totalMs : ttftMs, totalMs, outputTokens, text };
}

/** Warm-up, then `requests` pairs taking turns (ABBA order) so drift and order effects hit both paths. */
async function measure(kaiwa: Runner, direct: Runner, settings: LlmBenchSettings) {
  for (let index = 0; index < settings.warmup; index++) {
    await kaiwa();
    await direct();
  }
  const samples = { kaiwa: [] as Sample[], direct: [] as Sample[] };
  const deadline = performance.now() + settings.budgetMsPerBackend;
  for (let index = 0; index < settings.requests; index++) {
    if (index % 2 === 0) {
      samples.kaiwa.push(await kaiwa());
      samples.direct.push(await direct());
    } else {
      samples.direct.push(await direct());
      samples.kaiwa.push(await kaiwa());
    }
    if (performance.now() > deadline) break;
  }
  return samples;
}

function compare(backend: BackendName, direct: string, samples: { kaiwa: Sample[]; direct: Sample[] }) {
  const kaiwa = summarise(samples.kaiwa);
  const directSummary = summarise(samples.direct);
  const pairs = samples.kaiwa.map((sample, index) => ({ k: sample, d: samples.direct[index]! }));
  return {
    backend,
    direct,
    kaiwa,
    directSummary,
    overhead: {
      ttftP50: kaiwa.ttftP50 - directSummary.ttftP50,
      ttftP95: kaiwa.ttftP95 - directSummary.ttftP95,
      totalP50: kaiwa.totalP50 - directSummary.totalP50,
      totalP95: kaiwa.totalP95 - directSummary.totalP95,
    },
    pairedMedian: {
      ttft: percentile(
        pairs.map(({ k, d }) => k.ttftMs - d.ttftMs),
        50,
      ),
      total: percentile(
        pairs.map(({ k, d }) => k.totalMs - d.totalMs),
        50,
      ),
    },
    sameOutput: pairs.every(({ k, d }) => k.text === d.text && k.outputTokens === d.outputTokens),
    samples,
  } satisfies BackendResult;
}

const MESSAGES: ChatMessage[] = [{ role: 'user', content: 'こんにちは' }];
const GGUF_CHARACTERS = 'こんにちは';

async function llamaCpp(directory: string, settings: LlmBenchSettings): Promise<BackendResult> {
  const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
  const modelPath = join(directory, 'tiny.gguf');
  writeTinyGguf(modelPath, GGUF_CHARACTERS);
  const template = createLlama2ChatTemplate();
  const kaiwaModel = createLlamaCppChatModel({
    modelPath,
    template,
    gpu: false,
    contextSize: 512,
    threads: 1,
    logger: () => {},
  });
  // Direct: node-llama-cpp's own API on the same file, same prompt string, same context settings.
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath });
  const context = await model.createContext({ contextSize: 512, threads: 1 });
  const prompt = template.format(MESSAGES).prompt;
  const request: ChatRequest = { messages: MESSAGES, maxTokens: settings.maxTokens, temperature: 0 };
  const direct: Runner = async () => {
    const start = performance.now();
    let ttftMs = Number.NaN;
    const tokens = model.tokenize(prompt, true);
    const sequence = context.getSequence();
    const generated: (typeof tokens)[number][] = [];
    try {
      for await (const token of sequence.evaluate(tokens, { temperature: 0 })) {
        if (token === model.tokens.eos) break;
        generated.push(token);
        if (Number.isNaN(ttftMs)) ttftMs = performance.now() - start;
        if (generated.length >= settings.maxTokens) break;
      }
    } finally {
      sequence.dispose();
    }
    const text = model.detokenize(generated);
    const totalMs = performance.now() - start;
    return { ttftMs: Number.isNaN(ttftMs) ? totalMs : ttftMs, totalMs, outputTokens: generated.length, text };
  };
  try {
    const samples = await measure(() => timeKaiwa(kaiwaModel, request), direct, settings);
    return compare(
      'llama-cpp',
      'node-llama-cpp `LlamaContextSequence.evaluate` (same GGUF, prompt, context, 1 thread)',
      samples,
    );
  } finally {
    await kaiwaModel.dispose();
    await context.dispose();
    await model.dispose();
  }
}

async function startServer(modelPath: string): Promise<{ baseURL: string; child: ChildProcess }> {
  const script = fileURLToPath(new URL('./gguf-server.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, KAIWA_BENCH_GGUF: modelPath },
  });
  const port = await new Promise<number>((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /listening (\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`GGUF server exited with ${code} before listening`)));
  });
  return { baseURL: `http://127.0.0.1:${port}/v1`, child };
}

async function stopServer(child: ChildProcess) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

async function openaiCompatible(directory: string, settings: LlmBenchSettings): Promise<BackendResult> {
  const { default: OpenAI } = await import('openai');
  const modelPath = join(directory, 'tiny-server.gguf');
  writeTinyGguf(modelPath, GGUF_CHARACTERS);
  const { baseURL, child } = await startServer(modelPath);
  try {
    const kaiwaModel = createOpenAICompatibleChatModel({ baseURL, model: 'tiny-gguf', maxRetries: 0 });
    const client = new OpenAI({ baseURL, apiKey: 'none', maxRetries: 0 });
    const request: ChatRequest = { messages: MESSAGES, maxTokens: settings.maxTokens, temperature: 0 };
    const direct: Runner = async () => {
      const start = performance.now();
      let ttftMs = Number.NaN;
      let text = '';
      let outputTokens = 0;
      const stream = await client.chat.completions.create({
        model: 'tiny-gguf',
        messages: MESSAGES.map((message) => ({ role: 'user' as const, content: message.content })),
        max_tokens: settings.maxTokens,
        temperature: 0,
        stream: true,
        stream_options: { include_usage: true },
      });
      for await (const chunk of stream) {
        const delta = chunk.choices[0]?.delta.content;
        if (delta) {
          if (Number.isNaN(ttftMs)) ttftMs = performance.now() - start;
          text += delta;
        }
        if (chunk.usage) outputTokens = chunk.usage.completion_tokens;
      }
      const totalMs = performance.now() - start;
      return { ttftMs: Number.isNaN(ttftMs) ? totalMs : ttftMs, totalMs, outputTokens, text };
    };
    const samples = await measure(() => timeKaiwa(kaiwaModel, request), direct, settings);
    return compare(
      'openai-compatible',
      '`openai` v6 client, `chat.completions.create({ stream: true })`, same server and body',
      samples,
    );
  } finally {
    await stopServer(child);
  }
}

async function transformers(directory: string, settings: LlmBenchSettings): Promise<BackendResult> {
  const describeDirect = 'transformers.js `pipeline("text-generation")` with a `TextStreamer` (same files)';
  const unavailable = tinyModelsUnavailable();
  if (unavailable) return { backend: 'transformers', direct: describeDirect, skipped: unavailable };
  const { chatModel } = buildTinyModels(directory);
  // The tiny ONNX LM repeats 'x' forever, so both paths generate exactly maxTokens tokens.
  const messages: ChatMessage[] = [{ role: 'user', content: 'xxxxxxxx' }];
  const template: ChatTemplate = {
    name: 'bench-raw',
    stopSequences: [],
    format: (input) => {
      const text = input.map((message) => message.content).join('');
      return { prompt: `<s>${text}`, turns: [{ text, eos: false }] };
    },
  };
  const prompt = template.format(messages).prompt;
  const kaiwaModel = createTransformersChatModel({
    localModelPath: directory,
    model: chatModel,
    template,
    device: 'cpu',
    logger: () => {},
  });
  const hf = await import('@huggingface/transformers');
  hf.env.allowRemoteModels = false;
  hf.env.allowLocalModels = true;
  hf.env.localModelPath = directory;
  const generator = await hf.pipeline('text-generation', chatModel, { dtype: 'fp32', device: 'cpu' });
  const request: ChatRequest = { messages, maxTokens: settings.maxTokens, temperature: 0 };
  const direct: Runner = async () => {
    const start = performance.now();
    let ttftMs = Number.NaN;
    let outputTokens = 0;
    const streamer = new hf.TextStreamer(generator.tokenizer, {
      skip_prompt: true,
      callback_function: () => {},
      token_callback_function: () => {
        outputTokens++;
        if (Number.isNaN(ttftMs)) ttftMs = performance.now() - start;
      },
    });
    const output = (await generator(prompt, {
      max_new_tokens: settings.maxTokens,
      do_sample: false,
      add_special_tokens: false,
      return_full_text: false,
      streamer,
    })) as { generated_text: string }[];
    const totalMs = performance.now() - start;
    const text = output[0]?.generated_text ?? '';
    return { ttftMs: Number.isNaN(ttftMs) ? totalMs : ttftMs, totalMs, outputTokens, text };
  };
  try {
    const samples = await measure(() => timeKaiwa(kaiwaModel, request), direct, settings);
    return compare('transformers', describeDirect, samples);
  } finally {
    await generator.dispose();
  }
}

/** Runs every requested backend, Kaiwa and direct taking turns; traffic stays on 127.0.0.1. */
export async function runLlmBench(settings: LlmBenchSettings): Promise<LlmBenchResult> {
  const startedAt = new Date().toISOString();
  const start = performance.now();
  const directory = mkdtempSync(join(tmpdir(), 'kaiwa-llm-bench-'));
  const backends: BackendResult[] = [];
  const runners = { 'llama-cpp': llamaCpp, 'openai-compatible': openaiCompatible, transformers };
  try {
    for (const backend of settings.backends) backends.push(await runners[backend](directory, settings));
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
  return {
    settings,
    prompt: JSON.stringify(MESSAGES),
    startedAt,
    durationMs: performance.now() - start,
    backends,
  };
}
