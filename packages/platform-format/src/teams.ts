/*
 * Kaiwa markdown ⇄ Microsoft Teams. Out: the message `text` as the HTML Teams shows (`textFormat: 'xml'`), an
 * Adaptive Card v1.5 for the same content, and the mention entities both need (`<at>Name</at>`). In: the HTML
 * of a Teams message, with its mention entities.
 */
import type { BlockContent, List, ListItem, PhrasingContent, Root, RootContent, Table } from 'mdast';
import { escapeHtml, type HtmlElement, type HtmlNode, parseHtml } from './html.js';
import { parseKaiwaMarkdown, stringifyKaiwaMarkdown } from './kaiwa-markdown.js';
import { phrasingText, tableToText } from './table-text.js';
import { taskBox } from './text-list.js';
import type {
  AdaptiveCard,
  AdaptiveCardElement,
  FromTeamsOptions,
  TeamsMentionEntity,
  ToTeamsOptions,
} from './types.js';

/**
 * Renders Kaiwa markdown for Teams: HTML `text`, an Adaptive Card and the mention `entities`.
 *
 * @example toTeams('hi @alice', { mention: () => ({ id: '29:1', name: 'Alice' }) }).text // '<p>hi <at>Alice</at></p>'
 */
export function toTeams(
  markdown: string,
  options: ToTeamsOptions = {},
): { text: string; card: AdaptiveCard; entities: TeamsMentionEntity[] } {
  return teamsFromTree(parseKaiwaMarkdown(markdown), options);
}

/** `toTeams(markdown)` measured as splitMarkdown counts it (text plus card JSON), from the parsed tree. */
export function teamsLength(tree: Root): number {
  const rendered = teamsFromTree(tree, {});
  return rendered.text.length + JSON.stringify(rendered.card).length;
}

function teamsFromTree(
  tree: Root,
  options: ToTeamsOptions,
): { text: string; card: AdaptiveCard; entities: TeamsMentionEntity[] } {
  const entities: TeamsMentionEntity[] = [];
  const context: RenderContext = { options, entities };
  const text = tree.children.map((node) => htmlBlock(node, context)).join('');
  const body = tree.children.flatMap((node) => cardElements(node, context));
  const card: AdaptiveCard = {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: '1.5',
    body,
  };
  if (entities.length > 0) card.msteams = { entities, width: 'Full' };
  return { text, card, entities };
}

/** What splitMarkdown measures (text plus card JSON) for each top-level block alone, for its estimates. */
export function teamsBlockSizes(tree: Root): number[] {
  const context: RenderContext = { options: {}, entities: [] };
  return tree.children.map((node) => {
    const card: AdaptiveCard = {
      type: 'AdaptiveCard',
      $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
      version: '1.5',
      body: cardElements(node, context),
    };
    return htmlBlock(node, context).length + JSON.stringify(card).length;
  });
}

/**
 * Parses the HTML of a Teams message into Kaiwa markdown. `<at>` tags become mentions when an entity and the
 * `userName` lookup identify the user, otherwise the text `@Name`.
 *
 * @example fromTeams('<p><b>hi</b> <at>Alice</at></p>', { entities, userName: () => 'alice' }) // '**hi** @alice'
 */
export function fromTeams(html: string, options: FromTeamsOptions = {}): string {
  return stringifyKaiwaMarkdown(teamsToMdast(html, options));
}

// ---------------------------------------------------------------------------------------------------------------
// mdast → HTML and Adaptive Card

interface RenderContext {
  options: ToTeamsOptions;
  entities: TeamsMentionEntity[];
}

function mentionFor(username: string, context: RenderContext): TeamsMentionEntity | undefined {
  const identity = context.options.mention?.(username);
  if (!identity) return undefined;
  const text = `<at>${escapeHtml(identity.name)}</at>`;
  let entity = context.entities.find((e) => e.mentioned.id === identity.id);
  if (!entity) {
    entity = { type: 'mention', text, mentioned: { id: identity.id, name: identity.name } };
    context.entities.push(entity);
  }
  return entity;
}

