/*
 * Kaiwa markdown ⇄ Slack mrkdwn and Block Kit.
 *
 * Slack has no escape for `*`, `_`, `~` or `` ` ``; a literal one that could open or close formatting is
 * followed by a zero-width space (U+200B), which breaks the pairing, and `fromSlack` drops a U+200B right after
 * such a character. Only `&`, `<` and `>` are entity-escaped, as Slack documents.
 */
import type {
  Blockquote,
  Code,
  Heading,
  List,
  Paragraph,
  PhrasingContent,
  Root,
  RootContent,
  Table,
} from 'mdast';
import { replaceShortcodes } from './emoji.js';
import { segmentGraphemes } from './graphemes.js';
import { parseKaiwaMarkdown, stringifyKaiwaMarkdown } from './kaiwa-markdown.js';
import { phrasingText, tableToText } from './table-text.js';
import { renderTextList } from './text-list.js';
import type { FromPlatformOptions, SlackBlock, ToPlatformOptions } from './types.js';
import { PLATFORM_TEXT_LIMITS } from './types.js';

const ZWSP = '\u200B';

/**
 * Renders Kaiwa markdown as Slack mrkdwn (`text`, also the notification fallback) and `section` blocks of at
 * most 3000 characters each.
 *
 * @example toSlack('**hi** @alice', { mentionId: (u) => (u === 'alice' ? 'U1' : undefined) }).text // '*hi* <@U1>'
 */
export function toSlack(
  markdown: string,
  options: ToPlatformOptions = {},
): { text: string; blocks: SlackBlock[] } {
  const tree = parseKaiwaMarkdown(markdown);
  const parts = tree.children.map((node) => ({ node, text: renderBlock(node, options) }));
  const text = parts
    .map((part) => part.text)
    .filter((part) => part !== '')
    .join('\n\n');
  const blocks: SlackBlock[] = [];
  let section = '';
  const flush = () => {
    if (section !== '') blocks.push({ type: 'section', text: { type: 'mrkdwn', text: section } });
    section = '';
  };
  for (const part of parts) {
    if (part.node.type === 'thematicBreak') {
      flush();
      blocks.push({ type: 'divider' });
      continue;
    }
    if (part.text === '') continue;
    for (const piece of fitSection(part.text, part.node)) {
      const joined = section === '' ? piece : `${section}\n\n${piece}`;
      if (joined.length <= PLATFORM_TEXT_LIMITS.slackSection) section = joined;
      else {
        flush();
        section = piece;
      }
    }
  }
  flush();
  return { text, blocks };
}

/** `toSlack(markdown).text.length` from the parsed tree (splitMarkdown's measure). */
export function slackTextLength(tree: Root): number {
  return tree.children
    .map((node) => renderBlock(node, {}))
    .filter((part) => part !== '')
    .join('\n\n').length;
}

/** What `toSlack(block).text.length` gives for each top-level block alone (splitMarkdown's estimates). */
export function slackBlockSizes(tree: Root): number[] {
  return tree.children.map((node) => renderBlock(node, {}).length);
}

/**
 * Parses Slack mrkdwn (message `text`) into Kaiwa markdown: `<@U1>` and `<#C1|name>` become mentions and room
 * links through the lookups (or stay readable text), `<url|label>` becomes a link, entities are decoded and
 * `:shortcode:` emoji become Unicode.
 *
 * @example fromSlack('*hi* <@U1> 2*3*4', { userName: () => 'alice' }) // '**hi** @alice 2\\*3\\*4'
 */
export function fromSlack(mrkdwn: string, options: FromPlatformOptions = {}): string {
  return stringifyKaiwaMarkdown(slackToMdast(mrkdwn, options));
}

// ---------------------------------------------------------------------------------------------------------------
// mdast → mrkdwn

function renderBlock(node: RootContent, options: ToPlatformOptions, indent = ''): string {
  switch (node.type) {
    case 'paragraph':
      return protectLineStarts(renderInline((node as Paragraph).children, options));
    case 'heading':
      return `*${renderInline((node as Heading).children, options)}*`;
    case 'blockquote':
      return (node as Blockquote).children
        .map((child) => renderBlock(child, options))
        .join('\n\n')
        .split('\n')
        .map((line) => `> ${line}`)
        .join('\n');
    case 'code':
      return renderCodeBlock((node as Code).value);
    case 'list':
      return renderList(node as List, options, indent);
    case 'table':
      return renderCodeBlock(tableToText(node as Table, phrasingText));
    case 'thematicBreak':
      return '───';
    case 'html':
      return escapeText(node.value);
    case 'definition':
    case 'footnoteDefinition':
      return '';
    default:
      return 'children' in node ? renderInline(node.children as PhrasingContent[], options) : '';
  }
}

