import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KaiwaBaseError } from '../errors.js';
import {
  type ChatFinishReason,
  type ChatMessage,
  type ChatModel,
  type ChatRequest,
  type ChatResult,
  type ChatStreamPart,
  type ChatTool,
  type ChatUsage,
  type ChatWarning,
  ModelError,
  type ModelErrorCode,
} from '../ports/chat-model.js';

/** The tests of {@link chatModelContract}, by the key `skipTests` takes. */
export type ChatModelContractTest =
  | 'describes-itself'
  | 'generate'
  | 'stream'
  | 'stream-equals-generate'
  | 'abort'
  | 'cancel'
  | 'max-tokens'
  | 'stop-sequences'
  | 'tools'
  | 'seed'
  | 'errors';

/** A model that must fail, and the code it must fail with. */
export interface FailingChatModel {
  /** Shown in the test name: `missing model file`, `unreachable server`. */
  name: string;
  create: () => Promise<ChatModel> | ChatModel;
  /** @example 'model_missing' */
  code: ModelErrorCode;
}

export interface ChatModelContractOptions {
  /** Shown in the test names: `transformers.js`, `llama.cpp`, `openai-compatible`. */
  name: string;
  /** The model under test, called once per test; may return the same instance each time (a loaded model). */
  create: () => Promise<ChatModel> | ChatModel;
  /** Runs once before the suite (start a server); return a teardown. */
  setup?: () => Promise<(() => Promise<void>) | undefined>;
  /** Why the whole suite is skipped (a library or tool missing here); undefined runs it. */
  skip?: string;
  /** Tests to skip, each with its reason. */
  skipTests?: Partial<Record<ChatModelContractTest, string>>;
  /**
   * The conversation every test sends. At temperature 0 the model must answer it with at least one
   * character of text, within `maxTokens`. Default: one user turn, `こんにちは`.
   */
  messages?: ChatMessage[];
  /** `maxTokens` of every request but the ones that test it (default 16): keeps each test fast. */
  maxTokens?: number;
  /** Models that must fail (a missing model file, an unreachable server), each with its error code. */
  failures?: FailingChatModel[];
}

const FINISH_REASONS: ChatFinishReason[] = [
  'stop',
  'length',
  'tool-calls',
  'content-filter',
  'error',
  'other',
];

/** Codes whose retry advice is fixed by the port; `backend_error` depends on the status. */
const RETRYABLE: Partial<Record<ModelErrorCode, boolean>> = {
  backend_unreachable: true,
  model_missing: false,
  context_too_long: false,
  rate_limited: true,
  timeout: true,
  aborted: false,
  invalid_input: false,
};

const TOOL: ChatTool = {
  name: 'current_time',
  description: 'The current time in a time zone',
  parameters: { type: 'object', properties: { zone: { type: 'string' } } },
};

async function readAll(stream: ReadableStream<ChatStreamPart>): Promise<ChatStreamPart[]> {
  const parts: ChatStreamPart[] = [];
  for await (const part of stream) parts.push(part);
  return parts;
}

function textOf(parts: ChatStreamPart[]): string {
  return parts.map((part) => (part.type === 'text-delta' ? part.delta : '')).join('');
}

function expectUsage(usage: ChatUsage): void {
  for (const count of [usage.inputTokens, usage.outputTokens, usage.totalTokens]) {
    if (count !== undefined) {
      expect(Number.isInteger(count)).toBe(true);
      expect(count).toBeGreaterThanOrEqual(0);
    }
  }
  if (usage.inputTokens !== undefined && usage.outputTokens !== undefined) {
    expect(usage.totalTokens).toBe(usage.inputTokens + usage.outputTokens);
  }
}

function expectWarnings(warnings: ChatWarning[]): void {
  expect(Array.isArray(warnings)).toBe(true);
  for (const warning of warnings) expect(['unsupported-setting', 'other']).toContain(warning.type);
}

function settingsWarned(warnings: ChatWarning[]): string[] {
  return warnings.flatMap((warning) => (warning.type === 'unsupported-setting' ? [warning.setting] : []));
}

