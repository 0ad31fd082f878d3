import { KaiwaBaseError } from '../errors.js';

const marker = Symbol.for('kaiwa.error.ModelError');

/** What went wrong when talking to a model; callers branch on it (or on `instanceof`). */
export type ModelErrorCode =
  | 'backend_unreachable'
  | 'model_missing'
  | 'context_too_long'
  | 'rate_limited'
  | 'timeout'
  | 'aborted'
  | 'invalid_input'
  | 'backend_error';

/**
 * Base of every error a model backend raises on purpose; one family of {@link KaiwaBaseError}, so it carries
 * `code`, `cause` and `isRetryable` like every Kaiwa error. `isRetryable` says whether the same call may
 * succeed later (a busy or unreachable backend), not whether the backend already retried.
 *
 * @example
 * try {
 *   await model.generate({ messages });
 * } catch (error) {
 *   if (ModelError.isInstance(error) && error.isRetryable) scheduleRetry();
 *   else throw error;
 * }
 */
export class ModelError extends KaiwaBaseError<ModelErrorCode> {
  readonly [marker] = true;
  /** The backend that raised it, e.g. `'openai-compatible'`. @example logger.warn(error.provider, error.message); */
  readonly provider: string | undefined;

  constructor(
    code: ModelErrorCode,
    message: string,
    options: { isRetryable: boolean; provider?: string; cause?: unknown },
  ) {
    super(code, message, { cause: options.cause, isRetryable: options.isRetryable });
    this.name = 'ModelError';
    this.provider = options.provider;
  }

  /**
   * True for any model error, also one thrown by another copy of this package.
   *
   * @example
   * if (ModelError.isInstance(part.error)) console.log(part.error.code);
   */
  static override isInstance(value: unknown): value is ModelError {
    return KaiwaBaseError.hasMarker(value, marker);
  }
}

/**
 * The backend could not be reached (connection refused, DNS, reset). Retryable.
 *
 * @example
 * throw new BackendUnreachableError('http://127.0.0.1:11434/v1 refused the connection', { provider: 'ollama' });
 */
export class BackendUnreachableError extends ModelError {
  constructor(message: string, options: { provider?: string; cause?: unknown } = {}) {
    super('backend_unreachable', message, { ...options, isRetryable: true });
    this.name = 'BackendUnreachableError';
  }
}

/**
 * The model is not there: not pulled, not served, or its files are missing. Not retryable.
 *
 * @example
 * throw new ModelMissingError('elyza:7b', 'model "elyza:7b" not found, pull it first');
 */
export class ModelMissingError extends ModelError {
  /** @example console.log(`missing: ${error.modelId}`); */
  readonly modelId: string;

  constructor(modelId: string, message: string, options: { provider?: string; cause?: unknown } = {}) {
    super('model_missing', message, { ...options, isRetryable: false });
    this.name = 'ModelMissingError';
    this.modelId = modelId;
  }
}

/**
 * The prompt (plus `maxTokens`) does not fit the model's context window. Not retryable as is: shorten it.
 *
 * @example
 * throw new ContextTooLongError('prompt has 5000 tokens, context holds 4096');
 */
export class ContextTooLongError extends ModelError {
  constructor(message: string, options: { provider?: string; cause?: unknown } = {}) {
    super('context_too_long', message, { ...options, isRetryable: false });
    this.name = 'ContextTooLongError';
  }
}

/**
 * The backend asked us to slow down (HTTP 429). Retryable, after `retryAfterMs` when the backend said.
 *
 * @example
 * if (error instanceof RateLimitedError) await sleep(error.retryAfterMs ?? 1_000);
 */
export class RateLimitedError extends ModelError {
  /** Milliseconds the backend asked us to wait (`Retry-After`), if it said. @example await sleep(error.retryAfterMs ?? 1_000); */
  readonly retryAfterMs: number | undefined;

