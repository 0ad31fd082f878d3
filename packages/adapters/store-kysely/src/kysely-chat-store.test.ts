import { randomBytes } from 'node:crypto';
import {
  ConflictError,
  createId,
  type FileRecord,
  MAX_MESSAGE_BYTES,
  type Membership,
  NotFoundError,
  type Project,
  type Room,
  type RoomEvent,
  type StoredMessage,
  type Ticket,
  type User,
} from '@kaiwa/core';
import Database from 'better-sqlite3';
import { Kysely, Migrator, NO_MIGRATIONS, SqliteDialect, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KaiwaDatabase } from './database.js';
import { createKyselyChatStore, type KyselyChatStore } from './kysely-chat-store.js';
import { KaiwaMigrationProvider } from './migrations.js';
import { createMysqlStore } from './mysql.js';
import { importDriver } from './optional-driver.js';
import { createPostgresStore } from './postgres.js';
import { createSqliteStore } from './sqlite.js';
import { openTestStore, testDatabaseUrl, testSkipReason } from './test-support.js';

const ALL_MIGRATIONS = [
  '0001_initial',
  '0002_deferred_search_index',
  '0003_room_settings',
  '0004_workflows',
  '0005_platform_bridge',
  '0006_user_deactivation',
  '0007_audit_log',
  '0008_private_room_names',
];

const DIALECT_NAMES = { sqlite: 'SQLite', postgres: 'PostgreSQL', mysql: 'MariaDB/MySQL' } as const;

const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;
const now = () => new Date().toISOString();

function userFixture(overrides: Partial<User> = {}): User {
  const at = now();
  return {
    id: createId(),
    username: unique('user'),
    displayName: 'Someone',
    role: 'member',
    forcePasswordChange: false,
    createdAt: at,
    updatedAt: at,
    ...overrides,
  };
}

function roomFixture(createdBy: string, overrides: Partial<Room> = {}): Room {
  const at = now();
  return {
    id: createId(),
    kind: 'channel',
    name: unique('room'),
    topic: '',
    archived: false,
    createdBy,
    lastSeq: 0,
    createdAt: at,
    updatedAt: at,
    ...overrides,
  };
}

function messageFixture(
  roomId: string,
  authorId: string,
  overrides: Partial<StoredMessage> = {},
): StoredMessage {
  return {
    id: createId(),
    seq: 1,
    roomId,
    authorId,
    text: 'hello',
    mentions: { userIds: [], room: false, here: false },
    threadRootId: null,
    replyToId: null,
    attachments: [],
    replyCount: 0,
    lastReplyAt: null,
    clientMessageId: null,
    metadata: {},
    createdAt: now(),
    editedAt: null,
    deletedAt: null,
    ...overrides,
  };
}

function membershipFixture(roomId: string, userId: string, overrides: Partial<Membership> = {}): Membership {
  return {
    roomId,
    userId,
    role: 'member',
    lastReadMessageId: null,
    muted: false,
    joinedAt: now(),
    ...overrides,
  };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

async function conflictField(promise: Promise<unknown>): Promise<string | undefined> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(ConflictError);
  return (error as ConflictError).field;
}

/** A promise with its resolve function, to hold one transaction open while another runs. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** PostgreSQL: the schema the store's connections write to; other dialects have one namespace each. */
async function currentSchema(store: KyselyChatStore): Promise<string | undefined> {
  if (store.dialect !== 'postgres') return undefined;
  return (await sql<{ schema: string }>`select current_schema() as schema`.execute(store.db)).rows[0]!.schema;
}

/** The store's own tables (kysely's bookkeeping and FTS5's shadow tables left out). */
async function ownTables(store: KyselyChatStore): Promise<string[]> {
  const schema = await currentSchema(store);
  return (await store.db.introspection.getTables())
    .filter((table) => schema === undefined || table.schema === schema)
    .map((table) => table.name)
    .filter((name) => !name.startsWith('message_search'));
}

