import { describe, expect, it } from 'vitest';
import { fromDiscord } from './discord.js';
import { fromSlack } from './slack.js';
import { fromTeams } from './teams.js';
import { fromTelegram, parseTelegramHtml } from './telegram.js';

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
});
