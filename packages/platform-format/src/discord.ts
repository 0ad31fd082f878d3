/*
 * Kaiwa markdown ⇄ Discord markdown. Discord's markdown is close to CommonMark, so both directions go through
 * remark: out, the tree is reshaped for what Discord shows (headings up to `###`, no tables, images as links)
 * and serialised with backslash escapes, which Discord honours before any punctuation; in, remark parses with
 * the constructs Discord lacks switched off (indented code, HTML, setext headings, link definitions).
 */
import type { Link, Nodes, PhrasingContent, Root, Table, Text } from 'mdast';
import type { Handle, Info, State, Options as ToMarkdownOptions } from 'mdast-util-to-markdown';
import remarkGfm from 'remark-gfm';
import remarkParse from 'remark-parse';
import remarkStringify from 'remark-stringify';
import { type Processor, unified } from 'unified';
import { replaceShortcodes } from './emoji.js';
import {
  escapeTextNode,
  KAIWA_MARKDOWN_STYLE,
  parseKaiwaMarkdown,
  stringifyKaiwaMarkdown,
} from './kaiwa-markdown.js';
import { phrasingText, tableToText } from './table-text.js';
import type { FromPlatformOptions, ToPlatformOptions } from './types.js';

/**
 * Renders Kaiwa markdown as Discord markdown; mentions and room links become `<@id>` / `<#id>` where the
 * lookups know them.
 *
 * @example toDiscord('**hi** @alice', { mentionId: () => '80351110224678912' }) // '**hi** <@80351110224678912>'
 */
export function toDiscord(markdown: string, options: ToPlatformOptions = {}): string {
  const tree = parseKaiwaMarkdown(markdown);
  reshapeForDiscord(tree);
  // The serializer is built once; its mention handlers read the lookups of the call in progress.
  const outer = renderOptions;
  renderOptions = options;
  try {
    return discordSerializer.stringify(tree).replace(/\n+$/, '');
  } finally {
    renderOptions = outer;
  }
}

/** `toDiscord(markdown).length` from the parsed tree (splitMarkdown's measure); reshapes the tree. */
export function discordLength(tree: Root): number {
  reshapeForDiscord(tree);
  const outer = renderOptions;
  renderOptions = {};
  try {
    return discordSerializer.stringify(tree).replace(/\n+$/, '').length;
  } finally {
    renderOptions = outer;
  }
}

/** What `toDiscord(block).length` gives for each top-level block alone (splitMarkdown's estimates). */
export function discordBlockSizes(tree: Root): number[] {
  reshapeForDiscord(tree);
  const outer = renderOptions;
  renderOptions = {};
  try {
    return tree.children.map(
      (node) => discordSerializer.stringify({ type: 'root', children: [node] }).replace(/\n+$/, '').length,
    );
  } finally {
    renderOptions = outer;
  }
}

let renderOptions: ToPlatformOptions = {};

const discordSettings: ToMarkdownOptions = {
  ...KAIWA_MARKDOWN_STYLE,
  unsafe: [
    { character: '|', inConstruct: 'phrasing' },
    { character: '<', after: '[@#:]', inConstruct: 'phrasing' },
  ],
  handlers: {
    mention: ((node: { username: string }) => {
      const id = renderOptions.mentionId?.(node.username);
      if (id) return `<@${id}>`;
      if (node.username === 'room') return '@everyone';
      return `@${node.username}`;
    }) as Handle,
    roomLink: ((node: { name: string }) => {
      const id = renderOptions.channelId?.(node.name);
      return id ? `<#${id}>` : `#${node.name}`;
    }) as Handle,
    text: escapeTextNode as Handle,
    // Discord shows a line break for a plain newline; a trailing backslash would stay visible.
    break: (() => '\n') as Handle,
    link: discordLink as Handle,
  },
};

const discordSerializer = unified()
  .use(remarkGfm, { singleTilde: false })
  .use(remarkStringify, discordSettings)
  .freeze();

/** A Discord embed as `toDiscordEmbed` builds it (title ≤ 256, description ≤ 4096 characters). */
export interface DiscordEmbed {
  title?: string;
  description: string;
}

/**
 * Renders Kaiwa markdown as a Discord embed: a leading heading becomes the title, the rest the description
 * (embeds allow 4096 characters there; split longer text with `splitMarkdown(md, { maxLength: 4096 })`).
 *
 * @example toDiscordEmbed('# Report\n\nAll **green**') // { title: 'Report', description: 'All **green**' }
 */
