import type { Migration } from 'kysely';
import { columnTypes, createTable, type MigrationDialect } from '../../../migrations/frozen-helpers-v1.js';

/* Frozen: released migrations are never edited; a schema change is a new migration file. */

/** Per-room settings of features, such as the assistant's model and prompt. */
export function roomSettingsMigration(dialect: MigrationDialect): Migration {
  const type = columnTypes(dialect);
  return {
    async up(db) {
      await createTable(db, dialect, 'room_settings')
        .addColumn('room_id', type.id, (column) => column.notNull())
        .addColumn('key', type.key(64), (column) => column.notNull())
        .addColumn('value', type.longText, (column) => column.notNull())
        .addColumn('updated_at', type.timestamp, (column) => column.notNull())
        .addPrimaryKeyConstraint('room_settings_pkey', ['room_id', 'key'])
        .addForeignKeyConstraint('room_settings_room_fkey', ['room_id'], 'rooms', ['id'], (constraint) =>
          constraint.onDelete('cascade'),
        )
        .execute();
      await db.schema
        .createIndex('room_settings_key')
        .on('room_settings')
        .columns(['key', 'room_id'])
        .execute();
    },
    async down(db) {
      await db.schema.dropTable('room_settings').execute();
    },
  };
}
