import { createHash } from 'node:crypto';
import { ChatEngine, type FileRecord, type Message, type User, VectorIndexMismatchError } from '@kaiwa/core';
import { createSqliteStore, type KyselyChatStore } from '@kaiwa/store-kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExtractionError } from './extract-text.js';
import { createHashedNgramTestEmbedding } from './hashed-ngram-test-embedding.js';
import { KnowledgeBase, type RetrievedPassage } from './knowledge-base.js';
import { messageSourcesOf } from './message-sources.js';
import { tinyPdf } from './test-documents.js';

const text = (value: string) => new TextEncoder().encode(value);

describe('KnowledgeBase', () => {
  let store: KyselyChatStore;
  let engine: ChatEngine;
  let knowledge: KnowledgeBase;
  const users: Record<'admin' | 'alice' | 'bob' | 'carol' | 'guest', User> = {} as never;
  /** Room name → its id, and who may read it (computed here from the set-up, not asked of the engine). */
  const rooms = new Map<string, { id: string; readers: Set<string> }>();
  const files = new Map<string, FileRecord>();
  let projectId: string;

  async function uploadFile(
    actor: User,
    where: { roomId?: string; projectId?: string },
    name: string,
    body: string,
  ) {
    const bytes = text(body);
    const file = await engine.createFileRecord(actor.id, {
      name,
      mimeType: 'text/markdown',
      size: bytes.byteLength,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      storageKey: `files/${name}`,
      ...where,
    });
    await knowledge.indexFile(file, bytes);
    files.set(name, file);
    return file;
  }

  beforeAll(async () => {
    store = await createSqliteStore({ filename: ':memory:' });
    await store.migrate();
    engine = new ChatEngine({ store });
    for (const name of ['admin', 'alice', 'bob', 'carol', 'guest'] as const) {
      users[name] = await engine.createUser({
        username: name,
        role: name === 'admin' ? 'admin' : name === 'guest' ? 'guest' : 'member',
      });
    }
    knowledge = await KnowledgeBase.open({
      chat: engine,
      vectors: store.knowledge,
      embedder: createHashedNgramTestEmbedding({ dimensions: 128 }),
    });
    const { admin, alice, bob, carol, guest } = users;
    const everyoneButGuests = [admin, alice, bob, carol].map((user) => user.id);
    const matrix: {
      name: string;
      kind: 'channel' | 'group';
      owner: User;
      members: User[];
      readers: string[];
    }[] = [
      { name: 'town-square', kind: 'channel', owner: alice, members: [], readers: everyoneButGuests },
      { name: 'alice-bob', kind: 'group', owner: alice, members: [bob], readers: [alice.id, bob.id] },
      { name: 'bob-carol', kind: 'group', owner: bob, members: [carol], readers: [bob.id, carol.id] },
      { name: 'carol-only', kind: 'group', owner: carol, members: [], readers: [carol.id] },
      { name: 'guest-room', kind: 'group', owner: alice, members: [guest], readers: [alice.id, guest.id] },
    ];
    for (const entry of matrix) {
      const room = await engine.createRoom(entry.owner.id, {
        kind: entry.kind,
        name: entry.name,
        memberIds: entry.members.map((member) => member.id),
      });
      rooms.set(entry.name, { id: room.id, readers: new Set(entry.readers) });
      // The same words in every room, plus words of the room's own: the nearest vector to a room's own
      // text is that room's chunk, whoever asks.
      await engine.sendMessage(entry.owner.id, {
        roomId: room.id,
        text: `The launch codes for ${entry.name} are kept in the blue vault`,
      });
      await uploadFile(
        entry.owner,
        { roomId: room.id },
        `${entry.name}.md`,
        `# Launch plan of ${entry.name}\n\nThe launch codes for ${entry.name} rotate every Monday.`,
      );
      await knowledge.indexRoomMessages(room.id);
    }
    projectId = (await engine.createProject(admin.id, { name: 'Apollo' })).id;
    await uploadFile(
      admin,
      { projectId },
      'apollo.md',
      '# Apollo\n\nThe launch codes for apollo live in the project.',
    );
  });

  afterAll(async () => {
    engine?.close();
    await store?.close();
  });

  /** Whether `user` may read what `passage` came from, from the set-up's own table. */
  function readable(user: User, passage: RetrievedPassage): boolean {
    const roomId = passage.source.roomId;
    const room = [...rooms.values()].find((entry) => entry.id === roomId);
    if (room?.readers.has(user.id)) return true;
    return passage.source.type === 'file' && passage.source.projectId === projectId && user.role !== 'guest';
  }

  it('never returns a chunk of a room or project the user cannot read, even when it is the nearest vector', async () => {
    let returned = 0;
    for (const user of Object.values(users)) {
      for (const [name, room] of rooms) {
        for (const query of [
          `The launch codes for ${name} rotate every Monday.`,
          `The launch codes for ${name} are kept in the blue vault`,
          'launch codes',
        ]) {
          const passages = await knowledge.retrieve({ actorId: user.id, query, k: 20 });
          returned += passages.length;
          for (const passage of passages)
            expect(readable(user, passage), `${user.username} got ${passage.key} for "${query}"`).toBe(true);
          // What the user may read is found.
          if (room.readers.has(user.id) && query !== 'launch codes')
            expect(
              passages.some((passage) => passage.source.roomId === room.id),
              `${user.username}: ${query}`,
            ).toBe(true);
        }
      }
      const project = await knowledge.retrieve({ actorId: user.id, query: 'launch codes for apollo', k: 20 });
      expect(
        project.some((passage) => passage.source.type === 'file' && passage.source.projectId === projectId),
      ).toBe(user.role !== 'guest');
    }
    expect(returned).toBeGreaterThan(0);
  });

  it('fuses vectors and full-text search: a passage both find ranks above one only vectors find', async () => {
    const alice = users.alice;
    const room = rooms.get('alice-bob')?.id as string;
    await engine.sendMessage(alice.id, { roomId: room, text: 'Backups run nightly with pg_dump to the NAS' });
    await knowledge.indexRoomMessages(room);
    const passages = await knowledge.retrieve({ actorId: alice.id, query: 'nightly backups pg_dump', k: 5 });
    const top = passages[0];
    expect(top?.text).toContain('pg_dump');
    expect(top?.ranks.vector).toBeDefined();
    expect(top?.ranks.fullText).toBeDefined();
    expect(top?.source).toMatchObject({ type: 'message', roomId: room });
    const scores = passages.map((passage) => passage.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
  });

  it('keeps a thread’s question and answers in one chunk, and follows edits and deletes of its sources', async () => {
    const { alice, bob } = users;
    const room = rooms.get('alice-bob')?.id as string;
    const reindex = async (message: Message) => {
      for (const source of messageSourcesOf(await engine.getMessage(alice.id, message.id)))
        await knowledge.indexMessageSource(source);
    };
    const question = await engine.sendMessage(alice.id, {
      roomId: room,
      text: 'Where is the staging VPN key?',
    });
    await reindex(question);
    const answer = await engine.sendMessage(bob.id, {
      roomId: room,
      text: 'In the ops vault under staging-vpn',
      threadRootId: question.id,
    });
    await reindex(answer);
    await reindex(question);
    const ask = () => knowledge.retrieve({ actorId: alice.id, query: 'staging VPN key vault', k: 3 });
    const thread = (await ask()).find((passage) => passage.key.startsWith(`message:thread:${question.id}`));
    expect(thread?.text).toBe(
      'alice: Where is the staging VPN key?\nbob: In the ops vault under staging-vpn',
    );
    expect(thread?.source).toEqual({ type: 'message', roomId: room, messageIds: [question.id, answer.id] });
    // Nobody outside the room finds it.
    const carols = await knowledge.retrieve({
      actorId: users.carol.id,
      query: 'staging VPN key vault',
      k: 20,
    });
    expect(carols.some((passage) => passage.source.roomId === room)).toBe(false);

    await engine.editMessage(bob.id, answer.id, { text: 'Moved: the new vault is called hangar' });
    await reindex(answer);
    const edited = (await knowledge.retrieve({ actorId: alice.id, query: 'staging VPN hangar', k: 3 })).find(
      (passage) => passage.key.startsWith(`message:thread:${question.id}`),
    );
    expect(edited?.text).toContain('the new vault is called hangar');
    expect(edited?.text).not.toContain('ops vault');

    await engine.deleteMessage(bob.id, answer.id);
    await engine.deleteMessage(alice.id, question.id);
    const deleted = await engine.getMessage(alice.id, question.id);
    for (const source of messageSourcesOf({ ...deleted, replyCount: 1 }))
      await knowledge.indexMessageSource(source);
    const after = await knowledge.retrieve({ actorId: alice.id, query: 'staging VPN hangar vault', k: 20 });
    expect(after.some((passage) => passage.text.includes('staging'))).toBe(false);
  });

  it('cites file and page for a PDF', async () => {
    const alice = users.alice;
    const room = rooms.get('alice-bob')?.id as string;
    const bytes = tinyPdf(['Cover page', 'The retention period for invoices is seven years']);
    const file = await engine.createFileRecord(alice.id, {
      name: 'policy.pdf',
      mimeType: 'application/pdf',
      size: bytes.byteLength,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      storageKey: 'files/policy.pdf',
      roomId: room,
    });
    expect(await knowledge.indexFile(file, bytes)).toBe(2);
    const [top] = await knowledge.retrieve({
      actorId: alice.id,
      query: 'retention period for invoices',
      k: 3,
    });
    expect(top?.source).toEqual({ type: 'file', fileId: file.id, roomId: room, projectId: null, page: 2 });
  });

  it('leaves the indexed chunks as they were when a new version of a file cannot be read', async () => {
    const file = files.get('carol-only.md') as FileRecord;
    const before = await store.knowledge.count(knowledge.index.name);
    await expect(
      knowledge.indexFile({ ...file, mimeType: 'application/pdf' }, text('%PDF-1.4 broken')),
    ).rejects.toSatisfy((error) => ExtractionError.isInstance(error) && error.code === 'unreadable');
    expect(await store.knowledge.count(knowledge.index.name)).toBe(before);
    const passages = await knowledge.retrieve({
      actorId: users.carol.id,
      query: 'launch codes carol-only rotate',
    });
    expect(
      passages.some((passage) => passage.source.type === 'file' && passage.source.fileId === file.id),
    ).toBe(true);
  });

  it('removes a file’s chunks', async () => {
    const file = files.get('bob-carol.md') as FileRecord;
    expect(await knowledge.removeFile(file.id)).toBe(1);
    const passages = await knowledge.retrieve({
      actorId: users.bob.id,
      query: 'launch codes bob-carol rotate',
      k: 20,
    });
    expect(
      passages.some((passage) => passage.source.type === 'file' && passage.source.fileId === file.id),
    ).toBe(false);
  });

  it('refuses to open the index with another embedding model', async () => {
    await expect(
      KnowledgeBase.open({
        chat: engine,
        vectors: store.knowledge,
        embedder: createHashedNgramTestEmbedding({ dimensions: 64 }),
      }),
    ).rejects.toThrow(VectorIndexMismatchError);
  });
});
