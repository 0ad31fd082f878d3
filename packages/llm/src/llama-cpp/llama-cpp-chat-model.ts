import { existsSync } from 'node:fs';
import {
  BackendResponseError,
  type ChatCallOptions,
  type ChatFinishReason,
  type ChatModel,
  type ChatModelCapabilities,
  type ChatRequest,
  type ChatResult,
  type ChatStreamPart,
  ContextTooLongError,
  ModelMissingError,
} from '@kaiwa/core';
import type { Llama, LlamaContext, LlamaModel, Token } from 'node-llama-cpp';
import {
  asLocalModelError,
  collectParts,
  findStop,
  partStream,
  throwIfAborted,
  unsupportedSettings,
  usageOf,
} from '../stream-parts.js';
import type { ChatTemplate } from '../templates/llama2-chat-template.js';

const PROVIDER = 'llama.cpp';

const UNSUPPORTED = {
  tools: 'llama.cpp runs the model here without tool calling; the tools were not shown to it',
  toolChoice: 'llama.cpp runs the model here without tool calling; it answered with text',
};

export interface LlamaCppChatModelConfig {
  /** Path of the GGUF file. */
  modelPath: string;
  /**
   * Formats messages into the prompt. Its textual `<s>`/`</s>` markers are parsed as the BOS/EOS tokens, so
   * the prompt must carry its own BOS (the default `bos: 'text'` of the templates).
   */
  template: ChatTemplate;
  /** `'auto'` (default) uses a GPU backend when one is available, else the CPU with one log line; `false`: CPU. */
  gpu?: 'auto' | false;
  /** Context window in tokens (default: what node-llama-cpp picks for the model and the memory). */
  contextSize?: number;
  /** CPU threads for evaluation (default: node-llama-cpp's choice); tiny models run fastest on 1. */
  threads?: number;
  /** `maxTokens` when the request gives none (default 256). */
  defaultMaxTokens?: number;
  /** Reported as `modelId` (default: the file path). */
  modelId?: string;
  /** Where the one CPU fallback line goes (default `console.info`). */
  logger?: (line: string) => void;
}

interface Loaded {
  model: LlamaModel;
  context: LlamaContext;
}

const llamas = new Map<string, Promise<Llama>>();

async function loadLlama(gpu: 'auto' | false, log: (line: string) => void): Promise<Llama> {
  const key = String(gpu);
  let llama = llamas.get(key);
  if (!llama) {
    llama = (async () => {
      let module: typeof import('node-llama-cpp');
      try {
        module = await import('node-llama-cpp');
      } catch (error) {
        throw new BackendResponseError(
          'the llama.cpp backend needs the optional peer dependency node-llama-cpp: npm install -E node-llama-cpp@3.21.1',
          { provider: PROVIDER, cause: error, isRetryable: false },
        );
      }
      // Prebuilt binaries only: never compile llama.cpp or download anything at run time.
      const instance = await module.getLlama({ gpu, build: 'never', logLevel: module.LlamaLogLevel.error });
      if (gpu === 'auto' && instance.gpu === false) {
        log('[@kaiwa/llm] llama.cpp: no GPU backend is available, running on the CPU');
      }
      return instance;
    })();
    llamas.set(key, llama);
    llama.catch(() => llamas.delete(key));
  }
  return llama;
}

/**
 * A chat model run in process by llama.cpp (node-llama-cpp) from a GGUF file. Calls to one model run one at a
 * time on its single context sequence. Tools are not supported: a request with them still answers, with an
 * `unsupported-setting` warning. Temperature 0, the default, is greedy and so deterministic.
 */
