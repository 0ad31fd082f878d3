import type { parseKaiwaMarkdown } from '@kaiwa/platform-format';

/* mdast types as the parser's own signature gives them, Kaiwa's `mention` and `roomLink` nodes included. */

export type MarkdownRoot = ReturnType<typeof parseKaiwaMarkdown>;
/** Any node below the root. */
export type MarkdownContent = MarkdownRoot['children'][number];
export type MarkdownNode = MarkdownRoot | MarkdownContent;
/** The node of one type: `MarkdownNodeOf<'code'>`. */
export type MarkdownNodeOf<T extends MarkdownContent['type']> = Extract<MarkdownContent, { type: T }>;