/** Checks the order every stream keeps: one `stream-start`, then deltas and tool calls, then one `finish`. */
function expectWellFormed(parts: ChatStreamPart[]): void {
  expect(parts[0]?.type).toBe('stream-start');
  if (parts[0]?.type === 'stream-start') expectWarnings(parts[0].warnings);
  expect(parts.filter((part) => part.type === 'stream-start')).toHaveLength(1);
  const last = parts.at(-1);
  expect(last?.type).toBe('finish');
  expect(parts.filter((part) => part.type === 'finish')).toHaveLength(1);
  for (const part of parts.slice(1, -1)) {
    expect(['text-delta', 'tool-call']).toContain(part.type);
    if (part.type === 'text-delta') expect(part.delta.length).toBeGreaterThan(0);
  }
  if (last?.type === 'finish') {
    expect(FINISH_REASONS).toContain(last.finishReason);
    expectUsage(last.usage);
  }
}

/** A stop sequence cut from the greedy answer: two characters after its first when it has them, else one. */
function stopFrom(text: string): string | undefined {
  const characters = [...text];
  const usable = (character: string | undefined) =>
    character !== undefined && character !== '\uFFFD' && character.trim() !== '';
  for (let index = 1; index + 1 < characters.length; index++) {
    if (usable(characters[index]) && usable(characters[index + 1])) {
      return characters[index]! + characters[index + 1]!;
    }
  }
  return characters.slice(1).find(usable);
}

/**
 * What every `ChatModel` must do, run by each backend's own test file on the tiny models the tests build.
 * Greedy decoding (temperature 0) is deterministic even on random weights, so answers are compared across
 * calls; capabilities are held to what the model does: a declared capability must work, an undeclared one
 * must come back as an `unsupported-setting` warning while the model still answers.
 *
 * @example
 * chatModelContract({
 *   name: 'llama.cpp',
 *   create: () => model,
 *   failures: [{ name: 'missing file', code: 'model_missing', create: () => createLlamaCppChatModel({ modelPath: '/nope.gguf', template }) }],
 * });
 */
