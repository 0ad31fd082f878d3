import type { BlobStore, ChatModel, ChatStore, PlatformAdapter, Synthesizer, Transcriber } from '@kaiwa/core';
import type { z } from 'zod';
import type { WorkflowChat } from './workflow-chat.js';

/**
 * What a step can use. The workflow engine passes the same services to every step of a run; a step that
 * needs one that is missing fails with a clear error (for example "analyze needs a chat model").
 */
export interface WorkflowServices {
  /** Chat operations in the run's actor's name (the server's `ChatEngine`). */
  chat: WorkflowChat;
  /** Reads steps need beyond the chat operations (`store` finds an earlier ticket by its label). */
  store: ChatStore;
  blobs?: BlobStore;
  /** Used by `analyze` and LLM extraction. */
  chatModel?: ChatModel;
  /** Platform adapters by name, for `notify` to a Slack/Discord/Telegram/Teams channel. */
  platforms?: ReadonlyMap<string, PlatformAdapter>;
  /** Speech-to-text for `transcribe` (the server's KAIWA_TRANSCRIBER). */
  transcriber?: Transcriber;
  /** Text-to-speech for `synthesize` (the server's KAIWA_SYNTHESIZER). */
  synthesizer?: Synthesizer;
  /** HTTP for `load`; defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Endpoints `load` may call, by name; a step names an endpoint, never a raw URL from input. */
  endpoints?: ReadonlyMap<string, { url: string; headers?: Record<string, string> }>;
}

/** Everything a step sees while it runs. */
export interface StepContext {
  runId: string;
  workflowId: string;
  stepId: string;
  /** 1 on the first try. */
  attempt: number;
  /** Aborted on the step's timeout and when the run is cancelled; pass it to anything that can wait. */
  signal: AbortSignal;
  /** The user the run acts as (messages, tickets and files are written in their name). */
  actorId: string;
  services: WorkflowServices;
}

/**
 * A kind of step: built-ins (`ocr`, `extract`, `notify`, …) and custom ones registered by code.
 * The engine validates the step's resolved `input` against `input` before `run`, so a bad reference or a
 * wrong type fails the step with a ValidationError naming the field, never deep inside `run`.
 *
 * @example
 * const shout = defineStepType({
 *   type: 'shout',
 *   description: 'Upper-cases text',
 *   input: z.object({ text: z.string() }),
 *   run: async ({ text }) => ({ text: text.toUpperCase() }),
 * });
 */
export interface StepType<Input = unknown, Output = unknown> {
  /** Name used in definitions: lower case letters, digits, `-` and `.`. */
  type: string;
  description: string;
  input: z.ZodType<Input>;
  /** Whether an error thrown by `run` is worth another attempt; the default retries all but ValidationError. */
  retryable?: (error: unknown) => boolean;
  run(input: Input, context: StepContext): Promise<Output>;
}

/** Keeps a step type's input and output types attached while it is written. */
export function defineStepType<Input, Output>(step: StepType<Input, Output>): StepType<Input, Output> {
  return step;
}
