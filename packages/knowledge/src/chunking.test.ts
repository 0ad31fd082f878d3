import { describe, expect, it } from 'vitest';
import { type ChunkableMessage, chunkDocument, chunkMessages } from './chunking.js';

describe('chunkDocument', () => {
  it('follows headings and paragraphs, with the heading path on every chunk', () => {
    const chunks = chunkDocument(
      '# Setup\n\nInstall it.\n\n## Database\n\nUse SQLite.\n\n```\n# not a heading\n\nstill code\n```\n\n# Use\n\nRun it.',
    );
    expect(chunks).toEqual([
      { text: 'Install it.', headings: ['Setup'] },
      { text: 'Use SQLite.\n\n```\n# not a heading\n\nstill code\n```', headings: ['Setup', 'Database'] },
      { text: 'Run it.', headings: ['Use'] },
    ]);
  });

  it('packs paragraphs up to the limit, overlaps consecutive chunks, and cuts long paragraphs at sentences', () => {
    const sentence = (n: number) => `Sentence number ${n} says something useful.`;
    const paragraphs = Array.from({ length: 12 }, (_, n) => sentence(n));
    const chunks = chunkDocument(paragraphs.join('\n\n'), { maxCharacters: 200, overlap: 50 });
    expect(chunks.length).toBeGreaterThan(2);
    for (const chunk of chunks) expect(chunk.text.length).toBeLessThanOrEqual(200);
    for (const paragraph of paragraphs)
      expect(chunks.some((chunk) => chunk.text.includes(paragraph))).toBe(true);
    // Overlap: each chunk after the first starts with the end of the one before.
    for (let index = 1; index < chunks.length; index++) {
      const start = (chunks[index]?.text ?? '').split('\n\n')[0] as string;
      expect(chunks[index - 1]?.text.endsWith(start)).toBe(true);
    }
    const long = chunkDocument(paragraphs.join(' '), { maxCharacters: 200, overlap: 0 });
    for (const chunk of long) {
      expect(chunk.text.length).toBeLessThanOrEqual(200);
      expect(chunk.text.endsWith('.')).toBe(true);
    }
  });

  it('carries the page', () => {
    expect(chunkDocument('Text', { page: 3 })).toEqual([{ text: 'Text', headings: [], page: 3 }]);
  });
});

describe('chunkMessages', () => {
  const message = (id: string, text: string, patch: Partial<ChunkableMessage> = {}): ChunkableMessage => ({
    id,
    roomId: 'room-a',
    authorName: 'alice',
    text,
    createdAt: '2026-12-01T00:00:00.000Z',
    threadRootId: null,
    ...patch,
  });

  it('groups a thread with its root, the timeline apart, and never mixes rooms', () => {
    const groups = chunkMessages([
      message('01', 'How do backups work?'),
      message('02', 'Nightly at 2am.', { threadRootId: '01', authorName: 'bob' }),
      message('03', 'Lunch?'),
      message('04', 'In room b', { roomId: 'room-b' }),
      message('05', ''),
    ]);
    expect(groups).toEqual([
      {
        roomId: 'room-a',
        threadRootId: '01',
        messageIds: ['01', '02'],
        text: 'alice: How do backups work?\nbob: Nightly at 2am.',
      },
      { roomId: 'room-a', threadRootId: null, messageIds: ['03'], text: 'alice: Lunch?' },
      { roomId: 'room-b', threadRootId: null, messageIds: ['04'], text: 'alice: In room b' },
    ]);
  });

  it('splits long threads into groups that overlap by a message', () => {
    const messages = Array.from({ length: 10 }, (_, n) =>
      message(String(n).padStart(2, '0'), `message ${n} ${'x'.repeat(40)}`),
    );
    const groups = chunkMessages(messages, { maxCharacters: 150 });
    expect(groups.length).toBeGreaterThan(3);
    for (let index = 1; index < groups.length; index++)
      expect(groups[index]?.messageIds[0]).toBe(groups[index - 1]?.messageIds.at(-1));
    expect(new Set(groups.flatMap((group) => group.messageIds)).size).toBe(10);
  });
});
