/*
 * mdast to Preact elements, for message text. Everything becomes elements and text nodes, never HTML: raw HTML
 * is shown as the text it is, links go only to http(s) and mailto addresses, images are shown as links (a
 * message never makes the reader's browser fetch something on its own). Nesting deeper than MAX_DEPTH is shown
 * as plain text, so hostile input cannot exhaust the stack.
 */
import type { User } from '@kaiwa/protocol';
import { type ComponentChildren, h } from 'preact';
import { t } from '../i18n';
import { codeLanguage, highlightCode } from './highlight-code';
import type { MarkdownNode, MarkdownNodeOf, MarkdownRoot } from './mdast';

type Definition = MarkdownNodeOf<'definition'>;

/** What the renderer needs to know about the chat around a message. */
export interface MarkdownContext {
  /** Everyone known, by user id; a mention of a known username shows the display name. */
  users: ReadonlyMap<string, User>;
  /** The reader: mentions of them stand out. */
  me?: Pick<User, 'username'> | undefined;
  /** The address of a room by its name, for `#room` links; undefined when the reader does not know it. */
  roomHref?: ((name: string) => string | undefined) | undefined;
  /** Appended to the last paragraph (the "(edited)" mark), so it stays on the message's last line. */
  trailing?: ComponentChildren;
}

/** Deeper block or inline nesting than this is shown as plain text. */
const MAX_DEPTH = 24;
const BROADCAST_MENTIONS = new Set(['room', 'here']);

interface RenderState {
  context: MarkdownContext;
  definitions: Map<string, Definition>;
  usernames: Map<string, User> | undefined;
}

/**
 * The elements of a message's mdast.
 *
 * @example renderMarkdown(parseMessage('**hi** @alice').tree, { users }) // [<p><strong>hi</strong> <span class="mention">@Alice</span></p>]
 */
export function renderMarkdown(tree: MarkdownRoot, context: MarkdownContext): ComponentChildren[] {
  const state: RenderState = { context, definitions: collectDefinitions(tree), usernames: undefined };
  const blocks = tree.children.filter((child) => child.type !== 'definition');
  const rendered = blocks.map((child, index) =>
    index === blocks.length - 1 && child.type === 'paragraph' && context.trailing !== undefined
      ? h('p', null, ...renderChildren(child.children, state, 1), context.trailing)
      : renderNode(child, state, 1),
  );
  const last = blocks[blocks.length - 1];
  if (context.trailing !== undefined && last?.type !== 'paragraph') rendered.push(context.trailing);
  return rendered;
}

function renderChildren(
  children: readonly MarkdownNode[],
  state: RenderState,
  depth: number,
): ComponentChildren[] {
  return children.map((child) => renderNode(child, state, depth));
}

