export { createDiscordAdapter, DiscordAdapter, type DiscordAdapterConfig } from './discord-adapter.js';
export {
  DISCORD_TEXT_LIMIT,
  type DiscordFormatLookups,
  parseDiscord,
  renderDiscord,
  splitForDiscord,
} from './discord-format.js';
export { type DiscordDispatch, normaliseDispatch, reactionEmoji } from './discord-inbound.js';
