/*
 * Kaiwa markdown ⇄ Telegram. Out: Telegram's HTML parse mode, using only the tags it allows and escaping only
 * `<`, `>` and `&`. In: the plain text plus `MessageEntity` list the Bot API delivers (offsets in UTF-16 code
 * units, which is what JavaScript string indices count).
 */
import type { BlockContent, List, PhrasingContent, Root, RootContent, Table } from 'mdast';
import { escapeHtml, type HtmlNode, parseHtml } from './html.js';
import { parseKaiwaMarkdown, stringifyKaiwaMarkdown } from './kaiwa-markdown.js';
import { phrasingText, tableToText } from './table-text.js';
import { renderTextList } from './text-list.js';
import type { TelegramMessageEntity, UserNameLookup } from './types.js';

export interface ToTelegramOptions {
  /** The Telegram user id of a Kaiwa user; mentions become `tg://user?id=` links. */
  mentionId?: (username: string) => string | undefined;
}

export interface FromTelegramOptions {
  /** The Kaiwa username of a Telegram user id (for `text_mention` entities). */
  userName?: UserNameLookup;
}

/**
 * Renders Kaiwa markdown as Telegram HTML (`parse_mode: 'HTML'`).
 *
 * @example toTelegramHtml('**hi** <b>') // '<b>hi</b> &lt;b&gt;'
 */
export function toTelegramHtml(markdown: string, options: ToTelegramOptions = {}): string {
  return renderBlocks(parseKaiwaMarkdown(markdown).children, options, '');
}

/**
 * Parses a Telegram message (text plus entities) into Kaiwa markdown.
 *
 * @example fromTelegram('hi @alice_b', [{ type: 'bold', offset: 0, length: 2 }, { type: 'mention', offset: 3, length: 8 }]) // '**hi** @alice_b'
 */
export function fromTelegram(
  text: string,
  entities: TelegramMessageEntity[] = [],
  options: FromTelegramOptions = {},
): string {
  return stringifyKaiwaMarkdown(telegramToMdast(text, entities, options));
}

/**
 * Turns Telegram HTML into the text and entities the Bot API would deliver for it, including the `mention`,
 * `hashtag` and `url` entities Telegram detects by itself. Useful for fake Telegram servers in tests.
 *
 * @example parseTelegramHtml('<b>hi</b> @alice_b') // { text: 'hi @alice_b', entities: [bold 0+2, mention 3+8] }
 */
export function parseTelegramHtml(html: string): { text: string; entities: TelegramMessageEntity[] } {
  const state = { text: '', entities: [] as TelegramMessageEntity[] };
  collectEntities(parseHtml(html), state);
  detectEntities(state.text, state.entities);
  state.entities.sort((a, b) => a.offset - b.offset || b.length - a.length);
  return state;
}

/** What splitMarkdown measures (the text length of `toTelegramHtml(markdown)`) from the parsed tree. */
export function telegramTreeTextLength(tree: Root): number {
  return telegramTextLength(renderBlocks(tree.children, {}, ''));
}

/** What splitMarkdown measures (the text length) for each top-level block alone, for its estimates. */
export function telegramBlockSizes(tree: Root): number[] {
  return tree.children.map((node) => telegramTextLength(renderBlock(node, {}, '')));
}

/** The length of `parseTelegramHtml(html).text`, without the entity work (splitMarkdown measures with it). */
export function telegramTextLength(html: string): number {
  const count = (nodes: HtmlNode[]): number => {
    let length = 0;
    for (const node of nodes) {
      if (typeof node === 'string') length += node.length;
      else if (node.tag === 'br') length += 1;
      else length += count(node.children);
    }
    return length;
  };
  return count(parseHtml(html));
}

// ---------------------------------------------------------------------------------------------------------------
// mdast → Telegram HTML

function renderBlocks(nodes: RootContent[], options: ToTelegramOptions, indent: string): string {
  return nodes
    .map((node) => renderBlock(node, options, indent))
    .filter((part) => part !== '')
    .join('\n\n');
}

