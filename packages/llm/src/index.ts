export {
  Assistant,
  type AssistantKnowledge,
  type AssistantLimits,
  type AssistantOptions,
  type AssistantPassage,
  type AssistantRoomSettings,
  type AssistantSettingsSource,
  assistantClaimKey,
  type BuildContextInput,
  buildContext,
  DEFAULT_ASSISTANT_SYSTEM_PROMPT,
  ensureAssistantUser,
  estimateTokens,
  FRIENDLY_ERRORS,
  NOTHING_FOUND_ANSWER,
  UNHEARD_VOICE_ANSWER,
} from './assistant/index.js';
export {
  createLlamaCppChatModel,
  LlamaCppChatModel,
  type LlamaCppChatModelConfig,
} from './llama-cpp/llama-cpp-chat-model.js';
export {
  createOpenAICompatibleChatModel,
  OpenAICompatibleChatModel,
  type OpenAICompatibleChatModelConfig,
} from './openai-compatible/openai-compatible-chat-model.js';
export {
  createOpenAICompatibleEmbeddingModel,
  OpenAICompatibleEmbeddingModel,
  type OpenAICompatibleEmbeddingModelConfig,
} from './openai-compatible/openai-compatible-embedding-model.js';
export { collectParts } from './stream-parts.js';
export {
  createElyzaPreset,
  ELYZA_DEFAULT_SYSTEM_PROMPT,
  type ElyzaPresetConfig,
  type ElyzaVariant,
  type ModelPreset,
} from './templates/elyza-preset.js';
export {
  type ChatTemplate,
  createLlama2ChatTemplate,
  type FormattedPrompt,
  LLAMA2_BOS,
  LLAMA2_EOS,
  type Llama2ChatTemplateConfig,
  type PromptTurn,
} from './templates/llama2-chat-template.js';
export {
  expectedModelFiles,
  type TransformersDevice,
  type TransformersDtype,
  type TransformersModelConfig,
} from './transformers/load-transformers.js';
export {
  createTransformersChatModel,
  TransformersChatModel,
  type TransformersChatModelConfig,
} from './transformers/transformers-chat-model.js';
export {
  createTransformersEmbeddingModel,
  TransformersEmbeddingModel,
  type TransformersEmbeddingModelConfig,
} from './transformers/transformers-embedding-model.js';
