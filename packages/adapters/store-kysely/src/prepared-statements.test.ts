import { randomBytes } from 'node:crypto';
import { ChatEngine, createId } from '@kaiwa/core';
import { type Kysely, sql } from 'kysely';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { KaiwaDatabase } from './database.js';
import type { KyselyChatStore } from './kysely-chat-store.js';
import { createPostgresStore, type PostgresStoreConfig } from './postgres.js';
import { isPreparable } from './prepared-statements.js';
import { testDatabaseUrl, testSkipReason } from './test-support.js';

/*
 * Server-side prepared statements on PostgreSQL: what is prepared, that it is reused, the bound per
 * connection, and schema changes after preparation (through the store and from another connection).
 * Each store here has one connection, so every query and `pg_prepared_statements` see the same session.
 */

const url = testDatabaseUrl('postgres');
if (url === undefined)
  console.info(`PostgreSQL prepared statement tests skipped: ${testSkipReason('postgres')}`);

describe('isPreparable', () => {
  it('takes single DML statements, whatever their case and leading comments', () => {
    expect(isPreparable('select * from "users" where "id" = $1')).toBe(true);
    expect(isPreparable('  INSERT into t (a) values ($1)')).toBe(true);
    expect(isPreparable('update t set a = $1;')).toBe(true);
    expect(isPreparable('-- note\n/* block */ delete from t where a = $1')).toBe(true);
    expect(isPreparable('with x as (select 1) select * from x')).toBe(true);
  });

  it('leaves DDL, transaction control and several statements unnamed', () => {
    expect(isPreparable('create table t (a int)')).toBe(false);
    expect(isPreparable('alter table t add column b text')).toBe(false);
    expect(isPreparable('begin')).toBe(false);
    expect(isPreparable('deallocate all')).toBe(false);
    expect(isPreparable('select 1; drop table t')).toBe(false);
    expect(isPreparable('selection')).toBe(false);
  });
});

interface Prepared {
  name: string;
  statement: string;
  uses: number;
}

