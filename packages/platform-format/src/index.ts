export type { DiscordEmbed } from './discord.js';
export { fromDiscord, toDiscord, toDiscordEmbed } from './discord.js';
export { emojiFromShortcode, replaceShortcodes, shortcodeFromEmoji } from './emoji.js';
export type { Mention, RoomLink } from './kaiwa-markdown.js';
export {
  escapeMarkdownText,
  normalizeMarkdown,
  parseKaiwaMarkdown,
  stringifyKaiwaMarkdown,
} from './kaiwa-markdown.js';
export { exceedsParseBudget } from './parse-budget.js';
export { fromSlack, toSlack } from './slack.js';
export type { SlackRichTextElement } from './slack-rich-text.js';
export { fromSlackBlocks } from './slack-rich-text.js';
export type { SplitOptions, SplitTarget } from './split-markdown.js';
export { splitMarkdown } from './split-markdown.js';
export { fromTeams, toTeams } from './teams.js';
export type { FromTelegramOptions, ToTelegramOptions } from './telegram.js';
export { fromTelegram, parseTelegramHtml, toTelegramHtml } from './telegram.js';
export type {
  AdaptiveCard,
  AdaptiveCardElement,
  ChannelIdLookup,
  ChannelNameLookup,
  FromPlatformOptions,
  FromTeamsOptions,
  MentionIdLookup,
  PlatformName,
  SlackBlock,
  SlackTextObject,
  TeamsMentionEntity,
  TelegramMessageEntity,
  ToPlatformOptions,
  ToTeamsOptions,
  UserNameLookup,
} from './types.js';
export { PLATFORM_TEXT_LIMITS } from './types.js';