function htmlBlock(node: RootContent, context: RenderContext): string {
  switch (node.type) {
    case 'paragraph':
      return `<p>${htmlInline(node.children, context)}</p>`;
    case 'heading':
      return `<h${node.depth}>${htmlInline(node.children, context)}</h${node.depth}>`;
    case 'blockquote':
      return `<blockquote>${node.children.map((child) => htmlBlock(child, context)).join('')}</blockquote>`;
    case 'code':
      return `<pre><code${node.lang ? ` class="language-${escapeHtml(node.lang, true)}"` : ''}>${escapeHtml(node.value)}</code></pre>`;
    case 'list': {
      const tag = node.ordered ? 'ol' : 'ul';
      const start = node.ordered && node.start != null && node.start !== 1 ? ` start="${node.start}"` : '';
      return `<${tag}${start}>${node.children.map((item) => htmlListItem(item, context)).join('')}</${tag}>`;
    }
    case 'table':
      return `<pre>${escapeHtml(tableToText(node as Table, phrasingText))}</pre>`;
    case 'thematicBreak':
      return '<hr>';
    case 'definition':
    case 'footnoteDefinition':
      return '';
    default:
      return 'children' in node ? `<p>${htmlInline(node.children as PhrasingContent[], context)}</p>` : '';
  }
}

function htmlListItem(item: ListItem, context: RenderContext): string {
  // Tight items hold bare text, as Teams writes them.
  const inner = item.children
    .map((child) =>
      child.type === 'paragraph' && !item.spread
        ? htmlInline(child.children, context)
        : htmlBlock(child, context),
    )
    .join('');
  return `<li>${taskBox(item)}${inner}</li>`;
}

function htmlInline(nodes: PhrasingContent[], context: RenderContext): string {
  return nodes.map((node) => htmlPhrasing(node, context)).join('');
}

function htmlPhrasing(node: PhrasingContent, context: RenderContext): string {
  switch (node.type) {
    case 'text':
      return escapeHtml(node.value).replace(/\n/g, '<br>');
    case 'strong':
      return `<b>${htmlInline(node.children, context)}</b>`;
    case 'emphasis':
      return `<i>${htmlInline(node.children, context)}</i>`;
    case 'delete':
      return `<s>${htmlInline(node.children, context)}</s>`;
    case 'inlineCode':
      return `<code>${escapeHtml(node.value)}</code>`;
    case 'break':
      return '<br>';
    case 'link':
      return `<a href="${escapeHtml(node.url, true)}">${htmlInline(node.children, context) || escapeHtml(node.url)}</a>`;
    case 'image':
      return `<img src="${escapeHtml(node.url, true)}" alt="${escapeHtml(node.alt ?? '', true)}">`;
    case 'mention':
      return mentionFor(node.username, context)?.text ?? `@${escapeHtml(node.username)}`;
    case 'roomLink':
      return `#${escapeHtml(node.name)}`;
    case 'footnoteReference':
      return `[${escapeHtml(node.label ?? node.identifier)}]`;
    default:
      return 'children' in node ? htmlInline(node.children as PhrasingContent[], context) : '';
  }
}

function cardElements(node: RootContent, context: RenderContext): AdaptiveCardElement[] {
  const textBlock = (text: string, extra: Partial<AdaptiveCardElement> = {}): AdaptiveCardElement =>
    ({ type: 'TextBlock', text, wrap: true, ...extra }) as AdaptiveCardElement;
  switch (node.type) {
    case 'paragraph':
      return [textBlock(cardInline(node.children, context))];
    case 'heading':
      return [
        textBlock(cardInline(node.children, context), {
          weight: 'Bolder',
          size: node.depth === 1 ? 'Large' : node.depth === 2 ? 'Medium' : 'Default',
        }),
      ];
    case 'blockquote':
      return [
        {
          type: 'Container',
          style: 'emphasis',
          items: node.children.flatMap((child) => cardElements(child, context)),
        },
      ];
    case 'code':
      return [
        { type: 'Container', style: 'emphasis', items: [textBlock(node.value, { fontType: 'Monospace' })] },
      ];
    case 'table':
      return [
        {
          type: 'Container',
          style: 'emphasis',
          items: [textBlock(tableToText(node as Table, phrasingText), { fontType: 'Monospace' })],
        },
      ];
    case 'list':
      return [textBlock(cardList(node, context, ''))];
    case 'thematicBreak':
      return [{ type: 'Container', separator: true, items: [] }];
    case 'definition':
    case 'footnoteDefinition':
      return [];
    default:
      return 'children' in node ? [textBlock(cardInline(node.children as PhrasingContent[], context))] : [];
  }
}

