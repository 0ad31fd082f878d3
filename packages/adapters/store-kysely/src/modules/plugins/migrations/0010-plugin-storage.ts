import { type Migration, sql } from 'kysely';
import { columnTypes, createTable, type MigrationDialect } from '../../../migrations/frozen-helpers-v1.js';

/* Frozen: released migrations are never edited; a schema change is a new migration file. */

/**
 * Plugins' key-value storage: one row per plugin and key with the value as JSON and the bytes it counts against
 * the plugin's quota, and one usage row per plugin that every write locks (an UPDATE) before it checks the
 * quota, so writers on any number of instances take turns per plugin. Keys are compared byte for byte
 * everywhere: PostgreSQL's "C" collation, SQLite's BINARY, and VARBINARY on MariaDB/MySQL (whose utf8mb4_bin
 * pads with spaces: `a` and `a ` would be one key). Values may be as large as a quota allows: LONGTEXT on
 * MariaDB/MySQL.
 */
export function pluginStorageMigration(dialect: MigrationDialect): Migration {
  const type = columnTypes(dialect);
  const mysql = dialect === 'mysql';
  return {
    async up(db) {
      await createTable(db, dialect, 'plugin_kv')
        .addColumn('plugin_id', type.key(64), (column) => column.notNull())
        // 256 UTF-16 units take at most 768 bytes of UTF-8.
        .addColumn('key', mysql ? sql.raw('varbinary(1024)') : type.key(256), (column) => column.notNull())
        .addColumn('value', mysql ? sql.raw('longtext') : type.longText, (column) => column.notNull())
        .addColumn('bytes', type.bigint, (column) => column.notNull())
        .addPrimaryKeyConstraint('plugin_kv_pkey', ['plugin_id', 'key'])
        .execute();
      await createTable(db, dialect, 'plugin_kv_usage')
        .addColumn('plugin_id', type.key(64), (column) => column.notNull().primaryKey())
        .addColumn('bytes', type.bigint, (column) => column.notNull())
        .execute();
    },
    async down(db) {
      await db.schema.dropTable('plugin_kv_usage').execute();
      await db.schema.dropTable('plugin_kv').execute();
    },
  };
}
