/** A piece of a document, sized for embedding, with the headings it sits under (for citations). */
export interface DocumentChunk {
  text: string;
  /** The headings above it, outermost first. @example ['Setup', 'Database'] */
  headings: string[];
  /** 1-based page of a paged document (PDF). */
  page?: number;
}

export interface ChunkOptions {
  /** Longest chunk, in characters; 1,200 by default (about 300 English tokens). */
  maxCharacters?: number;
  /** Characters of the previous chunk repeated at the start of the next, within one section; 150 by default. */
  overlap?: number;
}

interface Block {
  headings: string[];
  text: string;
}

const HEADING = /^(#{1,6})\s+(.+?)\s*#*\s*$/;

/**
 * Splits a text or Markdown document along its structure: sections by Markdown heading (`#`…`######`,
 * outside code fences), then paragraphs (blank lines). Paragraphs of one section are packed into chunks of
 * up to `maxCharacters`; a paragraph longer than that is cut at sentence or word boundaries. Consecutive
 * chunks of one section share `overlap` characters, so a sentence cut at a boundary is whole in one of them.
 * Every chunk carries its heading path.
 *
 * @example
 * const chunks = chunkDocument('# Setup\n\nInstall it.\n\n## Database\n\nUse SQLite.', { maxCharacters: 800 });
 * // [{ text: 'Install it.', headings: ['Setup'] }, { text: 'Use SQLite.', headings: ['Setup', 'Database'] }]
 */
export function chunkDocument(text: string, options: ChunkOptions & { page?: number } = {}): DocumentChunk[] {
  const maxCharacters = Math.max(100, options.maxCharacters ?? 1200);
  const overlap = Math.min(Math.max(0, options.overlap ?? 150), Math.floor(maxCharacters / 3));
  const chunks: DocumentChunk[] = [];
  const page = options.page === undefined ? {} : { page: options.page };
  for (const section of sections(blocks(text))) {
    let current = '';
    const flush = () => {
      if (current.trim() !== '') chunks.push({ text: current.trim(), headings: section.headings, ...page });
    };
    for (const paragraph of section.paragraphs.flatMap((part) => splitLong(part, maxCharacters - overlap))) {
      if (current !== '' && current.length + 2 + paragraph.length > maxCharacters) {
        flush();
        current = `${tail(current, overlap)}${paragraph}`;
      } else {
        current = current === '' ? paragraph : `${current}\n\n${paragraph}`;
      }
    }
    flush();
  }
  return chunks;
}

/** Paragraphs with the heading path they sit under; code fences are kept whole. */
function blocks(text: string): Block[] {
  const result: Block[] = [];
  const path: { level: number; title: string }[] = [];
  let paragraph: string[] = [];
  let fenced = false;
  const push = () => {
    const joined = paragraph.join('\n').trim();
    if (joined !== '') result.push({ headings: path.map((heading) => heading.title), text: joined });
    paragraph = [];
  };
  for (const line of text.replace(/\r\n?/g, '\n').split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const heading = fenced ? null : HEADING.exec(line);
    if (heading) {
      push();
      const level = (heading[1] as string).length;
      while (path.length > 0 && (path.at(-1) as { level: number }).level >= level) path.pop();
      path.push({ level, title: (heading[2] as string).trim() });
    } else if (!fenced && line.trim() === '') {
      push();
    } else {
      paragraph.push(line);
    }
  }
  push();
  return result;
}

function sections(all: Block[]): { headings: string[]; paragraphs: string[] }[] {
  const result: { headings: string[]; paragraphs: string[] }[] = [];
  for (const block of all) {
    const last = result.at(-1);
    if (last && last.headings.join('\u0000') === block.headings.join('\u0000'))
      last.paragraphs.push(block.text);
    else result.push({ headings: block.headings, paragraphs: [block.text] });
  }
  return result;
}

/** A paragraph cut into pieces of at most `limit` characters, at sentence ends, else spaces, else anywhere. */
function splitLong(paragraph: string, limit: number): string[] {
  const pieces: string[] = [];
  let rest = paragraph;
  while (rest.length > limit) {
    const window = rest.slice(0, limit);
    const sentence = Math.max(
      window.lastIndexOf('. '),
      window.lastIndexOf('! '),
      window.lastIndexOf('? '),
      window.lastIndexOf('。'),
      window.lastIndexOf('\n'),
    );
    const space = window.lastIndexOf(' ');
    const cut = sentence > limit / 2 ? sentence + 1 : space > limit / 2 ? space : limit;
    pieces.push(rest.slice(0, cut).trim());
    rest = rest.slice(cut).trim();
  }
  if (rest !== '') pieces.push(rest);
  return pieces;
}

/** The last `count` characters of a chunk, started at a word when there is one, then a blank line. */
function tail(text: string, count: number): string {
  if (count === 0) return '';
  let start = Math.max(0, text.length - count);
  const space = text.indexOf(' ', start);
  if (space !== -1 && space < text.length - 1 && space - start < count / 2) start = space + 1;
  return `${text.slice(start)}\n\n`;
}

/** A chat message as chunking needs it. */
export interface ChunkableMessage {
  id: string;
  roomId: string;
  authorName: string;
  text: string;
  createdAt: string;
  threadRootId: string | null;
}

/** Consecutive messages of one thread (or of a room's main timeline), embedded as one chunk. */
export interface MessageGroup {
  roomId: string;
  /** The thread's root, or null for the room's main timeline. */
  threadRootId: string | null;
  /** The messages it holds, oldest first: the first one is the group's source (for a citation link). */
  messageIds: string[];
  text: string;
}

/**
 * Groups chat messages into chunks: by thread (the main timeline is one more thread), oldest first, each
 * line `author: text`, up to `maxCharacters` per group, and each group starting with the last message of the
 * one before (`overlapMessages`), so a question and its answer split across two groups are together in one.
 * Empty (deleted) messages are left out.
 *
 * @example
 * const groups = chunkMessages(messages.map((m) => ({ ...m, authorName: names.get(m.authorId) ?? 'someone' })));
 */
export function chunkMessages(
  messages: readonly ChunkableMessage[],
  options: { maxCharacters?: number; overlapMessages?: number } = {},
): MessageGroup[] {
  const maxCharacters = Math.max(100, options.maxCharacters ?? 1200);
  const overlapMessages = Math.max(0, options.overlapMessages ?? 1);
  const threads = new Map<string, ChunkableMessage[]>();
  for (const message of [...messages].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    if (message.text.trim() === '') continue;
    const key = `${message.roomId}/${message.threadRootId ?? message.id}`;
    // A thread root and its replies share a key: the root's id.
    const thread = threads.get(key) ?? [];
    thread.push(message);
    threads.set(key, thread);
  }
  // Roots without replies are the main timeline: merge consecutive ones of a room into one thread.
  const timelines = new Map<string, ChunkableMessage[]>();
  const groups: MessageGroup[] = [];
  for (const thread of threads.values()) {
    const first = thread[0] as ChunkableMessage;
    if (thread.length === 1 && first.threadRootId === null) {
      const timeline = timelines.get(first.roomId) ?? [];
      timeline.push(first);
      timelines.set(first.roomId, timeline);
    } else {
      groups.push(...pack(thread, first.threadRootId ?? first.id, maxCharacters, overlapMessages));
    }
  }
  for (const timeline of timelines.values())
    groups.push(...pack(timeline, null, maxCharacters, overlapMessages));
  return groups;
}

function pack(
  messages: ChunkableMessage[],
  threadRootId: string | null,
  maxCharacters: number,
  overlapMessages: number,
): MessageGroup[] {
  const line = (message: ChunkableMessage) => `${message.authorName}: ${message.text.trim()}`;
  const groups: MessageGroup[] = [];
  let current: ChunkableMessage[] = [];
  let length = 0;
  const flush = () => {
    if (current.length === 0) return;
    groups.push({
      roomId: (current[0] as ChunkableMessage).roomId,
      threadRootId,
      messageIds: current.map((message) => message.id),
      text: current.map(line).join('\n'),
    });
  };
  for (const message of messages) {
    const size = line(message).length + 1;
    if (current.length > 0 && length + size > maxCharacters) {
      flush();
      current = overlapMessages > 0 ? current.slice(-overlapMessages) : [];
      length = current.reduce((sum, kept) => sum + line(kept).length + 1, 0);
      if (length + size > maxCharacters) {
        current = [];
        length = 0;
      }
    }
    current.push(message);
    length += size;
  }
  flush();
  return groups;
}