function cardList(list: List, context: RenderContext, indent: string): string {
  const start = list.start ?? 1;
  return list.children
    .map((item, index) => {
      const marker = list.ordered ? `${start + index}.` : '-';
      const parts = item.children.map((child: BlockContent | RootContent) =>
        child.type === 'list'
          ? cardList(child, context, `${indent}    `)
          : child.type === 'paragraph'
            ? cardInline(child.children, context)
            : child.type === 'code'
              ? escapeCardText(child.value)
              : '',
      );
      return `${indent}${marker} ${parts.join('\n')}`;
    })
    .join('\n');
}

/** Adaptive Card TextBlock markdown: `**bold**`, `_italic_`, `[text](url)`; no strikethrough or code. */
function cardInline(nodes: PhrasingContent[], context: RenderContext): string {
  return nodes
    .map((node): string => {
      switch (node.type) {
        case 'text':
          return escapeCardText(node.value);
        case 'strong':
          return `**${cardInline(node.children, context)}**`;
        case 'emphasis':
          return `_${cardInline(node.children, context)}_`;
        case 'delete':
          return cardInline(node.children, context);
        case 'inlineCode':
          return escapeCardText(node.value);
        case 'break':
          return '\n';
        case 'link':
          return `[${cardInline(node.children, context) || escapeCardText(node.url)}](${node.url.replace(/[()]/g, encodeURIComponent)})`;
        case 'image':
          return `[${escapeCardText(node.alt || node.url)}](${node.url})`;
        case 'mention':
          return mentionFor(node.username, context)?.text ?? `@${node.username}`;
        case 'roomLink':
          return `#${node.name}`;
        default:
          return 'children' in node ? cardInline(node.children as PhrasingContent[], context) : '';
      }
    })
    .join('');
}

function escapeCardText(text: string): string {
  // TextBlock markdown honours backslash escapes for its few markers.
  return text.replace(/([\\*_[\]])/g, '\\$1');
}

// ---------------------------------------------------------------------------------------------------------------
// HTML → mdast

const BLOCK_TAGS = new Set([
  'p',
  'div',
  'blockquote',
  'pre',
  'ul',
  'ol',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'hr',
  'table',
]);

function teamsToMdast(html: string, options: FromTeamsOptions): Root {
  return { type: 'root', children: blockChildren(parseHtml(html), options) as RootContent[] };
}

function isBlock(node: HtmlNode): boolean {
  return typeof node !== 'string' && BLOCK_TAGS.has(node.tag);
}

/** Converts a list of HTML nodes in block context; runs of inline nodes become paragraphs. */
function blockChildren(nodes: HtmlNode[], options: FromTeamsOptions): BlockContent[] {
  const result: BlockContent[] = [];
  let run: HtmlNode[] = [];
  const flush = () => {
    const children = trimPhrasing(inlineChildren(run, options));
    if (children.length > 0) result.push({ type: 'paragraph', children });
    run = [];
  };
  for (const node of nodes) {
    if (!isBlock(node)) {
      run.push(node);
      continue;
    }
    flush();
    result.push(...blockElement(node as HtmlElement, options));
  }
  flush();
  return result;
}

