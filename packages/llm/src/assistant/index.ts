export {
  Assistant,
  type AssistantLimits,
  type AssistantOptions,
  type AssistantRoomSettings,
  type AssistantSettingsSource,
  assistantClaimKey,
  DEFAULT_ASSISTANT_SYSTEM_PROMPT,
  ensureAssistantUser,
  FRIENDLY_ERRORS,
  UNHEARD_VOICE_ANSWER,
} from './assistant.js';
export { type BuildContextInput, buildContext, estimateTokens } from './context.js';
export {
  type AssistantKnowledge,
  type AssistantPassage,
  NOTHING_FOUND_ANSWER,
} from './knowledge-prompt.js';
