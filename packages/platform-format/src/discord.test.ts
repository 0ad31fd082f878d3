import { describe, expect, it } from 'vitest';
import { fromDiscord, toDiscord, toDiscordEmbed } from './discord.js';

const ids = {
  mentionId: (username: string) => (username === 'alice' ? '80351110224678912' : undefined),
  channelId: (name: string) => (name === 'general' ? '41771983423143937' : undefined),
};
const names = {
  userName: (id: string) => (id === '80351110224678912' ? 'alice' : undefined),
  channelName: (id: string) => (id === '41771983423143937' ? 'general' : undefined),
};

describe('toDiscord: Kaiwa markdown → Discord markdown (golden)', () => {
  it.each([
    ['formatting', '**bold** *italic* ~~gone~~ `code`', '**bold** *italic* ~~gone~~ `code`'],
    ['nested in a quote', '> quote **bold *italic* inside**', '> quote **bold *italic* inside**'],
    [
      'mentions and rooms',
      'hi @alice in #general, @carol in #random',
      'hi <@80351110224678912> in <#41771983423143937>, @carol in #random',
    ],
    ['@room is everyone', 'hey @room', 'hey @everyone'],
    [
      'literal markup is backslash-escaped',
      '2\\*3\\*4 snake_case_name \\~\\~x\\~\\~ a\\|b \\<@123> \\`t\\`',
      '2\\*3\\*4 snake_case_name \\~\\~x\\~\\~ a\\|b \\<@123> \\`t\\`',
    ],
    ['spoiler bars stay literal', 'a || b || c', 'a \\|\\| b \\|\\| c'],
    ['html-ish text', '\\<script>alert(1)\\</script> & \\&amp;', '\\<script>alert(1)\\</script> & \\&amp;'],
    ['escaped mention stays escaped', '\\@alice', '\\@alice'],
    [
      'code keeps markup and backticks',
      '```ts\nconst s = `**x**` <@1>;\n```',
      '```ts\nconst s = `**x**` <@1>;\n```',
    ],
    ['inline code with a backtick', '`` a`b ``', '``a`b``'],
    [
      'links keep their target unescaped',
      '[docs](https://example.com/a_b?x=1&y=2) <https://kaiwa.dev>',
      '[docs](https://example.com/a_b?x=1&y=2) <https://kaiwa.dev>',
    ],
    ['headings deeper than ### are clamped', '#### Deep', '### Deep'],
    ['tables become code blocks', '| a | b |\n| - | - |\n| 1 | 2 |', '```\na | b\n--+--\n1 | 2\n```'],
    ['hard breaks are newlines', 'a  \nb', 'a\nb'],
    ['Japanese', '会話のテスト **太字**', '会話のテスト **太字**'],
    [
      'emoji and zero-width characters',
      '👨‍👩‍👧 🇯🇵 a\u200Bb\u200Dc\uFEFFd',
      '👨‍👩‍👧 🇯🇵 a\u200Bb\u200Dc\uFEFFd',
    ],
  ])('%s', (_name, markdown, expected) => {
    expect(toDiscord(markdown, ids)).toBe(expected);
  });
});

describe('fromDiscord: Discord markdown → Kaiwa markdown (golden)', () => {
  it.each([
    ['formatting', '**bold** *italic* _also_ ~~gone~~ `code`', '**bold** *italic* *also* ~~gone~~ `code`'],
    [
      'mentions, nicknames, channels',
      '<@80351110224678912> <@!80351110224678912> <#41771983423143937>',
      '@alice @alice #general',
    ],
    ['unknown ids stay literal', '<@999> <#888> <@&777>', '\\@999 \\#888 \\@777'],
    ['custom emoji', 'nice <:kaiwa:123456> <a:party:654321>', 'nice :kaiwa: :party:'],
    ['shortcodes become Unicode', 'ship it :rocket:', 'ship it 🚀'],
    ['single tildes and intraword underscores are text', '~x~ snake_case_name', '\\~x\\~ snake_case_name'],
    ['HTML is text', '<b>x</b> <script>', '\\<b>x\\</b> \\<script>'],
    ['indented lines are not code', '    not code', 'not code'],
    ['a plain @name stays literal', '@alice said hi', '\\@alice said hi'],
    ['mentions inside code stay raw', '`<@80351110224678912>`', '`<@80351110224678912>`'],
    ['line breaks are kept', 'one\ntwo', 'one\ntwo'],
    ['underline reads as strong', '__under__', '**under**'],
    ['Japanese', '会話のテスト **太字**', '会話のテスト **太字**'],
  ])('%s', (_name, content, expected) => {
    expect(fromDiscord(content, names)).toBe(expected);
  });
});

describe('toDiscordEmbed', () => {
  it('takes a leading heading as the title', () => {
    expect(toDiscordEmbed('# Report for @alice\n\nAll **green** @alice', ids)).toEqual({
      title: 'Report for @alice',
      description: 'All **green** <@80351110224678912>',
    });
    expect(toDiscordEmbed('no heading *here*')).toEqual({ description: 'no heading *here*' });
  });
});