// A line that starts like a quote, a bullet or a fence would read as one; a leading U+200B keeps it text.
const LINE_START_MARKUP = /^(?:&gt;|•|◦|▪|-\s|\d+[.)]\s|```)/;

function protectLineStarts(text: string): string {
  return text
    .split('\n')
    .map((line) => (LINE_START_MARKUP.test(line) || line.startsWith(ZWSP) ? ZWSP + line : line))
    .join('\n');
}

function renderCodeBlock(value: string): string {
  return `\`\`\`\n${escapeEntities(value)}\n\`\`\``;
}

function renderList(list: List, options: ToPlatformOptions, indent: string): string {
  return renderTextList(list, indent, (block, at) => renderBlock(block, options, `${at}    `));
}

function renderInline(nodes: PhrasingContent[], options: ToPlatformOptions): string {
  return nodes.map((node) => renderPhrasing(node, options)).join('');
}

function renderPhrasing(node: PhrasingContent, options: ToPlatformOptions): string {
  switch (node.type) {
    case 'text':
      return escapeText(node.value);
    case 'strong':
      return `*${renderInline(node.children, options)}*`;
    case 'emphasis':
      return `_${renderInline(node.children, options)}_`;
    case 'delete':
      return `~${renderInline(node.children, options)}~`;
    case 'inlineCode':
      return `\`${escapeEntities(node.value)}\``;
    case 'break':
      return '\n';
    case 'link': {
      const label = renderInline(node.children, options);
      const url = escapeEntities(node.url);
      return label === '' || label === url ? `<${url}>` : `<${url}|${label.replace(/\|/g, '∣')}>`;
    }
    case 'image':
      return node.alt
        ? `<${escapeEntities(node.url)}|${escapeText(node.alt)}>`
        : `<${escapeEntities(node.url)}>`;
    case 'mention': {
      const id = options.mentionId?.(node.username);
      if (id) return `<@${id}>`;
      if (node.username === 'here') return '<!here>';
      if (node.username === 'room') return '<!channel>';
      return `@${node.username}`;
    }
    case 'roomLink': {
      const id = options.channelId?.(node.name);
      return id ? `<#${id}>` : `#${node.name}`;
    }
    case 'html':
      return escapeText(node.value);
    case 'footnoteReference':
      return `[${node.label ?? node.identifier}]`;
    default:
      return 'children' in node ? renderInline(node.children as PhrasingContent[], options) : '';
  }
}

