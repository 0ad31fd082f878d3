import { describe, expect, it } from 'vitest';
import { fromTelegram, parseTelegramHtml, toTelegramHtml } from './telegram.js';
import type { TelegramMessageEntity } from './types.js';

const mentionId = (username: string) => (username === 'alice' ? '1001' : undefined);

describe('toTelegramHtml (golden)', () => {
  it.each([
    [
      'formatting',
      '**bold** *italic* ~~gone~~ `code`',
      '<b>bold</b> <i>italic</i> <s>gone</s> <code>code</code>',
    ],
    [
      'nested in a quote',
      '> quote **bold *italic* inside**',
      '<blockquote>quote <b>bold <i>italic</i> inside</b></blockquote>',
    ],
    ['nested quotes flatten', '> a\n>\n> > b', '<blockquote>a\n\nb</blockquote>'],
    [
      'mentions',
      'hi @alice and @carol in #general',
      'hi <a href="tg://user?id=1001">@alice</a> and @carol in #general',
    ],
    [
      'only < > & are escaped',
      '2\\*3\\*4 \\<script> "q" \\&amp; snake_case_name',
      '2*3*4 &lt;script&gt; "q" &amp;amp; snake_case_name',
    ],
    [
      'code with a language',
      '```ts\nconst s = `<b>` && 1;\n```',
      '<pre><code class="language-ts">const s = `&lt;b&gt;` &amp;&amp; 1;</code></pre>',
    ],
    ['code without a language', '```\nx\n```', '<pre>x</pre>'],
    [
      'links escape quotes in href',
      '[a](https://x.dev/?q="1"&b=2)',
      '<a href="https://x.dev/?q=&quot;1&quot;&amp;b=2">a</a>',
    ],
    [
      'lists, headings, rules',
      '# T\n\n- a\n- b\n\n2. x\n3. y\n\n---',
      '<b>T</b>\n\n• a\n• b\n\n2. x\n3. y\n\n──────',
    ],
    ['literal list-like lines are guarded', '\\- a\n2\\. b', '- a\n\u200B2. b'],
    ['Japanese', '会話のテスト **太字**', '会話のテスト <b>太字</b>'],
    [
      'emoji and zero-width characters',
      '👨‍👩‍👧 🇯🇵 a\u200Bb\u200Dc\uFEFFd',
      '👨‍👩‍👧 🇯🇵 a\u200Bb\u200Dc\uFEFFd',
    ],
  ])('%s', (_name, markdown, expected) => {
    expect(toTelegramHtml(markdown, { mentionId })).toBe(expected);
  });

  it('uses only tags Telegram allows', () => {
    const html = toTelegramHtml(
      '# H\n\n> q **b** *i* ~~s~~ `c` [l](https://x.dev) @alice\n\n```js\nx\n```\n\n| a |\n| - |\n| 1 |\n\n![img](https://x.dev/i.png)',
      { mentionId },
    );
    const tags = new Set(Array.from(html.matchAll(/<\/?([a-z-]+)/g), (m) => m[1]));
    for (const tag of tags)
      expect(['b', 'i', 's', 'u', 'code', 'pre', 'a', 'blockquote', 'tg-spoiler']).toContain(tag);
  });
});

describe('fromTelegram: text + entities (golden)', () => {
  const cases: [string, string, TelegramMessageEntity[], string][] = [
    [
      'nested bold and italic',
      'bold italic plain',
      [
        { type: 'bold', offset: 0, length: 11 },
        { type: 'italic', offset: 5, length: 6 },
      ],
      '**bold _italic_** plain',
    ],
    [
      'UTF-16 offsets after emoji and Japanese',
      '👨‍👩‍👧 会話 太字 end',
      [{ type: 'bold', offset: 12, length: 2 }],
      '👨‍👩‍👧 会話 **太字** end',
    ],
    [
      'text_link, url, mention, hashtag',
      'docs https://kaiwa.dev @alice_k #general',
      [
        { type: 'text_link', offset: 0, length: 4, url: 'https://example.com/d' },
        { type: 'url', offset: 5, length: 17 },
        { type: 'mention', offset: 23, length: 8 },
        { type: 'hashtag', offset: 32, length: 8 },
      ],
      '[docs](https://example.com/d) <https://kaiwa.dev> @alice_k #general',
    ],
    [
      'text_mention through the lookup',
      'hi Alice',
      [
        {
          type: 'text_mention',
          offset: 3,
          length: 5,
          user: { id: 1001, is_bot: false, first_name: 'Alice' },
        },
      ],
      'hi @alice',
    ],
    [
      'pre with language and code',
      'run\nconst a = *b*;\nand `x`',
      [
        { type: 'pre', offset: 4, length: 15, language: 'js' },
        { type: 'code', offset: 23, length: 3 },
      ],
      'run\n\n```js\nconst a = *b*;\n```\n\nand `` `x` ``',
    ],
    [
      'blockquote and strikethrough',
      'quoted text\nafter gone',
      [
        { type: 'blockquote', offset: 0, length: 11 },
        { type: 'strikethrough', offset: 18, length: 4 },
      ],
      '> quoted text\n\nafter ~~gone~~',
    ],
    [
      'markdown-like literals stay literal',
      '2*3*4 **x** _y_ ~z~ <b> &amp; [a](b) # h',
      [],
      '2\\*3\\*4 \\*\\*x\\*\\* \\_y\\_ \\~z\\~ \\<b> \\&amp; \\[a]\\(b) # h',
    ],
    ['zero-width characters', 'a\u200Bb\u200Dc\uFEFFd', [], 'a\u200Bb\u200Dc\uFEFFd'],
    ['out-of-range entities are ignored', 'abc', [{ type: 'bold', offset: 10, length: 2 }], 'abc'],
  ];
  it.each(cases)('%s', (_name, text, entities, expected) => {
    expect(fromTelegram(text, entities, { userName: (id) => (id === '1001' ? 'alice' : undefined) })).toBe(
      expected,
    );
  });
});

describe('parseTelegramHtml', () => {
  it('gives text and UTF-16 entities as the Bot API would', () => {
    expect(
      parseTelegramHtml(
        '🇯🇵 <b>太<i>字</i></b> &lt;x&gt; @alice_k <pre><code class="language-ts">a</code></pre>',
      ),
    ).toEqual({
      text: '🇯🇵 太字 <x> @alice_k a',
      entities: [
        { type: 'bold', offset: 5, length: 2 },
        { type: 'italic', offset: 6, length: 1 },
        { type: 'mention', offset: 12, length: 8 },
        { type: 'pre', offset: 21, length: 1, language: 'ts' },
      ],
    });
  });
});
