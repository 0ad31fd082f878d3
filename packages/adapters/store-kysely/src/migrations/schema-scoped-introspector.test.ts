import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KyselyChatStore } from '../kysely-chat-store.js';
import { openTestStore, testDatabaseUrl, testSkipReason } from '../test-support.js';
import { SchemaScopedPostgresIntrospector } from './schema-scoped-introspector.js';

const skip = testSkipReason('postgres');
if (skip) console.info(`schema-scoped introspector tests skipped: ${skip}`);

describe.skipIf(skip !== undefined)('SchemaScopedPostgresIntrospector', () => {
  let store: KyselyChatStore;
  let admin: pg.Client;
  let schema: string;

  beforeAll(async () => {
    store = await openTestStore('postgres');
    admin = new pg.Client({ connectionString: testDatabaseUrl('postgres') });
    await admin.connect();
    schema = (await sql<{ schema: string }>`select current_schema() as schema`.execute(store.db)).rows[0]!
      .schema;
  });

  afterAll(async () => {
    await admin?.end();
    await store?.close();
  });

  /** Runs `read` on a snapshot taken before another schema of the database is dropped. */
  async function afterAnotherSchemaIsDropped<T>(read: (db: KyselyChatStore['db']) => Promise<T>): Promise<T> {
    const other = `kaiwa_t_${randomBytes(6).toString('hex')}`;
    await admin.query(`create schema ${other}`);
    await admin.query(`create table ${other}.t (id int)`);
    return store.db
      .transaction()
      .setIsolationLevel('repeatable read')
      .execute(async (trx) => {
        await sql`select 1`.execute(trx); // takes the snapshot, which still holds the other schema
        await admin.query(`drop schema ${other} cascade`);
        return read(trx);
      });
  }

  it('lists only its own schema, and its tables with or without kysely’s', async () => {
    const introspector = new SchemaScopedPostgresIntrospector(store.db, schema);
    expect(await introspector.getSchemas()).toEqual([{ name: schema }]);
    const tables = await introspector.getTables();
    expect(tables.map((table) => table.name)).toContain('messages');
    expect(tables.every((table) => table.schema === schema)).toBe(true);
    expect(tables.map((table) => table.name)).not.toContain('kysely_migration');
    const withKysely = await introspector.getTables({ withInternalKyselyTables: true });
    expect(withKysely.map((table) => table.name)).toEqual(
      expect.arrayContaining(['kysely_migration', 'kysely_migration_lock', 'messages']),
    );
    expect(await new SchemaScopedPostgresIntrospector(store.db, 'kaiwa_no_such_schema').getSchemas()).toEqual(
      [],
    );
  });

  it('answers while another schema is dropped, where kysely’s own introspector fails', async () => {
    // What made a migration fail now and then while another test file dropped its schema.
    await expect(afterAnotherSchemaIsDropped((db) => db.introspection.getTables())).rejects.toThrow(
      /schema .* does not exist/,
    );
    const tables = await afterAnotherSchemaIsDropped((db) =>
      new SchemaScopedPostgresIntrospector(db, schema).getTables({ withInternalKyselyTables: true }),
    );
    expect(tables.map((table) => table.name)).toContain('kysely_migration');
  });
});
