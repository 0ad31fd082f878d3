/*
 * Slack `rich_text` blocks → Kaiwa markdown. Messages typed in Slack's clients carry these beside `text`;
 * their styles are explicit, so they say exactly what was literal and what was formatting, which mrkdwn
 * cannot.
 */
import type { BlockContent, List, PhrasingContent, Root, RootContent } from 'mdast';
import { emojiFromShortcode } from './emoji.js';
import { stringifyKaiwaMarkdown } from './kaiwa-markdown.js';
import type { FromPlatformOptions } from './types.js';

/** One inline element of a Slack rich text section. */
export interface SlackRichTextElement {
  type: string;
  text?: string;
  url?: string;
  user_id?: string;
  channel_id?: string;
  name?: string;
  unicode?: string;
  range?: string;
  fallback?: string;
  style?: { bold?: boolean; italic?: boolean; strike?: boolean; code?: boolean };
  elements?: SlackRichTextElement[];
  indent?: number;
}

/**
 * Converts the `rich_text` blocks of a Slack message to Kaiwa markdown; `undefined` when there are none (use
 * `fromSlack(text)` then).
 *
 * @example fromSlackBlocks([{ type: 'rich_text', elements: [{ type: 'rich_text_section', elements: [{ type: 'text', text: 'hi', style: { bold: true } }] }] }]) // '**hi**'
 */
export function fromSlackBlocks(blocks: unknown[], options: FromPlatformOptions = {}): string | undefined {
  const richText = blocks.filter(
    (block): block is { type: 'rich_text'; elements: SlackRichTextElement[] } =>
      typeof block === 'object' && block !== null && (block as { type?: unknown }).type === 'rich_text',
  );
  if (richText.length === 0) return undefined;
  const children: RootContent[] = [];
  for (const block of richText) {
    for (const element of block.elements ?? []) children.push(...toBlocks(element, options));
  }
  mergeLists(children);
  const tree: Root = { type: 'root', children };
  return stringifyKaiwaMarkdown(tree);
}

function toBlocks(element: SlackRichTextElement, options: FromPlatformOptions): BlockContent[] {
  const inner = element.elements ?? [];
  switch (element.type) {
    case 'rich_text_section':
      return paragraphs(inline(inner, options));
    case 'rich_text_preformatted':
      return [{ type: 'code', value: inner.map((child) => child.text ?? child.url ?? '').join('') }];
    case 'rich_text_quote':
      return [{ type: 'blockquote', children: paragraphs(inline(inner, options)) }];
    case 'rich_text_list': {
      const list: List & { data?: { indent: number } } = {
        type: 'list',
        ordered: (element as { style?: string }).style === 'ordered',
        spread: false,
        children: inner.map((item) => ({
          type: 'listItem' as const,
          spread: false,
          children: paragraphs(inline(item.elements ?? [], options)),
        })),
        data: { indent: element.indent ?? 0 },
      };
      return [list];
    }
    default:
      return [];
  }
}

/** Slack sends nested lists as sibling lists with a larger `indent`; nest them under the item above. */
function mergeLists(children: RootContent[]): void {
  for (let index = children.length - 1; index > 0; index--) {
    const current = children[index] as List & { data?: { indent?: number } };
    const previous = children[index - 1] as List & { data?: { indent?: number } };
    if (current.type !== 'list' || previous.type !== 'list') continue;
    const currentIndent = current.data?.indent ?? 0;
    const previousIndent = previous.data?.indent ?? 0;
    if (currentIndent > previousIndent) {
      const host = previous.children[previous.children.length - 1];
      if (host) {
        host.children.push(current);
        children.splice(index, 1);
      }
    } else if (currentIndent === previousIndent && current.ordered === previous.ordered) {
      previous.children.push(...current.children);
      children.splice(index, 1);
    }
  }
  for (const child of children) if (child.type === 'list') delete child.data;
}

function inline(elements: SlackRichTextElement[], options: FromPlatformOptions): PhrasingContent[] {
  const result: PhrasingContent[] = [];
  for (const element of elements) {
    const node = inlineElement(element, options);
    if (node) result.push(node);
  }
  return result;
}

function inlineElement(
  element: SlackRichTextElement,
  options: FromPlatformOptions,
): PhrasingContent | undefined {
  let node: PhrasingContent | undefined;
  switch (element.type) {
    case 'text':
      if (element.style?.code) return { type: 'inlineCode', value: element.text ?? '' };
      node = { type: 'text', value: element.text ?? '' };
      break;
    case 'link':
      if (element.style?.code) return { type: 'inlineCode', value: element.text ?? element.url ?? '' };
      node = {
        type: 'link',
        url: element.url ?? '',
        children: [{ type: 'text', value: element.text ?? element.url ?? '' }],
      };
      break;
    case 'user': {
      const username = element.user_id ? options.userName?.(element.user_id) : undefined;
      node = username ? { type: 'mention', username } : { type: 'text', value: `@${element.user_id ?? ''}` };
      break;
    }
    case 'channel': {
      const name = element.channel_id ? options.channelName?.(element.channel_id) : undefined;
      node = name ? { type: 'roomLink', name } : { type: 'text', value: `#${element.channel_id ?? ''}` };
      break;
    }
    case 'broadcast':
      node = { type: 'mention', username: element.range === 'here' ? 'here' : 'room' };
      break;
    case 'emoji': {
      const fromCode = element.unicode
        ? String.fromCodePoint(...element.unicode.split('-').map((hex) => Number.parseInt(hex, 16)))
        : undefined;
      node = {
        type: 'text',
        value: fromCode ?? emojiFromShortcode(element.name ?? '') ?? `:${element.name}:`,
      };
      break;
    }
    default:
      node =
        element.text || element.fallback
          ? { type: 'text', value: element.text ?? element.fallback ?? '' }
          : undefined;
  }
  if (!node) return undefined;
  // Styles nest strike, then bold, then italic outermost, as `***x***` parses.
  if (element.style?.strike) node = { type: 'delete', children: [node] };
  if (element.style?.bold) node = { type: 'strong', children: [node] };
  if (element.style?.italic) node = { type: 'emphasis', children: [node] };
  return node;
}

/** Splits phrasing at blank lines into paragraphs; a trailing newline ends the section, not the text. */
function paragraphs(nodes: PhrasingContent[]): BlockContent[] {
  const result: BlockContent[] = [];
  let current: PhrasingContent[] = [];
  const flush = () => {
    const last = current[current.length - 1];
    if (last?.type === 'text') last.value = last.value.replace(/\n+$/, '');
    const first = current[0];
    if (first?.type === 'text') first.value = first.value.replace(/^\n+/, '');
    current = current.filter((node) => node.type !== 'text' || node.value !== '');
    if (current.length > 0) result.push({ type: 'paragraph', children: current });
    current = [];
  };
  for (const node of nodes) {
    if (node.type !== 'text' || !/\n[ \t]*\n/.test(node.value)) {
      current.push(node);
      continue;
    }
    const parts = node.value.split(/\n[ \t]*\n/);
    parts.forEach((part, index) => {
      if (index > 0) flush();
      if (part !== '') current.push({ type: 'text', value: part });
    });
  }
  flush();
  return result;
}
