import {
  type ChatCallOptions,
  type ChatFinishReason,
  type ChatMessage,
  type ChatModel,
  type ChatModelCapabilities,
  type ChatRequest,
  type ChatResult,
  type ChatStreamPart,
  type ChatToolCall,
  type ChatWarning,
  ModelAbortedError,
} from '@kaiwa/core';
import OpenAI from 'openai';
import {
  asModelError,
  emptyUsage,
  partStream,
  throwIfAborted,
  unsupportedSettings,
  usageOf,
} from '../stream-parts.js';
import type { ChatTemplate } from '../templates/llama2-chat-template.js';
import { toModelError } from './openai-errors.js';

export interface OpenAICompatibleChatModelConfig {
  /** The server's OpenAI-compatible root, e.g. `http://127.0.0.1:11434/v1` (Ollama), `http://127.0.0.1:8080/v1` (llama-server). */
  baseURL: string;
  /** Local servers need none; a placeholder is sent then. */
  apiKey?: string;
  /** The model as the server names it. */
  model: string;
  /** Per HTTP attempt, in milliseconds (default 60 000). */
  timeoutMs?: number;
  /** Retries on connection errors, 408, 409, 429 and 5xx, with exponential backoff that honours `Retry-After` (default 2). */
  maxRetries?: number;
  /** Reported as `provider` (default `'openai-compatible'`). */
  provider?: string;
  /**
   * When set, requests go to `/completions` with the prompt this template formats (for base models or servers
   * whose built-in chat template is wrong); the template's stop sequences are added. When unset, messages go
   * to `/chat/completions` and the server applies its own template.
   */
  template?: ChatTemplate;
  /** Ask for token usage in streams (`stream_options.include_usage`, default true). */
  streamUsage?: boolean;
  /**
   * What the server and its model can do, where it differs from the defaults: everything, except tools with
   * a `template` (`/completions` has none). Say `{ tools: false }` for a server or model without tool
   * calling, so that tools come back as an `unsupported-setting` warning instead of an error or a silent drop.
   */
  capabilities?: Partial<ChatModelCapabilities>;
  headers?: Record<string, string>;
  /** For tests and proxies. */
  fetch?: typeof fetch;
}

type ChatMessageParam = OpenAI.Chat.Completions.ChatCompletionMessageParam;

function toOpenAIMessages(messages: ChatMessage[]): ChatMessageParam[] {
  return messages.map((message): ChatMessageParam => {
    switch (message.role) {
      case 'system':
        return { role: 'system', content: message.content };
      case 'user':
        return { role: 'user', content: message.content };
      case 'tool':
        return { role: 'tool', content: message.content, tool_call_id: message.toolCallId ?? '' };
      default:
        return {
          role: 'assistant',
          content: message.content,
          ...(message.toolCalls?.length
            ? {
                tool_calls: message.toolCalls.map((call) => ({
                  id: call.toolCallId,
                  type: 'function' as const,
                  function: { name: call.toolName, arguments: call.input },
                })),
              }
            : {}),
        };
    }
  });
}

function toFinishReason(reason: string | null | undefined): ChatFinishReason {
  switch (reason) {
    case 'stop':
      return 'stop';
    case 'length':
      return 'length';
    case 'tool_calls':
    case 'function_call':
      return 'tool-calls';
    case 'content_filter':
      return 'content-filter';
    default:
      return 'other';
  }
}

/**
 * A chat model on any server that speaks the OpenAI API: OpenAI itself, Ollama, llama.cpp's `llama-server`,
 * vLLM. Uses the official `openai` client for transport, retries and timeouts, and maps its errors to Kaiwa's
 * `ModelError`s. It declares every capability but tools with a `template`; `capabilities` in the config says
 * what a particular server or model lacks, and such settings are then left out of the request with a warning.
 */
export class OpenAICompatibleChatModel implements ChatModel {
  readonly specificationVersion = 'v1';
  readonly provider: string;
  readonly modelId: string;
  readonly capabilities: ChatModelCapabilities;
  readonly #client: OpenAI;
  readonly #config: OpenAICompatibleChatModelConfig;

