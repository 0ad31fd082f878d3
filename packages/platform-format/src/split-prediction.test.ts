import { describe, expect, it } from 'vitest';
import { discordBlockSizes, discordLength, toDiscord } from './discord.js';
import { parseForSplitting, parseMarkdownWithPositions } from './kaiwa-markdown.js';
import { slackBlockSizes, slackTextLength, toSlack } from './slack.js';
import { splitMarkdown } from './split-markdown.js';
import { teamsBlockSizes, teamsLength, toTeams } from './teams.js';
import { parseTelegramHtml, telegramBlockSizes, telegramTreeTextLength, toTelegramHtml } from './telegram.js';
import type { PlatformName } from './types.js';
import { PLATFORM_TEXT_LIMITS } from './types.js';

// splitMarkdown measures a whole message, and predicts its blocks' sizes, from one parsed tree; these must be
// the numbers the string renderers give, or the predictions (not the results) go wrong.
const PLATFORMS: Record<
  PlatformName,
  { fromString: (chunk: string) => number; fromTree: typeof slackTextLength; blocks: typeof slackBlockSizes }
> = {
  slack: { fromString: (c) => toSlack(c).text.length, fromTree: slackTextLength, blocks: slackBlockSizes },
  discord: { fromString: (c) => toDiscord(c).length, fromTree: discordLength, blocks: discordBlockSizes },
  telegram: {
    fromString: (c) => parseTelegramHtml(toTelegramHtml(c)).text.length,
    fromTree: telegramTreeTextLength,
    blocks: telegramBlockSizes,
  },
  teams: {
    fromString: (c) => {
      const rendered = toTeams(c);
      return rendered.text.length + JSON.stringify(rendered.card).length;
    },
    fromTree: teamsLength,
    blocks: teamsBlockSizes,
  },
};

const SAMPLE = [
  '## Report for #general\n\n**Deploy** of `api` done; @alice checked ~~nothing~~ *all*. [Runbook](https://x.y/r)',
  '- one **bold**\n- two [link](https://x.y)\n  - nested 🎉\n- [ ] open\n- [x] done',
  '```ts\nconst a = `b` + "<c>";\n```',
  '> 引用: 本日のデプロイは完了しました。\n> 次は来週 🚀',
  '1. run `npm test`\n2. read 2*3*4 and snake_case_name',
  '| name | value |\n| --- | --- |\n| cpu | 42% |',
  '<div>raw html</div>',
  '***',
  '##### deep heading\n\n![image](https://x.y/i.png) & a < b',
  '    indented code\n    more',
  '* other bullet\n* list',
].join('\n\n');

describe('splitMarkdown predictions', () => {
  for (const [platform, measure] of Object.entries(PLATFORMS)) {
    it(`${platform}: the tree measures equal the string renderers`, () => {
      const whole = parseForSplitting(SAMPLE);
      expect(measure.fromTree(whole.kaiwa!)).toBe(measure.fromString(SAMPLE));
      const parsed = parseForSplitting(SAMPLE);
      const sources = parsed.blocks.map((node) =>
        SAMPLE.slice(node.position!.start.offset!, node.position!.end.offset!),
      );
      expect(measure.blocks(parsed.kaiwa!)).toEqual(sources.map(measure.fromString));
    });
  }

  it('gives no Kaiwa tree when escapes make it differ from the positioned parse', () => {
    expect(parseForSplitting('hi \\@alice').kaiwa).toBeUndefined();
    expect(parseForSplitting('hi @alice').kaiwa).toBeDefined();
  });

  it('adds blocks one by one where a definition can make a longer chunk render shorter', () => {
    // The definition turns `[ref][x]` into a link, so chunk + table + definition is shorter on Telegram than
    // chunk + table; the result must still stop at the first block that does not fit.
    const filler = Array.from({ length: 130 }, (_, i) => `Line ${i} with [ref][x] and some words.`).join(
      '\n\n',
    );
    const markdown = `${filler}\n\n| a | b |\n| - | - |\n| 1 | 2 |\n\n[x]: https://example.com/a/very/long/target\n\ntail`;
    const limit = PLATFORM_TEXT_LIMITS.telegram;
    const measure = PLATFORMS.telegram.fromString;
    const blocks = parseMarkdownWithPositions(markdown).children.map((node) =>
      markdown.slice(node.position!.start.offset!, node.position!.end.offset!),
    );
    // The reference: blocks added one at a time, stopping at the first that does not fit.
    const expected: string[] = [];
    let current = '';
    for (const block of blocks) {
      if (current !== '' && measure(`${current}\n\n${block}`) <= limit) current = `${current}\n\n${block}`;
      else {
        if (current !== '') expected.push(current);
        current = block;
      }
    }
    expected.push(current);
    expect(measure(markdown)).toBeGreaterThan(limit);
    expect(splitMarkdown(markdown, 'telegram')).toEqual(expected);
  });
});
