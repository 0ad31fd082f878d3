import type { TelegramMessageEntity } from '@kaiwa/platform-format';
import { emojiFromShortcode, fromTelegram, splitMarkdown, toTelegramHtml } from '@kaiwa/platform-format';

/*
 * Every text conversion of the Telegram adapter goes through this file, so the adapter depends on
 * `@kaiwa/platform-format` in one place only.
 */

/** Kaiwa markdown in chunks that each fit one Telegram message once rendered as HTML. */
export function splitForTelegram(markdown: string): string[] {
  return splitMarkdown(markdown, 'telegram');
}

/** One chunk of Kaiwa markdown as Telegram HTML (`parse_mode: 'HTML'`). */
export function renderTelegram(
  markdown: string,
  mentionId?: (username: string) => string | undefined,
): string {
  return toTelegramHtml(markdown, { mentionId });
}

/** A Telegram message's text and entities as Kaiwa markdown. */
export function parseTelegram(text: string, entities: TelegramMessageEntity[] | undefined): string {
  return fromTelegram(text, entities ?? []);
}

/** A name shown in bold before a relayed message, with markdown characters kept literal. */
export function authorPrefix(name: string): string {
  return `**${name.replace(/[\\`*_~[\]()<>#|!@]/g, (character) => `\\${character}`)}:** `;
}

/** A Unicode emoji for a reaction; `:shortcode:` is looked up. */
export function emojiForTelegram(emoji: string): string | undefined {
  const shortcode = /^:([^:\s]+):$/.exec(emoji);
  if (shortcode?.[1] === undefined) return emoji;
  return emojiFromShortcode(shortcode[1]);
}