export function chatModelContract(options: ChatModelContractOptions): void {
  const messages = options.messages ?? [{ role: 'user', content: 'こんにちは' }];
  const maxTokens = options.maxTokens ?? 16;
  const request = (extra: Partial<ChatRequest> = {}): ChatRequest => ({ messages, maxTokens, ...extra });
  const test = (key: ChatModelContractTest, title: string, body: () => Promise<void>) => {
    const reason = options.skipTests?.[key];
    if (reason) it.skip(`${title} (skipped: ${reason})`, body);
    else it(title, body);
  };
  const suite = options.skip ? describe.skip : describe;

  suite(`ChatModel contract: ${options.name}${options.skip ? ` (skipped: ${options.skip})` : ''}`, () => {
    let teardown: (() => Promise<void>) | undefined;
    beforeAll(async () => {
      teardown = (await options.setup?.()) ?? undefined;
    });
    afterAll(async () => {
      await teardown?.();
    });

    test(
      'describes-itself',
      'names itself and declares its specification version and capabilities',
      async () => {
        const model = await options.create();
        expect(model.specificationVersion).toBe('v1');
        expect(typeof model.provider).toBe('string');
        expect(model.provider.length).toBeGreaterThan(0);
        expect(typeof model.modelId).toBe('string');
        expect(model.modelId.length).toBeGreaterThan(0);
        for (const flag of ['streaming', 'tools', 'stopSequences', 'seed'] as const) {
          expect(typeof model.capabilities[flag], flag).toBe('boolean');
        }
      },
    );

    test(
      'generate',
      'generates text with a finish reason, usage and no warnings for a plain request',
      async () => {
        const model = await options.create();
        const result = await model.generate(request({ temperature: 0 }));
        expect(typeof result.text).toBe('string');
        expect(
          result.text.length,
          'the contract messages must make the model answer with text',
        ).toBeGreaterThan(0);
        expect(result.toolCalls).toEqual([]);
        expect(FINISH_REASONS).toContain(result.finishReason);
        expect(result.finishReason).not.toBe('error');
        expectUsage(result.usage);
        expect(result.warnings).toEqual([]);
      },
    );

    test(
      'stream',
      'streams stream-start, text deltas in order and one finish; streams in pieces when it says so',
      async () => {
        const model = await options.create();
        const parts = await readAll(model.stream(request({ temperature: 0 })));
        expectWellFormed(parts);
        expect(parts[0]).toEqual({ type: 'stream-start', warnings: [] });
        const deltas = parts.filter((part) => part.type === 'text-delta');
        expect(deltas.length).toBeGreaterThan(0);
        const finish = parts.at(-1);
        const outputTokens = finish?.type === 'finish' ? finish.usage.outputTokens : undefined;
        if (model.capabilities.streaming && (outputTokens ?? 0) >= 2 && [...textOf(parts)].length >= 2) {
          expect(deltas.length, 'a streaming model sends text as it is generated').toBeGreaterThanOrEqual(2);
        }
        if (!model.capabilities.streaming) expect(deltas.length).toBe(1);
      },
    );

    test('stream-equals-generate', 'streams exactly what generate returns, at temperature 0', async () => {
      const model = await options.create();
      const generated = await model.generate(request({ temperature: 0 }));
      const parts = await readAll(model.stream(request({ temperature: 0 })));
      const finish = parts.at(-1);
      expect(textOf(parts)).toBe(generated.text);
      expect(finish).toEqual({
        type: 'finish',
        finishReason: generated.finishReason,
        usage: generated.usage,
      });
      const again = await model.generate(request({ temperature: 0 }));
      expect(again.text).toBe(generated.text);
    });

    test('abort', 'stops on abort: an aborted error part ends the stream, and generate rejects', async () => {
      const model = await options.create();
      const already = await model
        .generate(request(), { abortSignal: AbortSignal.abort() })
        .catch((error: unknown) => error);
      expect(ModelError.isInstance(already)).toBe(true);
      expect(already).toMatchObject({ code: 'aborted', isRetryable: false });
      const before = await readAll(model.stream(request(), { abortSignal: AbortSignal.abort() }));
      expect(before.map((part) => part.type)).toEqual(['stream-start', 'error']);

      const controller = new AbortController();
      const parts: ChatStreamPart[] = [];
      for await (const part of model.stream(request({ maxTokens: 256 }), {
        abortSignal: controller.signal,
      })) {
        parts.push(part);
        if (part.type === 'text-delta') controller.abort();
      }
      expect(parts.some((part) => part.type === 'text-delta')).toBe(true);
      expect(parts.some((part) => part.type === 'finish')).toBe(false);
      const last = parts.at(-1);
      expect(last?.type).toBe('error');
      if (last?.type === 'error') {
        expect(ModelError.isInstance(last.error)).toBe(true);
        expect(last.error.code).toBe('aborted');
      }
    });

    test('cancel', 'stops when the reader cancels the stream, and answers the next call', async () => {
      const model = await options.create();
      const expected = await model.generate(request({ temperature: 0 }));
      for await (const part of model.stream(request({ maxTokens: 256 }))) {
        if (part.type === 'text-delta') break;
      }
      const next = await model.generate(request({ temperature: 0 }));
      expect(next.text).toBe(expected.text);
    });

    test('max-tokens', 'honours maxTokens with a length finish', async () => {
      const model = await options.create();
      const full = await model.generate(request({ temperature: 0 }));
      const limited = await model.generate(request({ temperature: 0, maxTokens: 1 }));
      if (limited.usage.outputTokens !== undefined) expect(limited.usage.outputTokens).toBeLessThanOrEqual(1);
      const longer =
        full.usage.outputTokens !== undefined
          ? full.usage.outputTokens > 1
          : full.text.length > limited.text.length;
      if (longer) expect(limited.finishReason).toBe('length');
      // A token cut in the middle of a character decodes to U+FFFD; the longer answer has the whole character.
      if (!limited.text.includes('\uFFFD')) expect(full.text.startsWith(limited.text)).toBe(true);
    });

    test('stop-sequences', 'cuts the text before a stop sequence, or warns that it cannot', async () => {
      const model = await options.create();
      const full = await model.generate(request({ temperature: 0 }));
      const stop = stopFrom(full.text);
      if (!model.capabilities.stopSequences) {
        const result = await model.generate(request({ temperature: 0, stopSequences: [stop ?? '\n'] }));
        expect(settingsWarned(result.warnings)).toContain('stopSequences');
        expect(FINISH_REASONS).toContain(result.finishReason);
        return;
      }
      expect(
        stop,
        `the greedy answer ${JSON.stringify(full.text)} has no character to stop at`,
      ).toBeDefined();
      const stopped = await model.generate(request({ temperature: 0, stopSequences: [stop!] }));
      expect(stopped.text).toBe(full.text.slice(0, full.text.indexOf(stop!)));
      expect(stopped.finishReason).toBe('stop');
      expect(stopped.warnings).toEqual([]);
      const parts = await readAll(model.stream(request({ temperature: 0, stopSequences: [stop!] })));
      expect(textOf(parts)).toBe(stopped.text);
    });

    test('tools', 'calls a forced tool when it declares tools, else warns and still answers', async () => {
      const model = await options.create();
      const withTool = request({ temperature: 0, tools: [TOOL], toolChoice: { toolName: TOOL.name } });
      const result = await model.generate(withTool);
      const parts = await readAll(model.stream(withTool));
      expectWellFormed(parts);
      const calls = parts.filter((part) => part.type === 'tool-call');
      if (model.capabilities.tools) {
        expect(result.toolCalls.length).toBeGreaterThan(0);
        for (const call of [...result.toolCalls, ...calls]) {
          expect(call.toolName).toBe(TOOL.name);
          expect(typeof call.toolCallId).toBe('string');
          expect(typeof JSON.parse(call.input)).toBe('object');
        }
        expect(result.finishReason).toBe('tool-calls');
        expect(calls.length).toBeGreaterThan(0);
        expect(parts.at(-1)).toMatchObject({ type: 'finish', finishReason: 'tool-calls' });
        expect(settingsWarned(result.warnings)).not.toContain('tools');
      } else {
        expect(settingsWarned(result.warnings)).toEqual(['tools', 'toolChoice']);
        expect(parts[0]).toEqual({ type: 'stream-start', warnings: result.warnings });
        expect(result.toolCalls).toEqual([]);
        expect(calls).toEqual([]);
        expect(result.text.length).toBeGreaterThan(0);
        expect(['tool-calls', 'error']).not.toContain(result.finishReason);
        // Offered but not forced: one warning, for the tools.
        const offered = await model.generate(request({ temperature: 0, tools: [TOOL], toolChoice: 'auto' }));
        expect(settingsWarned(offered.warnings)).toEqual(['tools']);
      }
    });

    test('seed', 'reproduces a seeded sampled answer when it declares seed, else warns', async () => {
      const model = await options.create();
      const seeded = request({ temperature: 0.9, seed: 42 });
      const first = await model.generate(seeded);
      if (model.capabilities.seed) {
        expect(settingsWarned(first.warnings)).not.toContain('seed');
        const second = await model.generate(seeded);
        expect(second.text).toBe(first.text);
      } else {
        expect(settingsWarned(first.warnings)).toEqual(['seed']);
        expect(FINISH_REASONS).toContain(first.finishReason);
      }
    });

    const failures = options.failures ?? [];
    if (failures.length === 0) {
      it.skip('fails with typed errors (skipped: no failing model given)', () => {});
    }
    for (const failure of failures) {
      test('errors', `fails with a typed ${failure.code} error: ${failure.name}`, async () => {
        const model = await failure.create();
        const error = await model.generate(request()).then(
          (result: ChatResult) => result,
          (caught: unknown) => caught,
        );
        expect(ModelError.isInstance(error), `expected a ModelError, got ${String(error)}`).toBe(true);
        expect(KaiwaBaseError.isInstance(error)).toBe(true);
        const modelError = error as ModelError;
        expect(modelError.code).toBe(failure.code);
        expect(typeof modelError.isRetryable).toBe('boolean');
        if (RETRYABLE[failure.code] !== undefined)
          expect(modelError.isRetryable).toBe(RETRYABLE[failure.code]);
        expect(modelError.provider).toBe(model.provider);
        // In a stream the same failure is an error part, never a throw.
        const parts = await readAll(model.stream(request()));
        expect(parts.map((part) => part.type)).toEqual(['stream-start', 'error']);
        const last = parts[1];
        if (last?.type === 'error') expect(last.error.code).toBe(failure.code);
      });
    }
  });
}
