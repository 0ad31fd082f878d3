/*
 * @kaiwa/client: the typed client of a Kaiwa server, for browsers and Node 20+. `KaiwaRestClient` makes the
 * REST calls and keeps the session; `RealtimeConnection` is the WebSocket that comes back by itself;
 * `KaiwaChatClient` puts both together into a chat state that stays right across reconnects. README.md has
 * examples.
 */

export {
  createKaiwaClient,
  KaiwaChatClient,
  type KaiwaChatClientOptions,
  type PrefetchedHistory,
  type PrefetchedRooms,
  prefetchHistory,
  prefetchRooms,
} from './chat-client.js';
export {
  type ApplyResult,
  ChatState,
  type LiveMessageListener,
  type OutboxEntry,
  type RoomEntry,
  type StreamingReply,
  type ThreadEntry,
  withReaction,
} from './chat-state.js';
export { newClientMessageId } from './client-message-id.js';
export { type KeyValueStorage, MemoryStorage } from './key-value-storage.js';
export {
  attentionCounts,
  DEFAULT_PREFERENCES,
  effectiveNotifyLevel,
  mentionsUser,
  type NotifyContext,
  type RoomCounts,
  titleWithCounts,
  wantsNotification,
} from './notification-rules.js';
export {
  backoffMs,
  type ConnectionState,
  type ConnectionStatus,
  globalWebSocket,
  RealtimeConnection,
  RealtimeError,
  type RealtimeOwner,
  realtimeUrl,
  type WebSocketConstructor,
  type WebSocketLike,
} from './realtime-connection.js';
export {
  API_PATH,
  type FetchFunction,
  type FileUpload,
  fileContentUrl,
  type InstalledPlugin,
  KaiwaApiError,
  KaiwaRestClient,
  type KaiwaRestClientOptions,
  type KnowledgeInfo,
  type KnowledgePassage,
  type KnowledgeSource,
  type MessagePageQuery,
  type NewAccount,
  type NewMessage,
  type PageQuery,
  type PluginCommand,
  type PluginJobRun,
  type PluginSettingDefinition,
  type PluginSettings,
  type PluginSettingValue,
  type PluginSummary,
  type PluginTarball,
  type RoomKnowledge,
  type RoomKnowledgeDocument,
  type RoomKnowledgeIndexing,
  type RoomKnowledgeSettings,
  type RoomVoiceSettings,
  type SessionListener,
  type SignOutReason,
  type SpeechInput,
  type UpgradedPlugin,
  type UserListQuery,
  type VoiceInfo,
  type WorkflowRunQuery,
} from './rest-client.js';
