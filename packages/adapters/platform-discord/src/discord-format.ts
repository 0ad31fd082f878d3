import { fromDiscord, PLATFORM_TEXT_LIMITS, splitMarkdown, toDiscord } from '@kaiwa/platform-format';

/*
 * Every text conversion of the Discord adapter goes through this file: Kaiwa markdown → Discord markdown
 * (mentions `<@id>`, channel links `<#id>`) and back, and the split at Discord's 2000-character limit.
 */

/** Discord's message content limit, in UTF-16 code units (Discord counts characters; this is never more). */
export const DISCORD_TEXT_LIMIT = PLATFORM_TEXT_LIMITS.discord;

export interface DiscordFormatLookups {
  /** Discord user id of a Kaiwa `@username`. */
  mentionId?: (username: string) => string | undefined;
  /** Discord channel id of a Kaiwa `#room-name`. */
  channelId?: (name: string) => string | undefined;
  /** Name for a Discord user id in `<@id>`. */
  userName?: (id: string) => string | undefined;
  /** Name for a Discord channel id in `<#id>`. */
  channelName?: (id: string) => string | undefined;
}

/** Kaiwa markdown → Discord message content. */
export function renderDiscord(markdown: string, lookups: DiscordFormatLookups = {}): string {
  return toDiscord(markdown, { mentionId: lookups.mentionId, channelId: lookups.channelId });
}

/** Discord message content → Kaiwa markdown. */
export function parseDiscord(content: string, lookups: DiscordFormatLookups = {}): string {
  if (content === '') return '';
  return fromDiscord(content, { userName: lookups.userName, channelName: lookups.channelName });
}

/**
 * Kaiwa markdown → Discord contents, each with `prefix` in front and within {@link DISCORD_TEXT_LIMIT}.
 * `splitMarkdown` keeps code blocks and characters whole; rendering can lengthen a chunk (`@bob` becomes
 * `<@123...>`), so a chunk that still renders too long is split again with a smaller budget.
 */
export function splitForDiscord(
  markdown: string,
  prefix: string,
  lookups: DiscordFormatLookups = {},
  limit = DISCORD_TEXT_LIMIT,
): string[] {
  const budget = limit - prefix.length;
  const render = (chunk: string) => prefix + renderDiscord(chunk, lookups);
  const out: string[] = [];
  const place = (chunk: string, maxLength: number, depth: number): void => {
    const rendered = render(chunk);
    if (rendered.length <= limit || depth > 6) {
      out.push(rendered);
      return;
    }
    const smaller = Math.max(16, Math.floor(Math.min(maxLength, chunk.length) * 0.8));
    for (const part of splitMarkdown(
      chunk,
      { maxLength: smaller },
      { measure: (text) => renderDiscord(text, lookups).length },
    )) {
      place(part, smaller, depth + 1);
    }
  };
  const chunks = splitMarkdown(
    markdown,
    { maxLength: budget },
    { measure: (text) => renderDiscord(text, lookups).length },
  );
  for (const chunk of chunks.length > 0 ? chunks : ['']) place(chunk, budget, 0);
  return out;
}
