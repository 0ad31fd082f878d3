export {
  createDiscordAdapter,
  DiscordAdapter,
  type DiscordSettings,
  discordAdapterDescriptor,
} from './discord-adapter.js';
export { type DiscordAdapterConfig, discordSettingsSchema } from './discord-config.js';
export {
  DISCORD_TEXT_LIMIT,
  type DiscordFormatLookups,
  parseDiscord,
  renderDiscord,
  splitForDiscord,
} from './discord-format.js';
export { type DiscordDispatch, normaliseDispatch, reactionEmoji } from './discord-inbound.js';