function renderNode(node: MarkdownNode, state: RenderState, depth: number): ComponentChildren {
  if (depth > MAX_DEPTH) return plainText(node);
  const inner = () => ('children' in node ? renderChildren(node.children, state, depth + 1) : []);
  switch (node.type) {
    case 'root':
      return inner();
    case 'paragraph':
      return h('p', null, ...inner());
    case 'text':
    case 'html':
      return node.value;
    case 'strong':
      return h('strong', null, ...inner());
    case 'emphasis':
      return h('em', null, ...inner());
    case 'delete':
      return h('del', null, ...inner());
    case 'inlineCode':
      return h('code', { class: 'md-inline-code' }, node.value);
    case 'break':
      return h('br', null);
    case 'thematicBreak':
      return h('hr', null);
    case 'blockquote':
      return h('blockquote', null, ...inner());
    case 'heading':
      // Modest: a message is not a document, and its headings stay out of the page's outline.
      return h('p', { class: `md-heading md-heading-${node.depth}` }, ...inner());
    case 'list':
      return node.ordered
        ? h('ol', { start: node.start !== 1 && node.start != null ? node.start : undefined }, ...inner())
        : h('ul', null, ...inner());
    case 'listItem':
      return renderListItem(node, state, depth);
    case 'code':
      return renderCode(node);
    case 'link':
      return renderLink(node.url, inner(), node.title);
    case 'linkReference': {
      const definition = state.definitions.get(node.identifier.toLowerCase());
      return definition ? renderLink(definition.url, inner(), definition.title) : inner();
    }
    case 'image':
      return renderLink(node.url, [node.alt || node.url], node.title);
    case 'imageReference': {
      const definition = state.definitions.get(node.identifier.toLowerCase());
      return definition
        ? renderLink(definition.url, [node.alt || definition.url], definition.title)
        : node.alt;
    }
    case 'mention':
      return renderMention(node.username, state);
    case 'roomLink':
      return renderRoomLink(node.name, state.context);
    case 'table':
      return renderTable(node, state, depth);
    case 'footnoteReference':
      return h('sup', { class: 'md-footnote-ref' }, `[${node.label ?? node.identifier}]`);
    case 'footnoteDefinition':
      return h(
        'div',
        { class: 'md-footnote' },
        h('sup', null, `[${node.label ?? node.identifier}]`),
        ' ',
        ...inner(),
      );
    case 'definition':
      return null;
    default:
      // Anything this renderer does not know (a future mdast node) is shown as its text.
      return plainText(node);
  }
}

function renderListItem(
  node: MarkdownNodeOf<'listItem'>,
  state: RenderState,
  depth: number,
): ComponentChildren {
  const children = renderChildren(node.children, state, depth + 1);
  if (node.checked === null || node.checked === undefined) return h('li', null, ...children);
  return h(
    'li',
    { class: 'md-task' },
    h('input', {
      type: 'checkbox',
      checked: node.checked,
      disabled: true,
      'aria-label': node.checked ? t('markdown.done') : t('markdown.notDone'),
    }),
    ...children,
  );
}

function renderCode(node: MarkdownNodeOf<'code'>): ComponentChildren {
  const language = codeLanguage(node.lang);
  const tokens = highlightCode(node.value, node.lang);
  const code = tokens
    ? tokens.map((token) =>
        token.type ? h('span', { class: `shj-syn-${token.type}` }, token.text) : token.text,
      )
    : [node.value];
  return h(
    'div',
    { class: 'md-code' },
    h(
      'div',
      { class: 'md-code-header' },
      h('span', { class: 'md-code-language' }, node.lang ?? ''),
      h(
        'button',
        {
          type: 'button',
          class: 'md-copy',
          'aria-label': node.lang
            ? t('markdown.copyLanguage', { language: node.lang })
            : t('markdown.copyCode'),
          onClick: (event: MouseEvent) => copyCode(event.currentTarget as HTMLButtonElement, node.value),
        },
        t('markdown.copy'),
      ),
    ),
    // Focusable, so a keyboard can scroll a wide block.
    h('pre', { tabIndex: 0 }, h('code', { class: language ? `shj-lang-${language}` : undefined }, ...code)),
  );
}

/** Copies the code; where the clipboard is not allowed (plain http), selects it for Ctrl+C instead. */
async function copyCode(button: HTMLButtonElement, code: string): Promise<void> {
  const done = (label: string) => {
    button.textContent = label;
    setTimeout(() => {
      button.textContent = t('markdown.copy');
    }, 1500);
  };
  try {
    await navigator.clipboard.writeText(code);
    done(t('markdown.copied'));
  } catch {
    const pre = button.closest('.md-code')?.querySelector('pre');
    if (pre) getSelection()?.selectAllChildren(pre);
    done(t('markdown.selected'));
  }
}

function safeHref(url: string): string | undefined {
  const trimmed = url.trim();
  return /^(?:https?:\/\/|mailto:)/i.test(trimmed) ? trimmed : undefined;
}

/**
 * A room or a message of this chat by its id (the permalinks the assistant lists under "Sources:"): opened in
 * place. Any other relative address stays text.
 */
const IN_APP_LINK = /^\/rooms\/[0-9A-Z]{26}(?:\?message=[0-9A-Z]{26})?$/;