export function toDiscordEmbed(markdown: string, options: ToPlatformOptions = {}): DiscordEmbed {
  const tree = parseKaiwaMarkdown(markdown);
  const first = tree.children[0];
  if (first?.type !== 'heading') return { description: toDiscord(markdown, options) };
  const title = phrasingText(first.children).slice(0, 256);
  const start = first.position?.end.offset ?? 0;
  return { title, description: toDiscord(markdown.slice(start).trim(), options) };
}

/**
 * Parses Discord message content into Kaiwa markdown: `<@id>` / `<@!id>` / `<#id>` through the lookups,
 * custom emoji `<:name:id>` as `:name:`, and literal characters escaped so they stay literal.
 *
 * @example fromDiscord('**hi** <@1> 2\\*3', { userName: () => 'alice' }) // '**hi** @alice 2\\*3'
 */
export function fromDiscord(text: string, options: FromPlatformOptions = {}): string {
  const tree = discordParser.parse(text.replace(/\r\n?/g, '\n'));
  convertDiscordTokens(tree, options);
  return stringifyKaiwaMarkdown(tree);
}

/** Discord takes link targets as written: no backslash escapes inside them. */
function discordLink(node: Link, _parent: unknown, state: State, info: Info): string {
  const text = phrasingText(node.children);
  if (node.url.startsWith('mailto:') && node.url === `mailto:${text}`) return `<${text}>`;
  if (text === node.url) return `<${node.url}>`;
  const label = state.containerPhrasing(node, { ...info, before: '[', after: ']' });
  return `[${label}](${node.url.replace(/[()\s<>]/g, (c) => encodeURIComponent(c))})`;
}

function discordSyntax(this: Processor): void {
  const data = this.data() as { micromarkExtensions?: unknown[] };
  data.micromarkExtensions ??= [];
  data.micromarkExtensions.push({
    disable: { null: ['codeIndented', 'htmlFlow', 'htmlText', 'definition', 'headingSetext'] },
  });
}

const discordParser = unified().use(remarkParse).use(remarkGfm, { singleTilde: false }).use(discordSyntax);

function reshapeForDiscord(node: Nodes): void {
  if (!('children' in node)) return;
  const parent = node as { children: Nodes[] };
  parent.children = parent.children.map((child): Nodes => {
    if (child.type === 'heading' && child.depth > 3) child.depth = 3;
    if (child.type === 'table') {
      return { type: 'code', value: tableToText(child as Table, phrasingText) };
    }
    if (child.type === 'image') {
      return { type: 'link', url: child.url, children: [{ type: 'text', value: child.alt || child.url }] };
    }
    if (child.type === 'footnoteReference')
      return { type: 'text', value: `[${child.label ?? child.identifier}]` };
    reshapeForDiscord(child);
    return child;
  });
}

const DISCORD_TOKEN = /<(@!?|@&|#)(\d+)>|<a?:(\w+):\d+>|<t:(-?\d+)(?::[tTdDfFR])?>/g;

function convertDiscordTokens(node: Nodes, options: FromPlatformOptions): void {
  if (!('children' in node)) return;
  const parent = node as { children: Nodes[] };
  const children: Nodes[] = [];
  for (const child of parent.children) {
    if (child.type === 'text') children.push(...splitTokens(child, options));
    else {
      convertDiscordTokens(child, options);
      children.push(child);
    }
  }
  parent.children = children;
}

function splitTokens(node: Text, options: FromPlatformOptions): PhrasingContent[] {
  const result: PhrasingContent[] = [];
  let text = '';
  let last = 0;
  for (const match of node.value.matchAll(DISCORD_TOKEN)) {
    text += node.value.slice(last, match.index);
    last = match.index + match[0].length;
    const [, sigil, id, emojiName, timestamp] = match;
    let replacement: PhrasingContent | string;
    if (emojiName !== undefined) replacement = `:${emojiName}:`;
    else if (timestamp !== undefined) replacement = new Date(Number(timestamp) * 1000).toISOString();
    else if (sigil === '#') {
      const name = options.channelName?.(id!);
      replacement = name ? { type: 'roomLink', name } : `#${id}`;
    } else if (sigil === '@&') replacement = `@${id}`;
    else {
      const username = options.userName?.(id!);
      replacement = username ? { type: 'mention', username } : `@${id}`;
    }
    if (typeof replacement === 'string') text += replacement;
    else {
      if (text !== '') result.push({ type: 'text', value: replaceShortcodes(text) });
      text = '';
      result.push(replacement);
    }
  }
  text += node.value.slice(last);
  if (text !== '') result.push({ type: 'text', value: replaceShortcodes(text) });
  return result;
}
