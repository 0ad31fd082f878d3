import { describe, expect, it } from 'vitest';
import { fromDiscord, toDiscord } from './discord.js';
import { parseKaiwaMarkdown } from './kaiwa-markdown.js';
import { exceedsParseBudget } from './parse-budget.js';
import { fromSlack, toSlack } from './slack.js';
import { splitMarkdown } from './split-markdown.js';
import { fromTeams } from './teams.js';
import { fromTelegram, parseTelegramHtml, toTelegramHtml } from './telegram.js';

// Inputs shaped to make naive parsers quadratic or recursive; each must finish well within the test timeout.
describe('hostile input', () => {
  it('Slack: thousands of lone markers and brackets', () => {
    expect(fromSlack('*a '.repeat(13_000)).length).toBeGreaterThan(13_000);
    expect(fromSlack('*a \n'.repeat(10_000)).length).toBeGreaterThan(10_000);
    expect(fromSlack('<'.repeat(40_000)).length).toBeGreaterThanOrEqual(40_000);
  });

  it('Teams: unclosed tags and deep nesting', () => {
    expect(fromTeams('<a b '.repeat(10_000))).toContain('\\<a b');
    expect(fromTeams(`${'<b>'.repeat(5000)}deep${'</b>'.repeat(5000)}`)).toContain('deep');
  });

  it('Telegram: deeply nested entities and tags', () => {
    const entities = Array.from({ length: 2000 }, (_, i) => ({
      type: 'bold',
      offset: i,
      length: 4096 - 2 * i,
    }));
    expect(fromTelegram('x'.repeat(4096), entities)).toContain('x');
    expect(parseTelegramHtml(`${'<b>'.repeat(5000)}x`).text).toBe('x');
  });

  it('Discord: long runs of markup', () => {
    expect(fromDiscord(`${'*a '.repeat(1000)}${'<@1'.repeat(1000)}`).length).toBeGreaterThan(1000);
  });

  it('Kaiwa markdown: a 64 KiB message of delimiters or nesting is taken as plain text (a quadratic parser would run past the test timeout)', () => {
    const hostile = [
      '*a'.repeat(32_000),
      '[a'.repeat(32_000),
      `${'- '.repeat(5000)}x`,
      `${'> '.repeat(5000)}x`,
    ];
    for (const text of hostile) {
      expect(exceedsParseBudget(text)).toBe(true);
      const tree = parseKaiwaMarkdown(text);
      expect(tree.children).toEqual([
        expect.objectContaining({ type: 'paragraph', children: [expect.objectContaining({ value: text })] }),
      ]);
      // Every renderer shows it literally (escaped), and splitting still works.
      expect(toSlack(text).text.length).toBeGreaterThanOrEqual(text.length);
      expect(toDiscord(text).length).toBeGreaterThanOrEqual(text.length);
      expect(toTelegramHtml(text).length).toBeGreaterThanOrEqual(text.length);
      expect(splitMarkdown(text, 'discord').join('').length).toBeGreaterThanOrEqual(text.length);
    }
  });

  it('Kaiwa markdown: ordinary markup, code fences included, stays within the budget', () => {
    expect(exceedsParseBudget('**bold** _it_ [link](https://example.com) and a list\n- a\n  - b')).toBe(
      false,
    );
    const fencedStars = `\`\`\`\n${'*a'.repeat(5000)}\n\`\`\`\nafter`;
    expect(exceedsParseBudget(fencedStars)).toBe(false);
    // The delimiter count starts again after a blank line: many short paragraphs are fine.
    expect(exceedsParseBudget(Array.from({ length: 200 }, () => '*x* _y_').join('\n\n'))).toBe(false);
  });
});
