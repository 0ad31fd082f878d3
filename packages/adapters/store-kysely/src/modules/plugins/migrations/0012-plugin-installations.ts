import type { Migration } from 'kysely';
import { columnTypes, createTable, type MigrationDialect } from '../../../migrations/frozen-helpers-v1.js';

/* Frozen: released migrations are never edited; a schema change is a new migration file. */

/**
 * The installed plugins: one row per plugin id (the primary key, so of two instances installing one id the
 * first insert wins), its version, whether an admin wants it running (`enabled`), the SHA-256 of the tarball
 * it came from (null for a folder placed by hand), and when it was installed and last changed (ISO 8601 text,
 * as everywhere in this schema).
 */
export function pluginInstallationsMigration(dialect: MigrationDialect): Migration {
  const type = columnTypes(dialect);
  return {
    async up(db) {
      await createTable(db, dialect, 'plugin_installations')
        .addColumn('plugin_id', type.key(64), (column) => column.notNull())
        .addColumn('version', type.key(128), (column) => column.notNull())
        .addColumn('enabled', type.boolean, (column) => column.notNull())
        .addColumn('sha256', type.key(64))
        .addColumn('installed_at', type.timestamp, (column) => column.notNull())
        .addColumn('updated_at', type.timestamp, (column) => column.notNull())
        .addPrimaryKeyConstraint('plugin_installations_pkey', ['plugin_id'])
        .execute();
    },
    async down(db) {
      await db.schema.dropTable('plugin_installations').execute();
    },
  };
}
