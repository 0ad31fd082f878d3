import type { SlackBlock } from '@kaiwa/platform-format';
import {
  emojiFromShortcode,
  fromSlack,
  shortcodeFromEmoji,
  splitMarkdown,
  toSlack,
} from '@kaiwa/platform-format';

/*
 * Every text conversion of the Slack adapter goes through this file, so the adapter depends on
 * `@kaiwa/platform-format` in one place only.
 */

export interface SlackLookups {
  /** Slack user id of a Kaiwa `@username`. */
  mentionId?: (username: string) => string | undefined;
  /** Slack channel id of a Kaiwa `#room-name`. */
  channelId?: (name: string) => string | undefined;
  /** Kaiwa username of a Slack user id. */
  userName?: (id: string) => string | undefined;
  /** Kaiwa room name of a Slack channel id. */
  channelName?: (id: string) => string | undefined;
}

/** Kaiwa markdown in chunks that each fit one Slack message. */
export function splitForSlack(markdown: string): string[] {
  return splitMarkdown(markdown, 'slack');
}

/** One chunk of Kaiwa markdown as `chat.postMessage` text (the notification fallback) and blocks. */
export function renderSlack(markdown: string, lookups: SlackLookups): { text: string; blocks: SlackBlock[] } {
  return toSlack(markdown, { mentionId: lookups.mentionId, channelId: lookups.channelId });
}

/** Slack mrkdwn as Kaiwa markdown. */
export function parseSlack(mrkdwn: string, lookups: SlackLookups): string {
  return fromSlack(mrkdwn, { userName: lookups.userName, channelName: lookups.channelName });
}

/** `thumbsup` (or `+1::skin-tone-2`) as a Unicode emoji, else `:shortcode:`. */
export function emojiFromSlack(name: string): string {
  const base = name.split('::')[0] ?? name;
  return emojiFromShortcode(name) ?? emojiFromShortcode(base) ?? `:${name}:`;
}

/** A Unicode emoji or `:shortcode:` as the name `reactions.add` wants. */
export function emojiToSlack(emoji: string): string {
  const shortcode = /^:([^:\s]+(?:::[^:\s]+)?):$/.exec(emoji);
  if (shortcode?.[1] !== undefined) return shortcode[1];
  return shortcodeFromEmoji(emoji) ?? emoji;
}
