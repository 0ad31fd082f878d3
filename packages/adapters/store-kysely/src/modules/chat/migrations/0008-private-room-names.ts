import { type Migration, sql } from 'kysely';
import { atomically, type MigrationDialect } from '../../../migrations/frozen-helpers-v1.js';

/* Frozen: released migrations are never edited; a schema change is a new migration file. */

/**
 * Room names are unique among channels only: private groups may share a name with each other (and with a
 * channel), so creating a group can no longer reveal that a private group of that name exists. PostgreSQL
 * and SQLite get a partial unique index; MariaDB/MySQL have no partial indexes, so a stored generated
 * column holds the name of channels only (NULL otherwise, and NULLs never collide) under a unique index.
 * SQLite cannot drop a table constraint, so there the rooms table is rebuilt from its own stored
 * definition minus `rooms_name_unique` (any column added since comes along), with foreign keys off for the
 * swap, as SQLite's documented table-rebuild procedure asks.
 */
export function privateRoomNamesMigration(dialect: MigrationDialect): Migration {
  return {
    async up(db) {
      if (dialect === 'postgres') {
        // A constraint when created by 0001, an index after this migration's own `down`.
        await sql`alter table rooms drop constraint if exists rooms_name_unique`.execute(db);
        await sql`drop index if exists rooms_name_unique`.execute(db);
        await sql`create unique index rooms_channel_name_unique on rooms (name) where kind = 'channel'`.execute(
          db,
        );
        await sql`create index rooms_name on rooms (name)`.execute(db);
        return;
      }
      if (dialect === 'mysql') {
        await sql`alter table rooms add column channel_name varchar(64) as (case when kind = 'channel' then name end) stored`.execute(
          db,
        );
        await sql`create unique index rooms_channel_name_unique on rooms (channel_name)`.execute(db);
        await sql`create index rooms_name on rooms (name)`.execute(db);
        await sql`alter table rooms drop index rooms_name_unique`.execute(db);
        return;
      }
      // After this migration's own `down`, the name is unique through an index, not the table constraint.
      const downgraded = await sql<{
        name: string;
      }>`select name from sqlite_master where type = 'index' and name = 'rooms_name_unique'`.execute(db);
      if (downgraded.rows.length > 0) {
        await atomically(db, dialect, async () => {
          await sql`drop index rooms_name_unique`.execute(db);
          await sql`create unique index rooms_channel_name_unique on rooms (name) where kind = 'channel'`.execute(
            db,
          );
          await sql`create index rooms_name on rooms (name)`.execute(db);
        });
        return;
      }
      // Outside any transaction, or the pragma does nothing.
      await sql`pragma foreign_keys = off`.execute(db);
      try {
        await atomically(db, dialect, async () => {
          const table = await sql<{
            sql: string;
          }>`select sql from sqlite_master where type = 'table' and name = 'rooms'`.execute(db);
          const definition = table.rows[0]?.sql ?? '';
          const withoutName = definition.replace(
            /,\s*constraint\s+"rooms_name_unique"\s+unique\s*\("name"\)/i,
            '',
          );
          if (withoutName === definition) throw new Error('rooms_name_unique not found in the rooms table');
          const indexes = await sql<{
            sql: string;
          }>`select sql from sqlite_master where type in ('index', 'trigger') and tbl_name = 'rooms' and sql is not null`.execute(
            db,
          );
          await sql
            .raw(withoutName.replace(/^create table "rooms"/i, 'create table "rooms_0008"'))
            .execute(db);
          await sql`insert into rooms_0008 select * from rooms`.execute(db);
          await sql`drop table rooms`.execute(db);
          await sql`alter table rooms_0008 rename to rooms`.execute(db);
          for (const index of indexes.rows) await sql.raw(index.sql).execute(db);
          await sql`create unique index rooms_channel_name_unique on rooms (name) where kind = 'channel'`.execute(
            db,
          );
          await sql`create index rooms_name on rooms (name)`.execute(db);
          const broken = await sql`pragma foreign_key_check`.execute(db);
          if (broken.rows.length > 0) throw new Error('rebuilding rooms broke a foreign key');
        });
      } finally {
        await sql`pragma foreign_keys = on`.execute(db);
      }
    },
    async down(db) {
      // Global uniqueness again: fails while two rooms share a name, which is the point.
      if (dialect === 'mysql') {
        await sql`create unique index rooms_name_unique on rooms (name)`.execute(db);
        await sql`alter table rooms drop index rooms_name`.execute(db);
        await sql`alter table rooms drop index rooms_channel_name_unique`.execute(db);
        await sql`alter table rooms drop column channel_name`.execute(db);
        return;
      }
      await sql`drop index rooms_channel_name_unique`.execute(db);
      await sql`drop index rooms_name`.execute(db);
      await sql`create unique index rooms_name_unique on rooms (name)`.execute(db);
    },
  };
}
