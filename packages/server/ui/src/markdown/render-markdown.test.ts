import type { User } from '@kaiwa/protocol';
import { type ComponentChildren, h, type VNode } from 'preact';
import { describe, expect, it } from 'vitest';
import { highlightCode } from './highlight-code';
import type { MarkdownContent } from './mdast';
import { parseMessage } from './parse-message';
import { type MarkdownContext, renderMarkdown } from './render-markdown';

function user(id: string, username: string, displayName: string): User {
  return { id, username, displayName } as User;
}

const users = new Map([
  ['u1', user('u1', 'alice', 'Alice Liddell')],
  ['u2', user('u2', 'bob', 'Bob')],
]);
const context: MarkdownContext = {
  users,
  me: { username: 'bob' },
  roomHref: (name) => (name === 'general' ? '/rooms/R1' : undefined),
};

const VOID = new Set(['br', 'hr', 'input']);
const escapeHtml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Elements as HTML, the way the DOM would show them; event handlers left out, like a browser's outerHTML. */
function html(children: ComponentChildren): string {
  if (children === null || children === undefined || typeof children === 'boolean') return '';
  if (typeof children === 'string' || typeof children === 'number') return escapeHtml(String(children));
  if (Array.isArray(children)) return children.map(html).join('');
  const vnode = children as VNode<Record<string, unknown>>;
  if (typeof vnode.type !== 'string') throw new Error('the renderer returns only elements');
  const { children: inner, ...props } = vnode.props;
  const attributes = Object.entries(props)
    .filter(
      ([name, value]) => !name.startsWith('on') && value !== undefined && value !== null && value !== false,
    )
    .map(([name, value]) =>
      value === true ? ` ${name}` : ` ${name}="${escapeHtml(String(value)).replace(/"/g, '&quot;')}"`,
    )
    .join('');
  if (VOID.has(vnode.type)) return `<${vnode.type}${attributes}>`;
  return `<${vnode.type}${attributes}>${html(inner as ComponentChildren)}</${vnode.type}>`;
}

const render = (text: string, extra: Partial<MarkdownContext> = {}) =>
  html(renderMarkdown(parseMessage(text).tree, { ...context, ...extra }));

