import { describe, expect, it } from 'vitest';
import { fromSlack, toSlack } from './slack.js';

const Z = '\u200B';
const ids = {
  mentionId: (username: string) => (username === 'alice' ? 'U0ALICE' : undefined),
  channelId: (name: string) => (name === 'general' ? 'C0GENERAL' : undefined),
};
const names = {
  userName: (id: string) => (id === 'U0ALICE' ? 'alice' : undefined),
  channelName: (id: string) => (id === 'C0GENERAL' ? 'general' : undefined),
};

describe('toSlack: Kaiwa markdown → mrkdwn (golden)', () => {
  it.each([
    ['formatting', '**bold** *italic* ~~gone~~ `code`', '*bold* _italic_ ~gone~ `code`'],
    ['nested in a quote', '> quote **bold *italic* inside**', '> quote *bold _italic_ inside*'],
    [
      'mentions and rooms',
      'hi @alice in #general, @carol in #random',
      'hi <@U0ALICE> in <#C0GENERAL>, @carol in #random',
    ],
    ['@here and @room', '@here and @room', '<!here> and <!channel>'],
    [
      'html-ish text is escaped',
      '\\<script>alert(1)\\</script> & \\&amp;',
      '&lt;script&gt;alert(1)&lt;/script&gt; &amp; &amp;amp;',
    ],
    ['intraword markers stay', '2\\*3\\*4 snake_case_name', '2*3*4 snake_case_name'],
    [
      'markers that could pair are broken',
      '\\*not bold\\* \\~tilde\\~',
      `*${Z}not bold*${Z} ~${Z}tilde~${Z}`,
    ],
    ['a literal quote marker', '\\> not a quote', `${Z}&gt; not a quote`],
    ['a literal bullet', '\\- not a list', `${Z}- not a list`],
    [
      'code keeps markup and backticks',
      '```ts\nconst s = `**x**` <b> & y;\n```',
      '```\nconst s = `**x**` &lt;b&gt; &amp; y;\n```',
    ],
    [
      'links',
      '[docs](https://example.com/a?x=1&y=2) <https://kaiwa.dev>',
      '<https://example.com/a?x=1&amp;y=2|docs> <https://kaiwa.dev>',
    ],
    ['Japanese', '会話のテスト **太字**', '会話のテスト *太字*'],
    [
      'emoji and zero-width characters',
      '👨‍👩‍👧 🇯🇵 a\u200Bb\u200Dc\uFEFFd',
      '👨‍👩‍👧 🇯🇵 a\u200Bb\u200Dc\uFEFFd',
    ],
    [
      'headings, lists, rules and tables',
      '# Title\n\n- one\n- *two*\n\n1. x\n\n---\n\n| a | b |\n| - | - |\n| 1 | 2 |',
      '*Title*\n\n• one\n• _two_\n\n1. x\n\n───\n\n```\na | b\n--+--\n1 | 2\n```',
    ],
  ])('%s', (_name, markdown, expected) => {
    expect(toSlack(markdown, ids).text).toBe(expected);
  });

  it('builds section blocks of at most 3000 characters, and a divider for a rule', () => {
    const long = Array.from({ length: 40 }, (_, i) => `paragraph ${i} ${'word '.repeat(40)}`).join('\n\n');
    const code = `\`\`\`\n${'x = 1\n'.repeat(800)}\`\`\``;
    const { blocks, text } = toSlack(`${long}\n\n---\n\n${code}`);
    expect(text.length).toBeGreaterThan(9000);
    expect(blocks.some((block) => block.type === 'divider')).toBe(true);
    for (const block of blocks) {
      if (block.type !== 'section') continue;
      expect(block.text.type).toBe('mrkdwn');
      expect(block.text.text.length).toBeLessThanOrEqual(3000);
      expect((block.text.text.match(/```/g) ?? []).length % 2).toBe(0);
    }
  });
});

describe('fromSlack: mrkdwn → Kaiwa markdown (golden)', () => {
  it.each([
    ['formatting', '*bold* _italic_ ~gone~ `code`', '**bold** *italic* ~~gone~~ `code`'],
    ['nested', '_italic *bold* more_', '*italic **bold** more*'],
    [
      'mentions',
      '<@U0ALICE> <@U0BOB|bob> <#C0GENERAL> <#C0RAND|random> <!here> <!channel>',
      '@alice \\@bob #general \\#random @here @room',
    ],
    ['unknown ids stay readable and literal', 'ping <@U999>', 'ping \\@U999'],
    [
      'links',
      '<https://example.com/a?x=1&amp;y=2|docs> <https://kaiwa.dev> <mailto:a@b.co|a@b.co>',
      '[docs](https://example.com/a?x=1\\&y=2) <https://kaiwa.dev> <a@b.co>',
    ],
    ['entities', '&lt;script&gt; &amp;amp; a &amp; b', '\\<script> \\&amp; a & b'],
    [
      'markdown-like literals from Slack stay literal',
      '2*3*4 snake_case_name **x** # not heading [a](b)',
      '2\\*3\\*4 snake_case_name **\\*x**\\* # not heading \\[a]\\(b)',
    ],
    ['quotes', '&gt; quoted *b*\n&gt; more\nafter', '> quoted **b**\n> more\n\nafter'],
    ['code blocks keep markup', '```\nconst a = *b* <@U0ALICE>;\n```', '```\nconst a = *b* <@U0ALICE>;\n```'],
    ['one-line code block', 'see ```x = 1``` done', 'see `x = 1` done'],
    ['bullets', '• one\n• two', '- one\n- two'],
    ['emoji shortcodes', 'ship it :rocket: :tada: :not_an_emoji:', 'ship it 🚀 🎉 :not_an_emoji:'],
    ['Japanese', '会話のテスト *太字*', '会話のテスト **太字**'],
    ['zero-width characters stay', 'a\u200Bb\u200Dc\uFEFFd 👨‍👩‍👧', 'a\u200Bb\u200Dc\uFEFFd 👨‍👩‍👧'],
  ])('%s', (_name, mrkdwn, expected) => {
    expect(fromSlack(mrkdwn, names)).toBe(expected);
  });
});