function renderLink(url: string, children: ComponentChildren[], title?: string | null): ComponentChildren {
  const path = url.trim();
  if (IN_APP_LINK.test(path)) {
    return h(
      'a',
      { class: 'md-app-link', href: path, onClick: (event: MouseEvent) => openInApp(event, path) },
      ...children,
    );
  }
  const href = safeHref(url);
  if (!href) return children;
  return h(
    'a',
    { href, title: title ?? href, target: '_blank', rel: 'noopener noreferrer nofollow' },
    ...children,
  );
}

function renderMention(username: string, state: RenderState): ComponentChildren {
  const name = username.toLowerCase();
  if (BROADCAST_MENTIONS.has(name)) return h('span', { class: 'mention mention-me' }, `@${username}`);
  if (!state.usernames) {
    state.usernames = new Map();
    for (const user of state.context.users.values()) state.usernames.set(user.username.toLowerCase(), user);
  }
  const user = state.usernames.get(name);
  if (!user) return `@${username}`;
  const mine = state.context.me?.username.toLowerCase() === name;
  return h(
    'span',
    { class: mine ? 'mention mention-me' : 'mention', title: `@${user.username}` },
    `@${user.displayName}`,
  );
}

function renderRoomLink(name: string, context: MarkdownContext): ComponentChildren {
  const href = context.roomHref?.(name);
  if (!href) return h('span', { class: 'md-room-link' }, `#${name}`);
  return h(
    'a',
    { class: 'md-room-link', href, onClick: (event: MouseEvent) => openInApp(event, href) },
    `#${name}`,
  );
}

/** Follows a link to a room inside the app, as the sidebar does, instead of loading the page again. */
function openInApp(event: MouseEvent, href: string): void {
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  history.pushState(null, '', href);
  dispatchEvent(new PopStateEvent('popstate'));
}

function renderTable(node: MarkdownNodeOf<'table'>, state: RenderState, depth: number): ComponentChildren {
  const alignClass = (index: number) => {
    const align = node.align?.[index];
    return align && align !== 'left' ? `md-align-${align}` : undefined;
  };
  const rows = node.children.map((row, rowIndex) =>
    h(
      'tr',
      null,
      ...row.children.map((cell, cellIndex) =>
        h(
          rowIndex === 0 ? 'th' : 'td',
          { class: alignClass(cellIndex) },
          ...renderChildren(cell.children, state, depth + 3),
        ),
      ),
    ),
  );
  const [head, ...body] = rows;
  return h(
    'div',
    { class: 'md-table' },
    h(
      'table',
      null,
      head ? h('thead', null, head) : null,
      body.length > 0 ? h('tbody', null, ...body) : null,
    ),
  );
}

/** Definitions anywhere in the tree, for reference links; walked without recursion. */
function collectDefinitions(tree: MarkdownRoot): Map<string, Definition> {
  const definitions = new Map<string, Definition>();
  const stack: MarkdownNode[] = [tree];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.type === 'definition') {
      const key = node.identifier.toLowerCase();
      if (!definitions.has(key)) definitions.set(key, node);
    } else if ('children' in node) {
      for (const child of node.children) stack.push(child);
    }
  }
  return definitions;
}

/** The text of a subtree, without recursion: what is shown past the nesting limit. */
function plainText(node: MarkdownNode): string {
  let text = '';
  const stack: MarkdownNode[] = [node];
  while (stack.length > 0) {
    const current = stack.pop()!;
    if ('value' in current && typeof current.value === 'string') text += current.value;
    else if (current.type === 'mention') text += `@${current.username}`;
    else if (current.type === 'roomLink') text += `#${current.name}`;
    else if (current.type === 'break') text += '\n';
    if ('children' in current) {
      for (let index = current.children.length - 1; index >= 0; index -= 1)
        stack.push(current.children[index]!);
      if (current.type === 'paragraph' || current.type === 'listItem') text += '\n';
    }
  }
  return text;
}
