/*
 * Kaiwa markdown ⇄ mdast. Kaiwa markdown is GFM in which `@username` mentions a user and `#room-name` links a
 * room; both become custom mdast nodes (`mention`, `roomLink`) so every renderer sees them as nodes, never as
 * text, and never inside code. `\@` and `\#` keep the characters literal.
 */
import type { Nodes, Parents, PhrasingContent, Root, RootContent, Text } from 'mdast';
import type { Handle, Info, State, Options as ToMarkdownOptions } from 'mdast-util-to-markdown';
import remarkGfm from 'remark-gfm';
import remarkParse from 'remark-parse';
import remarkStringify from 'remark-stringify';
import { unified } from 'unified';
import { exceedsParseBudget } from './parse-budget.js';

/** `@username`: a Kaiwa user mention. */
export interface Mention {
  type: 'mention';
  username: string;
  position?: Root['position'];
}

/** `#room-name`: a link to a Kaiwa room. */
export interface RoomLink {
  type: 'roomLink';
  name: string;
  position?: Root['position'];
}

declare module 'mdast' {
  interface PhrasingContentMap {
    mention: Mention;
    roomLink: RoomLink;
  }
  interface RootContentMap {
    mention: Mention;
    roomLink: RoomLink;
  }
}

// The same rule core's parseMentions uses, so a mention renders where it also notifies.
const MENTION = /(?<![\p{L}\p{N}_.@/-])@([a-z0-9][a-z0-9_.-]{0,31})/giu;
const ROOM_LINK = /(?<![\p{L}\p{N}_.@/&#-])#([\p{L}\p{N}][\p{L}\p{N}_.-]{0,63})/gu;
// Noncharacters stand in for `\@` and `\#` while parsing, so escaped ones stay literal.
const ESCAPED_AT = '\uFDD0';
const ESCAPED_HASH = '\uFDD1';
const ESCAPED_MARKERS = /[\uFDD0\uFDD1]/g;

const parser = unified().use(remarkParse).use(remarkGfm, { singleTilde: false });

/** How Kaiwa markdown is written out (markers, fences, indents); dialects close to it start from this. */
export const KAIWA_MARKDOWN_STYLE = {
  bullet: '-',
  fence: '`',
  fences: true,
  listItemIndent: 'one',
  rule: '-',
  emphasis: '*',
  strong: '*',
} as const satisfies ToMarkdownOptions;

const stringifyOptions: ToMarkdownOptions = {
  ...KAIWA_MARKDOWN_STYLE,
  handlers: {
    mention: ((node: Mention) => `@${node.username}`) as Handle,
    roomLink: ((node: RoomLink) => `#${node.name}`) as Handle,
    text: escapeTextNode as Handle,
  },
};

const serializer = unified().use(remarkGfm, { singleTilde: false }).use(remarkStringify, stringifyOptions);

/**
 * Parses Kaiwa markdown into mdast with `mention` and `roomLink` nodes.
 *
 * @example parseKaiwaMarkdown('hi @alice in #general').children[0] // paragraph: text, mention, text, roomLink
 */
export function parseKaiwaMarkdown(markdown: string): Root {
  const source = markdown.replace(
    /(?<!\\)((?:\\\\)*)\\([@#])/g,
    (_m, backslashes: string, character: string) =>
      backslashes.concat(character === '@' ? ESCAPED_AT : ESCAPED_HASH),
  );
  return toKaiwaTree(parseWithinBudget(source));
}

/** The parse of a text, or the whole text as one plain paragraph when parsing it would cost too much. */
function parseWithinBudget(markdown: string): Root {
  if (!exceedsParseBudget(markdown)) return parser.parse(markdown);
  const end = { line: markdown.split('\n').length, column: 1, offset: markdown.length };
  const position = { start: { line: 1, column: 1, offset: 0 }, end };
  return {
    type: 'root',
    children: [{ type: 'paragraph', children: [{ type: 'text', value: markdown, position }], position }],
    position,
  };
}

function toKaiwaTree(tree: Root): Root {
  htmlToText(tree);
  expandMentions(tree);
  restoreEscapes(tree);
  return tree;
}

/** Parses markdown without the mention pass, keeping source positions (for splitting). */
export function parseMarkdownWithPositions(markdown: string): Root {
  return parseWithinBudget(markdown);
}

/**
 * One parse for splitMarkdown: the top-level blocks with their source positions and, when the text has no
 * `\@` / `\#` escapes (which parseKaiwaMarkdown rewrites first), the Kaiwa tree of the same parse.
 */
export function parseForSplitting(markdown: string): { blocks: RootContent[]; kaiwa?: Root } {
  const tree = parseWithinBudget(markdown);
  const blocks = [...tree.children];
  if (/\\[@#]|[\uFDD0\uFDD1]/.test(markdown)) return { blocks };
  // The Kaiwa passes replace children arrays and touch no block node splitting reads (code keeps its value).
  return { blocks, kaiwa: toKaiwaTree(tree) };
}

/**
 * Serialises mdast (with `mention` / `roomLink` nodes) to Kaiwa markdown, escaping literal text so it stays
 * literal.
 *
 * @example stringifyKaiwaMarkdown({ type: 'root', children: [{ type: 'paragraph', children: [{ type: 'text', value: '2*3*4' }] }] }) // '2\\*3\\*4'
 */
export function stringifyKaiwaMarkdown(tree: Root): string {
  return serializer.stringify(tree).replace(/\n+$/, '');
}

/**
 * The canonical spelling of Kaiwa markdown: parse, then stringify. Two texts that render the same normalise to
 * the same string (`_x_` and `*x*` both give `*x*`).
 *
 * @example normalizeMarkdown('__bold__ _it_') // '**bold** *it*'
 */
export function normalizeMarkdown(markdown: string): string {
  return stringifyKaiwaMarkdown(parseKaiwaMarkdown(markdown));
}

/**
 * Escapes text for Kaiwa markdown (as a text node would be).
 *
 * @example escapeMarkdownText('*not bold* @alice') // '\\*not bold\\* \\@alice'
 */
export function escapeMarkdownText(text: string): string {
  return stringifyKaiwaMarkdown({
    type: 'root',
    children: [{ type: 'paragraph', children: [{ type: 'text', value: text }] }],
  });
}

/** Kaiwa shows raw HTML as the text it is; turning it into text nodes lets every renderer escape it. */
function htmlToText(node: Nodes): void {
  if (!('children' in node)) return;
  const parent = node as { children: Nodes[] };
  parent.children = parent.children.map((child): Nodes => {
    if (child.type !== 'html') {
      htmlToText(child);
      return child;
    }
    const text = { type: 'text' as const, value: child.value };
    return node.type === 'paragraph' || isPhrasingParent(node)
      ? text
      : { type: 'paragraph', children: [text] };
  });
}

function isPhrasingParent(node: Nodes): boolean {
  return ['emphasis', 'strong', 'delete', 'link', 'linkReference', 'heading', 'tableCell'].includes(
    node.type,
  );
}

function expandMentions(node: Nodes): void {
  if (!('children' in node)) return;
  const parent = node as Parents;
  const children: Nodes[] = [];
  for (const child of parent.children as Nodes[]) {
    if (child.type === 'text') children.push(...splitMentions(child.value));
    else {
      // Link text cannot hold another link; a mention there stays text.
      if (child.type !== 'link' && child.type !== 'linkReference') expandMentions(child);
      children.push(child);
    }
  }
  (parent as { children: Nodes[] }).children = children;
}

/** Finds mentions and room links in one text value. */
function splitMentions(value: string): PhrasingContent[] {
  const found: { index: number; length: number; node: Mention | RoomLink }[] = [];
  for (const match of value.matchAll(MENTION)) {
    const name = match[1]!.replace(/[.-]+$/, '');
    if (name.length < 2) continue;
    found.push({ index: match.index, length: name.length + 1, node: { type: 'mention', username: name } });
  }
  for (const match of value.matchAll(ROOM_LINK)) {
    const name = match[1]!.replace(/[.-]+$/, '');
    found.push({ index: match.index, length: name.length + 1, node: { type: 'roomLink', name } });
  }
  if (found.length === 0) return [{ type: 'text', value }];
  found.sort((a, b) => a.index - b.index);
  const result: PhrasingContent[] = [];
  let last = 0;
  for (const item of found) {
    if (item.index < last) continue;
    if (item.index > last) result.push({ type: 'text', value: value.slice(last, item.index) });
    result.push(item.node);
    last = item.index + item.length;
  }
  if (last < value.length) result.push({ type: 'text', value: value.slice(last) });
  return result;
}

function restoreEscapes(node: Nodes): void {
  const literal = (value: string) =>
    value.replace(ESCAPED_MARKERS, (c) => (c === ESCAPED_AT ? '\\@' : '\\#'));
  const plain = (value: string) => value.replace(ESCAPED_MARKERS, (c) => (c === ESCAPED_AT ? '@' : '#'));
  switch (node.type) {
    case 'text':
      node.value = plain(node.value);
      return;
    case 'code':
    case 'inlineCode':
    case 'html':
      node.value = literal(node.value);
      if (node.type === 'code' && node.lang) node.lang = plain(node.lang);
      return;
    case 'link':
    case 'image':
    case 'definition':
      node.url = plain(node.url);
      if (node.title) node.title = plain(node.title);
      if (node.type === 'image') node.alt = node.alt ? plain(node.alt) : node.alt;
      break;
    default:
      break;
  }
  if ('children' in node) for (const child of node.children as Nodes[]) restoreEscapes(child);
}

/** The default text escaping, plus `\@` / `\#` where the text would otherwise read as a mention. */
export function escapeTextNode(node: Text, parent: Parents | undefined, state: State, info: Info): string {
  const value = node.value;
  const siblings = parent ? (parent.children as Nodes[]) : [];
  const index = state.indexStack[state.indexStack.length - 1] ?? 0;
  const positions: number[] = [];
  for (const match of value.matchAll(MENTION)) {
    if (match[1]!.replace(/[.-]+$/, '').length >= 2) positions.push(match.index);
  }
  for (const match of value.matchAll(ROOM_LINK)) positions.push(match.index);
  positions.sort((a, b) => a - b);
  let out = '';
  let last = 0;
  for (const position of positions) {
    out += state.safe(value.slice(last, position), {
      before: last === 0 ? info.before : value[last - 1]!,
      after: value[position]!,
      beforeNode: last === 0 ? siblings[index - 1] : undefined,
    });
    out += `\\${value[position]}`;
    last = position + 1;
  }
  out += state.safe(value.slice(last), {
    before: last === 0 ? info.before : value[last - 1]!,
    after: info.after,
    beforeNode: last === 0 ? siblings[index - 1] : undefined,
    afterNode: siblings[index + 1],
  });
  return out;
}
