import {
  BackendResponseError,
  type ChatResult,
  type ChatStreamPart,
  type ChatToolCall,
  type ChatUsage,
  ModelAbortedError,
  ModelError,
} from '@kaiwa/core';

/**
 * Wraps an async generator of parts in a `ReadableStream`. A throw inside the generator becomes a final
 * `error` part (turned into a `ModelError` by `toModelError`), so the stream itself never errors; cancelling
 * the stream returns the generator, which runs its `finally` blocks.
 */
export function partStream(
  produce: () => AsyncGenerator<ChatStreamPart, void, undefined>,
  toModelError: (error: unknown) => ModelError,
): ReadableStream<ChatStreamPart> {
  let iterator: AsyncGenerator<ChatStreamPart, void, undefined> | undefined;
  return new ReadableStream<ChatStreamPart>({
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
  let finish: Extract<ChatStreamPart, { type: 'finish' }> | undefined;
  for await (const part of stream) {
    if (part.type === 'text-delta') text += part.delta;
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
  };
}

export function emptyUsage(): ChatUsage {
  return { inputTokens: undefined, outputTokens: undefined, totalTokens: undefined };
}

export function usageOf(inputTokens: number | undefined, outputTokens: number | undefined): ChatUsage {
  const totalTokens =
    inputTokens === undefined || outputTokens === undefined ? undefined : inputTokens + outputTokens;
  return { inputTokens, outputTokens, totalTokens };
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