function renderBlock(node: RootContent, options: ToTelegramOptions, indent: string): string {
  switch (node.type) {
    case 'paragraph':
      return protectLineStarts(renderInline(node.children, options));
    case 'heading':
      return `<b>${renderInline(node.children, options)}</b>`;
    case 'blockquote':
      // Telegram cannot nest quotes; inner quotes flatten into the outer one.
      return `<blockquote>${renderBlocks(node.children.flatMap(unwrapQuote), options, '')}</blockquote>`;
    case 'code':
      return node.lang
        ? `<pre><code class="language-${escapeHtml(node.lang, true)}">${escapeHtml(node.value)}</code></pre>`
        : `<pre>${escapeHtml(node.value)}</pre>`;
    case 'list':
      return renderList(node, options, indent);
    case 'table':
      return `<pre>${escapeHtml(tableToText(node as Table, phrasingText))}</pre>`;
    case 'thematicBreak':
      return '──────';
    case 'definition':
    case 'footnoteDefinition':
      return '';
    default:
      return 'children' in node ? renderInline(node.children as PhrasingContent[], options) : '';
  }
}

// fromTelegram reads lines of `• ` or `1. ` as a list; a leading U+200B (invisible) keeps such text a paragraph.
const ZWSP = '\u200B';
const LIST_LINE = /^(?:• |\d+\. )/;

function protectLineStarts(text: string): string {
  return text
    .split('\n')
    .map((line) => (LIST_LINE.test(line) || line.startsWith(ZWSP) ? ZWSP + line : line))
    .join('\n');
}

function unwrapQuote(node: BlockContent | RootContent): RootContent[] {
  return node.type === 'blockquote' ? node.children.flatMap(unwrapQuote) : [node];
}

function renderList(list: List, options: ToTelegramOptions, indent: string): string {
  return renderTextList(list, indent, (block, at) => renderBlock(block, options, at));
}

function renderInline(nodes: PhrasingContent[], options: ToTelegramOptions): string {
  return nodes.map((node) => renderPhrasing(node, options)).join('');
}