describe.skipIf(url === undefined)('PostgreSQL prepared statements', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function admin(statement: string): Promise<void> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  }

  /** A migrated store with one connection, in a schema of its own. */
  async function openStore(
    preparedStatements?: PostgresStoreConfig['preparedStatements'],
  ): Promise<{ store: KyselyChatStore; schema: string }> {
    const schema = `kaiwa_t_${randomBytes(6).toString('hex')}`;
    await admin(`create schema ${schema}`);
    cleanups.push(() => admin(`drop schema ${schema} cascade`));
    const pool = new pg.Pool({ connectionString: url, options: `-c search_path=${schema}`, max: 1 });
    const store = await createPostgresStore({
      pool,
      ...(preparedStatements === undefined ? {} : { preparedStatements }),
    });
    cleanups.push(() => store.close());
    await store.migrate();
    return { store, schema };
  }

  /** The statements prepared on the store's (only) connection. */
  async function prepared(store: KyselyChatStore): Promise<Prepared[]> {
    const { rows } = await sql<{ name: string; statement: string; uses: string }>`
      select name, statement, generic_plans + custom_plans as uses from pg_prepared_statements`.execute(
      store.db,
    );
    return rows.map((row) => ({ ...row, uses: Number(row.uses) }));
  }

  /** The name `statement` is prepared under. */
  const nameOf = (list: Prepared[], statement: RegExp) => {
    const found = list.filter((s) => statement.test(s.statement));
    expect(found).toHaveLength(1);
    return found[0]!.name;
  };

  const userNamed = (db: Kysely<KaiwaDatabase>, username: string) =>
    db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();

  it('prepares each statement of engine calls once per connection and reuses it', async () => {
    const { store } = await openStore();
    const engine = new ChatEngine({ store });
    cleanups.push(async () => engine.close());
    const alice = await engine.createUser({ username: 'alice' });
    const room = await engine.createRoom(alice.id, { kind: 'channel', name: 'prepared' });
    await engine.sendMessage(alice.id, { roomId: room.id, text: 'first' });
    await engine.sendMessage(alice.id, { roomId: room.id, text: 'second' });
    const afterTwo = await prepared(store);
    for (let index = 0; index < 4; index += 1) {
      await engine.sendMessage(alice.id, { roomId: room.id, text: `more ${index}` });
    }
    const afterSix = await prepared(store);

    expect(afterTwo.length).toBeGreaterThan(3);
    for (const statement of afterSix) expect(statement.name).toMatch(/^k_[0-9a-f]{16}(_g\d+)?$/);
    expect(new Set(afterSix.map((s) => s.statement)).size).toBe(afterSix.length);
    // Four more sends ran the same statements: nothing new was prepared.
    const names = (list: Prepared[]) => list.map((s) => s.name).sort();
    expect(names(afterSix)).toEqual(names(afterTwo));
    const insert = afterSix.find((s) => /^insert into "messages"/.test(s.statement));
    expect(insert?.uses).toBe(6);
    expect((await engine.history(alice.id, { roomId: room.id, limit: 10 })).messages).toHaveLength(6);
  });

  it('prepares nothing when turned off', async () => {
    const { store } = await openStore(false);
    await store.users.insert({
      id: createId(),
      username: 'bob',
      displayName: 'Bob',
      role: 'member',
      forcePasswordChange: false,
      createdAt: new Date().toISOString(),
      updatedAt: new Date().toISOString(),
    });
    await userNamed(store.db, 'bob');
    expect(await prepared(store)).toEqual([]);
  });

  it('prepares at most maxPerConnection statements on a connection and sends the rest unnamed', async () => {
    const { store } = await openStore({ maxPerConnection: 3 });
    const ids = Array.from({ length: 10 }, () => createId());
    for (let count = 1; count <= ids.length; count += 1) {
      // `in ($1, …, $n)`: a different text for every length.
      const rows = await store.db
        .selectFrom('users')
        .select('id')
        .where('id', 'in', ids.slice(0, count))
        .execute();
      expect(rows).toEqual([]);
    }
    const list = await prepared(store);
    expect(list).toHaveLength(3);
  });

  it('rejects a bound that is not a positive integer, naming the field', async () => {
    await expect(
      createPostgresStore({ connectionString: url!, preparedStatements: { maxPerConnection: 0 } }),
    ).rejects.toThrow(/preparedStatements\.maxPerConnection/);
  });

  it('survives a column added by another connection after the statement was prepared', async () => {
    const { store, schema } = await openStore();
    const id = createId();
    const at = new Date().toISOString();
    await store.users.insert({
      id,
      username: 'carol',
      displayName: 'Carol',
      role: 'member',
      forcePasswordChange: false,
      createdAt: at,
      updatedAt: at,
    });
    await userNamed(store.db, 'carol');
    await userNamed(store.db, 'carol');
    const before = nameOf(await prepared(store), /from "users" where "username"/);
    await admin(`alter table ${schema}.users add column nickname text`);

    // `select *` now returns another column: PostgreSQL refuses the old plan, the wrapper retries unnamed.
    expect(await userNamed(store.db, 'carol')).toMatchObject({ id, nickname: null });
    // Then the connection dropped its statements and prepares them again under new names.
    expect(await userNamed(store.db, 'carol')).toMatchObject({ id, nickname: null });
    const list = await prepared(store);
    expect(list.map((s) => s.name)).not.toContain(before);
    expect(nameOf(list, /from "users" where "username"/)).toMatch(/^k_[0-9a-f]{16}_g\d+$/);

    // In a transaction the change costs that transaction once; run again, it succeeds.
    await admin(`alter table ${schema}.users add column pronouns text`);
    const inTransaction = () => store.db.transaction().execute((trx) => userNamed(trx, 'carol'));
    await expect(inTransaction()).rejects.toThrow(/cached plan must not change result type/);
    expect(await inTransaction()).toMatchObject({ id, nickname: null, pronouns: null });
  });

  it('re-prepares after DDL through the store, without a failed call even in a transaction', async () => {
    const { store } = await openStore();
    const at = new Date().toISOString();
    await store.users.insert({
      id: createId(),
      username: 'dave',
      displayName: 'Dave',
      role: 'member',
      forcePasswordChange: false,
      createdAt: at,
      updatedAt: at,
    });
    await userNamed(store.db, 'dave');
    const before = (await prepared(store)).map((s) => s.name);
    await sql`alter table users add column nickname text`.execute(store.db);

    const row = await store.db
      .transaction()
      .execute((trx) =>
        trx.selectFrom('users').selectAll().where('username', '=', 'dave').executeTakeFirst(),
      );
    expect(row).toMatchObject({ username: 'dave', nickname: null });
    const after = (await prepared(store)).map((s) => s.name);
    expect(after.length).toBeGreaterThan(0);
    expect(after.filter((name) => before.includes(name))).toEqual([]);
  });
});