function escapeEntities(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Escapes text and breaks literal formatting characters that sit where Slack would pair them. */
function escapeText(text: string): string {
  const escaped = escapeEntities(text);
  let out = '';
  for (let index = 0; index < escaped.length; index++) {
    const character = escaped[index]!;
    out += character;
    if (!'*_~`'.includes(character)) continue;
    const before = escaped[index - 1];
    const after = escaped[index + 1];
    // Slack only formats at word boundaries: `2*3*4` and `snake_case_name` stay literal by themselves.
    const intraword =
      before !== undefined && after !== undefined && isWordCharacter(before) && isWordCharacter(after);
    if (intraword && character !== '`') continue;
    out += ZWSP;
  }
  return out;
}

function isWordCharacter(character: string): boolean {
  return /[\p{L}\p{N}]/u.test(character);
}

/** Splits one rendered block into pieces of at most 3000 characters (code blocks keep their fences). */
function fitSection(text: string, node: RootContent): string[] {
  const limit = PLATFORM_TEXT_LIMITS.slackSection;
  if (text.length <= limit) return [text];
  const isCode = node.type === 'code' || node.type === 'table';
  const body = isCode ? text.slice(4, -4) : text;
  const room = isCode ? limit - 8 : limit;
  const pieces: string[] = [];
  let current = '';
  for (const line of body.split('\n')) {
    for (const part of chopGraphemes(line, room)) {
      const joined = current === '' ? part : `${current}\n${part}`;
      if (joined.length <= room) current = joined;
      else {
        pieces.push(current);
        current = part;
      }
    }
  }
  if (current !== '') pieces.push(current);
  return isCode ? pieces.map((piece) => `\`\`\`\n${piece}\n\`\`\``) : pieces;
}

function chopGraphemes(text: string, limit: number): string[] {
  if (text.length <= limit) return [text];
  const pieces: string[] = [];
  let current = '';
  for (const segment of segmentGraphemes(text)) {
    if (current.length + segment.length > limit) {
      pieces.push(current);
      current = '';
    }
    current += segment;
  }
  if (current !== '') pieces.push(current);
  return pieces;
}

// ---------------------------------------------------------------------------------------------------------------
// mrkdwn → mdast

function slackToMdast(mrkdwn: string, options: FromPlatformOptions): Root {
  const children: RootContent[] = [];
  const lines = mrkdwn.replace(/\r\n?/g, '\n').split('\n');
  let paragraph: string[] = [];
  let quote: string[] = [];
  let list: { ordered: boolean; items: string[] } | undefined;
  const flushParagraph = () => {
    if (paragraph.length > 0) {
      children.push({ type: 'paragraph', children: parseInline(paragraph.join('\n'), options) });
    }
    paragraph = [];
  };
  const flushQuote = () => {
    if (quote.length > 0) {
      const inner = slackToMdast(quote.join('\n'), options);
      children.push({ type: 'blockquote', children: inner.children as Blockquote['children'] });
    }
    quote = [];
  };
  const flushList = () => {
    if (list) {
      children.push({
        type: 'list',
        ordered: list.ordered,
        spread: false,
        children: list.items.map((item) => ({
          type: 'listItem',
          spread: false,
          children: [{ type: 'paragraph', children: parseInline(item, options) }],
        })),
      });
    }
    list = undefined;
  };
  const flushAll = () => {
    flushParagraph();
    flushQuote();
    flushList();
  };
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    if (line.startsWith(ZWSP)) {
      // Protected by toSlack: literal text, not a quote, bullet or fence.
      flushQuote();
      flushList();
      paragraph.push(line.slice(1));
      continue;
    }
    const fence = /^```(.*)$/.exec(line);
    if (fence) {
      // ``` opens a pre block; it may close on the same line or a later one.
      const rest = fence[1]!;
      const sameLine = rest.indexOf('```');
      flushAll();
      if (sameLine >= 0) {
        children.push({ type: 'code', value: decodeEntities(rest.slice(0, sameLine)) });
        const after = rest.slice(sameLine + 3).trim();
        if (after !== '') paragraph.push(after);
        continue;
      }
      const body: string[] = rest === '' ? [] : [rest];
      let closed = false;
      while (++index < lines.length) {
        const next = lines[index]!;
        const end = next.indexOf('```');
        if (end >= 0) {
          if (end > 0) body.push(next.slice(0, end));
          closed = true;
          break;
        }
        body.push(next);
      }
      if (!closed && body.length === 0) {
        paragraph.push(line);
        continue;
      }
      children.push({ type: 'code', value: decodeEntities(body.join('\n')) });
      continue;
    }
    const quoted = /^(?:&gt;|>)\s?(.*)$/.exec(line);
    if (quoted) {
      flushParagraph();
      flushList();
      quote.push(quoted[1]!);
      continue;
    }
    const bullet = /^\s*(?:•|◦|▪|-)\s+(.*)$/.exec(line);
    const numbered = /^\s*\d+[.)]\s+(.*)$/.exec(line);
    if (bullet || numbered) {
      const ordered = Boolean(numbered);
      flushParagraph();
      flushQuote();
      if (list && list.ordered !== ordered) flushList();
      list ??= { ordered, items: [] };
      list.items.push((bullet ?? numbered)![1]!);
      continue;
    }
    if (line.trim() === '') {
      flushAll();
      continue;
    }
    flushQuote();
    flushList();
    paragraph.push(line);
  }
  flushAll();
  return { type: 'root', children };
}

const OPENERS: Record<string, 'strong' | 'emphasis' | 'delete'> = {
  '*': 'strong',
  _: 'emphasis',
  '~': 'delete',
};

