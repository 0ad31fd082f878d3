/*
 * A small HTML reader and writer for the tag subsets Telegram and Teams use. It is forgiving: unknown tags
 * keep their text, stray closing tags are ignored and unclosed ones close at the end.
 */

export interface HtmlElement {
  tag: string;
  attributes: Record<string, string>;
  children: HtmlNode[];
}
export type HtmlNode = HtmlElement | string;

const MAX_DEPTH = 64;
const VOID_TAGS = new Set(['br', 'img', 'hr', 'meta', 'link', 'input', 'wbr']);
const NAMED_ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: '\u00a0',
  ndash: '–',
  mdash: '—',
  hellip: '…',
  laquo: '«',
  raquo: '»',
  copy: '©',
  reg: '®',
  trade: '™',
  zwj: '\u200d',
  zwnj: '\u200c',
};

/**
 * Decodes HTML character references (the common named ones and all numeric ones).
 *
 * @example decodeHtmlEntities('&lt;b&gt; &amp; &#x1F389;') // '<b> & 🎉'
 */
export function decodeHtmlEntities(text: string): string {
  return text.replace(/&(#[xX][0-9a-fA-F]+|#\d+|[a-zA-Z]+);/g, (whole, body: string) => {
    if (body.startsWith('#')) {
      const code =
        body[1] === 'x' || body[1] === 'X' ? Number.parseInt(body.slice(2), 16) : Number(body.slice(1));
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return NAMED_ENTITIES[body] ?? NAMED_ENTITIES[body.toLowerCase()] ?? whole;
  });
}

/**
 * Escapes text for HTML element content (`&`, `<`, `>`), and quotes too when `attribute` is set.
 *
 * @example escapeHtml('a < b & "c"', true) // 'a &lt; b &amp; &quot;c&quot;'
 */
export function escapeHtml(text: string, attribute = false): string {
  const escaped = text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return attribute ? escaped.replace(/"/g, '&quot;') : escaped;
}

/**
 * Parses HTML into a light element tree.
 *
 * @example parseHtml('<b>hi</b>') // [{ tag: 'b', attributes: {}, children: ['hi'] }]
 */
export function parseHtml(html: string): HtmlNode[] {
  const root: HtmlElement = { tag: '#root', attributes: {}, children: [] };
  const stack: HtmlElement[] = [root];
  // Attributes are matched loosely (quoted values, or anything but < > and quotes), which keeps this linear.
  const pattern = /<!--[\s\S]*?-->|<(\/?)([a-zA-Z][a-zA-Z0-9-]*)((?:"[^"]*"|'[^']*'|[^<>"'])*?)(\/?)>/g;
  let last = 0;
  const pushText = (raw: string) => {
    if (raw === '') return;
    const top = stack[stack.length - 1]!;
    const text = decodeHtmlEntities(raw);
    const previous = top.children[top.children.length - 1];
    if (typeof previous === 'string') top.children[top.children.length - 1] = previous + text;
    else top.children.push(text);
  };
  for (const match of html.matchAll(pattern)) {
    pushText(html.slice(last, match.index));
    last = match.index + match[0].length;
    if (match[0].startsWith('<!--')) continue;
    const [, closing, rawTag, rawAttributes, selfClosing] = match;
    const tag = rawTag!.toLowerCase();
    if (closing) {
      const index = stack.map((element) => element.tag).lastIndexOf(tag);
      if (index > 0) stack.length = index;
      continue;
    }
    const element: HtmlElement = { tag, attributes: parseAttributes(rawAttributes ?? ''), children: [] };
    stack[stack.length - 1]!.children.push(element);
    // Nesting deeper than any real message is flattened, so hostile input cannot exhaust the stack.
    if (!selfClosing && !VOID_TAGS.has(tag) && stack.length < MAX_DEPTH) stack.push(element);
  }
  pushText(html.slice(last));
  return root.children;
}

function parseAttributes(source: string): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const match of source.matchAll(/([^\s=/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g)) {
    attributes[match[1]!.toLowerCase()] = decodeHtmlEntities(match[2] ?? match[3] ?? match[4] ?? '');
  }
  return attributes;
}