for (const dialect of ['sqlite', 'postgres', 'mysql'] as const) {
  const skip = testSkipReason(dialect);
  if (skip !== undefined) {
    console.info(`${DIALECT_NAMES[dialect]} store tests skipped: ${skip}`);
    describe.skip(`KyselyChatStore on ${DIALECT_NAMES[dialect]}`, () => {
      it('is skipped', () => {});
    });
    continue;
  }

  describe(`KyselyChatStore on ${DIALECT_NAMES[dialect]}`, () => {
    let store: KyselyChatStore;

    beforeAll(async () => {
      store = await openTestStore(dialect);
    });
    afterAll(async () => {
      await store?.close();
    });

    const newUser = async (overrides: Partial<User> = {}) => {
      const user = userFixture(overrides);
      await store.users.insert(user);
      return user;
    };
    const newRoom = async (
      createdBy: string,
      overrides: Partial<Room> = {},
      memberIds: string[] = [createdBy],
    ) => {
      const room = roomFixture(createdBy, overrides);
      await store.rooms.insert(room);
      for (const userId of memberIds) await store.memberships.insert(membershipFixture(room.id, userId));
      return room;
    };
    const newMessage = async (roomId: string, authorId: string, overrides: Partial<StoredMessage> = {}) => {
      const message = messageFixture(roomId, authorId, overrides);
      expect(await store.messages.insert(message)).toBe('inserted');
      return message;
    };

    describe('migrations', () => {
      it('applies every migration once, and a second run is a no-op', async () => {
        const fresh = await openTestStore(dialect, { migrate: false });
        try {
          expect(await fresh.migrate()).toEqual({ applied: ALL_MIGRATIONS });
          expect(await fresh.migrate()).toEqual({ applied: [] });
          expect(await fresh.users.count()).toBe(0);
        } finally {
          await fresh.close();
        }
        expect(await store.migrate()).toEqual({ applied: [] });
      });

      it('migrates down to an empty schema and up again', async () => {
        const fresh = await openTestStore(dialect);
        try {
          const schema = await currentSchema(fresh);
          const migrator = new Migrator({
            db: fresh.db,
            provider: new KaiwaMigrationProvider(dialect),
            ...(schema ? { migrationTableSchema: schema } : {}),
          });
          const down = await migrator.migrateTo(NO_MIGRATIONS);
          expect(down.error).toBeUndefined();
          expect(down.results?.map((result) => result.migrationName)).toEqual([...ALL_MIGRATIONS].reverse());
          expect(await ownTables(fresh)).toEqual([]);
          expect(await fresh.migrate()).toEqual({ applied: ALL_MIGRATIONS });
        } finally {
          await fresh.close();
        }
      });

      it('throws when a migration fails, undoing it where DDL is transactional', async () => {
        const broken = await openTestStore(dialect, { migrate: false });
        try {
          // The last table the migration creates is in the way.
          await broken.db.schema.createTable('api_keys').addColumn('id', 'integer').execute();
          await expect(broken.migrate()).rejects.toThrow(/0001_initial failed/);
          // MariaDB/MySQL commit each CREATE TABLE on its own.
          expect((await ownTables(broken)).includes('users')).toBe(dialect === 'mysql');
        } finally {
          await broken.close();
        }
      });
    });

    describe('users', () => {
      it('inserts, finds, lists, counts and updates users', async () => {
        const before = await store.users.count();
        const alice = await newUser({
          displayName: 'Alice 愛 🌸',
          role: 'moderator',
          forcePasswordChange: true,
        });
        const bob = await newUser({ role: 'moderator' });
        const carol = await newUser({ role: 'guest' });

        expect(await store.users.findById(alice.id)).toEqual(alice);
        expect(await store.users.findById(createId())).toBeUndefined();
        expect(await store.users.findByUsername(bob.username)).toEqual(bob);
        expect(await store.users.findByUsername(bob.username.toUpperCase())).toBeUndefined();
        expect(await store.users.findByUsernames([carol.username, 'nobody-here', alice.username])).toEqual([
          alice,
          carol,
        ]);
        expect(await store.users.findByUsernames([])).toEqual([]);
        expect(await store.users.findByIds([carol.id, bob.id, createId()])).toEqual([bob, carol]);
        expect(await store.users.count()).toBe(before + 3);

        const moderators = await store.users.list({ role: 'moderator', limit: 200 });
        expect(moderators.map((user) => user.id)).toEqual([alice.id, bob.id]);
        expect(await store.users.list({ role: 'moderator', after: alice.id, limit: 10 })).toEqual([bob]);
        expect(await store.users.list({ role: 'moderator', limit: 1 })).toEqual([alice]);

        const later = now();
        await store.users.update(alice.id, {
          displayName: 'Alice 2',
          role: 'admin',
          forcePasswordChange: false,
          updatedAt: later,
        });
        expect(await store.users.findById(alice.id)).toEqual({
          ...alice,
          displayName: 'Alice 2',
          role: 'admin',
          forcePasswordChange: false,
          updatedAt: later,
        });
        await store.users.update(alice.id, {});
        await store.users.update(createId(), { displayName: 'nobody' });
      });

      it('refuses a taken username or id with a conflict naming the field', async () => {
        const alice = await newUser();
        expect(await conflictField(store.users.insert(userFixture({ username: alice.username })))).toBe(
          'username',
        );
        expect(await conflictField(store.users.insert(userFixture({ id: alice.id })))).toBe('id');
      });
    });

    describe('rooms', () => {
      it('inserts, finds and updates rooms of every kind', async () => {
        const alice = await newUser();
        const bob = await newUser();
        const channel = await newRoom(alice.id, { topic: 'トピック 🚀' });
        const group = await newRoom(alice.id, { kind: 'group', name: unique('グループ') });
        const directKey = [alice.id, bob.id].sort().join(':');
        const direct = roomFixture(alice.id, { kind: 'direct', name: null });
        await store.rooms.insert(direct, directKey);

        expect(await store.rooms.findById(channel.id)).toEqual(channel);
        expect(await store.rooms.findByName(group.name!)).toEqual(group);
        expect(await store.rooms.findDirect(directKey)).toEqual(direct);
        expect(await store.rooms.findDirect(`${bob.id}:${alice.id}`)).toBeUndefined();

        const later = now();
        await store.rooms.update(channel.id, {
          name: unique('renamed'),
          topic: 'new',
          archived: true,
          updatedAt: later,
        });
        const updated = await store.rooms.findById(channel.id);
        expect(updated).toMatchObject({ topic: 'new', archived: true, updatedAt: later });
        expect(updated?.name).not.toBe(channel.name);
        await store.rooms.update(createId(), { topic: 'nobody' });
      });

      it('lists public channels in id order, leaving out archived ones unless asked', async () => {
        const alice = await newUser();
        const mine = [
          await newRoom(alice.id),
          await newRoom(alice.id, { archived: true }),
          await newRoom(alice.id),
        ];
        await newRoom(alice.id, { kind: 'group' });
        const live = await store.rooms.listChannels({ limit: 200 });
        expect(live.every((room) => room.kind === 'channel' && !room.archived)).toBe(true);
        expect(live.map((room) => room.id)).toEqual([...live.map((room) => room.id)].sort());
        expect(live.map((room) => room.id)).toEqual(expect.arrayContaining([mine[0]!.id, mine[2]!.id]));
        expect(live.map((room) => room.id)).not.toContain(mine[1]!.id);
        const all = await store.rooms.listChannels({ after: mine[0]!.id, limit: 2, includeArchived: true });
        expect(all.map((room) => room.id)).toEqual([mine[1]!.id, mine[2]!.id]);
      });

      it('refuses a taken name or direct key with a conflict naming the field', async () => {
        const alice = await newUser();
        const room = await newRoom(alice.id);
        const other = await newRoom(alice.id);
        expect(await conflictField(store.rooms.insert(roomFixture(alice.id, { name: room.name })))).toBe(
          'name',
        );
        expect(await conflictField(store.rooms.update(other.id, { name: room.name! }))).toBe('name');
        const directKey = `${alice.id}:${createId()}`;
        await store.rooms.insert(roomFixture(alice.id, { kind: 'direct', name: null }), directKey);
        expect(
          await conflictField(
            store.rooms.insert(roomFixture(alice.id, { kind: 'direct', name: null }), directKey),
          ),
        ).toBe('directKey');
        // Rooms without a name or direct key never clash.
        await store.rooms.insert(
          roomFixture(alice.id, { kind: 'direct', name: null }),
          `${alice.id}:${createId()}`,
        );
      });

      it('hands out gap-free sequence numbers, also when a transaction rolls back', async () => {
        const alice = await newUser();
        const room = await newRoom(alice.id);
        expect(await store.transaction((tx) => tx.rooms.nextSeq(room.id))).toBe(1);
        const failed = store.transaction(async (tx) => {
          expect(await tx.rooms.nextSeq(room.id)).toBe(2);
          throw new Error('roll back');
        });
        await expect(failed).rejects.toThrow('roll back');
        expect(await store.transaction((tx) => tx.rooms.nextSeq(room.id))).toBe(2);
        expect(await store.rooms.nextSeq(room.id)).toBe(3);
        expect((await store.rooms.findById(room.id))?.lastSeq).toBe(3);
        const error = await rejection(store.rooms.nextSeq(createId()));
        expect(error).toBeInstanceOf(NotFoundError);
      });

      it('orders sequence numbers of concurrent transactions by commit', async () => {
        const alice = await newUser();
        const room = await newRoom(alice.id);
        const hold = gate();
        const taken = gate();
        const first = store.transaction(async (tx) => {
          const seq = await tx.rooms.nextSeq(room.id);
          taken.open();
          await hold.promise;
          return seq;
        });
        await taken.promise;
        const second = store.transaction((tx) => tx.rooms.nextSeq(room.id));
        await pause(50);
        hold.open();
        expect(await Promise.all([first, second])).toEqual([1, 2]);
      });
    });

    describe('memberships', () => {
      it('inserts, finds, lists, updates, counts and deletes memberships', async () => {
        const owner = await newUser();
        const members = [await newUser(), await newUser(), await newUser()];
        const room = await newRoom(owner.id, {}, []);
        const other = await newRoom(members[0]!.id, { kind: 'group' }, []);
        const ownerMembership = membershipFixture(room.id, owner.id, { role: 'owner', muted: true });
        await store.memberships.insert(ownerMembership);
        for (const member of members) await store.memberships.insert(membershipFixture(room.id, member.id));
        await store.memberships.insert(membershipFixture(other.id, members[0]!.id, { role: 'owner' }));

        expect(await store.memberships.find(room.id, owner.id)).toEqual(ownerMembership);
        expect(await store.memberships.find(other.id, owner.id)).toBeUndefined();
        expect(await store.memberships.countByRoom(room.id)).toBe(4);

        const everyone = [owner.id, ...members.map((member) => member.id)].sort();
        const firstPage = await store.memberships.listByRoom(room.id, { limit: 2 });
        expect(firstPage.map((membership) => membership.userId)).toEqual(everyone.slice(0, 2));
        const secondPage = await store.memberships.listByRoom(room.id, { after: everyone[1], limit: 10 });
        expect(secondPage.map((membership) => membership.userId)).toEqual(everyone.slice(2));

        const rooms = await store.memberships.listByUser(members[0]!.id);
        expect(rooms.map(({ room }) => room.id)).toEqual([room.id, other.id].sort());
        const inOther = rooms.find((entry) => entry.room.id === other.id)!;
        expect(inOther.room).toEqual(await store.rooms.findById(other.id));
        expect(inOther.membership).toEqual(await store.memberships.find(other.id, members[0]!.id));

        const readUpTo = createId();
        await store.memberships.update(room.id, members[1]!.id, {
          role: 'moderator',
          lastReadMessageId: readUpTo,
          muted: true,
        });
        expect(await store.memberships.find(room.id, members[1]!.id)).toMatchObject({
          role: 'moderator',
          lastReadMessageId: readUpTo,
          muted: true,
        });
        await store.memberships.update(room.id, members[1]!.id, { lastReadMessageId: null, muted: false });
        expect(await store.memberships.find(room.id, members[1]!.id)).toMatchObject({
          lastReadMessageId: null,
          muted: false,
        });

        await store.memberships.delete(room.id, members[2]!.id);
        await store.memberships.delete(room.id, members[2]!.id);
        expect(await store.memberships.find(room.id, members[2]!.id)).toBeUndefined();
        expect(await store.memberships.countByRoom(room.id)).toBe(3);
      });

      it('refuses a second membership with a conflict naming userId', async () => {
        const owner = await newUser();
        const room = await newRoom(owner.id);
        expect(await conflictField(store.memberships.insert(membershipFixture(room.id, owner.id)))).toBe(
          'userId',
        );
      });
    });

    describe('messages', () => {
      it('round-trips every field and finds messages by id and client message id', async () => {
        const alice = await newUser();
        const bob = await newUser();
        const room = await newRoom(alice.id);
        const fileId = createId();
        const message = await newMessage(room.id, alice.id, {
          text: `hi @${bob.username} 👋`,
          mentions: { userIds: [bob.id], room: true, here: false },
          replyToId: createId(),
          attachments: [{ fileId, name: '写真.png', mimeType: 'image/png', size: 1234 }],
          clientMessageId: 'client-1',
          metadata: { 言語: 'ja', nested: { list: [1, 'two', null, true] } },
        });
        const expected = { ...message, reactions: [] };
        expect(await store.messages.findById(message.id)).toEqual(expected);
        expect(await store.messages.findById(createId())).toBeUndefined();
        expect(await store.messages.findByClientMessageId(alice.id, 'client-1')).toEqual(expected);
        expect(await store.messages.findByClientMessageId(bob.id, 'client-1')).toBeUndefined();
        expect(await store.messages.findByClientMessageId(alice.id, 'CLIENT-1')).toBeUndefined();
        const second = await newMessage(room.id, bob.id);
        expect(
          (await store.messages.findByIds([second.id, createId(), message.id])).map((m) => m.id),
        ).toEqual([message.id, second.id]);
        expect(await store.messages.findByIds([])).toEqual([]);
      });

      it('pages the timeline and threads backwards and forwards', async () => {
        const alice = await newUser();
        const room = await newRoom(alice.id);
        const timeline: StoredMessage[] = [];
        for (let i = 0; i < 7; i++) timeline.push(await newMessage(room.id, alice.id, { text: `m${i}` }));
        const root = timeline[2]!;
        const replies: StoredMessage[] = [];
        for (let i = 0; i < 3; i++) {
          replies.push(await newMessage(room.id, alice.id, { text: `r${i}`, threadRootId: root.id }));
        }
        const texts = (messages: { text: string }[]) => messages.map((message) => message.text);

        expect(texts(await store.messages.page({ roomId: room.id, limit: 3 }))).toEqual(['m6', 'm5', 'm4']);
        expect(
          texts(await store.messages.page({ roomId: room.id, before: timeline[4]!.id, limit: 3 })),
        ).toEqual(['m3', 'm2', 'm1']);
        expect(
          texts(await store.messages.page({ roomId: room.id, before: timeline[1]!.id, limit: 3 })),
        ).toEqual(['m0']);
        expect(
          texts(await store.messages.page({ roomId: room.id, after: timeline[1]!.id, limit: 3 })),
        ).toEqual(['m2', 'm3', 'm4']);
        expect(
          texts(await store.messages.page({ roomId: room.id, after: timeline[6]!.id, limit: 3 })),
        ).toEqual([]);
        expect(
          texts(await store.messages.page({ roomId: room.id, threadRootId: root.id, limit: 10 })),
        ).toEqual(['r2', 'r1', 'r0']);
        expect(
          texts(
            await store.messages.page({
              roomId: room.id,
              threadRootId: root.id,
              after: replies[0]!.id,
              limit: 10,
            }),
          ),
        ).toEqual(['r1', 'r2']);
        expect(await store.messages.page({ roomId: createId(), limit: 10 })).toEqual([]);
      });

      it('edits, soft-deletes and counts replies', async () => {
        const alice = await newUser();
        const room = await newRoom(alice.id);
        const message = await newMessage(room.id, alice.id, { text: 'draft' });
        const editedAt = now();
        await store.messages.update(message.id, {
          text: 'final ✅',
          mentions: { userIds: [alice.id], room: false, here: true },
          attachments: [{ fileId: createId(), name: 'a.txt', mimeType: 'text/plain', size: 1 }],
          metadata: { edited: true },
          editedAt,
        });
        const edited = await store.messages.findById(message.id);
        expect(edited).toMatchObject({ text: 'final ✅', editedAt, metadata: { edited: true } });
        expect(edited?.mentions).toEqual({ userIds: [alice.id], room: false, here: true });
        expect(edited?.attachments).toHaveLength(1);

        const lastReplyAt = now();
        await store.messages.recordReply(message.id, now());
        await store.messages.recordReply(message.id, lastReplyAt);
        expect(await store.messages.findById(message.id)).toMatchObject({ replyCount: 2, lastReplyAt });

        const deletedAt = now();
        await store.messages.update(message.id, { text: '', deletedAt });
        expect(await store.messages.findById(message.id)).toMatchObject({ text: '', deletedAt });
        // The tombstone stays in the history.
        expect((await store.messages.page({ roomId: room.id, limit: 5 })).map((m) => m.id)).toEqual([
          message.id,
        ]);
        await store.messages.update(createId(), { text: 'nobody' });
        await store.messages.update(message.id, {});
      });

      it('counts unread timeline messages by others, newer than the marker', async () => {
        const alice = await newUser();
        const bob = await newUser();
        const room = await newRoom(alice.id, {}, [alice.id, bob.id]);
        const first = await newMessage(room.id, alice.id);
        const second = await newMessage(room.id, alice.id);
        await newMessage(room.id, alice.id, { threadRootId: first.id });
        await newMessage(room.id, bob.id);
        const gone = await newMessage(room.id, alice.id);
        await store.messages.update(gone.id, { text: '', deletedAt: now() });
        expect(await store.messages.countUnread(room.id, null, bob.id)).toBe(2);
        expect(await store.messages.countUnread(room.id, first.id, bob.id)).toBe(1);
        expect(await store.messages.countUnread(room.id, second.id, bob.id)).toBe(0);
        expect(await store.messages.countUnread(room.id, null, alice.id)).toBe(1);
        // Every room at once, from the members' own read markers.
        expect(await store.messages.countUnreadByRoom(bob.id)).toEqual(new Map([[room.id, 2]]));
        expect(await store.messages.countUnreadByRoom(alice.id)).toEqual(new Map([[room.id, 1]]));
        await store.memberships.update(room.id, bob.id, { lastReadMessageId: first.id });
        const quiet = await newRoom(bob.id, {}, [bob.id]);
        await newMessage(quiet.id, bob.id);
        expect(await store.messages.countUnreadByRoom(bob.id)).toEqual(new Map([[room.id, 1]]));
      });

      it('refuses a taken message id with a conflict', async () => {
        const alice = await newUser();
        const room = await newRoom(alice.id);
        const message = await newMessage(room.id, alice.id);
        expect(
          await conflictField(store.messages.insert(messageFixture(room.id, alice.id, { id: message.id }))),
        ).toBe('id');
      });
    });

    describe('idempotent inserts', () => {
      it('returns duplicate for a repeated (author, clientMessageId) and writes nothing', async () => {
        const alice = await newUser();
        const bob = await newUser();
        const room = await newRoom(alice.id);
        const first = await newMessage(room.id, alice.id, { text: 'once', clientMessageId: 'key-1' });
        const again = messageFixture(room.id, alice.id, { text: 'twice', clientMessageId: 'key-1' });
        expect(await store.messages.insert(again)).toBe('duplicate');
        expect(await store.messages.findById(again.id)).toBeUndefined();
        expect((await store.messages.findByClientMessageId(alice.id, 'key-1'))?.id).toBe(first.id);
        // Another author, another case, or no key at all is another message.
        await newMessage(room.id, bob.id, { clientMessageId: 'key-1' });
        await newMessage(room.id, alice.id, { clientMessageId: 'KEY-1' });
        await newMessage(room.id, alice.id);
        await newMessage(room.id, alice.id);
        expect(await store.messages.page({ roomId: room.id, limit: 10 })).toHaveLength(5);
      });

      it('keeps the transaction usable after a duplicate', async () => {
        const alice = await newUser();
        const room = await newRoom(alice.id);
        await newMessage(room.id, alice.id, { clientMessageId: 'key-2' });
        const after = messageFixture(room.id, alice.id);
        await store.transaction(async (tx) => {
          expect(
            await tx.messages.insert(messageFixture(room.id, alice.id, { clientMessageId: 'key-2' })),
          ).toBe('duplicate');
          expect(await tx.messages.insert(after)).toBe('inserted');
        });
        expect(await store.messages.findById(after.id)).toBeDefined();
      });

      it('stores one message when two concurrent transactions insert the same key', async () => {
        const alice = await newUser();
        const room = await newRoom(alice.id);
        const hold = gate();
        const inserted = gate();
        const one = messageFixture(room.id, alice.id, { text: 'one', clientMessageId: 'race' });
        const two = messageFixture(room.id, alice.id, { text: 'two', clientMessageId: 'race' });
        const first = store.transaction(async (tx) => {
          const result = await tx.messages.insert(one);
          inserted.open();
          await hold.promise;
          return result;
        });
        await inserted.promise;
        // PostgreSQL and InnoDB make this insert wait on the first transaction's index entry.
        const second = store.transaction((tx) => tx.messages.insert(two));
        await pause(50);
        hold.open();
        expect(await Promise.all([first, second])).toEqual(['inserted', 'duplicate']);
        expect((await store.messages.findByClientMessageId(alice.id, 'race'))?.text).toBe('one');
        expect(await store.messages.findById(two.id)).toBeUndefined();
      });

      it('lets the waiting insert through when the first transaction rolls back', async () => {
        const alice = await newUser();
        const room = await newRoom(alice.id);
        const hold = gate();
        const inserted = gate();
        const one = messageFixture(room.id, alice.id, { text: 'one', clientMessageId: 'race-2' });
        const two = messageFixture(room.id, alice.id, { text: 'two', clientMessageId: 'race-2' });
        const first = store.transaction(async (tx) => {
          await tx.messages.insert(one);
          inserted.open();
          await hold.promise;
          throw new Error('roll back');
        });
        await inserted.promise;
        const second = store.transaction((tx) => tx.messages.insert(two));
        await pause(50);
        hold.open();
        await expect(first).rejects.toThrow('roll back');
        expect(await second).toBe('inserted');
        expect((await store.messages.findByClientMessageId(alice.id, 'race-2'))?.text).toBe('two');
      });
    });

    describe('byte-exact text', () => {
      it('round-trips Japanese, emoji, zero-width characters and 64 KiB', async () => {
        const alice = await newUser({ displayName: '山田 👨‍👩‍👧‍👦' });
        const room = await newRoom(alice.id, { name: unique('会話'), topic: '𠮷野家 🇯🇵' });
        expect(await store.users.findById(alice.id)).toEqual(alice);
        expect(await store.rooms.findById(room.id)).toEqual(room);
        const longest = `${'x'.repeat(MAX_MESSAGE_BYTES - 4)}🎉`;
        expect(Buffer.byteLength(longest, 'utf8')).toBe(65_536);
        const texts = [
          '会話を始めましょう。東京タワーは３３３ｍです！',
          'family 👨‍👩‍👧‍👦 flag 🇯🇵 skin 👋🏽 math 𝒳 old 𠮷野家',
          'zero\u200bwidth\u200djoiner\ufeffbom, combining e\u0301 and é, trailing space ',
          'quotes \' " ` backslash \\ percent % underscore _ nul-free \u0001 tab\tnewline\n',
          longest,
          '日本語'.repeat(21_845).slice(0, 21_845),
        ];
        for (const text of texts) {
          const message = await newMessage(room.id, alice.id, { text, metadata: { text } });
          const read = await store.messages.findById(message.id);
          expect(Buffer.from(read!.text, 'utf8').equals(Buffer.from(text, 'utf8'))).toBe(true);
          expect(read!.metadata).toEqual({ text });
        }
      });

      it('keeps distinct emoji apart in reactions', async () => {
        const alice = await newUser();
        const bob = await newUser();
        const room = await newRoom(alice.id);
        const message = await newMessage(room.id, alice.id);
        const at = now();
        for (const emoji of ['👍', '👍🏽', '👎', '❤️', '❤', ':tada:', '👨‍👩‍👧']) {
          expect(
            await store.reactions.add({ messageId: message.id, userId: alice.id, emoji, createdAt: at }),
          ).toBe(true);
        }
        expect(
          await store.reactions.add({ messageId: message.id, userId: bob.id, emoji: '👍', createdAt: now() }),
        ).toBe(true);
        const reactions = (await store.messages.findById(message.id))!.reactions;
        expect(reactions.map((reaction) => reaction.emoji).sort()).toEqual(
          ['👍', '👍🏽', '👎', '❤️', '❤', ':tada:', '👨‍👩‍👧'].sort(),
        );
        expect(reactions.find((reaction) => reaction.emoji === '👍')).toEqual({
          emoji: '👍',
          count: 2,
          userIds: [alice.id, bob.id],
        });
      });
    });

    describe('reactions', () => {
      it('adds and removes reactions once per user and emoji, summarised in order of first use', async () => {
        const alice = await newUser();
        const bob = await newUser();
        const room = await newRoom(alice.id);
        const message = await newMessage(room.id, alice.id);
        const other = await newMessage(room.id, alice.id);
        const times = ['2026-11-25T09:30:00.000Z', '2026-11-25T09:30:01.000Z', '2026-11-25T09:30:02.000Z'];
        expect(
          await store.reactions.add({
            messageId: message.id,
            userId: bob.id,
            emoji: '🎉',
            createdAt: times[0]!,
          }),
        ).toBe(true);
        expect(
          await store.reactions.add({
            messageId: message.id,
            userId: alice.id,
            emoji: '👍',
            createdAt: times[1]!,
          }),
        ).toBe(true);
        expect(
          await store.reactions.add({
            messageId: message.id,
            userId: alice.id,
            emoji: '🎉',
            createdAt: times[2]!,
          }),
        ).toBe(true);
        expect(
          await store.reactions.add({ messageId: message.id, userId: bob.id, emoji: '🎉', createdAt: now() }),
        ).toBe(false);
        expect(
          await store.reactions.add({ messageId: other.id, userId: bob.id, emoji: '👍', createdAt: now() }),
        ).toBe(true);

        const [first, second] = await store.messages.findByIds([message.id, other.id]);
        expect(first!.reactions).toEqual([
          { emoji: '🎉', count: 2, userIds: [bob.id, alice.id] },
          { emoji: '👍', count: 1, userIds: [alice.id] },
        ]);
        expect(second!.reactions).toEqual([{ emoji: '👍', count: 1, userIds: [bob.id] }]);
        const page = await store.messages.page({ roomId: room.id, limit: 10 });
        expect(page.map((m) => m.reactions)).toEqual([second!.reactions, first!.reactions]);

        expect(await store.reactions.remove({ messageId: message.id, userId: bob.id, emoji: '🎉' })).toBe(
          true,
        );
        expect(await store.reactions.remove({ messageId: message.id, userId: bob.id, emoji: '🎉' })).toBe(
          false,
        );
        // 🎉 now dates from alice's reaction, after her 👍.
        expect((await store.messages.findById(message.id))!.reactions).toEqual([
          { emoji: '👍', count: 1, userIds: [alice.id] },
          { emoji: '🎉', count: 1, userIds: [alice.id] },
        ]);
      });
    });

    describe('search', () => {
      let reader: User;
      let author: User;
      let shared: Room;
      let publicRoom: Room;
      let secret: Room;
      let tag: string;
      const found = async (
        text: string,
        options: { roomId?: string; before?: string; limit?: number } = {},
      ) =>
        (
          await store.messages.search({
            readerId: reader.id,
            includeChannels: true,
            text,
            limit: options.limit ?? 50,
            ...(options.roomId ? { roomId: options.roomId } : {}),
            ...(options.before ? { before: options.before } : {}),
          })
        ).map((message) => message.text);

      beforeAll(async () => {
        reader = await newUser();
        author = await newUser();
        shared = await newRoom(author.id, { kind: 'group' }, [author.id, reader.id]);
        publicRoom = await newRoom(author.id, {}, [author.id]);
        secret = await newRoom(author.id, { kind: 'group' }, [author.id]);
        tag = `tag${randomBytes(4).toString('hex')}`;
        for (const text of [
          `The ${tag} deployment went fine`,
          `明日は${tag}東京タワーに行きます`,
          `${tag} 京都の会議は延期`,
          `${tag} mixed 日本語とEnglishのtext`,
          `${tag} Ｆｕｌｌ ｗｉｄｔｈ ＨＥＬＬＯ and café`,
          `${tag} достопримечательностьпрекрасная`,
        ]) {
          await newMessage(shared.id, author.id, { text });
        }
        await newMessage(shared.id, author.id, { text: '🎉🎉🎉' });
        await newMessage(publicRoom.id, author.id, { text: `${tag} in public 東京` });
        await newMessage(secret.id, author.id, { text: `${tag} in secret 東京` });
        const gone = await newMessage(shared.id, author.id, { text: `${tag} deleted 東京タワー` });
        await store.messages.update(gone.id, { deletedAt: now() });
      });

      it('finds English words, case- and width-insensitively, and requires every word', async () => {
        expect(await found(`${tag} deployment`)).toEqual([`The ${tag} deployment went fine`]);
        expect(await found(`${tag} hello`)).toEqual([`${tag} Ｆｕｌｌ ｗｉｄｔｈ ＨＥＬＬＯ and café`]);
        expect(await found(`${tag} CAFÉ`)).toHaveLength(1);
        expect(await found(`${tag} cafe`)).toEqual([]);
        expect(await found(`${tag} deploy`)).toEqual([]);
        expect(await found(`${tag} deployment missing`)).toEqual([]);
        expect(await found(`${tag} достопримечательностьпрекрасная`)).toHaveLength(1);
        // Combining marks belong to the word: a letter of it alone is another word.
        const script = `tag${randomBytes(4).toString('hex')}`;
        await newMessage(shared.id, author.id, { text: `${script} हिन्दी भाषा` });
        expect(await found(`${script} हिन्दी`)).toEqual([`${script} हिन्दी भाषा`]);
        expect(await found(`${script} ह`)).toEqual([]);
      });

      it('finds Japanese substrings of one, two and five characters, in order only', async () => {
        expect(await found(`${tag} 東京タワー`)).toEqual([`明日は${tag}東京タワーに行きます`]);
        expect(await found(`${tag} 京タ`)).toEqual([`明日は${tag}東京タワーに行きます`]);
        expect(await found(`${tag} 会議`)).toEqual([`${tag} 京都の会議は延期`]);
        expect((await found(`${tag} 京`)).sort()).toEqual(
          [`明日は${tag}東京タワーに行きます`, `${tag} 京都の会議は延期`].sort(),
        );
        expect(await found(`${tag} 延`)).toEqual([`${tag} 京都の会議は延期`]);
        expect(await found(`${tag} タ京`)).toEqual([]);
        expect(await found(`${tag} 大阪`)).toEqual([]);
        expect(await found(`${tag} 日本語 english`)).toEqual([`${tag} mixed 日本語とEnglishのtext`]);
        expect(await found('本語と english')).toEqual([`${tag} mixed 日本語とEnglishのtext`]);
        // Every bigram of 東京都 is in this text, but not next to each other.
        const other = `tag${randomBytes(4).toString('hex')}`;
        await newMessage(shared.id, author.id, { text: `${other} 京都と東京` });
        expect(await found(`${other} 東京都`)).toEqual([]);
        expect(await found(`${other} 都と東`)).toEqual([`${other} 京都と東京`]);
      });

      it('returns nothing for a query without terms, and never matches emoji-only text', async () => {
        expect(await found('🎉')).toEqual([]);
        expect(await found('   !? ')).toEqual([]);
      });

      it('searches the rooms the reader belongs to and public channels, never deleted messages', async () => {
        const everything = await found(tag);
        expect(everything).toHaveLength(7);
        expect(everything).toContain(`${tag} in public 東京`);
        expect(everything.some((text) => text.includes('secret') || text.includes('deleted'))).toBe(false);
        const membersOnly = await store.messages.search({
          readerId: reader.id,
          includeChannels: false,
          text: tag,
          limit: 50,
        });
        expect(membersOnly).toHaveLength(6);
        expect(await found(tag, { roomId: publicRoom.id })).toEqual([`${tag} in public 東京`]);
        expect(await found(tag, { roomId: secret.id })).toEqual([]);
        const authorView = await store.messages.search({
          readerId: author.id,
          includeChannels: false,
          text: '東京',
          limit: 50,
        });
        expect(authorView.map((message) => message.text)).toContain(`${tag} in secret 東京`);
      });

      it('returns the newest first, with limit and before cursor', async () => {
        const all = await store.messages.search({
          readerId: reader.id,
          includeChannels: true,
          text: tag,
          limit: 50,
        });
        const ids = all.map((message) => message.id);
        expect(ids).toEqual([...ids].sort().reverse());
        expect(all[0]).toMatchObject({ text: `${tag} in public 東京`, reactions: [] });
        const page = await found(tag, { limit: 2, before: ids[1] });
        expect(page).toEqual(all.slice(2, 4).map((message) => message.text));
      });

      it('follows edits and deletions', async () => {
        const message = await newMessage(shared.id, author.id, { text: `${tag} before edit` });
        await store.messages.update(message.id, { text: `${tag} after rewrite`, editedAt: now() });
        expect(await found(`${tag} before`)).toEqual([]);
        expect(await found(`${tag} rewrite`)).toEqual([`${tag} after rewrite`]);
        await store.messages.update(message.id, { text: '', deletedAt: now() });
        expect(await found(`${tag} rewrite`)).toEqual([]);
        const restored = await newMessage(shared.id, author.id, { text: `${tag} restorable` });
        await store.messages.update(restored.id, { deletedAt: now() });
        await store.messages.update(restored.id, { deletedAt: null });
        expect(await found(`${tag} restorable`)).toEqual([`${tag} restorable`]);
      });
    });

    describe('transactions', () => {
      it('writes nothing when the work throws, search index included', async () => {
        const word = `rollback${randomBytes(4).toString('hex')}`;
        const user = userFixture();
        const room = roomFixture(user.id);
        const message = messageFixture(room.id, user.id, { text: `${word} text` });
        const failed = store.transaction(async (tx) => {
          await tx.users.insert(user);
          await tx.rooms.insert(room);
          await tx.memberships.insert(membershipFixture(room.id, user.id));
          expect(await tx.messages.insert(message)).toBe('inserted');
          expect(await tx.messages.findById(message.id)).toBeDefined();
          throw new Error('abort');
        });
        await expect(failed).rejects.toThrow('abort');
        expect(await store.users.findById(user.id)).toBeUndefined();
        expect(await store.rooms.findById(room.id)).toBeUndefined();
        expect(await store.messages.findById(message.id)).toBeUndefined();
        await store.users.insert(user);
        await store.rooms.insert(room);
        await store.memberships.insert(membershipFixture(room.id, user.id));
        expect(
          await store.messages.search({ readerId: user.id, includeChannels: false, text: word, limit: 5 }),
        ).toEqual([]);
      });

      it('commits everything when the work resolves, and returns its value', async () => {
        const user = userFixture();
        const result = await store.transaction(async (tx) => {
          await tx.users.insert(user);
          return tx.users.findById(user.id);
        });
        expect(result).toEqual(user);
        expect(await store.users.findById(user.id)).toEqual(user);
      });
    });

    describe('room events', () => {
      it('appends events and lists them after a sequence number', async () => {
        const alice = await newUser();
        const room = await newRoom(alice.id);
        const message = { ...messageFixture(room.id, alice.id, { text: '本文 🎉' }), reactions: [] };
        const events: RoomEvent[] = [
          { roomId: room.id, seq: 1, type: 'message.created', payload: { message }, createdAt: now() },
          {
            roomId: room.id,
            seq: 2,
            type: 'reaction.added',
            payload: { messageId: message.id, emoji: '👍', userId: alice.id },
            createdAt: now(),
          },
          {
            roomId: room.id,
            seq: 3,
            type: 'member.left',
            payload: { roomId: room.id, userId: alice.id },
            createdAt: now(),
          },
        ];
        for (const event of events) await store.roomEvents.append(event);
        expect(await store.roomEvents.listSince(room.id, 0, 10)).toEqual(events);
        expect(await store.roomEvents.listSince(room.id, 1, 1)).toEqual([events[1]]);
        expect(await store.roomEvents.listSince(room.id, 3, 10)).toEqual([]);
        expect(await conflictField(store.roomEvents.append(events[0]!))).toBe('seq');
      });
    });

    describe('projects and tickets', () => {
      it('inserts, finds, filters and updates projects', async () => {
        const owner = await newUser();
        const other = await newUser();
        const at = now();
        const project: Project = {
          id: createId(),
          name: 'Kaiwa 1.0',
          description: '最初のリリース 🚀',
          status: 'active',
          ownerId: owner.id,
          createdAt: at,
          updatedAt: at,
        };
        const held: Project = { ...project, id: createId(), status: 'on_hold' };
        const foreign: Project = { ...project, id: createId(), ownerId: other.id };
        for (const entry of [project, held, foreign]) await store.projects.insert(entry);
        expect(await store.projects.findById(project.id)).toEqual(project);
        expect(await store.projects.list({ ownerId: owner.id, limit: 10 })).toEqual([project, held]);
        expect(await store.projects.list({ ownerId: owner.id, status: 'on_hold', limit: 10 })).toEqual([
          held,
        ]);
        expect(await store.projects.list({ ownerId: owner.id, after: project.id, limit: 10 })).toEqual([
          held,
        ]);
        const later = now();
        await store.projects.update(project.id, {
          name: 'Renamed',
          description: '',
          status: 'completed',
          ownerId: other.id,
          updatedAt: later,
        });
        expect(await store.projects.findById(project.id)).toEqual({
          ...project,
          name: 'Renamed',
          description: '',
          status: 'completed',
          ownerId: other.id,
          updatedAt: later,
        });
        expect(await conflictField(store.projects.insert(project))).toBe('id');
      });

      it('inserts, finds, filters and updates tickets', async () => {
        const owner = await newUser();
        const dev = await newUser();
        const at = now();
        const project: Project = {
          id: createId(),
          name: 'Tickets',
          description: '',
          status: 'active',
          ownerId: owner.id,
          createdAt: at,
          updatedAt: at,
        };
        await store.projects.insert(project);
        const ticket = (overrides: Partial<Ticket>): Ticket => ({
          id: createId(),
          projectId: project.id,
          title: 'Crash on start',
          description: 'スタック トレース',
          status: 'open',
          priority: 'medium',
          reporterId: owner.id,
          assigneeId: null,
          dueDate: null,
          labels: [],
          createdAt: at,
          updatedAt: at,
          ...overrides,
        });
        const urgent = ticket({
          priority: 'urgent',
          assigneeId: dev.id,
          dueDate: '2026-12-01',
          labels: ['bug', 'バグ'],
        });
        const later = ticket({ title: 'Docs', dueDate: '2027-03-01' });
        const done = ticket({ title: 'Old', status: 'done' });
        for (const entry of [urgent, later, done]) await store.tickets.insert(entry);

        expect(await store.tickets.findById(urgent.id)).toEqual(urgent);
        const ids = async (query: Parameters<typeof store.tickets.list>[0]) =>
          (await store.tickets.list(query)).map((entry) => entry.id);
        expect(await ids({ projectId: project.id, limit: 10 })).toEqual([urgent.id, later.id, done.id]);
        expect(await ids({ projectId: project.id, priority: 'urgent', limit: 10 })).toEqual([urgent.id]);
        expect(await ids({ projectId: project.id, status: 'done', limit: 10 })).toEqual([done.id]);
        expect(await ids({ assigneeId: dev.id, limit: 10 })).toEqual([urgent.id]);
        expect(await ids({ projectId: project.id, dueBefore: '2026-12-01', limit: 10 })).toEqual([urgent.id]);
        expect(await ids({ projectId: project.id, dueBefore: '2027-12-31', limit: 10 })).toEqual([
          urgent.id,
          later.id,
        ]);
        expect(await ids({ projectId: project.id, after: urgent.id, limit: 1 })).toEqual([later.id]);

        const updatedAt = now();
        await store.tickets.update(urgent.id, {
          title: 'Crash fixed',
          description: '',
          status: 'closed',
          priority: 'low',
          assigneeId: null,
          dueDate: null,
          labels: ['fixed'],
          updatedAt,
        });
        expect(await store.tickets.findById(urgent.id)).toEqual({
          ...urgent,
          title: 'Crash fixed',
          description: '',
          status: 'closed',
          priority: 'low',
          assigneeId: null,
          dueDate: null,
          labels: ['fixed'],
          updatedAt,
        });
        expect(await conflictField(store.tickets.insert(later))).toBe('id');
      });
    });

    describe('file records', () => {
      it('inserts, finds, filters by link and MIME type, and deletes', async () => {
        const alice = await newUser();
        const room = await newRoom(alice.id);
        const file = (overrides: Partial<FileRecord>): FileRecord => ({
          id: createId(),
          name: '写真 1.png',
          mimeType: 'image/png',
          size: 5_000_000_000,
          sha256: 'a'.repeat(64),
          storageKey: `blobs/${createId()}`,
          uploaderId: alice.id,
          roomId: room.id,
          projectId: null,
          ticketId: null,
          createdAt: now(),
          ...overrides,
        });
        const png = file({});
        const jpeg = file({ name: 'b.jpg', mimeType: 'image/jpeg', size: 0 });
        const pdf = file({ name: 'c.pdf', mimeType: 'application/pdf' });
        const imagePrefix = file({ name: 'd', mimeType: 'imagex/odd' });
        for (const entry of [png, jpeg, pdf, imagePrefix]) await store.files.insert(entry);

        expect(await store.files.findById(png.id)).toEqual(png);
        expect(await store.files.findByIds([pdf.id, png.id, createId()])).toEqual([png, pdf]);
        expect(await store.files.findByIds([])).toEqual([]);
        const ids = async (query: Parameters<typeof store.files.list>[0]) =>
          (await store.files.list(query)).map((entry) => entry.id);
        expect(await ids({ roomId: room.id, limit: 10 })).toEqual([png.id, jpeg.id, pdf.id, imagePrefix.id]);
        expect(await ids({ roomId: room.id, mimeType: 'image/*', limit: 10 })).toEqual([png.id, jpeg.id]);
        expect(await ids({ roomId: room.id, mimeType: 'image/png', limit: 10 })).toEqual([png.id]);
        expect(await ids({ roomId: room.id, mimeType: 'application/*', after: png.id, limit: 10 })).toEqual([
          pdf.id,
        ]);

        await store.files.delete(png.id);
        await store.files.delete(png.id);
        expect(await store.files.findById(png.id)).toBeUndefined();
        expect(await conflictField(store.files.insert(jpeg))).toBe('id');
      });
    });

    describe('accounts', () => {
      it('sets and replaces password hashes', async () => {
        const alice = await newUser();
        expect(await store.accounts.getPasswordHash(alice.id)).toBeUndefined();
        await store.accounts.setPasswordHash(alice.id, '$argon2id$v=19$first', now());
        await store.accounts.setPasswordHash(alice.id, '$argon2id$v=19$second', now());
        expect(await store.accounts.getPasswordHash(alice.id)).toBe('$argon2id$v=19$second');
      });

      it('keeps refresh tokens and revokes them one by one, per family and per user', async () => {
        const alice = await newUser();
        const familyId = createId();
        const token = (overrides: Partial<Parameters<typeof store.accounts.insertRefreshToken>[0]> = {}) => ({
          id: createId(),
          userId: alice.id,
          tokenHash: randomBytes(32).toString('hex'),
          familyId,
          createdAt: now(),
          expiresAt: '2027-01-01T00:00:00.000Z',
          revokedAt: null,
          ...overrides,
        });
        const first = token();
        const second = token();
        const elsewhere = token({ familyId: createId() });
        for (const entry of [first, second, elsewhere]) await store.accounts.insertRefreshToken(entry);
        expect(await store.accounts.findRefreshToken(first.tokenHash)).toEqual(first);
        expect(await store.accounts.findRefreshToken('f'.repeat(64))).toBeUndefined();
        expect(
          await conflictField(store.accounts.insertRefreshToken(token({ tokenHash: first.tokenHash }))),
        ).toBe('tokenHash');

        const at = now();
        expect(await store.accounts.revokeRefreshToken(first.id, at)).toBe(true);
        expect(await store.accounts.revokeRefreshToken(first.id, now())).toBe(false);
        expect(await store.accounts.revokeRefreshToken(createId(), now())).toBe(false);
        expect((await store.accounts.findRefreshToken(first.tokenHash))?.revokedAt).toBe(at);

        await store.accounts.revokeRefreshTokenFamily(familyId, now());
        expect((await store.accounts.findRefreshToken(second.tokenHash))?.revokedAt).not.toBeNull();
        expect((await store.accounts.findRefreshToken(first.tokenHash))?.revokedAt).toBe(at);
        expect((await store.accounts.findRefreshToken(elsewhere.tokenHash))?.revokedAt).toBeNull();
        const start = first.createdAt;
        // A family with a rotated (revoked) token and a live one is not ended.
        expect(await store.accounts.listRevokedSessions(start)).toEqual([familyId]);
        expect(await store.accounts.revokeRefreshTokensOfUser(alice.id, now())).toEqual([elsewhere.familyId]);
        expect(await store.accounts.revokeRefreshTokensOfUser(alice.id, now())).toEqual([]);
        expect((await store.accounts.findRefreshToken(elsewhere.tokenHash))?.revokedAt).not.toBeNull();
        expect((await store.accounts.listRevokedSessions(start)).sort()).toEqual(
          [familyId, elsewhere.familyId].sort(),
        );
        expect(await store.accounts.listRevokedSessions('2999-01-01T00:00:00.000Z')).toEqual([]);
      });

      it('keeps API keys, lists, touches and revokes them', async () => {
        const alice = await newUser();
        const key = (name: string) => ({
          id: createId(),
          userId: alice.id,
          name,
          keyHash: randomBytes(32).toString('hex'),
          createdAt: now(),
          lastUsedAt: null,
          revokedAt: null,
        });
        const ci = key('CI ボット');
        const laptop = key('laptop');
        await store.accounts.insertApiKey(ci);
        await store.accounts.insertApiKey(laptop);
        expect(
          await conflictField(store.accounts.insertApiKey({ ...key('copy'), keyHash: ci.keyHash })),
        ).toBe('keyHash');
        expect(await store.accounts.findApiKey(ci.keyHash)).toEqual(ci);
        expect(await store.accounts.listApiKeys(alice.id)).toEqual([ci, laptop]);
        const usedAt = now();
        await store.accounts.touchApiKey(ci.id, usedAt);
        const revokedAt = now();
        await store.accounts.revokeApiKey(ci.id, revokedAt);
        await store.accounts.revokeApiKey(ci.id, '2030-01-01T00:00:00.000Z');
        expect(await store.accounts.findApiKey(ci.keyHash)).toEqual({ ...ci, lastUsedAt: usedAt, revokedAt });
      });
    });
  });
}

