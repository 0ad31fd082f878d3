import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChatEngine, createId, type Room, type StoredMessage, type User } from '@kaiwa/core';
import Database from 'better-sqlite3';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KyselyChatStore } from './kysely-chat-store.js';
import type { SearchIndexOptions } from './search-index.js';
import { createSqliteStore } from './sqlite.js';

/*
 * SQLite's deferred full-text indexing (search-index.ts): sends skip the FTS5 write, a timer or the next
 * search indexes the pending rows. The store-wide search behaviour is covered by the shared contract and
 * kysely-chat-store.test.ts; these tests aim at the watermark itself.
 */

/** Long enough that the background timer never fires during a test, so only searches index. */
const NO_TIMER: SearchIndexOptions = { delayMs: 600_000 };

const at = () => new Date().toISOString();
let counter = 0;
const name = (prefix: string) => {
  counter += 1;
  return `${prefix}${Date.now().toString(36)}${counter}`;
};

let directory: string;
beforeAll(() => {
  directory = mkdtempSync(join(tmpdir(), 'kaiwa-search-index-'));
});
afterAll(() => {
  rmSync(directory, { recursive: true, force: true });
});

const opened: KyselyChatStore[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});

async function open(
  options: { filename?: string; database?: Database.Database; searchIndex?: SearchIndexOptions } = {},
): Promise<KyselyChatStore> {
  const searchIndex = options.searchIndex ?? NO_TIMER;
  const store = options.database
    ? await createSqliteStore({ database: options.database, searchIndex })
    : await createSqliteStore({ filename: options.filename ?? ':memory:', searchIndex });
  await store.migrate();
  opened.push(store);
  return store;
}

async function fixtures(store: KyselyChatStore): Promise<{ user: User; room: Room }> {
  const user: User = {
    id: createId(),
    username: name('user'),
    displayName: 'Someone',
    role: 'member',
    forcePasswordChange: false,
    createdAt: at(),
    updatedAt: at(),
  };
  await store.users.insert(user);
  const room = await newRoom(store, user);
  return { user, room };
}

async function newRoom(store: KyselyChatStore, user: User): Promise<Room> {
  const room: Room = {
    id: createId(),
    kind: 'group',
    name: name('room'),
    topic: '',
    archived: false,
    createdBy: user.id,
    lastSeq: 0,
    createdAt: at(),
    updatedAt: at(),
  };
  await store.rooms.insert(room);
  await store.memberships.insert({
    roomId: room.id,
    userId: user.id,
    role: 'owner',
    lastReadMessageId: null,
    muted: false,
    joinedAt: at(),
  });
  return room;
}

function message(room: Room, user: User, text: string): StoredMessage {
  return {
    id: createId(),
    roomId: room.id,
    authorId: user.id,
    seq: 1,
    text,
    mentions: { userIds: [], room: false, here: false },
    threadRootId: null,
    replyToId: null,
    attachments: [],
    replyCount: 0,
    lastReplyAt: null,
    clientMessageId: null,
    metadata: {},
    createdAt: at(),
    editedAt: null,
    deletedAt: null,
  };
}

async function send(store: KyselyChatStore, room: Room, user: User, text: string): Promise<StoredMessage> {
  const stored = message(room, user, text);
  expect(await store.messages.insert(stored)).toBe('inserted');
  return stored;
}

async function search(store: KyselyChatStore, user: User, text: string): Promise<string[]> {
  const found = await store.messages.search({ readerId: user.id, includeChannels: false, text, limit: 50 });
  return found.map((m) => m.text);
}

async function state(
  store: KyselyChatStore,
): Promise<{ watermark: number; maxRowId: number; indexed: number }> {
  const { rows } = await sql<{ watermark: number; maxRowId: number; indexed: number }>`select
      (select indexed_row_id from message_search_state) as watermark,
      (select coalesce(max(row_id), 0) from messages) as maxRowId,
      (select count(*) from message_search) as indexed`.execute(store.db);
  return rows[0]!;
}

