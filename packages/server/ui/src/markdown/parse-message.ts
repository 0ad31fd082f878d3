/*
 * Message text to mdast with the parser the platform bridge uses (@kaiwa/platform-format), so a message reads
 * the same in the web chat as on Slack, Discord, Teams or Telegram. Parses are cached by text: a room of
 * hundreds of messages re-renders without parsing again, and a streamed reply parses each new length once.
 */
import { parseKaiwaMarkdown, replaceShortcodes } from '@kaiwa/platform-format';
import type { MarkdownNode, MarkdownRoot } from './mdast';

export interface ParsedMessage {
  tree: MarkdownRoot;
  /** 1 to 3 when the message is nothing but that many emoji (shown large); otherwise 0. */
  emojiOnly: number;
}

const CACHE_SIZE = 1000;
const cache = new Map<string, ParsedMessage>();

/**
 * The mdast of a message, `:shortcodes:` already turned into emoji outside code. Cached by text.
 *
 * @example parseMessage('**hi** :tada:').tree.children[0] // paragraph: strong(hi), text(' 🎉')
 */
export function parseMessage(text: string): ParsedMessage {
  const cached = cache.get(text);
  if (cached) {
    // Most recently used last, so the oldest entry is the one dropped.
    cache.delete(text);
    cache.set(text, cached);
    return cached;
  }
  const tree = safeParse(text);
  replaceShortcodesIn(tree);
  const parsed = { tree, emojiOnly: countOnlyEmoji(tree) };
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  cache.set(text, parsed);
  return parsed;
}

/**
 * Characters that can start or shape markdown, a mention, a room link, an autolink, an entity or an escape
 * (and line breaks, tabs and controls); a text without any of them is one paragraph of itself.
 */
const MARKUP = /[\\`*_~[\]<>&|#@=+\-/{}\uFDD0\uFDD1]|\p{Cc}/u;
/** What else can shape such a line: `1.` or `1)` starts a list, `www.` a link (GFM's autolink literal). */
const ORDERED_LIST = /^\p{N}+[.)]/u;
const WWW = /www\./i;

/**
 * The tree the parser gives a plain text — one line of words and punctuation, no markup at all — built
 * without running it (most messages are such lines, and the parser's setup alone costs more than they do).
 * Undefined for any other text. `parse-message.test.ts` checks it gives what the parser gives.
 */
export function plainTextTree(text: string): MarkdownRoot | undefined {
  if (text.length === 0 || text.length > 2_000 || MARKUP.test(text) || ORDERED_LIST.test(text)) return;
  if (WWW.test(text)) return;
  if (text.trim() !== text) return;
  return { type: 'root', children: [{ type: 'paragraph', children: [{ type: 'text', value: text }] }] };
}

function safeParse(text: string): MarkdownRoot {
  const plain = plainTextTree(text);
  if (plain) return plain;
  try {
    // The parser itself takes a message that would cost too much to parse as plain text (exceedsParseBudget).
    return parseKaiwaMarkdown(text);
  } catch {
    // Input the parser cannot take is still shown, as the text it is.
  }
  return { type: 'root', children: [{ type: 'paragraph', children: [{ type: 'text', value: text }] }] };
}

/** Walks without recursion, so the depth of the tree never matters. */
function replaceShortcodesIn(tree: MarkdownRoot): void {
  const stack: MarkdownNode[] = [tree];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.type === 'text') {
      if (node.value.includes(':')) node.value = replaceShortcodes(node.value);
    } else if ('children' in node) {
      for (const child of node.children) stack.push(child);
    }
  }
}

const EMOJI = /^(?:\p{Extended_Pictographic}|\p{Regional_Indicator}|[#*0-9]\uFE0F?\u20E3)/u;
const segmenter =
  typeof Intl.Segmenter === 'function'
    ? new Intl.Segmenter(undefined, { granularity: 'grapheme' })
    : undefined;

/** How many emoji the message is made of, when it is one paragraph of 1–3 emoji and nothing else. */
function countOnlyEmoji(tree: MarkdownRoot): number {
  const [paragraph, ...rest] = tree.children;
  if (!paragraph || rest.length > 0 || paragraph.type !== 'paragraph') return 0;
  if (!paragraph.children.every((child) => child.type === 'text')) return 0;
  const text = paragraph.children
    .map((child) => (child.type === 'text' ? child.value : ''))
    .join('')
    .replace(/\s+/g, '');
  if (!segmenter || text.length === 0 || text.length > 64) return 0;
  let count = 0;
  for (const { segment } of segmenter.segment(text)) {
    if (!EMOJI.test(segment)) return 0;
    count += 1;
    if (count > 3) return 0;
  }
  return count;
}