describe('KyselyChatStore on SQLite, query counts', () => {
  it('reads reactions with one query per batch of messages', async () => {
    let queries = 0;
    const db = new Kysely<KaiwaDatabase>({
      dialect: new SqliteDialect({ database: new Database(':memory:') }),
      log: (event) => {
        if (event.level === 'query') queries += 1;
      },
    });
    const store = createKyselyChatStore({ db, dialect: 'sqlite' });
    try {
      await store.migrate();
      const alice = userFixture();
      await store.users.insert(alice);
      const room = roomFixture(alice.id);
      await store.rooms.insert(room);
      const messages = [messageFixture(room.id, alice.id), messageFixture(room.id, alice.id)];
      for (const message of messages) await store.messages.insert(message);
      for (const message of messages) {
        await store.reactions.add({ messageId: message.id, userId: alice.id, emoji: '👍', createdAt: now() });
      }
      queries = 0;
      const page = await store.messages.page({ roomId: room.id, limit: 10 });
      expect(page.map((message) => message.reactions.length)).toEqual([1, 1]);
      expect(queries).toBe(2);
    } finally {
      await store.close();
    }
  });
});

describe('createSqliteStore', () => {
  it('configures SQLite for a chat workload', async () => {
    const database = new Database(':memory:');
    const store = await createSqliteStore({ database });
    try {
      expect(database.pragma('foreign_keys', { simple: true })).toBe(1);
      // FULL: an acknowledged commit survives a power cut (docs/benchmarks.md for the cost).
      expect(database.pragma('synchronous', { simple: true })).toBe(2);
      expect(database.pragma('busy_timeout', { simple: true })).toBe(5000);
    } finally {
      await store.close();
    }
    expect(database.open).toBe(false);
  });
});

