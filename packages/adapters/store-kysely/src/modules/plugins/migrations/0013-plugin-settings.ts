import type { Migration } from 'kysely';
import { columnTypes, createTable, type MigrationDialect } from '../../../migrations/frozen-helpers-v1.js';

/* Frozen: released migrations are never edited; a schema change is a new migration file. */

/**
 * Plugins' settings as admins saved them: one row per plugin id with the values as a JSON object (checked
 * against the plugin's manifest by the server before it is written), when and by whom they were saved. No
 * foreign key: plugins are installed from folders, and the admin who saved may be deactivated later. Values may
 * be long strings: MEDIUMTEXT on MariaDB/MySQL.
 */
export function pluginSettingsMigration(dialect: MigrationDialect): Migration {
  const type = columnTypes(dialect);
  return {
    async up(db) {
      await createTable(db, dialect, 'plugin_settings')
        .addColumn('plugin_id', type.key(64), (column) => column.notNull().primaryKey())
        .addColumn('settings', type.longText, (column) => column.notNull())
        .addColumn('updated_at', type.timestamp, (column) => column.notNull())
        .addColumn('updated_by', type.key(64))
        .execute();
    },
    async down(db) {
      await db.schema.dropTable('plugin_settings').execute();
    },
  };
}
