import { type ChatEngine, type ChatModel, SYSTEM_ACTOR } from '@kaiwa/core';
import type { Assistant, AssistantKnowledge, AssistantRoomSettings } from '@kaiwa/llm';
import { z } from 'zod';
import type { AssistantConfig, LlmPreset } from './config.js';
import { instrumentChatModel } from './operations/instrument-chat-model.js';
import type { ServerMetrics } from './operations/server-metrics.js';
import type { Tracing } from './operations/tracing.js';

/*
 * `@kaiwa/llm` (with the OpenAI client it is built on) is imported only when the server needs a model: when
 * KAIWA_LLM_BASE_URL is set. A server without one never loads it (lazy-dependencies.test.ts checks).
 */
type LlmModule = typeof import('@kaiwa/llm');
const loadLlm = (): Promise<LlmModule> => import('@kaiwa/llm');

export interface AssistantLogger {
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

/** The system prompt a preset starts with when the room did not choose one. */
export async function defaultSystemPrompt(preset: LlmPreset): Promise<string> {
  return systemPromptOf(await loadLlm(), preset);
}

function systemPromptOf(llm: LlmModule, preset: LlmPreset): string {
  return preset === 'none' ? llm.DEFAULT_ASSISTANT_SYSTEM_PROMPT : llm.ELYZA_DEFAULT_SYSTEM_PROMPT;
}

/** Where a room's assistant settings are kept in the store's room settings. */
export const ASSISTANT_SETTINGS_KEY = 'assistant';

export const AssistantSettingsSchema = z.object({
  /** Model name as the backend knows it; unset: the server's KAIWA_LLM_MODEL. */
  model: z.string().trim().min(1).max(200).optional(),
  /** Unset: the preset's default prompt. */
  systemPrompt: z.string().trim().min(1).max(4000).optional(),
  /** `elyza`: ELYZA's Llama-2 prompt format and Japanese system prompt. */
  preset: z.enum(['none', 'elyza', 'elyza-fast']).optional(),
});

/** The rooms' saved settings; a row that no longer validates is skipped with a warning. */
async function savedRoomSettings(
  engine: ChatEngine,
  logger: AssistantLogger,
): Promise<Record<string, AssistantRoomSettings>> {
  const rooms: Record<string, AssistantRoomSettings> = {};
  for (const { roomId, value } of await engine.listRoomSettings(SYSTEM_ACTOR, ASSISTANT_SETTINGS_KEY)) {
    const settings = validSettings(roomId, value, logger);
    if (settings) rooms[roomId] = settings;
  }
  return rooms;
}

function validSettings(roomId: string, value: unknown, logger: AssistantLogger) {
  if (value === undefined) return undefined;
  const parsed = AssistantSettingsSchema.safeParse(value);
  if (parsed.success) return dropUndefined(parsed.data);
  logger.warn({ roomId }, 'assistant: ignoring saved room settings that no longer validate');
  return undefined;
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as T;
}

/**
 * The OpenAI-compatible model of the LLM backend (KAIWA_LLM_*), by default the configured model and preset.
 * The assistant and the workflow steps (`analyze`, LLM extraction) both get their model here, so there is one
 * place that turns the settings into a client.
 *
 * @example
 * const chatModel = config.assistant ? await createAssistantChatModel(config.assistant) : undefined;
 */
export async function createAssistantChatModel(
  config: AssistantConfig,
  /** `metrics`: count requests, tokens and time to first token (`kaiwa_llm_*`). */
  options: {
    model?: string;
    preset?: LlmPreset;
    metrics?: ServerMetrics | undefined;
    /** Traces each call (OTEL_*). */
    tracing?: Tracing | undefined;
  } = {},
): Promise<ChatModel> {
  return chatModelOf(await loadLlm(), config, options);
}

function chatModelOf(
  llm: LlmModule,
  config: AssistantConfig,
  options: {
    model?: string;
    preset?: LlmPreset;
    metrics?: ServerMetrics | undefined;
    tracing?: Tracing | undefined;
  },
): ChatModel {
  const { createElyzaPreset, createOpenAICompatibleChatModel } = llm;
  const preset = options.preset ?? config.preset;
  const model = createOpenAICompatibleChatModel({
    baseURL: config.baseUrl,
    model: options.model ?? config.model,
    ...(config.apiKey ? { apiKey: config.apiKey } : {}),
    timeoutMs: config.timeoutMs,
    maxRetries: 1,
    ...(preset === 'none'
      ? {}
      : {
          template: createElyzaPreset({
            variant: preset === 'elyza-fast' ? 'fast-instruct' : 'instruct',
            bos: 'omit',
          }).template,
        }),
  });
  const counted = options.metrics ? instrumentChatModel(model, options.metrics) : model;
  return options.tracing ? options.tracing.traceChatModel(counted) : counted;
}

/**
 * The one place where the server meets the in-chat assistant (`@kaiwa/llm`, docs/ai.md): makes sure its bot
 * user exists and starts it on an OpenAI-compatible backend. Rooms may pick another model, preset or
 * system prompt (stored in the room settings, cached by every instance's assistant and announced on the bus
 * when they change; see `PUT /api/v1/rooms/:roomId/assistant`). With several instances each question is
 * claimed once in the store, so one instance answers it.
 */
export async function composeAssistant(
  engine: ChatEngine,
  config: AssistantConfig,
  logger: AssistantLogger,
  /** The rooms' knowledge (KAIWA_EMBEDDINGS): answers in rooms with sources cite them. */
  knowledge?: AssistantKnowledge,
  /** Counts the model's requests, tokens and time to first token (`kaiwa_llm_*`). */
  metrics?: ServerMetrics,
  /**
   * `voiceTranscripts`: the server transcribes voice messages, so they ask by their transcript.
   * `tracing`: a span per model call (OTEL_*).
   */
  options: { voiceTranscripts?: boolean; tracing?: Tracing } = {},
): Promise<Assistant> {
  const llm = await loadLlm();
  const botUser = await llm.ensureAssistantUser(engine, config.username);
  const models = new Map<string, ChatModel>();
  const modelFor = (name: string, preset: LlmPreset): ChatModel => {
    const key = `${preset}\u0000${name}`;
    let model = models.get(key);
    if (!model) {
      model = chatModelOf(llm, config, { model: name, preset, metrics, tracing: options.tracing });
      models.set(key, model);
    }
    return model;
  };
  return new llm.Assistant({
    engine,
    botUser,
    rooms: await savedRoomSettings(engine, logger),
    // Settings changed on any instance reach this one as `room.settings.updated` (engine.setRoomSetting).
    settingsSource: {
      key: ASSISTANT_SETTINGS_KEY,
      read: async (roomId) =>
        validSettings(
          roomId,
          await engine.getRoomSetting(SYSTEM_ACTOR, roomId, ASSISTANT_SETTINGS_KEY),
          logger,
        ),
      readAll: () => savedRoomSettings(engine, logger),
    },
    model: modelFor(config.model, config.preset),
    ...(knowledge ? { knowledge } : {}),
    voiceTranscripts: options.voiceTranscripts ?? false,
    systemPrompt: systemPromptOf(llm, config.preset),
    contextTokens: config.contextTokens,
    maxTokens: config.maxTokens,
    limits: { perUserPerMinute: config.requestsPerMinute },
    resolveModel: (settings: AssistantRoomSettings) =>
      settings.model || settings.preset
        ? modelFor(settings.model ?? config.model, settings.preset ?? config.preset)
        : undefined,
    onError: (error, context) => logger.warn({ err: error }, `assistant: ${context}`),
  });
}
