import type { ComponentChildren } from 'preact';
import { parseMessage } from './parse-message';
import { type MarkdownContext, renderMarkdown } from './render-markdown';

/**
 * A message's text as markdown: the same parse as the platform bridge, cached by text, so edits and streamed
 * replies re-render as they change without parsing the rest of the room again.
 */
export function MessageMarkdown({
  text,
  users = NO_USERS,
  me,
  roomHref,
  trailing,
}: Partial<MarkdownContext> & { text: string }) {
  const { tree, emojiOnly } = parseMessage(text);
  const context: MarkdownContext = { users, me, roomHref, trailing };
  const className = emojiOnly > 0 ? 'message-content markdown emoji-only' : 'message-content markdown';
  return <div class={className}>{renderMarkdown(tree, context) as ComponentChildren}</div>;
}

const NO_USERS: MarkdownContext['users'] = new Map();
