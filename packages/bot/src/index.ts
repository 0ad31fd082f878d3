export {
  Bot,
  type BotConfig,
  type CommandContext,
  type CommandHandler,
  createBot,
  type MessageContext,
  type MessageHandler,
  type ReactionContext,
  type ReactionHandler,
  type ReplyContent,
  type ReplyOptions,
} from './bot.js';
export {
  createKaiwaRoomsAdapter,
  type KaiwaInboundExtras,
  type KaiwaOutboundMessage,
  KaiwaRoomsAdapter,
  type KaiwaRoomsAdapterConfig,
} from './kaiwa-rooms-adapter.js';
export type { RoomFeedRetry } from './room-feed.js';
export { type StreamReplyOptions, streamReply } from './stream-reply.js';