/** Parses mrkdwn inline markup: `<...>` specials, code spans, `*bold*`, `_italic_`, `~strike~`. */
function parseInline(source: string, options: FromPlatformOptions): PhrasingContent[] {
  const nodes: PhrasingContent[] = [];
  let text = '';
  const pushText = () => {
    if (text !== '') nodes.push(...textNodes(text));
    text = '';
  };
  // A marker with no closer after position p has none after any later position on that line either; this
  // keeps hostile input (thousands of lone `*`) linear.
  const noCloserAfter = new Map<string, { from: number; lineEnd: number }>();
  let index = 0;
  while (index < source.length) {
    const character = source[index]!;
    if (character === '<') {
      const end = source.indexOf('>', index);
      if (end > index) {
        const special = specialToNode(source.slice(index + 1, end), options);
        if (special) {
          pushText();
          nodes.push(special);
          index = end + 1;
          continue;
        }
      }
    }
    if (source.startsWith('```', index)) {
      // A pre block in the middle of a line reads best as inline code.
      const end = source.indexOf('```', index + 3);
      if (end > index + 3) {
        pushText();
        nodes.push({ type: 'inlineCode', value: decodeEntities(source.slice(index + 3, end)) });
        index = end + 3;
        continue;
      }
    }
    if (character === '`' && source[index + 1] !== ZWSP) {
      const end = source.indexOf('`', index + 1);
      if (end > index + 1 && !source.slice(index + 1, end).includes('\n')) {
        pushText();
        nodes.push({ type: 'inlineCode', value: decodeEntities(source.slice(index + 1, end)) });
        index = end + 1;
        continue;
      }
    }
    const kind = OPENERS[character];
    const failed = kind ? noCloserAfter.get(character) : undefined;
    const hopeless = failed !== undefined && failed.from < index && index < failed.lineEnd;
    if (kind && !hopeless && source[index + 1] !== ZWSP && canOpen(source, index)) {
      const end = findCloser(source, index);
      if (end < 0) {
        const lineEnd = source.indexOf('\n', index);
        noCloserAfter.set(character, { from: index, lineEnd: lineEnd < 0 ? source.length : lineEnd });
      }
      if (end > 0) {
        pushText();
        nodes.push({
          type: kind,
          children: parseInline(source.slice(index + 1, end), options),
        } as PhrasingContent);
        index = end + 1;
        continue;
      }
    }
    if ('*_~`'.includes(character) && source[index + 1] === ZWSP) {
      // Our own pairing breaker (see toSlack).
      text += character;
      index += 2;
      continue;
    }
    text += character;
    index++;
  }
  pushText();
  return nodes;
}

function canOpen(source: string, index: number): boolean {
  const before = source[index - 1];
  const after = source[index + 1];
  if (after === undefined || /\s/.test(after)) return false;
  return before === undefined || !isWordCharacter(before);
}

function findCloser(source: string, index: number): number {
  const marker = source[index]!;
  for (let end = index + 2; end < source.length; end++) {
    const character = source[end]!;
    // Slack pairs markers within one line only.
    if (character === '\n') return -1;
    if (character !== marker || source[end + 1] === ZWSP) continue;
    const before = source[end - 1]!;
    const after = source[end + 1];
    if (/\s/.test(before)) continue;
    if (after !== undefined && isWordCharacter(after)) continue;
    return end;
  }
  return -1;
}

function specialToNode(inner: string, options: FromPlatformOptions): PhrasingContent | undefined {
  const bar = inner.indexOf('|');
  const target = bar >= 0 ? inner.slice(0, bar) : inner;
  const label = bar >= 0 ? decodeEntities(inner.slice(bar + 1)) : undefined;
  if (target.startsWith('@')) {
    const id = target.slice(1);
    const username = options.userName?.(id);
    if (username) return { type: 'mention', username };
    return { type: 'text', value: `@${label ?? id}` };
  }
  if (target.startsWith('#')) {
    const id = target.slice(1);
    const name = options.channelName?.(id);
    if (name) return { type: 'roomLink', name };
    return { type: 'text', value: `#${label ?? id}` };
  }
  if (target.startsWith('!')) {
    // <!here>, <!channel>, <!subteam^S1|@team>, <!date^…|fallback>
    const keyword = target.slice(1).split('^')[0]!;
    if (keyword === 'here' || keyword === 'channel' || keyword === 'everyone') {
      return { type: 'mention', username: keyword === 'here' ? 'here' : 'room' };
    }
    return { type: 'text', value: label ?? keyword };
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) {
    const url = decodeEntities(target);
    return { type: 'link', url, children: [{ type: 'text', value: label ?? url.replace(/^mailto:/, '') }] };
  }
  return undefined;
}

function textNodes(raw: string): PhrasingContent[] {
  return [{ type: 'text', value: replaceShortcodes(decodeEntities(raw)) }];
}

function decodeEntities(text: string): string {
  return text.replace(/&(amp|lt|gt);/g, (_whole, name: string) =>
    name === 'amp' ? '&' : name === 'lt' ? '<' : '>',
  );
}