function renderPhrasing(node: PhrasingContent, options: ToTelegramOptions): string {
  switch (node.type) {
    case 'text':
      return escapeHtml(node.value);
    case 'strong':
      return `<b>${renderInline(node.children, options)}</b>`;
    case 'emphasis':
      return `<i>${renderInline(node.children, options)}</i>`;
    case 'delete':
      return `<s>${renderInline(node.children, options)}</s>`;
    case 'inlineCode':
      return `<code>${escapeHtml(node.value)}</code>`;
    case 'break':
      return '\n';
    case 'link':
      return `<a href="${escapeHtml(node.url, true)}">${renderInline(node.children, options) || escapeHtml(node.url)}</a>`;
    case 'image':
      return `<a href="${escapeHtml(node.url, true)}">${escapeHtml(node.alt || node.url)}</a>`;
    case 'mention': {
      const id = options.mentionId?.(node.username);
      return id
        ? `<a href="tg://user?id=${escapeHtml(id, true)}">@${escapeHtml(node.username)}</a>`
        : `@${escapeHtml(node.username)}`;
    }
    case 'roomLink':
      return `#${escapeHtml(node.name)}`;
    case 'footnoteReference':
      return `[${escapeHtml(node.label ?? node.identifier)}]`;
    default:
      return 'children' in node ? renderInline(node.children as PhrasingContent[], options) : '';
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Telegram HTML → text + entities

const TAG_ENTITIES: Record<string, TelegramMessageEntity['type']> = {
  b: 'bold',
  strong: 'bold',
  i: 'italic',
  em: 'italic',
  u: 'underline',
  ins: 'underline',
  s: 'strikethrough',
  strike: 'strikethrough',
  del: 'strikethrough',
  code: 'code',
  pre: 'pre',
  blockquote: 'blockquote',
  'tg-spoiler': 'spoiler',
};

function collectEntities(
  nodes: HtmlNode[],
  state: { text: string; entities: TelegramMessageEntity[] },
): void {
  for (const node of nodes) {
    if (typeof node === 'string') {
      state.text += node;
      continue;
    }
    if (node.tag === 'br') {
      state.text += '\n';
      continue;
    }
    const offset = state.text.length;
    collectEntities(node.children, state);
    const length = state.text.length - offset;
    if (length === 0) continue;
    let entity: TelegramMessageEntity | undefined;
    if (node.tag === 'a') {
      const href = node.attributes.href ?? '';
      const user = /^tg:\/\/user\?id=(\d+)$/.exec(href);
      entity = user
        ? {
            type: 'text_mention',
            offset,
            length,
            user: { id: Number(user[1]), is_bot: false, first_name: '' },
          }
        : { type: 'text_link', offset, length, url: href };
    } else if (node.tag === 'span' && node.attributes.class === 'tg-spoiler') {
      entity = { type: 'spoiler', offset, length };
    } else if (node.tag === 'code' && node.attributes.class?.startsWith('language-')) {
      // The language belongs to the surrounding <pre>.
      const pre = state.entities.find((e) => e.type === 'pre' && e.offset === offset);
      if (pre) pre.language = node.attributes.class.slice('language-'.length);
      else state.entities.push({ type: 'pre', offset, length, language: node.attributes.class.slice(9) });
      continue;
    } else {
      const type = TAG_ENTITIES[node.tag];
      if (type === 'blockquote' && 'expandable' in node.attributes)
        entity = { type: 'expandable_blockquote', offset, length };
      else if (type) entity = { type, offset, length };
    }
    if (!entity) continue;
    if (entity.type === 'pre') {
      // <pre><code class="language-x"> was seen first (inner); fold it into this entity.
      const inner = state.entities.findIndex(
        (e) => e.type === 'pre' && e.offset === offset && e.length === length,
      );
      if (inner >= 0) {
        entity.language = state.entities[inner]!.language;
        state.entities.splice(inner, 1);
      }
      const innerCode = state.entities.findIndex(
        (e) => e.type === 'code' && e.offset === offset && e.length === length,
      );
      if (innerCode >= 0) state.entities.splice(innerCode, 1);
    }
    state.entities.push(entity);
  }
}

/** Adds the entities Telegram finds by itself, outside code and links. */
function detectEntities(text: string, entities: TelegramMessageEntity[]): void {
  const covered = (start: number, end: number) =>
    entities.some(
      (e) =>
        ['code', 'pre', 'text_link', 'text_mention'].includes(e.type) &&
        start < e.offset + e.length &&
        end > e.offset,
    );
  const detectors: [RegExp, TelegramMessageEntity['type']][] = [
    [/(?<![\p{L}\p{N}_@])@[A-Za-z0-9_]{5,32}(?![\p{L}\p{N}_])/gu, 'mention'],
    [/(?<![\p{L}\p{N}_#&])#[\p{L}\p{N}_]*\p{L}[\p{L}\p{N}_]*/gu, 'hashtag'],
    [/https?:\/\/[^\s<>"]+[^\s<>".,;:!?)\]]/g, 'url'],
  ];
  for (const [pattern, type] of detectors) {
    for (const match of text.matchAll(pattern)) {
      const end = match.index + match[0].length;
      if (!covered(match.index, end)) entities.push({ type, offset: match.index, length: match[0].length });
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// text + entities → mdast

interface EntityNode {
  entity: TelegramMessageEntity;
  children: EntityNode[];
}

function telegramToMdast(
  text: string,
  entities: TelegramMessageEntity[],
  options: FromTelegramOptions,
): Root {
  const sorted = entities
    .filter((e) => e.length > 0 && e.offset >= 0 && e.offset < text.length)
    .sort((a, b) => a.offset - b.offset || b.length - a.length || nestingRank(a) - nestingRank(b));
  const forest = nest(sorted);
  const children: RootContent[] = [];
  let cursor = 0;
  let inline: { start: number; end: number; nodes: EntityNode[] } | undefined;
  const flushInline = () => {
    if (inline) children.push(...paragraphs(text, inline.start, inline.end, inline.nodes, options));
    inline = undefined;
  };
  for (const node of forest) {
    const { type, offset, length } = node.entity;
    if (type === 'pre' || type === 'blockquote' || type === 'expandable_blockquote') {
      if (offset > cursor) {
        inline ??= { start: cursor, end: offset, nodes: [] };
        inline.end = offset;
      }
      flushInline();
      const value = text.slice(offset, offset + length);
      if (type === 'pre') {
        children.push({ type: 'code', lang: node.entity.language || null, value: value.replace(/\n$/, '') });
      } else {
        const quoted = paragraphs(text, offset, offset + length, node.children, options);
        children.push({ type: 'blockquote', children: quoted as BlockContent[] });
      }
      cursor = offset + length;
      continue;
    }
    inline ??= { start: cursor, end: cursor, nodes: [] };
    inline.nodes.push(node);
    inline.end = offset + length;
    cursor = inline.end;
  }
  if (cursor < text.length) {
    inline ??= { start: cursor, end: text.length, nodes: [] };
    inline.end = text.length;
  }
  flushInline();
  return { type: 'root', children };
}

// Entities over the same range nest in one fixed order (italic outside bold, as `***x***` parses).
const NESTING = ['blockquote', 'expandable_blockquote', 'pre', 'text_link', 'text_mention', 'italic', 'bold'];

function nestingRank(entity: TelegramMessageEntity): number {
  const rank = NESTING.indexOf(entity.type);
  return rank < 0 ? NESTING.length : rank;
}

const MAX_NESTING = 32;

function nest(entities: TelegramMessageEntity[]): EntityNode[] {
  const roots: EntityNode[] = [];
  const stack: EntityNode[] = [];
  for (const entity of entities) {
    const node: EntityNode = { entity, children: [] };
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!.entity;
      if (entity.offset >= top.offset + top.length) stack.pop();
      else break;
    }
    const parent = stack[stack.length - 1];
    // Deeper nesting than Telegram ever sends is dropped, so hostile input cannot exhaust the stack.
    if (stack.length >= MAX_NESTING) continue;
    if (parent) {
      // Partly overlapping entities are clipped to their parent.
      const end = Math.min(entity.offset + entity.length, parent.entity.offset + parent.entity.length);
      node.entity = { ...entity, length: end - entity.offset };
      parent.children.push(node);
    } else roots.push(node);
    stack.push(node);
  }
  return roots;
}

/** Splits a range into paragraphs at blank lines outside entities; lines of bullets become lists. */
function paragraphs(
  text: string,
  start: number,
  end: number,
  nodes: EntityNode[],
  options: FromTelegramOptions,
): RootContent[] {
  const result: RootContent[] = [];
  let from = start;
  let pending = nodes;
  const emit = (to: number) => {
    const inside = pending.filter((n) => n.entity.offset < to);
    pending = pending.filter((n) => n.entity.offset >= to);
    let slice = { start: from, end: to };
    // Blank lines at the edges separate paragraphs; they are not content.
    while (slice.start < slice.end && text[slice.start] === '\n')
      slice = { ...slice, start: slice.start + 1 };
    while (slice.end > slice.start && text[slice.end - 1] === '\n') slice = { ...slice, end: slice.end - 1 };
    if (slice.start < slice.end) result.push(toBlock(text, slice.start, slice.end, inside, options));
  };
  const blank = /\n[ \t]*\n/g;
  blank.lastIndex = start;
  for (let match = blank.exec(text); match && match.index < end; match = blank.exec(text)) {
    const at = match.index;
    if (nodes.some((n) => n.entity.offset < at && n.entity.offset + n.entity.length > at)) continue;
    emit(at);
    from = at + match[0].length;
  }
  emit(end);
  return result;
}

function toBlock(
  text: string,
  start: number,
  end: number,
  nodes: EntityNode[],
  options: FromTelegramOptions,
): RootContent {
  const value = text.slice(start, end);
  const lines = value.split('\n');
  const bullet = lines.every((line) => /^• /.test(line));
  const numbered = lines.every((line) => /^\d+\. /.test(line));
  if (bullet || numbered) {
    let offset = start;
    const items = lines.map((line) => {
      const markerLength = /^(• |\d+\. )/.exec(line)![0].length;
      const itemStart = offset + markerLength;
      const itemEnd = offset + line.length;
      offset = itemEnd + 1;
      const inside = nodes.filter((n) => n.entity.offset >= itemStart && n.entity.offset < itemEnd);
      return {
        type: 'listItem' as const,
        spread: false,
        children: [
          { type: 'paragraph' as const, children: phrasing(text, itemStart, itemEnd, inside, options) },
        ],
      };
    });
    const first = numbered ? Number(/^\d+/.exec(lines[0]!)![0]) : undefined;
    return { type: 'list', ordered: numbered, start: first, spread: false, children: items };
  }
  const children = phrasing(text, start, end, nodes, options);
  // Drop the line-start guard protectLineStarts added.
  let lineStart = true;
  for (const child of children) {
    if (child.type === 'text') {
      child.value = child.value.replace(/(^|\n)\u200B/g, (whole, newline: string) =>
        newline === '' && !lineStart ? whole : newline,
      );
      lineStart = child.value.endsWith('\n');
    } else lineStart = false;
  }
  return { type: 'paragraph', children };
}

function phrasing(
  text: string,
  start: number,
  end: number,
  nodes: EntityNode[],
  options: FromTelegramOptions,
): PhrasingContent[] {
  const result: PhrasingContent[] = [];
  let cursor = start;
  const pushText = (to: number) => {
    if (to > cursor) result.push({ type: 'text', value: text.slice(cursor, to) });
  };
  for (const node of nodes) {
    const { offset, length } = node.entity;
    if (offset < cursor || offset >= end) continue;
    pushText(offset);
    const stop = Math.min(offset + length, end);
    result.push(...entityToPhrasing(text, offset, stop, node, options));
    cursor = stop;
  }
  pushText(end);
  return result;
}

function entityToPhrasing(
  text: string,
  start: number,
  end: number,
  node: EntityNode,
  options: FromTelegramOptions,
): PhrasingContent[] {
  const value = text.slice(start, end);
  const inner = () => phrasing(text, start, end, node.children, options);
  const entity = node.entity;
  switch (entity.type) {
    case 'bold':
      return [{ type: 'strong', children: inner() }];
    case 'italic':
      return [{ type: 'emphasis', children: inner() }];
    case 'strikethrough':
      return [{ type: 'delete', children: inner() }];
    case 'code':
    case 'pre':
      return [{ type: 'inlineCode', value }];
    case 'text_link':
      return [{ type: 'link', url: entity.url ?? value, children: inner() }];
    case 'url':
      return [
        {
          type: 'link',
          url: /^[a-z][a-z0-9+.-]*:/i.test(value) ? value : `http://${value}`,
          children: [{ type: 'text', value }],
        },
      ];
    case 'email':
      return [{ type: 'link', url: `mailto:${value}`, children: [{ type: 'text', value }] }];
    case 'mention':
      return [{ type: 'mention', username: value.slice(1).toLowerCase() }];
    case 'hashtag':
      return [{ type: 'roomLink', name: value.slice(1) }];
    case 'text_mention': {
      const username =
        (entity.user && options.userName?.(String(entity.user.id))) ??
        entity.user?.username?.toLowerCase() ??
        (/^@[a-z0-9][a-z0-9_.-]+$/i.test(value) ? value.slice(1).toLowerCase() : undefined);
      return username ? [{ type: 'mention', username }] : inner();
    }
    default:
      return inner();
  }
}