describe('renderMarkdown', () => {
  it('renders emphasis, strike and inline code', () => {
    expect(render('**bold** *it* _it2_ ~~gone~~ `a < b`')).toBe(
      '<p><strong>bold</strong> <em>it</em> <em>it2</em> <del>gone</del> <code class="md-inline-code">a &lt; b</code></p>',
    );
  });

  it('keeps line breaks of a paragraph as text, for the pre-wrapped message', () => {
    expect(render('one\ntwo')).toBe('<p>one\ntwo</p>');
  });

  it('renders a code block with its language, highlighted, and a copy button', () => {
    const out = render('```ts\nconst answer: number = 42;\n```');
    expect(out).toContain(
      '<div class="md-code"><div class="md-code-header"><span class="md-code-language">ts</span>',
    );
    expect(out).toContain('<button type="button" class="md-copy" aria-label="Copy ts code">Copy</button>');
    expect(out).toContain('<pre tabIndex="0"><code class="shj-lang-ts">');
    expect(out).toContain('<span class="shj-syn-kwd">const</span>');
    expect(out).toContain('<span class="shj-syn-num">42</span>');
  });

  it('shows code in a language it does not bundle as plain text, and never loses code text', () => {
    expect(render('```cobol\nDISPLAY "HI".\n```')).toContain(
      '<pre tabIndex="0"><code>DISPLAY "HI".</code></pre>',
    );
    for (const [code, language] of [
      ['{"a": [1, true, null]}', 'json'],
      ['echo "$HOME" # home', 'bash'],
      ['def f(x):\n    return x  # id', 'python'],
      ["SELECT * FROM t WHERE a = 'x';", 'sql'],
      ['<div class="a"><script>let x = 1</script></div>', 'html'],
      ['fn main() { println!("hi"); }', 'rust'],
      ['key: value\nlist:\n  - 1', 'yml'],
      ['package main\nfunc main() {}', 'go'],
      ['a { color: red }', 'css'],
    ] as const) {
      const tokens = highlightCode(code, language);
      expect(tokens, language).toBeDefined();
      expect(tokens!.map((token) => token.text).join(''), language).toBe(code);
      expect(
        tokens!.some((token) => token.type !== undefined),
        language,
      ).toBe(true);
    }
  });

  it('renders quotes, lists, task lists, headings and tables', () => {
    expect(render('> quoted **text**')).toBe('<blockquote><p>quoted <strong>text</strong></p></blockquote>');
    expect(render('- one\n- two')).toBe('<ul><li><p>one</p></li><li><p>two</p></li></ul>');
    expect(render('3. three\n4. four')).toBe('<ol start="3"><li><p>three</p></li><li><p>four</p></li></ol>');
    expect(render('1. one')).toBe('<ol><li><p>one</p></li></ol>');
    expect(render('- [x] done\n- [ ] todo')).toBe(
      '<ul><li class="md-task"><input type="checkbox" checked disabled aria-label="done"><p>done</p></li>' +
        '<li class="md-task"><input type="checkbox" disabled aria-label="not done"><p>todo</p></li></ul>',
    );
    expect(render('# Title')).toBe('<p class="md-heading md-heading-1">Title</p>');
    expect(render('| a | b |\n|---|--:|\n| 1 | 2 |')).toBe(
      '<div class="md-table"><table><thead><tr><th>a</th><th class="md-align-right">b</th></tr></thead>' +
        '<tbody><tr><td>1</td><td class="md-align-right">2</td></tr></tbody></table></div>',
    );
  });

  it('links http(s) and mailto addresses only, in a new tab without the referrer', () => {
    expect(render('[docs](https://example.com/a?b=1)')).toBe(
      '<p><a href="https://example.com/a?b=1" title="https://example.com/a?b=1" target="_blank" rel="noopener noreferrer nofollow">docs</a></p>',
    );
    expect(render('see https://example.com.')).toContain('<a href="https://example.com"');
    expect(render('[mail](mailto:a@example.com)')).toContain('href="mailto:a@example.com"');
    expect(render('[ref][1]\n\n[1]: https://example.com/ref')).toBe(
      '<p><a href="https://example.com/ref" title="https://example.com/ref" target="_blank" rel="noopener noreferrer nofollow">ref</a></p>',
    );
  });

  it("opens links to a room or a message of this chat in place (the assistant's sources); other paths stay text", () => {
    expect(
      render(
        'Sources:\n[1] [#ops, Ada](/rooms/01JROOMAAAAAAAAAAAAAAAAAAA?message=01JMESSAGEAAAAAAAAAAAAAAAA)',
      ),
    ).toBe(
      '<p>Sources:\n[1] <a class="md-app-link" href="/rooms/01JROOMAAAAAAAAAAAAAAAAAAA?message=01JMESSAGEAAAAAAAAAAAAAAAA">#ops, Ada</a></p>',
    );
    expect(render('[ops](/rooms/01JROOMAAAAAAAAAAAAAAAAAAA)')).toBe(
      '<p><a class="md-app-link" href="/rooms/01JROOMAAAAAAAAAAAAAAAAAAA">ops</a></p>',
    );
    expect(render('[x](/rooms/01JROOMAAAAAAAAAAAAAAAAAAA?message=01JMESSAGEAAAAAAAAAAAAAAAA&evil=1)')).toBe(
      '<p>x</p>',
    );
    expect(render('[x](/api/v1/files/F1/content)')).toBe('<p>x</p>');
    expect(render('[x](//example.com/rooms/01JROOMAAAAAAAAAAAAAAAAAAA)')).toBe('<p>x</p>');
  });

  it('shows images as links, never loading them', () => {
    expect(render('![a cat](https://example.com/cat.png)')).toBe(
      '<p><a href="https://example.com/cat.png" title="https://example.com/cat.png" target="_blank" rel="noopener noreferrer nofollow">a cat</a></p>',
    );
  });

  it('shows mentions as the display name, the reader’s own and @room highlighted', () => {
    expect(render('hi @alice')).toBe('<p>hi <span class="mention" title="@alice">@Alice Liddell</span></p>');
    expect(render('@bob look')).toBe('<p><span class="mention mention-me" title="@bob">@Bob</span> look</p>');
    expect(render('@room heads up')).toBe('<p><span class="mention mention-me">@room</span> heads up</p>');
    expect(render('@nobody here')).toBe('<p>@nobody here</p>');
    expect(render('`@alice`')).toBe('<p><code class="md-inline-code">@alice</code></p>');
  });

  it('links rooms the reader knows and shows others as text', () => {
    expect(render('see #general')).toBe('<p>see <a class="md-room-link" href="/rooms/R1">#general</a></p>');
    expect(render('see #secret')).toBe('<p>see <span class="md-room-link">#secret</span></p>');
  });

  it('turns shortcodes into emoji outside code, and counts emoji-only messages', () => {
    expect(render('ship it :rocket: :not_a_code:')).toBe('<p>ship it 🚀 :not_a_code:</p>');
    expect(render('`:tada:`')).toBe('<p><code class="md-inline-code">:tada:</code></p>');
    expect(render('```\n:tada:\n```')).toContain('<code>:tada:</code>');
    expect(parseMessage(':tada:').emojiOnly).toBe(1);
    expect(parseMessage('🎉 👍🏽 🇯🇵').emojiOnly).toBe(3);
    expect(parseMessage('👨‍👩‍👧‍👦').emojiOnly).toBe(1);
    expect(parseMessage('🎉🎉🎉🎉').emojiOnly).toBe(0);
    expect(parseMessage('yes 🎉').emojiOnly).toBe(0);
    expect(parseMessage('123').emojiOnly).toBe(0);
    expect(parseMessage('**🎉**').emojiOnly).toBe(0);
  });

  it('renders Japanese text as written', () => {
    expect(render('**会議**は_明日_です。@alice さん、#general を見てください')).toBe(
      '<p><strong>会議</strong>は_明日_です。<span class="mention" title="@alice">@Alice Liddell</span> さん、' +
        '<a class="md-room-link" href="/rooms/R1">#general</a> を見てください</p>',
    );
  });

  it('puts the edited mark on the last paragraph', () => {
    const trailing = h('span', { class: 'edited' }, ' (edited)');
    expect(render('a\n\nb', { trailing })).toBe('<p>a</p><p>b<span class="edited"> (edited)</span></p>');
    expect(render('- a', { trailing })).toBe(
      '<ul><li><p>a</p></li></ul><span class="edited"> (edited)</span>',
    );
  });
});

