import fc from 'fast-check';
import { toString as mdastToString } from 'mdast-util-to-string';
import { describe, expect, it } from 'vitest';
import { toDiscord } from './discord.js';
import { parseKaiwaMarkdown } from './kaiwa-markdown.js';
import { toSlack } from './slack.js';
import { splitMarkdown } from './split-markdown.js';
import { toTeams } from './teams.js';
import { parseTelegramHtml, toTelegramHtml } from './telegram.js';
import { PLATFORM_TEXT_LIMITS } from './types.js';

const RENDERED_LENGTH = {
  slack: (chunk: string) => toSlack(chunk).text.length,
  discord: (chunk: string) => toDiscord(chunk).length,
  telegram: (chunk: string) => parseTelegramHtml(toTelegramHtml(chunk)).text.length,
  teams: (chunk: string) => {
    const out = toTeams(chunk);
    return out.text.length + JSON.stringify(out.card).length;
  },
};

/** A 10,000+ character message mixing prose, Japanese, emoji, lists, quotes and code. */
function longMessage(): string {
  const parts: string[] = [];
  let index = 0;
  while (parts.join('\n\n').length < 10_000) {
    switch (index % 5) {
      case 0:
        parts.push(
          `Paragraph ${index}: **bold** and *italic* text, 会話のテスト, 👨‍👩‍👧 🇯🇵 ${'words flow on '.repeat(12)}`,
        );
        break;
      case 1:
        parts.push(`\`\`\`ts\n${'const value = `a*b` + "<b>";\n'.repeat(30)}\`\`\``);
        break;
      case 2:
        parts.push(`> quoted line with @alice\n> and #general ${'more '.repeat(20)}`);
        break;
      case 3:
        parts.push(Array.from({ length: 8 }, (_, i) => `- item ${i} ${'x'.repeat(20)}`).join('\n'));
        break;
      default:
        parts.push(`${'🇯🇵👨‍👩‍👧'.repeat(40)}${'長'.repeat(300)}`);
    }
    index++;
  }
  // A code block and a word each too long for any single chunk.
  parts.push(`\`\`\`py\n${'print("a very long line of python code")\n'.repeat(200)}\`\`\``);
  parts.push('y'.repeat(6000));
  return parts.join('\n\n');
}

/**
 * The visible text, without whitespace, to compare before and after splitting. List and quote markers are
 * left out too: a cut between words can put `- ` at the start of a chunk, which then reads as a list.
 */
function content(markdown: string): string {
  return mdastToString(parseKaiwaMarkdown(markdown)).replace(/[\s>*+-]+/g, '');
}

function codeFences(chunk: string): number {
  return chunk.split('\n').filter((line) => /^\s*(?:> )?```/.test(line)).length;
}

function hasBrokenGrapheme(chunks: string[]): boolean {
  const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
  const whole = chunks.join('');
  // Each chunk boundary must also be a grapheme boundary of the joined text.
  let offset = 0;
  const boundaries = new Set(Array.from(segmenter.segment(whole), (s) => s.index));
  for (const chunk of chunks.slice(0, -1)) {
    offset += chunk.length;
    if (!boundaries.has(offset)) return true;
    if (/[\uD800-\uDBFF]$/.test(chunk)) return true;
  }
  return false;
}

describe('splitMarkdown', () => {
  const message = longMessage();

  it.each(['slack', 'discord', 'telegram', 'teams'] as const)(
    'splits a 10,000-character message for %s',
    (platform) => {
      expect(message.length).toBeGreaterThan(10_000);
      const chunks = splitMarkdown(message, platform);
      expect(chunks.length).toBeGreaterThan(platform === 'slack' ? 0 : 1);
      for (const chunk of chunks) {
        expect(RENDERED_LENGTH[platform](chunk)).toBeLessThanOrEqual(PLATFORM_TEXT_LIMITS[platform]);
        expect(codeFences(chunk) % 2).toBe(0);
      }
      expect(content(chunks.join('\n\n'))).toBe(content(message));
    },
  );

  it('closes and reopens a long code block with its language', () => {
    const code = `\`\`\`js\n${'let x = 1; // **not bold**\n'.repeat(200)}\`\`\``;
    const chunks = splitMarkdown(code, 'discord');
    expect(chunks.length).toBeGreaterThan(2);
    for (const chunk of chunks) {
      expect(chunk.startsWith('```js\n')).toBe(true);
      expect(chunk.endsWith('\n```')).toBe(true);
      expect(toDiscord(chunk).length).toBeLessThanOrEqual(2000);
    }
  });

  it('never splits a surrogate pair, ZWJ sequence or flag', () => {
    const emoji = '👨‍👩‍👧‍👦🇯🇵🏳️‍🌈👍🏽'.repeat(300);
    const chunks = splitMarkdown(emoji, { maxLength: 100 });
    expect(chunks.length).toBeGreaterThan(10);
    for (const chunk of chunks) expect(chunk.length).toBeLessThanOrEqual(100);
    expect(chunks.join('')).toBe(emoji);
    expect(hasBrokenGrapheme(chunks)).toBe(false);
  });

  it('prefers block, then line, then word boundaries', () => {
    expect(splitMarkdown('first paragraph here\n\nsecond paragraph here', { maxLength: 30 })).toEqual([
      'first paragraph here',
      'second paragraph here',
    ]);
    expect(splitMarkdown('line one is here\nline two is here', { maxLength: 20 })).toEqual([
      'line one is here',
      'line two is here',
    ]);
    expect(splitMarkdown('alpha beta gamma delta epsilon', { maxLength: 16 })).toEqual([
      'alpha beta ',
      'gamma delta ',
      'epsilon',
    ]);
  });

  it('returns short text unchanged and nothing for blank text', () => {
    expect(splitMarkdown('hi **there**', 'telegram')).toEqual(['hi **there**']);
    expect(splitMarkdown('  \n ', 'discord')).toEqual([]);
    expect(() => splitMarkdown('x', { maxLength: 3 })).toThrow(RangeError);
  });

  it('keeps every chunk within the limit and all the text (property)', () => {
    const piece = fc.constantFrom(
      'word ',
      'longerword ',
      '**bold** ',
      '会話 ',
      '👨‍👩‍👧',
      '🇯🇵',
      '\n',
      '\n\n',
      '\n\n```\ncode line\n```\n\n',
      '> quote\n',
      '- item\n',
      'x'.repeat(70),
    );
    fc.assert(
      fc.property(
        fc.array(piece, { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 40, max: 200 }),
        (parts, limit) => {
          const markdown = parts.join('');
          const chunks = splitMarkdown(markdown, { maxLength: limit });
          for (const chunk of chunks) {
            expect(chunk.length).toBeLessThanOrEqual(limit);
            expect(codeFences(chunk) % 2).toBe(0);
          }
          expect(content(chunks.join('\n\n'))).toBe(content(markdown));
        },
      ),
      { numRuns: 200, seed: 7 },
    );
  });
});