describe('connection strings', () => {
  const postgresUrl = testDatabaseUrl('postgres');
  const mysqlUrl = testDatabaseUrl('mysql');

  it.skipIf(postgresUrl === undefined)('opens a PostgreSQL pool from a connection string', async () => {
    const store = await createPostgresStore({ connectionString: postgresUrl!, maxConnections: 2 });
    try {
      expect(store.dialect).toBe('postgres');
      const { rows } = await sql<{ answer: number }>`select 1 as answer`.execute(store.db);
      expect(rows).toEqual([{ answer: 1 }]);
    } finally {
      await store.close();
    }
  });

  it.skipIf(mysqlUrl === undefined)(
    'opens a MariaDB/MySQL pool in utf8mb4 from a connection string',
    async () => {
      const store = await createMysqlStore({ connectionString: mysqlUrl!, maxConnections: 2 });
      try {
        expect(store.dialect).toBe('mysql');
        const { rows } = await sql<{ charset: string }>`select @@character_set_connection as charset`.execute(
          store.db,
        );
        expect(rows).toEqual([{ charset: 'utf8mb4' }]);
      } finally {
        await store.close();
      }
    },
  );
});

describe('importDriver', () => {
  it('names the package and version to install when a driver is missing', async () => {
    const name = 'kaiwa-missing-driver';
    const error = await rejection(importDriver(name, '^1', () => import(name)));
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain('npm install kaiwa-missing-driver@^1');
  });
});