export class LlamaCppChatModel implements ChatModel {
  readonly specificationVersion = 'v1';
  readonly provider = PROVIDER;
  readonly modelId: string;
  readonly capabilities: ChatModelCapabilities = {
    streaming: true,
    tools: false,
    stopSequences: true,
    seed: true,
  };
  readonly #config: LlamaCppChatModelConfig;
  #loaded: Promise<Loaded> | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(config: LlamaCppChatModelConfig) {
    this.modelId = config.modelId ?? config.modelPath;
    this.#config = config;
  }

  /** The prompt token ids the model would see for the messages (after the template and the tokenizer). */
  async promptTokenIds(messages: ChatRequest['messages']): Promise<number[]> {
    const { model } = await this.#load();
    return model.tokenize(this.#config.template.format(messages).prompt, true).map(Number);
  }

  generate(request: ChatRequest, options: ChatCallOptions = {}): Promise<ChatResult> {
    return collectParts(this.stream(request, options));
  }

  stream(request: ChatRequest, options: ChatCallOptions = {}): ReadableStream<ChatStreamPart> {
    const warnings = unsupportedSettings(request, this.capabilities, UNSUPPORTED);
    return partStream(
      () => this.#serialised(request, options),
      (error) => asLocalModelError(error, this.provider),
      warnings,
    );
  }

  /** Frees the context and the model. */
  async dispose(): Promise<void> {
    const loaded = await this.#loaded?.catch(() => undefined);
    this.#loaded = undefined;
    await loaded?.context.dispose();
    await loaded?.model.dispose();
  }

  #load(): Promise<Loaded> {
    this.#loaded ??= (async () => {
      if (!existsSync(this.#config.modelPath)) {
        throw new ModelMissingError(this.modelId, `GGUF model file not found: ${this.#config.modelPath}`, {
          provider: this.provider,
        });
      }
      const llama = await loadLlama(this.#config.gpu ?? 'auto', this.#config.logger ?? console.info);
      const model = await llama.loadModel({ modelPath: this.#config.modelPath });
      const context = await model.createContext({
        ...(this.#config.contextSize ? { contextSize: this.#config.contextSize } : {}),
        ...(this.#config.threads ? { threads: this.#config.threads } : {}),
      });
      return { model, context };
    })();
    this.#loaded.catch(() => {
      this.#loaded = undefined;
    });
    return this.#loaded;
  }

  // One sequence per model: calls wait for the previous one to finish.
  async *#serialised(request: ChatRequest, options: ChatCallOptions): AsyncGenerator<ChatStreamPart> {
    const previous = this.#queue;
    let release: () => void = () => {};
    this.#queue = new Promise<void>((resolve) => {
      release = resolve;
    });
    try {
      await previous;
      yield* this.#generate(request, options);
    } finally {
      release();
    }
  }

  async *#generate(request: ChatRequest, options: ChatCallOptions): AsyncGenerator<ChatStreamPart> {
    const signal = options.abortSignal;
    throwIfAborted(signal, this.provider);
    const { model, context } = await this.#load();
    throwIfAborted(signal, this.provider);
    const tokens = model.tokenize(this.#config.template.format(request.messages).prompt, true);
    const maxNewTokens = request.maxTokens ?? this.#config.defaultMaxTokens ?? 256;
    if (tokens.length >= context.contextSize) {
      throw new ContextTooLongError(
        `the prompt has ${tokens.length} tokens; the context holds ${context.contextSize}`,
        { provider: this.provider },
      );
    }
    const stops = [...(request.stopSequences ?? []), ...this.#config.template.stopSequences];
    const sequence = context.getSequence();
    const generated: Token[] = [];
    let emitted = 0;
    let finishReason: ChatFinishReason | undefined;
    try {
      const temperature = request.temperature ?? 0;
      const evaluation = sequence.evaluate(tokens, {
        temperature,
        ...(request.topP !== undefined ? { topP: request.topP } : {}),
        ...(request.seed !== undefined ? { seed: request.seed } : {}),
      });
      for await (const token of evaluation) {
        throwIfAborted(signal, this.provider);
        generated.push(token);
        if (model.isSpecialToken(token) && token === model.tokens.eos) {
          finishReason = 'stop';
          break;
        }
        const text = model.detokenize(generated.filter((id) => id !== model.tokens.eos));
        const { index, holdBack } = findStop(text, stops);
        let end = index !== -1 ? index : text.length - holdBack;
        if (index === -1 && text.endsWith('\uFFFD')) end = Math.min(end, text.length - 1);
        if (end > emitted) {
          yield { type: 'text-delta', delta: text.slice(emitted, end) };
          emitted = end;
        }
        if (index !== -1) {
          finishReason = 'stop';
          break;
        }
        if (generated.length >= maxNewTokens) {
          finishReason = 'length';
          break;
        }
        if (tokens.length + generated.length >= context.contextSize) {
          finishReason = 'length';
          break;
        }
      }
      throwIfAborted(signal, this.provider);
      if (finishReason !== 'stop') {
        const text = model.detokenize(generated);
        if (text.length > emitted) yield { type: 'text-delta', delta: text.slice(emitted) };
      }
      yield {
        type: 'finish',
        finishReason: finishReason ?? 'other',
        usage: usageOf(tokens.length, generated.length),
      };
    } finally {
      sequence.dispose();
    }
  }
}

/**
 * Creates a chat model that runs a GGUF file in process with llama.cpp (node-llama-cpp, prebuilt binaries).
 *
 * @example
 * const model = createLlamaCppChatModel({
 *   modelPath: '/models/ELYZA-japanese-Llama-2-7b-fast-instruct-q4_K_M.gguf',
 *   template: createElyzaPreset({ variant: 'fast-instruct' }).template,
 * });
 * const { text } = await model.generate({ messages: [{ role: 'user', content: 'こんにちは' }] });
 */
export function createLlamaCppChatModel(config: LlamaCppChatModelConfig): LlamaCppChatModel {
  return new LlamaCppChatModel(config);
}
