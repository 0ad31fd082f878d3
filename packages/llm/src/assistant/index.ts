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
} from './assistant.js';
export { type BuildContextInput, buildContext, estimateTokens } from './context.js';