function blockElement(element: HtmlElement, options: FromTeamsOptions): BlockContent[] {
  switch (element.tag) {
    case 'p':
    case 'div':
      return blockChildren(element.children, options);
    case 'blockquote':
      return [{ type: 'blockquote', children: blockChildren(element.children, options) }];
    case 'pre': {
      const code = element.children.find(
        (child): child is HtmlElement => typeof child !== 'string' && child.tag === 'code',
      );
      const language = code?.attributes.class?.match(/language-(\S+)/)?.[1] ?? null;
      return [{ type: 'code', lang: language, value: textContent(element.children).replace(/\n$/, '') }];
    }
    case 'ul':
    case 'ol': {
      const items = element.children.filter(
        (child): child is HtmlElement => typeof child !== 'string' && child.tag === 'li',
      );
      const start = element.attributes.start
        ? Number(element.attributes.start)
        : element.tag === 'ol'
          ? 1
          : null;
      return [
        {
          type: 'list',
          ordered: element.tag === 'ol',
          start,
          spread: false,
          children: items.map((item) => ({
            type: 'listItem',
            spread: false,
            children: blockChildren(item.children, options),
          })),
        },
      ];
    }
    case 'hr':
      return [{ type: 'thematicBreak' }];
    case 'table': {
      const rows: string[] = [];
      const walk = (nodes: HtmlNode[]) => {
        for (const node of nodes) {
          if (typeof node === 'string') continue;
          if (node.tag === 'tr') {
            rows.push(
              node.children
                .filter(
                  (cell): cell is HtmlElement =>
                    typeof cell !== 'string' && (cell.tag === 'td' || cell.tag === 'th'),
                )
                .map((cell) => textContent(cell.children).trim())
                .join(' | '),
            );
          } else walk(node.children);
        }
      };
      walk(element.children);
      return [{ type: 'code', value: rows.join('\n') }];
    }
    default: {
      const depth = Number(element.tag.slice(1)) as 1 | 2 | 3 | 4 | 5 | 6;
      return [{ type: 'heading', depth, children: trimPhrasing(inlineChildren(element.children, options)) }];
    }
  }
}

function inlineChildren(nodes: HtmlNode[], options: FromTeamsOptions): PhrasingContent[] {
  const result: PhrasingContent[] = [];
  for (const node of nodes) {
    if (typeof node === 'string') {
      // Line breaks in the HTML source are layout, not content; runs of spaces are kept as sent.
      const value = node.replace(/[ \t]*[\t\r\n][ \t\r\n]*/g, ' ');
      if (value !== '') result.push({ type: 'text', value });
      continue;
    }
    result.push(...inlineElement(node, options));
  }
  return mergeText(result);
}

function mergeText(nodes: PhrasingContent[]): PhrasingContent[] {
  const result: PhrasingContent[] = [];
  for (const node of nodes) {
    const previous = result[result.length - 1];
    if (node.type === 'text' && previous?.type === 'text') previous.value += node.value;
    else result.push(node);
  }
  return result;
}

function inlineElement(element: HtmlElement, options: FromTeamsOptions): PhrasingContent[] {
  const inner = () => inlineChildren(element.children, options);
  switch (element.tag) {
    case 'b':
    case 'strong':
      return [{ type: 'strong', children: inner() }];
    case 'i':
    case 'em':
      return [{ type: 'emphasis', children: inner() }];
    case 's':
    case 'strike':
    case 'del':
      return [{ type: 'delete', children: inner() }];
    case 'code':
      return [{ type: 'inlineCode', value: textContent(element.children) }];
    case 'br':
      // Chat line breaks are plain newlines in Kaiwa markdown.
      return [{ type: 'text', value: '\n' }];
    case 'a': {
      const href = element.attributes.href;
      return href ? [{ type: 'link', url: href, children: inner() }] : inner();
    }
    case 'img': {
      const src = element.attributes.src;
      return src ? [{ type: 'image', url: src, alt: element.attributes.alt ?? '' }] : [];
    }
    case 'at':
      return [atToPhrasing(element, options)];
    default:
      // Unknown tags (span, u, font, emoji…) keep their text.
      if (element.tag === 'emoji' && element.attributes.alt)
        return [{ type: 'text', value: element.attributes.alt }];
      return inner();
  }
}

function atToPhrasing(element: HtmlElement, options: FromTeamsOptions): PhrasingContent {
  const name = textContent(element.children);
  const entity = options.entities?.find(
    (e) => e.text === `<at>${escapeHtml(name)}</at>` || e.text === `<at>${name}</at>`,
  );
  const username = entity ? options.userName?.(entity.mentioned.id) : undefined;
  return username ? { type: 'mention', username } : { type: 'text', value: `@${name}` };
}

function trimPhrasing(nodes: PhrasingContent[]): PhrasingContent[] {
  const first = nodes[0];
  if (first?.type === 'text') first.value = first.value.replace(/^ +/, '');
  const last = nodes[nodes.length - 1];
  if (last?.type === 'text') last.value = last.value.replace(/ +$/, '');
  return nodes.filter((node) => node.type !== 'text' || node.value !== '');
}

function textContent(nodes: HtmlNode[]): string {
  return nodes
    .map((node) => {
      if (typeof node === 'string') return node;
      if (node.tag === 'br') return '\n';
      return textContent(node.children);
    })
    .join('');
}