  constructor(config: OpenAICompatibleChatModelConfig) {
    this.provider = config.provider ?? 'openai-compatible';
    this.modelId = config.model;
    this.capabilities = {
      streaming: true,
      stopSequences: true,
      seed: true,
      ...config.capabilities,
      tools: config.template ? false : (config.capabilities?.tools ?? true),
    };
    this.#config = config;
    this.#client = new OpenAI({
      baseURL: config.baseURL,
      apiKey: config.apiKey ?? 'not-needed',
      timeout: config.timeoutMs ?? 60_000,
      maxRetries: config.maxRetries ?? 2,
      ...(config.headers ? { defaultHeaders: config.headers } : {}),
      ...(config.fetch ? { fetch: config.fetch } : {}),
    });
  }

  async generate(request: ChatRequest, options: ChatCallOptions = {}): Promise<ChatResult> {
    const warnings = this.#warnings(request);
    try {
      throwIfAborted(options.abortSignal, this.provider);
      const requestOptions = this.#requestOptions(options);
      if (this.#config.template) {
        const completion = await this.#client.completions.create(
          { ...this.#completionBody(request, this.#config.template), stream: false },
          requestOptions,
        );
        const choice = completion.choices[0];
        return {
          text: choice?.text ?? '',
          toolCalls: [],
          finishReason: toFinishReason(choice?.finish_reason),
          usage: usageOf(completion.usage?.prompt_tokens, completion.usage?.completion_tokens),
          warnings,
        };
      }
      const completion = await this.#client.chat.completions.create(
        { ...this.#chatBody(request), stream: false },
        requestOptions,
      );
      const choice = completion.choices[0];
      const toolCalls: ChatToolCall[] = [];
      for (const call of choice?.message.tool_calls ?? []) {
        if (call.type === 'function') {
          toolCalls.push({
            toolCallId: call.id,
            toolName: call.function.name,
            input: call.function.arguments,
          });
        }
      }
      return {
        text: choice?.message.content ?? '',
        toolCalls,
        finishReason: toFinishReason(choice?.finish_reason),
        usage: usageOf(completion.usage?.prompt_tokens, completion.usage?.completion_tokens),
        warnings,
      };
    } catch (error) {
      throw this.#toError(error, options.abortSignal);
    }
  }

  stream(request: ChatRequest, options: ChatCallOptions = {}): ReadableStream<ChatStreamPart> {
    // Our own controller, so that cancelling the ReadableStream also stops the HTTP request.
    const controller = new AbortController();
    const onAbort = () => controller.abort(options.abortSignal?.reason);
    const self = this;
    return partStream(
      async function* () {
        options.abortSignal?.addEventListener('abort', onAbort, { once: true });
        try {
          throwIfAborted(options.abortSignal, self.provider);
          yield* self.#streamParts(request, { ...options, abortSignal: controller.signal });
        } finally {
          options.abortSignal?.removeEventListener('abort', onAbort);
          controller.abort();
        }
      },
      (error) => this.#toError(error, options.abortSignal),
      this.#warnings(request),
    );
  }

  #warnings(request: ChatRequest): ChatWarning[] {
    return unsupportedSettings(request, this.capabilities, {
      tools: this.#config.template
        ? 'a model behind a prompt template (/completions) cannot call tools; they were not sent'
        : 'this server or model was configured without tool calling; the tools were not sent',
    });
  }

  async *#streamParts(request: ChatRequest, options: ChatCallOptions): AsyncGenerator<ChatStreamPart> {
    const requestOptions = this.#requestOptions(options);
    const streamOptions =
      this.#config.streamUsage === false ? {} : { stream_options: { include_usage: true } };
    let finishReason: ChatFinishReason = 'other';
    let usage = emptyUsage();
    if (this.#config.template) {
      const chunks = await this.#client.completions.create(
        { ...this.#completionBody(request, this.#config.template), stream: true, ...streamOptions },
        requestOptions,
      );
      for await (const chunk of chunks) {
        // Chunks parsed from one network read arrive after an abort too; none of them may pass it.
        throwIfAborted(options.abortSignal, this.provider);
        const choice = chunk.choices[0];
        if (choice?.text) yield { type: 'text-delta', delta: choice.text };
        if (choice?.finish_reason) finishReason = toFinishReason(choice.finish_reason);
        if (chunk.usage) usage = usageOf(chunk.usage.prompt_tokens, chunk.usage.completion_tokens);
      }
      // The client's stream ends quietly on abort; an aborted answer must not look finished.
      throwIfAborted(options.abortSignal, this.provider);
      yield { type: 'finish', finishReason, usage };
      return;
    }
    const chunks = await this.#client.chat.completions.create(
      { ...this.#chatBody(request), stream: true, ...streamOptions },
      requestOptions,
    );
    // Tool call arguments arrive in fragments, keyed by index; they are emitted whole at the end.
    const calls = new Map<number, { id: string; name: string; input: string }>();
    for await (const chunk of chunks) {
      throwIfAborted(options.abortSignal, this.provider);
      const choice = chunk.choices[0];
      const delta = choice?.delta;
      if (delta?.content) yield { type: 'text-delta', delta: delta.content };
      for (const fragment of delta?.tool_calls ?? []) {
        const call = calls.get(fragment.index) ?? { id: '', name: '', input: '' };
        if (fragment.id) call.id = fragment.id;
        if (fragment.function?.name) call.name += fragment.function.name;
        if (fragment.function?.arguments) call.input += fragment.function.arguments;
        calls.set(fragment.index, call);
      }
      if (choice?.finish_reason) finishReason = toFinishReason(choice.finish_reason);
      if (chunk.usage) usage = usageOf(chunk.usage.prompt_tokens, chunk.usage.completion_tokens);
    }
    throwIfAborted(options.abortSignal, this.provider);
    for (const [index, call] of [...calls].sort(([a], [b]) => a - b)) {
      yield {
        type: 'tool-call',
        toolCallId: call.id || `call_${index}`,
        toolName: call.name,
        input: call.input,
      };
    }
    yield { type: 'finish', finishReason, usage };
  }

  #requestOptions(options: ChatCallOptions): OpenAI.RequestOptions {
    return {
      ...(options.abortSignal ? { signal: options.abortSignal } : {}),
      ...(options.headers ? { headers: options.headers } : {}),
    };
  }

  #common(request: ChatRequest) {
    return {
      model: this.#config.model,
      ...(request.maxTokens !== undefined ? { max_tokens: request.maxTokens } : {}),
      ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
      ...(request.topP !== undefined ? { top_p: request.topP } : {}),
      ...(request.seed !== undefined && this.capabilities.seed ? { seed: request.seed } : {}),
    };
  }

  #chatBody(request: ChatRequest) {
    const toolChoice = request.toolChoice;
    return {
      ...this.#common(request),
      messages: toOpenAIMessages(request.messages),
      ...(request.stopSequences?.length && this.capabilities.stopSequences
        ? { stop: request.stopSequences }
        : {}),
      ...(request.tools?.length && this.capabilities.tools
        ? {
            tools: request.tools.map((tool) => ({
              type: 'function' as const,
              function: {
                name: tool.name,
                parameters: tool.parameters,
                ...(tool.description ? { description: tool.description } : {}),
              },
            })),
          }
        : {}),
      ...(toolChoice && this.capabilities.tools
        ? {
            tool_choice:
              typeof toolChoice === 'string'
                ? toolChoice
                : { type: 'function' as const, function: { name: toolChoice.toolName } },
          }
        : {}),
    };
  }

  #completionBody(request: ChatRequest, template: ChatTemplate) {
    const requested = this.capabilities.stopSequences ? (request.stopSequences ?? []) : [];
    const stop = [...new Set([...template.stopSequences, ...requested])];
    return { ...this.#common(request), prompt: template.format(request.messages).prompt, stop };
  }

  #toError(error: unknown, signal: AbortSignal | undefined) {
    if (signal?.aborted) return new ModelAbortedError(undefined, { provider: this.provider, cause: error });
    return asModelError(error, (cause) =>
      toModelError(cause, { provider: this.provider, model: this.modelId, baseURL: this.#config.baseURL }),
    );
  }
}

/**
 * Creates a chat model on an OpenAI-compatible server.
 *
 * @example
 * const model = createOpenAICompatibleChatModel({ baseURL: 'http://127.0.0.1:11434/v1', model: 'llama3.2' });
 * for await (const part of model.stream({ messages: [{ role: 'user', content: 'こんにちは' }] })) {
 *   if (part.type === 'text-delta') process.stdout.write(part.delta);
 * }
 */
export function createOpenAICompatibleChatModel(
  config: OpenAICompatibleChatModelConfig,
): OpenAICompatibleChatModel {
  return new OpenAICompatibleChatModel(config);
}
