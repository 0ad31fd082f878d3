import {
  BackendResponseError,
  type ChatModelCapabilities,
  type ChatRequest,
  type ChatResult,
  type ChatStreamPart,
  type ChatToolCall,
  type ChatUsage,
  type ChatWarning,
  ModelAbortedError,
  ModelError,
  ModelInputError,
} from '@kaiwa/core';

/**
 * Wraps an async generator of parts in a `ReadableStream` that starts with a `stream-start` part carrying
 * `warnings`. A throw inside the generator becomes a final `error` part (turned into a `ModelError` by
 * `toModelError`), so the stream itself never errors; cancelling the stream returns the generator, which
 * runs its `finally` blocks.
 */
export function partStream(
  produce: () => AsyncGenerator<ChatStreamPart, void, undefined>,
  toModelError: (error: unknown) => ModelError,
  warnings: ChatWarning[] = [],
): ReadableStream<ChatStreamPart> {
  let iterator: AsyncGenerator<ChatStreamPart, void, undefined> | undefined;
  return new ReadableStream<ChatStreamPart>({
    start(controller) {
      controller.enqueue({ type: 'stream-start', warnings });
    },
    async pull(controller) {
      iterator ??= produce();
      try {
        const next = await iterator.next();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      } catch (error) {
        controller.enqueue({ type: 'error', error: toModelError(error) });
        controller.close();
      }
    },
    async cancel() {
      await iterator?.return(undefined);
    },
  });
}

/** Reads a part stream into one result; an `error` part is thrown. */
export async function collectParts(stream: ReadableStream<ChatStreamPart>): Promise<ChatResult> {
  let text = '';
  const toolCalls: ChatToolCall[] = [];
  const warnings: ChatWarning[] = [];
  let finish: Extract<ChatStreamPart, { type: 'finish' }> | undefined;
  for await (const part of stream) {
    if (part.type === 'stream-start') warnings.push(...part.warnings);
    else if (part.type === 'text-delta') text += part.delta;
    else if (part.type === 'tool-call') {
      toolCalls.push({ toolCallId: part.toolCallId, toolName: part.toolName, input: part.input });
    } else if (part.type === 'finish') finish = part;
    else throw part.error;
  }
  return {
    text,
    toolCalls,
    finishReason: finish?.finishReason ?? 'other',
    usage: finish?.usage ?? emptyUsage(),
    warnings,
  };
}

/**
 * The `unsupported-setting` warnings for the settings of `request` that `capabilities` rule out. The backend
 * then leaves those settings out; `why` says why, per setting, in the warning's `details`.
 *
 * @example
 * unsupportedSettings({ messages, tools }, { streaming: true, tools: false, stopSequences: true, seed: true })
 * // → [{ type: 'unsupported-setting', setting: 'tools', details: 'this model cannot call tools; …' }]
 */
export function unsupportedSettings(
  request: ChatRequest,
  capabilities: ChatModelCapabilities,
  why: Partial<Record<ChatWarningSetting, string>> = {},
): ChatWarning[] {
  const warnings: ChatWarning[] = [];
  const warn = (setting: ChatWarningSetting, fallback: string) => {
    warnings.push({ type: 'unsupported-setting', setting, details: why[setting] ?? fallback });
  };
  if (!capabilities.tools && request.tools?.length) {
    warn('tools', 'this model cannot call tools; they were not shown to it');
  }
  const forced =
    request.toolChoice !== undefined && request.toolChoice !== 'auto' && request.toolChoice !== 'none';
  if (!capabilities.tools && forced) {
    warn('toolChoice', 'this model cannot call tools; it answered with text');
  }
  if (!capabilities.stopSequences && request.stopSequences?.length) {
    warn('stopSequences', 'this model cannot stop at a sequence; the text may run past it');
  }
  if (!capabilities.seed && request.seed !== undefined) {
    warn('seed', 'this model cannot seed its sampling; answers above temperature 0 are not reproducible');
  }
  return warnings;
}

type ChatWarningSetting = Extract<ChatWarning, { type: 'unsupported-setting' }>['setting'];

export function emptyUsage(): ChatUsage {
  return { inputTokens: undefined, outputTokens: undefined, totalTokens: undefined };
}

export function usageOf(inputTokens: number | undefined, outputTokens: number | undefined): ChatUsage {
  const totalTokens =
    inputTokens === undefined || outputTokens === undefined ? undefined : inputTokens + outputTokens;
  return { inputTokens, outputTokens, totalTokens };
}

/** Throws a `ModelInputError` unless `texts` is an array of strings (callers from plain JavaScript or JSON). */
export function assertTexts(texts: unknown, provider: string): asserts texts is string[] {
  if (!Array.isArray(texts)) {
    throw new ModelInputError(`texts must be an array of strings, not ${typeof texts}`, { provider });
  }
  const index = texts.findIndex((text) => typeof text !== 'string');
  if (index !== -1) {
    const value = texts[index];
    throw new ModelInputError(`texts[${index}] is ${value === null ? 'null' : typeof value}, not a string`, {
      provider,
    });
  }
}

export function throwIfAborted(signal: AbortSignal | undefined, provider: string): void {
  if (signal?.aborted) throw new ModelAbortedError(undefined, { provider, cause: signal.reason });
}

/**
 * Finds the earliest stop sequence in `text`. Returns the index where it starts, or -1. Also returns how many
 * trailing characters could still be the start of a stop sequence, so a streamer can hold them back.
 */
export function findStop(text: string, stops: readonly string[]): { index: number; holdBack: number } {
  let index = -1;
  for (const stop of stops) {
    if (stop === '') continue;
    const at = text.indexOf(stop);
    if (at !== -1 && (index === -1 || at < index)) index = at;
  }
  if (index !== -1) return { index, holdBack: 0 };
  let holdBack = 0;
  for (const stop of stops) {
    for (let length = Math.min(stop.length - 1, text.length); length > holdBack; length--) {
      if (text.endsWith(stop.slice(0, length))) {
        holdBack = length;
        break;
      }
    }
  }
  return { index: -1, holdBack };
}

export function asModelError(error: unknown, fallback: (error: unknown) => ModelError): ModelError {
  return ModelError.isInstance(error) ? error : fallback(error);
}

/**
 * For in-process backends (transformers.js, llama.cpp): keeps a `ModelError`, and turns anything else the
 * library threw into a non-retryable `BackendResponseError` of `provider`, since retrying the same local
 * call would fail the same way.
 */
export function asLocalModelError(error: unknown, provider: string): ModelError {
  return asModelError(
    error,
    (cause) =>
      new BackendResponseError(cause instanceof Error ? cause.message : String(cause), {
        provider,
        cause,
        isRetryable: false,
      }),
  );
}
