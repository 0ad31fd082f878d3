export { assertSafeBlobKey, MAX_BLOB_KEY_LENGTH } from './blob-key.js';
export { decodeBusEnvelope, encodeBusEnvelope } from './bus/bus-envelope.js';
export { BusListeners } from './bus/bus-listeners.js';
export { InMemoryPresenceStore } from './bus/in-memory-presence-store.js';
export { InProcessBus } from './bus/in-process-bus.js';
export { type BusConnectionState, isMonitoredBus, type MonitoredBus } from './bus/monitored-bus.js';
export { OrderedRoomEvents, type OrderedRoomEventsOptions } from './bus/ordered-room-events.js';
export {
  ChatEngine,
  type ChatEngineConfig,
  type EphemeralEvent,
  SYSTEM_ACTOR,
  type SystemActor,
} from './engine/chat-engine.js';
export * as permissions from './engine/permissions.js';
export { NON_GUEST_ROLES, type RoomRights } from './engine/permissions.js';
export {
  ConflictError,
  DatabaseBusyError,
  DatabaseUnavailableError,
  type FieldIssue,
  ForbiddenError,
  KaiwaBaseError,
  KaiwaError,
  type KaiwaErrorCode,
  NotFoundError,
  ValidationError,
} from './errors.js';
export type {
  ChatEvent,
  ChatEventListeners,
  ChatEventType,
  GlobalEvent,
  SessionRevocation,
  SessionRevocationReason,
} from './events.js';
export { isRoomEvent } from './events.js';
export { createId, firstIdAt, timeOfId, ULID_PATTERN } from './ids.js';
export { type ParsedMentions, parseMentions } from './mentions.js';
export {
  type PlatformRetryOptions,
  platformErrorCodeForStatus,
  retryAfterMs,
  withPlatformRetry,
} from './platform/rate-limit-retry.js';
export type { AccountRepository, ApiKeyRecord, RefreshTokenRecord } from './ports/account-repository.js';
export {
  AUDIT_ACTIONS,
  AUDIT_GENESIS_HASH,
  AUDIT_OUTCOMES,
  type AuditAction,
  type AuditChainHead,
  type AuditEntry,
  type AuditEntryInput,
  type AuditOutcome,
  type AuditQuery,
  type AuditRepository,
} from './ports/audit-repository.js';
export type { BlobBody, BlobInfo, BlobStore } from './ports/blob-store.js';
export type {
  Bus,
  BusDelivery,
  BusListener,
  BusPublishOptions,
  BusTraceContext,
} from './ports/bus.js';
export {
  BackendResponseError,
  BackendUnreachableError,
  type ChatCallOptions,
  type ChatFinishReason,
  type ChatMessage,
  type ChatModel,
  type ChatModelCapabilities,
  type ChatRequest,
  type ChatResult,
  type ChatStreamPart,
  type ChatTool,
  type ChatToolCall,
  type ChatUsage,
  type ChatWarning,
  ContextTooLongError,
  ModelAbortedError,
  ModelError,
  type ModelErrorCode,
  ModelInputError,
  ModelMissingError,
  ModelTimeoutError,
  RateLimitedError,
} from './ports/chat-model.js';
export type {
  AccountStorage,
  AuditStorage,
  ChatStorage,
  ChatStore,
  FileRecordRepository,
  MembershipRepository,
  MessagePageQuery,
  MessageRepository,
  MessageSearchQuery,
  PlatformStorage,
  ProjectRepository,
  ProjectStorage,
  ReactionRepository,
  RoomEventRepository,
  RoomRepository,
  RoomSettingStorage,
  StoreDialect,
  StoredMessage,
  StoreRepositories,
  StoreTransaction,
  TicketRepository,
  UserRepository,
  WorkflowStorage,
} from './ports/chat-store.js';
export type { EmbeddingModel, EmbedOptions, EmbedResult } from './ports/embedding-model.js';
export * from './ports/platform-adapter.js';
export * from './ports/platform-adapter-config.js';
export type * from './ports/platform-store.js';
export {
  checkPluginInstallationInput,
  type PluginInstallation,
  type PluginInstallationPatch,
  type PluginInstallationStorage,
  type PluginInstallationStore,
} from './ports/plugin-installation-store.js';
export {
  checkPluginJobRunInput,
  PLUGIN_JOB_REASON_MAX_LENGTH,
  type PluginJobOutcome,
  type PluginJobRun,
  type PluginJobRunStatus,
  type PluginJobRunStore,
  type PluginJobSlot,
  type PluginJobStorage,
} from './ports/plugin-job-run-store.js';
export {
  checkPluginStorageInput,
  PLUGIN_STORAGE_KEY_MAX_LENGTH,
  type PluginKeyValueStore,
  type PluginStorage,
  PluginStorageQuotaError,
  pluginStorageEntryBytes,
} from './ports/plugin-key-value-store.js';
export {
  checkPluginSettingsInput,
  type PluginSettingsStorage,
  type PluginSettingsStore,
  type PluginSettingValue,
  type PluginSettingValues,
  type StoredPluginSettings,
} from './ports/plugin-settings-store.js';
export {
  type PresenceEntry,
  type PresenceStatus,
  type PresenceStore,
  strongestPresence,
} from './ports/presence-store.js';
export type { RoomSettingRepository } from './ports/room-setting-repository.js';
export * from './ports/synthesizer.js';
export {
  ImageTooLargeError,
  type RecognizedText,
  type RecognizeTextOptions,
  type TextRecognizer,
} from './ports/text-recognizer.js';
export * from './ports/transcriber.js';
export * from './ports/vector-store.js';
export type {
  StoredWorkflowDefinition,
  WorkflowDefinitionRecord,
  WorkflowErrorInfo,
  WorkflowRepository,
  WorkflowRun,
  WorkflowRunPatch,
  WorkflowRunStatus,
  WorkflowStepPatch,
  WorkflowStepRecord,
  WorkflowStepStatus,
} from './ports/workflow-repository.js';
export * from './schemas/common.js';
export * from './schemas/file-record.js';
export * from './schemas/message.js';
export * from './schemas/project.js';
export * from './schemas/room.js';
export * from './schemas/room-event.js';
export * from './schemas/speech.js';
export * from './schemas/transcript.js';
export * from './schemas/user.js';
export {
  MAX_TERM_LENGTH,
  messageSearchText,
  type SearchTermGroup,
  searchDocument,
  searchTerms,
} from './search-text.js';
export { fitsUtf8Bytes, utf8ByteLength } from './utf8.js';
export { parseInput } from './validate.js';