  constructor(
    message: string,
    options: { retryAfterMs?: number | undefined; provider?: string; cause?: unknown } = {},
  ) {
    super('rate_limited', message, { provider: options.provider, cause: options.cause, isRetryable: true });
    this.name = 'RateLimitedError';
    this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * No answer within the configured time. Retryable.
 *
 * @example
 * throw new ModelTimeoutError('no answer from http://127.0.0.1:8080/v1 within 30000 ms');
 */
export class ModelTimeoutError extends ModelError {
  constructor(message: string, options: { provider?: string; cause?: unknown } = {}) {
    super('timeout', message, { ...options, isRetryable: true });
    this.name = 'ModelTimeoutError';
  }
}

/**
 * The caller aborted the call through its `AbortSignal`. Not retryable: the caller wanted it to stop.
 *
 * @example
 * controller.abort(); // generate() rejects, stream() ends with { type: 'error', error: ModelAbortedError }
 */
export class ModelAbortedError extends ModelError {
  constructor(message = 'the model call was aborted', options: { provider?: string; cause?: unknown } = {}) {
    super('aborted', message, { ...options, isRetryable: false });
    this.name = 'ModelAbortedError';
  }
}

/**
 * The call itself is malformed (a text to embed that is not a string): the backend was not asked. Not
 * retryable: fix the input.
 *
 * @example
 * throw new ModelInputError('texts[2] is a number, not a string', { provider: 'transformers' });
 */
export class ModelInputError extends ModelError {
  constructor(message: string, options: { provider?: string; cause?: unknown } = {}) {
    super('invalid_input', message, { ...options, isRetryable: false });
    this.name = 'ModelInputError';
  }
}

/**
 * Any other failure the backend reported; `status` is the HTTP status when there was one. Retryable on 5xx,
 * 408 and 409.
 *
 * @example
 * if (error instanceof BackendResponseError && error.status === 401) askForApiKey();
 */
export class BackendResponseError extends ModelError {
  /** @example if (error.status === 401) askForApiKey(); */
  readonly status: number | undefined;

  constructor(
    message: string,
    options: { status?: number | undefined; isRetryable?: boolean; provider?: string; cause?: unknown } = {},
  ) {
    const status = options.status;
    const isRetryable =
      options.isRetryable ?? (status !== undefined && (status >= 500 || status === 408 || status === 409));
    super('backend_error', message, { provider: options.provider, cause: options.cause, isRetryable });
    this.name = 'BackendResponseError';
    this.status = status;
  }
}

/** A tool call the assistant made. `input` is the arguments as JSON text, exactly as the model wrote them. */
export interface ChatToolCall {
  /** @example 'call_0' */
  toolCallId: string;
  /** @example 'search_messages' */
  toolName: string;
  /** @example '{"query":"会議"}' */
  input: string;
}

/**
 * One message of a conversation.
 *
 * @example
 * const messages: ChatMessage[] = [
 *   { role: 'system', content: 'あなたは誠実で優秀な日本人のアシスタントです。' },
 *   { role: 'user', content: '会議の要点をまとめてください。' },
 * ];
 */
export interface ChatMessage {
  /** @example 'user' */
  role: 'system' | 'user' | 'assistant' | 'tool';
  /** @example 'こんにちは' */
  content: string;
  /** On assistant messages: the tools it called. @example [{ toolCallId: 'call_0', toolName: 'now', input: '{}' }] */
  toolCalls?: ChatToolCall[];
  /** On tool messages: which call this answers. @example 'call_0' */
  toolCallId?: string;
}

/**
 * A tool the model may call. `parameters` is a JSON Schema object.
 *
 * @example
 * const tool: ChatTool = {
 *   name: 'search_messages',
 *   description: 'Full-text search in the current room',
 *   parameters: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] },
 * };
 */
export interface ChatTool {
  /** @example 'search_messages' */
  name: string;
  /** @example 'Full-text search in the current room' */
  description?: string;
  /** @example { type: 'object', properties: { query: { type: 'string' } } } */
  parameters: Record<string, unknown>;
}

/**
 * What to ask the model. Everything but `messages` is optional and left to the backend's default when unset.
 *
 * @example
 * const request: ChatRequest = { messages, maxTokens: 256, temperature: 0.2, stopSequences: ['\nUser:'] };
 */
export interface ChatRequest {
  /** @example [{ role: 'user', content: 'Hi' }] */
  messages: ChatMessage[];
  /** Most tokens to generate. @example 256 */
  maxTokens?: number;
  /** 0 picks the likeliest token every time. @example 0.7 */
  temperature?: number;
  /** @example 0.9 */
  topP?: number;
  /** Generation stops before any of these; they are not part of the text. @example ['</s>', '\nUser:'] */
  stopSequences?: string[];
  /** @example [{ name: 'now', parameters: { type: 'object', properties: {} } }] */
  tools?: ChatTool[];
  /** @example 'auto' */
  toolChoice?: 'auto' | 'none' | 'required' | { toolName: string };
  /** For reproducible sampling where the backend supports it. @example 42 */
  seed?: number;
}

/**
 * Per-call options that are not part of the request itself.
 *
 * @example
 * const controller = new AbortController();
 * setTimeout(() => controller.abort(), 5_000);
 * await model.generate(request, { abortSignal: controller.signal });
 */
export interface ChatCallOptions {
  /** @example { abortSignal: AbortSignal.timeout(10_000) } */
  abortSignal?: AbortSignal;
  /** Extra HTTP headers for backends that speak HTTP. @example { 'x-request-id': 'r-1' } */
  headers?: Record<string, string>;
}

/**
 * Why generation ended: a natural end or stop sequence, the token limit, tool calls, a content filter, an
 * error, or something else the backend reported.
 */
export type ChatFinishReason = 'stop' | 'length' | 'tool-calls' | 'content-filter' | 'error' | 'other';

/**
 * Token counts as the backend reported them; `undefined` where it did not say.
 *
 * @example
 * const { usage } = await model.generate(request);
 * meter.add(usage.totalTokens ?? 0);
 */
export interface ChatUsage {
  /** @example 42 */
  inputTokens: number | undefined;
  /** @example 17 */
  outputTokens: number | undefined;
  /** @example 59 */
  totalTokens: number | undefined;
}

/**
 * Something the backend could not do as asked, reported instead of silently ignored: a request setting it
 * does not support (`tools` on an in-process model, `seed` where sampling cannot be seeded), or anything else
 * worth a log line. The call still answers.
 *
 * @example
 * for (const warning of result.warnings) {
 *   if (warning.type === 'unsupported-setting') logger.warn(`${model.provider} ignored ${warning.setting}`);
 * }
 */
export type ChatWarning =
  | {
      type: 'unsupported-setting';
      /** @example 'tools' */
      setting: Exclude<keyof ChatRequest, 'messages'>;
      /** @example 'llama.cpp runs without tool calling; the tools were not shown to the model' */
      details?: string;
    }
  | { type: 'other'; message: string };

/**
 * What a chat model can do, so callers ask instead of guess. A request setting whose capability is false is
 * not sent to the model and comes back as an `unsupported-setting` warning.
 *
 * @example
 * const request = model.capabilities.tools ? { messages, tools, toolChoice: 'auto' as const } : { messages };
 */
export interface ChatModelCapabilities {
  /** Text arrives in several `text-delta`s while it is generated, not in one piece at the end. */
  streaming: boolean;
  /** `tools` and `toolChoice` reach the model, which answers with `tool-call`s. */
  tools: boolean;
  /** `stopSequences` end generation, and are not part of the text. */
  stopSequences: boolean;
  /** `seed` makes sampling (`temperature` above 0) reproducible. */
  seed: boolean;
}

/**
 * The whole answer of `generate`.
 *
 * @example
 * const { text, finishReason, usage } = await model.generate({ messages });
 */
export interface ChatResult {
  /** @example 'こんにちは！' */
  text: string;
  /** @example [] */
  toolCalls: ChatToolCall[];
  /** @example 'stop' */
  finishReason: ChatFinishReason;
  /** @example { inputTokens: 12, outputTokens: 3, totalTokens: 15 } */
  usage: ChatUsage;
  /** Settings of the request the backend could not honour; empty when it honoured them all. @example [] */
  warnings: ChatWarning[];
}

/**
 * One part of a streamed answer. Every stream starts with one `stream-start` carrying the request's
 * warnings; text then arrives as `text-delta`s in order, tool calls as whole `tool-call`s, and a successful
 * stream ends with exactly one `finish`. A failure (including an abort) is an `error` part, after which the
 * stream closes; streams never throw.
 *
 * @example
 * for await (const part of model.stream(request)) {
 *   if (part.type === 'text-delta') process.stdout.write(part.delta);
 *   else if (part.type === 'error') console.error(part.error.code);
 * }
 */
export type ChatStreamPart =
  | { type: 'stream-start'; warnings: ChatWarning[] }
  | { type: 'text-delta'; delta: string }
  | ({ type: 'tool-call' } & ChatToolCall)
  | { type: 'finish'; finishReason: ChatFinishReason; usage: ChatUsage }
  | { type: 'error'; error: ModelError };

/**
 * A chat (language) model: the port every backend implements — an OpenAI-compatible server, transformers.js,
 * llama.cpp. Shaped like the AI SDK's language model.
 *
 * @example
 * const model: ChatModel = createOpenAICompatibleChatModel({ baseURL: 'http://127.0.0.1:11434/v1', model: 'llama3.2' });
 * const { text } = await model.generate({ messages: [{ role: 'user', content: 'こんにちは' }] });
 */
export interface ChatModel {
  /**
   * The version of this interface the backend implements; it changes when the port changes shape.
   *
   * @example
   * if (model.specificationVersion !== 'v1') throw new Error(`unsupported chat model ${model.provider}`);
   */
  readonly specificationVersion: 'v1';
  /** The backend kind. @example 'openai-compatible' */
  readonly provider: string;
  /** The model as the backend names it. @example 'elyza/ELYZA-japanese-Llama-2-7b-instruct' */
  readonly modelId: string;
  /**
   * What this model can do; a setting it cannot honour is reported in `warnings`, never silently dropped.
   *
   * @example
   * if (!model.capabilities.tools) console.info(`${model.modelId} answers without tools`);
   */
  readonly capabilities: ChatModelCapabilities;

  /**
   * Generates the whole answer.
   *
   * @throws ModelError (a subclass of it) when the call fails or is aborted.
   * @example
   * const { text, usage } = await model.generate({ messages, maxTokens: 128 }, { abortSignal });
   */
  generate(request: ChatRequest, options?: ChatCallOptions): Promise<ChatResult>;

  /**
   * Streams the answer as parts. Never rejects or throws: failures, aborts included, arrive as an `error` part.
   * The stream is also an async iterable; cancelling it stops generation.
   *
   * @example
   * for await (const part of model.stream({ messages }, { abortSignal })) {
   *   if (part.type === 'text-delta') reply += part.delta;
   * }
   */
  stream(request: ChatRequest, options?: ChatCallOptions): ReadableStream<ChatStreamPart>;
}
