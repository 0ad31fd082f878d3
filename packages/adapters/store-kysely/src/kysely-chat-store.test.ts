import { createId, type Room, type StoredMessage, type User } from '@kaiwa/core';
import Database from 'better-sqlite3';
import { Kysely, NO_MIGRATIONS, SqliteDialect, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KaiwaDatabase } from './database.js';
import { createKyselyChatStore, type KyselyChatStore } from './kysely-chat-store.js';
import { SchemaScopedPostgresIntrospector } from './migrations/schema-scoped-introspector.js';
import { createMysqlStore } from './mysql.js';
import { importDriver } from './optional-driver.js';
import { createPostgresStore } from './postgres.js';
import { createSqliteStore } from './sqlite.js';
import { openTestStore, testDatabaseUrl, testMigrator, testSkipReason } from './test-support.js';

/*
 * What is particular to the kysely implementation: its migrations under kysely's Migrator, its query
 * counts, and the factories of each database. What every store must do is in core's contracts
 * (repositories-contract.test.ts, store-contract.test.ts).
 */

const ALL_MIGRATIONS = [
  '0001_initial',
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
];

const DIALECT_NAMES = { sqlite: 'SQLite', postgres: 'PostgreSQL', mysql: 'MariaDB/MySQL' } as const;

const now = () => new Date().toISOString();

function userFixture(): User {
  const at = now();
  return {
    id: createId(),
    username: `user-${createId()}`,
    displayName: 'Someone',
    role: 'member',
    forcePasswordChange: false,
    createdAt: at,
    updatedAt: at,
  };
}

function roomFixture(createdBy: string): Room {
  const at = now();
  return {
    id: createId(),
    kind: 'channel',
    name: `room-${createId()}`,
    topic: '',
    archived: false,
    createdBy,
    lastSeq: 0,
    createdAt: at,
    updatedAt: at,
  };
}

function messageFixture(roomId: string, authorId: string): StoredMessage {
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

/** PostgreSQL: the schema the store's connections write to; other dialects have one namespace each. */
async function currentSchema(store: KyselyChatStore): Promise<string | undefined> {
  if (store.dialect !== 'postgres') return undefined;
  return (await sql<{ schema: string }>`select current_schema() as schema`.execute(store.db)).rows[0]!.schema;
}

/** The store's own tables (kysely's bookkeeping and FTS5's shadow tables left out). */
async function ownTables(store: KyselyChatStore): Promise<string[]> {
  const schema = await currentSchema(store);
  // Kysely's PostgreSQL introspector reads every schema, and fails when another file drops its schema meanwhile.
  const introspector =
    schema === undefined ? store.db.introspection : new SchemaScopedPostgresIntrospector(store.db, schema);
  return (await introspector.getTables())
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
          const migrator = await testMigrator(fresh, dialect);
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
