import type { PreTrainedModel, PreTrainedTokenizer, TextStreamer } from '@huggingface/transformers';
import type {
  ChatCallOptions,
  ChatFinishReason,
  ChatModel,
  ChatModelCapabilities,
  ChatRequest,
  ChatResult,
  ChatStreamPart,
} from '@kaiwa/core';
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
import {
  assertModelFiles,
  loadTransformers,
  pickDevice,
  TRANSFORMERS_PROVIDER,
  type TransformersModelConfig,
  type TransformersModule,
} from './load-transformers.js';

export interface TransformersChatModelConfig extends TransformersModelConfig {
  /**
   * Formats messages into the prompt, whose BOS/EOS markers (`<s>`, `</s>`) the tokenizer turns into their
   * special token ids. When unset, the tokenizer's own chat template (`chat_template`) is used.
   */
  template?: ChatTemplate;
  /** `maxTokens` when the request gives none (default 256). */
  defaultMaxTokens?: number;
}

interface Loaded {
  transformers: TransformersModule;
  tokenizer: PreTrainedTokenizer;
  model: PreTrainedModel;
  eosIds: Set<bigint>;
}

const UNSUPPORTED = {
  tools: 'transformers.js runs the model without tool calling; the tools were not shown to it',
  toolChoice: 'transformers.js runs the model without tool calling; it answered with text',
  seed: 'transformers.js cannot seed its sampling; answers above temperature 0 are not reproducible',
};

/**
 * A chat model run in-process by transformers.js (ONNX Runtime) from a local directory. Tools and `seed` are
 * not supported: a request with them still answers, with an `unsupported-setting` warning for each (tool
 * messages are formatted as user turns). Temperature 0, the default, is greedy and so deterministic.
 */
export class TransformersChatModel implements ChatModel {
  readonly specificationVersion = 'v1';
  readonly provider = TRANSFORMERS_PROVIDER;
  readonly modelId: string;
  readonly capabilities: ChatModelCapabilities = {
    streaming: true,
    tools: false,
    stopSequences: true,
    seed: false,
  };
  readonly #config: TransformersChatModelConfig;
  #loaded: Promise<Loaded> | undefined;

  constructor(config: TransformersChatModelConfig) {
    this.modelId = config.model;
    this.#config = config;
  }

