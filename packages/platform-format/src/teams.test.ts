import { describe, expect, it } from 'vitest';
import { fromTeams, toTeams } from './teams.js';
import type { TeamsMentionEntity } from './types.js';

const mention = (username: string) =>
  username === 'alice' ? { id: '29:1alice', name: 'Alice Smith' } : undefined;

describe('toTeams (golden)', () => {
  it.each([
    [
      'formatting',
      '**bold** *italic* ~~gone~~ `code`',
      '<p><b>bold</b> <i>italic</i> <s>gone</s> <code>code</code></p>',
    ],
    [
      'nested in a quote',
      '> quote **bold *italic* inside**',
      '<blockquote><p>quote <b>bold <i>italic</i> inside</b></p></blockquote>',
    ],
    [
      'literal markup and HTML',
      '2\\*3\\*4 \\<script> \\&amp; snake_case_name',
      '<p>2*3*4 &lt;script&gt; &amp;amp; snake_case_name</p>',
    ],
    [
      'code',
      '```ts\nconst s = `<b>`;\n```',
      '<pre><code class="language-ts">const s = `&lt;b&gt;`;</code></pre>',
    ],
    [
      'lists and headings',
      '## T\n\n- a\n- **b**\n\n3. x',
      '<h2>T</h2><ul><li>a</li><li><b>b</b></li></ul><ol start="3"><li>x</li></ol>',
    ],
    ['line breaks', 'a\nb', '<p>a<br>b</p>'],
    [
      'Japanese and emoji',
      '会話のテスト **太字** 👨‍👩‍👧 🇯🇵 a\u200Bb',
      '<p>会話のテスト <b>太字</b> 👨‍👩‍👧 🇯🇵 a\u200Bb</p>',
    ],
  ])('%s', (_name, markdown, expected) => {
    expect(toTeams(markdown, { mention }).text).toBe(expected);
  });

  it('mentions become <at> tags with one entity per user, in text and card', () => {
    const out = toTeams('hi @alice, @alice again and @carol\n\n```\ncode *x*\n```', { mention });
    expect(out.text).toBe(
      '<p>hi <at>Alice Smith</at>, <at>Alice Smith</at> again and @carol</p><pre><code>code *x*</code></pre>',
    );
    const entity: TeamsMentionEntity = {
      type: 'mention',
      text: '<at>Alice Smith</at>',
      mentioned: { id: '29:1alice', name: 'Alice Smith' },
    };
    expect(out.entities).toEqual([entity]);
    expect(out.card).toEqual({
      type: 'AdaptiveCard',
      $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
      version: '1.5',
      body: [
        {
          type: 'TextBlock',
          text: 'hi <at>Alice Smith</at>, <at>Alice Smith</at> again and @carol',
          wrap: true,
        },
        {
          type: 'Container',
          style: 'emphasis',
          items: [{ type: 'TextBlock', text: 'code *x*', wrap: true, fontType: 'Monospace' }],
        },
      ],
      msteams: { entities: [entity], width: 'Full' },
    });
  });

  it('escapes card markdown in literal text', () => {
    const block = toTeams('\\*a\\* **b** [l](https://x.dev)').card.body[0];
    expect(block).toEqual({ type: 'TextBlock', text: '\\*a\\* **b** [l](https://x.dev)', wrap: true });
  });
});

describe('fromTeams (golden)', () => {
  const entities: TeamsMentionEntity[] = [
    { type: 'mention', text: '<at>Alice Smith</at>', mentioned: { id: '29:1alice', name: 'Alice Smith' } },
    { type: 'mention', text: '<at>Kaiwa Bot</at>', mentioned: { id: '28:bot', name: 'Kaiwa Bot' } },
  ];
  const userName = (id: string) => (id === '29:1alice' ? 'alice' : undefined);
  it.each([
    [
      'a typical message',
      '<p><at>Kaiwa Bot</at> hello <at>Alice Smith</at></p>',
      '\\@Kaiwa Bot hello @alice',
    ],
    [
      'formatting',
      '<p><strong>b</strong> <em>i</em> <strike>s</strike> <code>c</code> <u>u</u></p>',
      '**b** *i* ~~s~~ `c` u',
    ],
    [
      'links and line breaks',
      '<p><a href="https://x.dev/?a=1&amp;b=2">x</a><br>next</p>',
      '[x](https://x.dev/?a=1\\&b=2)\nnext',
    ],
    [
      'pre blocks',
      '<pre><code class="language-py">if a &lt; b:\n    pass</code></pre>',
      '```py\nif a < b:\n    pass\n```',
    ],
    ['unknown tags keep text', '<div><span style="color:red">red</span> <font>f</font></div>', 'red f'],
    [
      'markdown-like literals stay literal',
      '<p>2*3*4 **x** _y_ &lt;b&gt; &amp;amp; # h</p>',
      '2\\*3\\*4 \\*\\*x\\*\\* \\_y\\_ \\<b> \\&amp; # h',
    ],
    ['entities and nbsp', '<p>a&nbsp;b &#x1F389; &quot;q&quot;</p>', 'a\u00a0b 🎉 "q"'],
    [
      'lists and quotes',
      '<ul><li>one</li><li><b>two</b></li></ul><blockquote>quoted</blockquote>',
      '- one\n- **two**\n\n> quoted',
    ],
    ['Japanese', '<p>会話のテスト <b>太字</b></p>', '会話のテスト **太字**'],
    ['source newlines are layout', '<div>\n  <p>a</p>\n  <p>b</p>\n</div>', 'a\n\nb'],
  ])('%s', (_name, html, expected) => {
    expect(fromTeams(html, { entities, userName })).toBe(expected);
  });
});