describe('renderMarkdown with hostile input', () => {
  it('shows HTML as text', () => {
    expect(render('<script>alert(1)</script>')).toBe('<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>');
    expect(render('<img src=x onerror="alert(1)">')).toBe('<p>&lt;img src=x onerror="alert(1)"&gt;</p>');
    expect(render('a <b onclick="x()">b</b> c')).toBe('<p>a &lt;b onclick="x()"&gt;b&lt;/b&gt; c</p>');
  });

  it('never links script, data or relative addresses', () => {
    for (const url of [
      'javascript:alert(1)',
      'JaVaScRiPt:alert(1)',
      'java%0ascript:alert(1)',
      'data:text/html,<script>alert(1)</script>',
      'vbscript:x',
      '/rooms/x',
      '//evil.example',
    ]) {
      const out = render(`[click](${url})`);
      expect(out, url).not.toContain('<a');
      expect(out, url).toContain('click');
    }
    expect(render('[x](<javascript:alert(1)>)')).not.toContain('<a');
    expect(render('![x](javascript:alert(1))')).not.toContain('<a');
    expect(render('[x][r]\n\n[r]: javascript:alert(1)')).not.toContain('<a');
  });

  it('shows nesting and delimiter runs the parser would choke on as the text it is, at once', () => {
    for (const text of [
      `${'> '.repeat(5000)}deep`,
      `${'- '.repeat(5000)}deep`,
      `${'1. '.repeat(3000)}deep`,
      Array.from({ length: 250 }, (_, index) => `${'  '.repeat(index)}- level ${index}`).join('\n'),
      '*a'.repeat(32_000),
      ']'.repeat(64_000),
      '[a]('.repeat(16_000),
      `${'*'.repeat(32_000)}x${'*'.repeat(32_000)}`,
    ]) {
      // At once: the parse budget turns them away before parsing (a quadratic parse would pass the test timeout).
      expect(render(text)).toBe(`<p>${escapeHtml(text)}</p>`);
    }
    // Below the limits the same shapes are markdown.
    expect(render(`${'> '.repeat(8)}deep`)).toContain('<blockquote><blockquote>');
    expect(render('*a* '.repeat(100))).toContain('<em>a</em>');
  });

  it('bounds the depth it renders, whatever tree it is given', () => {
    let node: MarkdownContent = { type: 'text', value: 'deep' };
    for (let level = 0; level < 10_000; level += 1)
      node = { type: 'blockquote', children: [node] } as MarkdownContent;
    const out = html(renderMarkdown({ type: 'root', children: [node] }, context));
    expect(out.split('<blockquote>').length - 1).toBeLessThanOrEqual(24);
    expect(out).toContain('deep');
  });

  it('renders a 64 KiB message quickly', () => {
    const paragraph =
      'Some **bold** and `code` with https://example.com/path @alice #general :tada: 会話\n- a list\n- of _things_\n\n';
    const text = paragraph.repeat(Math.ceil(65_536 / paragraph.length)).slice(0, 65_536);
    const started = performance.now();
    const out = render(text);
    const elapsed = performance.now() - started;
    expect(out).toContain('<strong>bold</strong>');
    expect(out).toContain('<span class="mention" title="@alice">');
    // About 0.3 s on an idle machine, nearly all of it the parse; the bound leaves room for a busy one.
    expect(elapsed).toBeLessThan(5000);
    // Rendering again takes the cached parse.
    const again = performance.now();
    render(text);
    expect(performance.now() - again).toBeLessThan(elapsed);
  });
});
