import { describe, expect, it } from 'vitest';
import { emojiFromShortcode, replaceShortcodes, shortcodeFromEmoji } from './emoji.js';
import { escapeMarkdownText, normalizeMarkdown, parseKaiwaMarkdown } from './kaiwa-markdown.js';

describe('parseKaiwaMarkdown', () => {
  it('turns @username and #room into nodes', () => {
    expect(parseKaiwaMarkdown('hi @alice in #general.').children[0]).toMatchObject({
      type: 'paragraph',
      children: [
        { type: 'text', value: 'hi ' },
        { type: 'mention', username: 'alice' },
        { type: 'text', value: ' in ' },
        { type: 'roomLink', name: 'general' },
        { type: 'text', value: '.' },
      ],
    });
  });

  it('finds no mentions in code, e-mail addresses, links or escapes', () => {
    const tree = JSON.stringify(
      parseKaiwaMarkdown(
        '`@alice` me@example.com [@bob](https://x.dev) \\@carol a#b \\#room\n\n```\n@dave #x\n```',
      ),
    );
    expect(tree).not.toContain('"mention"');
    expect(tree).not.toContain('"roomLink"');
  });

  it('keeps escaped @ and # literal, also inside code', () => {
    expect(normalizeMarkdown('\\@carol `\\@x` \\\\@dave')).toBe('\\@carol `\\@x` \\\\@dave');
    const tree = parseKaiwaMarkdown('\\\\@dave');
    expect(JSON.stringify(tree)).toContain('"username":"dave"');
  });

  it('treats raw HTML as text', () => {
    expect(normalizeMarkdown('<script>alert(1)</script>')).toBe('\\<script>alert(1)\\</script>');
  });
});

describe('escapeMarkdownText', () => {
  it.each([
    ['2*3*4', '2\\*3\\*4'],
    ['snake_case_name', 'snake_case_name'],
    ['~tilde~', '\\~tilde\\~'],
    ['<script>', '\\<script>'],
    ['&amp;', '\\&amp;'],
    ['@alice #general', '\\@alice \\#general'],
    ['# not a heading', '\\# not a heading'],
    ['会話のテスト **太字**', '会話のテスト \\*\\*太字\\*\\*'],
  ])('%j → %j', (text, expected) => {
    const escaped = escapeMarkdownText(text);
    expect(escaped).toBe(expected);
    expect(JSON.stringify(parseKaiwaMarkdown(escaped).children)).toContain(JSON.stringify(text).slice(1, -1));
  });
});

describe('normalizeMarkdown', () => {
  it.each(['__bold__ _it_', '* a\n* b', 'x\\\ny', '> q\n>\n> > r', '~~s~~ ~t~'])(
    'is idempotent for %j',
    (markdown) => {
      const once = normalizeMarkdown(markdown);
      expect(normalizeMarkdown(once)).toBe(once);
    },
  );
});

describe('emoji shortcodes', () => {
  it('maps common names both ways and leaves unknown ones', () => {
    expect(emojiFromShortcode('tada')).toBe('🎉');
    expect(emojiFromShortcode('+1')).toBe('👍');
    expect(emojiFromShortcode('constructor')).toBeUndefined();
    expect(shortcodeFromEmoji('🎉')).toBe('tada');
    expect(shortcodeFromEmoji('❤️')).toBe('heart');
    expect(shortcodeFromEmoji('❤')).toBe('heart');
    expect(replaceShortcodes('ship :rocket: :nope: 10:30:45')).toBe('ship 🚀 :nope: 10:30:45');
  });
});