  /** The prompt token ids this model would see for the messages (after the template and the tokenizer). */
  async promptTokenIds(messages: ChatRequest['messages']): Promise<number[]> {
    const { tokenizer } = await this.#load();
    const encoded = tokenizer(this.#prompt(tokenizer, messages), { add_special_tokens: false });
    return (encoded.input_ids.tolist() as bigint[][])[0]!.map(Number);
  }

  generate(request: ChatRequest, options: ChatCallOptions = {}): Promise<ChatResult> {
    return collectParts(this.stream(request, options));
  }

  stream(request: ChatRequest, options: ChatCallOptions = {}): ReadableStream<ChatStreamPart> {
    const warnings = unsupportedSettings(request, this.capabilities, UNSUPPORTED);
    return partStream(
      () => this.#generate(request, options),
      (error) => asLocalModelError(error, this.provider),
      warnings,
    );
  }

  #load(): Promise<Loaded> {
    this.#loaded ??= (async () => {
      assertModelFiles(this.#config);
      const transformers = await loadTransformers(this.#config);
      const device = pickDevice(this.#config);
      const dtype = this.#config.dtype ?? 'fp32';
      const tokenizer = await transformers.AutoTokenizer.from_pretrained(this.#config.model);
      const model = await transformers.AutoModelForCausalLM.from_pretrained(this.#config.model, {
        dtype,
        device,
      });
      const configured = (model.config as { eos_token_id?: number | number[] }).eos_token_id;
      const eos = configured === undefined ? [] : Array.isArray(configured) ? configured : [configured];
      return { transformers, tokenizer, model, eosIds: new Set(eos.map((id) => BigInt(id))) };
    })();
    this.#loaded.catch(() => {
      this.#loaded = undefined;
    });
    return this.#loaded;
  }

  #prompt(tokenizer: PreTrainedTokenizer, messages: ChatRequest['messages']): string {
    if (this.#config.template) return this.#config.template.format(messages).prompt;
    return tokenizer.apply_chat_template(
      messages.map((message) => ({ role: message.role, content: message.content })),
      { tokenize: false, add_generation_prompt: true },
    ) as string;
  }

  async *#generate(request: ChatRequest, options: ChatCallOptions): AsyncGenerator<ChatStreamPart> {
    const signal = options.abortSignal;
    throwIfAborted(signal, this.provider);
    const { transformers, tokenizer, model, eosIds } = await this.#load();
    throwIfAborted(signal, this.provider);
    const inputs = tokenizer(this.#prompt(tokenizer, request.messages), { add_special_tokens: false });
    const inputTokens = inputs.input_ids.dims.at(-1) as number;
    const maxNewTokens = request.maxTokens ?? this.#config.defaultMaxTokens ?? 256;
    const stops = [...(request.stopSequences ?? []), ...(this.#config.template?.stopSequences ?? [])];

    const queue: ChatStreamPart[] = [];
    let wake: (() => void) | undefined;
    const generated: bigint[] = [];
    let emitted = 0;
    let finishReason: ChatFinishReason | undefined;
    let cancelled = false;

    // Decodes everything generated so far and emits the new text, holding back what may still turn out to be
    // the start of a stop sequence or of a multi-byte character.
    const flush = (final: boolean) => {
      if (finishReason === 'stop') return;
      const text = tokenizer.decode(
        generated.filter((id) => !eosIds.has(id)),
        { skip_special_tokens: true },
      );
      const { index, holdBack } = findStop(text, stops);
      let end = index !== -1 ? index : final ? text.length : text.length - holdBack;
      if (index === -1 && !final && text.endsWith('\uFFFD')) end = Math.min(end, text.length - 1);
      if (index !== -1) finishReason = 'stop';
      if (end > emitted) {
        queue.push({ type: 'text-delta', delta: text.slice(emitted, end) });
        emitted = end;
        wake?.();
      }
    };

    class PartStreamer extends transformers.BaseStreamer {
      #prompt = true;
      override put(value: bigint[][]) {
        // The first call carries the prompt.
        if (this.#prompt) {
          this.#prompt = false;
          return;
        }
        const id = value[0]?.[0];
        if (id === undefined) return;
        generated.push(id);
        if (eosIds.has(id)) finishReason = 'stop';
        else flush(false);
      }
      override end() {}
    }
    class StopWhenDone extends transformers.StoppingCriteria {
      override _call(inputIds: number[][]) {
        const stop = finishReason !== undefined || cancelled || signal?.aborted === true;
        return inputIds.map(() => stop);
      }
    }

    let done = false;
    let failure: unknown;
    const temperature = request.temperature ?? 0;
    const generation = model
      .generate({
        ...inputs,
        max_new_tokens: maxNewTokens,
        do_sample: temperature > 0,
        ...(temperature > 0 ? { temperature } : {}),
        ...(request.topP !== undefined ? { top_p: request.topP } : {}),
        // generate() is typed for TextStreamer but only calls BaseStreamer's put/end.
        streamer: new PartStreamer() as unknown as TextStreamer,
        stopping_criteria: [new StopWhenDone()],
      })
      .catch((error: unknown) => {
        failure = error;
      })
      .finally(() => {
        done = true;
        wake?.();
      });

    try {
      while (true) {
        const part = queue.shift();
        if (part) {
          yield part;
          continue;
        }
        if (done) break;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
      if (failure !== undefined) throw failure;
      throwIfAborted(signal, this.provider);
      flush(true);
      for (const part of queue.splice(0)) yield part;
      yield {
        type: 'finish',
        finishReason: finishReason ?? (generated.length >= maxNewTokens ? 'length' : 'other'),
        usage: usageOf(inputTokens, generated.length),
      };
    } finally {
      cancelled = true;
      await generation;
    }
  }
}

/**
 * Creates a chat model that runs a local ONNX model with transformers.js; nothing is downloaded.
 *
 * @example
 * const model = createTransformersChatModel({
 *   localModelPath: '/models',
 *   model: 'elyza-7b-instruct-onnx',
 *   dtype: 'q4',
 *   template: createElyzaPreset().template,
 * });
 * const { text } = await model.generate({ messages: [{ role: 'user', content: 'こんにちは' }] });
 */
export function createTransformersChatModel(config: TransformersChatModelConfig): TransformersChatModel {
  return new TransformersChatModel(config);
}