describe('deferred search indexing on SQLite', () => {
  it('writes no search row on send, and finds the message in a search right after it', async () => {
    const store = await open();
    const { user, room } = await fixtures(store);
    const tag = name('fresh');
    await send(store, room, user, `${tag} 東京タワーに行きます`);
    expect(await state(store)).toMatchObject({ watermark: 0, maxRowId: 1, indexed: 0 });
    expect(await search(store, user, `${tag} タワー`)).toEqual([`${tag} 東京タワーに行きます`]);
    expect(await state(store)).toMatchObject({ watermark: 1, indexed: 1 });
  });

  it('finds an engine send at once, whatever the timer is doing', async () => {
    const store = await open();
    const engine = new ChatEngine({ store });
    const alice = await engine.createUser({ username: name('alice') });
    const room = await engine.createRoom(alice.id, { kind: 'channel', name: name('general') });
    for (let i = 0; i < 20; i++) {
      const tag = name('engine');
      await engine.sendMessage(alice.id, { roomId: room.id, text: `${tag} message ${i}` });
      expect((await engine.search(alice.id, { query: tag })).map((m) => m.text)).toEqual([
        `${tag} message ${i}`,
      ]);
    }
  });

  it('indexes in the background shortly after a send', async () => {
    const store = await open({ searchIndex: { delayMs: 5 } });
    const { user, room } = await fixtures(store);
    await send(store, room, user, 'background work');
    await send(store, room, user, 'more background work');
    for (let i = 0; i < 100 && (await state(store)).watermark < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(await state(store)).toMatchObject({ watermark: 2, indexed: 2 });
  });

  it('indexes in batches without losing rows', async () => {
    const store = await open({ searchIndex: { delayMs: 600_000, batchRows: 7 } });
    const { user, room } = await fixtures(store);
    for (let i = 0; i < 30; i++) await send(store, room, user, `batch${i} common`);
    expect(await store.flushSearchIndex()).toBe(30);
    expect(await store.flushSearchIndex()).toBe(0);
    expect(await search(store, user, 'common')).toHaveLength(30);
    expect(await search(store, user, 'batch29')).toEqual(['batch29 common']);
  });

  it('indexes the rows left pending by a crash when the store is opened again', async () => {
    const filename = join(directory, 'restart.sqlite');
    const database = new Database(filename);
    const store = await createSqliteStore({ database, searchIndex: NO_TIMER });
    await store.migrate();
    const { user, room } = await fixtures(store);
    await send(store, room, user, 'before the crash');
    // A crash: the connection goes away without the store's close(), which would have indexed the rows.
    database.close();

    const reopened = await open({ filename });
    expect(await state(reopened)).toMatchObject({ watermark: 0, maxRowId: 1, indexed: 0 });
    expect(await search(reopened, user, 'crash')).toEqual(['before the crash']);
    await send(reopened, room, user, 'after the crash');
    await reopened.close();
    // A clean close indexes what is pending.
    const again = await open({ filename });
    expect(await state(again)).toMatchObject({ watermark: 2, maxRowId: 2, indexed: 2 });
    expect(await search(again, user, 'after')).toEqual(['after the crash']);
  });

  it('indexes pending rows as they are now: edited text, deleted ones not at all', async () => {
    const store = await open();
    const { user, room } = await fixtures(store);
    const edited = await send(store, room, user, 'pending original words');
    const deleted = await send(store, room, user, 'pending doomed words');
    const restored = await send(store, room, user, 'pending restored words');
    await store.messages.update(edited.id, { text: 'pending edited words', editedAt: at() });
    await store.messages.update(deleted.id, { text: '', deletedAt: at() });
    await store.messages.update(restored.id, { deletedAt: at() });
    await store.messages.update(restored.id, { deletedAt: null });
    expect((await state(store)).watermark).toBe(0);

    expect(await search(store, user, 'original')).toEqual([]);
    expect(await search(store, user, 'edited')).toEqual(['pending edited words']);
    expect(await search(store, user, 'doomed')).toEqual([]);
    expect(await search(store, user, 'restored')).toEqual(['pending restored words']);
    expect(await state(store)).toMatchObject({ watermark: 3, indexed: 2 });
  });

  it('changes the index at once when indexed rows are edited, deleted or restored', async () => {
    const store = await open();
    const { user, room } = await fixtures(store);
    const edited = await send(store, room, user, 'indexed original words');
    const deleted = await send(store, room, user, 'indexed doomed words');
    expect(await store.flushSearchIndex()).toBe(2);

    await store.messages.update(edited.id, { text: 'indexed edited words', editedAt: at() });
    await store.messages.update(deleted.id, { text: '', deletedAt: at() });
    expect(await state(store)).toMatchObject({ watermark: 2, indexed: 1 });
    expect(await search(store, user, 'original')).toEqual([]);
    expect(await search(store, user, 'edited')).toEqual(['indexed edited words']);
    expect(await search(store, user, 'doomed')).toEqual([]);

    await store.messages.update(edited.id, { deletedAt: at() });
    expect(await search(store, user, 'edited')).toEqual([]);
    await store.messages.update(edited.id, { deletedAt: null });
    expect(await search(store, user, 'edited')).toEqual(['indexed edited words']);
  });

  it('never sees a rolled-back send, and indexes the send that reuses its row id', async () => {
    const store = await open();
    const { user, room } = await fixtures(store);
    await expect(
      store.transaction(async (tx) => {
        await tx.messages.insert(message(room, user, 'rolled back words'));
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    await send(store, room, user, 'committed words');
    expect(await state(store)).toMatchObject({ maxRowId: 1 });
    expect(await search(store, user, 'rolled')).toEqual([]);
    expect(await search(store, user, 'committed')).toEqual(['committed words']);
  });

  it('indexes pending rows inside a transaction that searches, and undoes that with it', async () => {
    const store = await open();
    const { user, room } = await fixtures(store);
    await send(store, room, user, 'outside words');
    await expect(
      store.transaction(async (tx) => {
        await tx.messages.insert(message(room, user, 'inside words'));
        const found = await tx.messages.search({
          readerId: user.id,
          includeChannels: false,
          text: 'words',
          limit: 10,
        });
        expect(found.map((m) => m.text)).toEqual(['inside words', 'outside words']);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(await state(store)).toMatchObject({ watermark: 0, maxRowId: 1, indexed: 0 });
    expect(await search(store, user, 'words')).toEqual(['outside words']);
  });

  it('keeps row ids above the watermark when the newest messages are deleted for good', async () => {
    const store = await open();
    const { user, room } = await fixtures(store);
    await send(store, room, user, 'keeper words');
    const doomedRoom = await newRoom(store, user);
    await send(store, doomedRoom, user, 'stale alpha');
    await send(store, doomedRoom, user, 'stale beta');
    await store.flushSearchIndex();
    expect(await state(store)).toMatchObject({ watermark: 3, indexed: 3 });

    // Deleting the room cascades to its messages, the two largest row ids.
    await store.db.deleteFrom('rooms').where('id', '=', doomedRoom.id).execute();
    expect(await state(store)).toMatchObject({ watermark: 1, maxRowId: 1, indexed: 1 });
    // SQLite hands out row id 2 again: it must be pending, and must not match the old row's terms.
    await send(store, room, user, 'fresh gamma');
    expect(await state(store)).toMatchObject({ watermark: 1, maxRowId: 2 });
    expect(await search(store, user, 'gamma')).toEqual(['fresh gamma']);
    expect(await search(store, user, 'stale')).toEqual([]);
    expect(await search(store, user, 'alpha')).toEqual([]);
  });

  it('indexes existing messages as already indexed when the migration runs', async () => {
    const filename = join(directory, 'upgrade.sqlite');
    const store = await createSqliteStore({ filename, searchIndex: NO_TIMER });
    opened.push(store);
    await store.migrate();
    const { user, room } = await fixtures(store);
    await send(store, room, user, 'old words');
    await store.flushSearchIndex();
    // Back to 0001 (which indexed every send itself), then forward again.
    const { Migrator } = await import('kysely');
    const { KaiwaMigrationProvider } = await import('./migrations/index.js');
    const migrator = new Migrator({ db: store.db, provider: new KaiwaMigrationProvider('sqlite') });
    await send(store, room, user, 'pending words');
    expect((await migrator.migrateTo('0001_initial')).error).toBeUndefined();
    expect(await store.migrate()).toEqual({
      applied: [
        '0002_deferred_search_index',
        '0003_room_settings',
        '0004_workflows',
        '0005_platform_bridge',
        '0006_user_deactivation',
        '0007_audit_log',
        '0008_private_room_names',
        '0009_knowledge',
        '0010_plugin_storage',
        '0011_plugin_job_runs',
        '0012_plugin_installations',
        '0013_plugin_settings',
        '0014_knowledge_full_text',
        '0015_knowledge_full_text_documents_only',
      ],
    });
    expect(await state(store)).toMatchObject({ watermark: 2, maxRowId: 2, indexed: 2 });
    expect(await search(store, user, 'words')).toEqual(['pending words', 'old words']);
  });
});
