import type { Migration } from 'kysely';
import {
  atomically,
  columnTypes,
  createTable,
  type MigrationDialect,
} from '../../../migrations/frozen-helpers-v1.js';

/* Frozen: released migrations are never edited; a schema change is a new migration file. */

/**
 * The platform layer: the inbox of inbound events (deduplicated per consumer), the outbox of outbound
 * calls (one idempotency key each, delivered in order per target) and the bridge's links and id mappings.
 * Key columns stay short enough for MariaDB/MySQL's 3072-byte index limit in utf8mb4.
 */
export function platformBridgeMigration(dialect: MigrationDialect): Migration {
  const type = columnTypes(dialect);
  return {
    async up(db) {
      await atomically(db, dialect, async () => {
        await createTable(db, dialect, 'platform_inbox')
          .addColumn('id', type.id, (column) => column.primaryKey())
          .addColumn('consumer', type.key(64), (column) => column.notNull())
          .addColumn('platform', type.key(32), (column) => column.notNull())
          .addColumn('event_id', type.key(191), (column) => column.notNull())
          .addColumn('event', type.longText, (column) => column.notNull())
          .addColumn('status', type.key(16), (column) => column.notNull())
          .addColumn('attempts', type.integer, (column) => column.notNull())
          .addColumn('available_at', type.timestamp, (column) => column.notNull())
          .addColumn('last_error', type.text)
          .addColumn('received_at', type.timestamp, (column) => column.notNull())
          .addColumn('finished_at', type.timestamp)
          .addUniqueConstraint('platform_inbox_event_unique', ['consumer', 'platform', 'event_id'])
          .execute();
        await db.schema
          .createIndex('platform_inbox_due')
          .on('platform_inbox')
          .columns(['consumer', 'status', 'available_at'])
          .execute();

        await createTable(db, dialect, 'platform_outbox')
          .addColumn('id', type.id, (column) => column.primaryKey())
          .addColumn('consumer', type.key(64), (column) => column.notNull())
          .addColumn('idempotency_key', type.key(191), (column) => column.notNull())
          .addColumn('platform', type.key(32), (column) => column.notNull())
          .addColumn('target', type.key(128), (column) => column.notNull())
          .addColumn('operation', type.key(16), (column) => column.notNull())
          .addColumn('payload', type.longText, (column) => column.notNull())
          .addColumn('meta', type.longText, (column) => column.notNull())
          .addColumn('status', type.key(16), (column) => column.notNull())
          .addColumn('attempts', type.integer, (column) => column.notNull())
          .addColumn('available_at', type.timestamp, (column) => column.notNull())
          .addColumn('last_error', type.text)
          .addColumn('result', type.longText)
          .addColumn('created_at', type.timestamp, (column) => column.notNull())
          .addColumn('finished_at', type.timestamp)
          .addUniqueConstraint('platform_outbox_key_unique', ['consumer', 'idempotency_key'])
          .execute();
        await db.schema
          .createIndex('platform_outbox_due')
          .on('platform_outbox')
          .columns(['consumer', 'status', 'available_at'])
          .execute();
        await db.schema
          .createIndex('platform_outbox_target')
          .on('platform_outbox')
          .columns(['consumer', 'platform', 'target', 'status', 'id'])
          .execute();

        await createTable(db, dialect, 'bridge_endpoints')
          .addColumn('bridge_id', type.key(64), (column) => column.notNull())
          .addColumn('platform', type.key(32), (column) => column.notNull())
          .addColumn('channel_id', type.key(128), (column) => column.notNull())
          .addColumn('created_at', type.timestamp, (column) => column.notNull())
          .addPrimaryKeyConstraint('bridge_endpoints_pkey', ['bridge_id', 'platform', 'channel_id'])
          .execute();
        await db.schema
          .createIndex('bridge_endpoints_channel')
          .on('bridge_endpoints')
          .columns(['platform', 'channel_id'])
          .execute();

        await createTable(db, dialect, 'bridge_messages')
          .addColumn('bridge_id', type.key(64), (column) => column.notNull())
          .addColumn('group_id', type.id, (column) => column.notNull())
          .addColumn('platform', type.key(32), (column) => column.notNull())
          .addColumn('channel_id', type.key(128), (column) => column.notNull())
          .addColumn('message_id', type.key(128), (column) => column.notNull())
          .addColumn('thread_id', type.key(128))
          .addColumn('role', type.key(8), (column) => column.notNull())
          .addColumn('created_at', type.timestamp, (column) => column.notNull())
          .addPrimaryKeyConstraint('bridge_messages_pkey', [
            'bridge_id',
            'platform',
            'channel_id',
            'message_id',
          ])
          .execute();
        await db.schema
          .createIndex('bridge_messages_group')
          .on('bridge_messages')
          .columns(['bridge_id', 'group_id'])
          .execute();
        await db.schema
          .createIndex('bridge_messages_platform_message')
          .on('bridge_messages')
          .columns(['platform', 'channel_id', 'message_id'])
          .execute();
      });
    },
    async down(db) {
      for (const table of ['bridge_messages', 'bridge_endpoints', 'platform_outbox', 'platform_inbox']) {
        await db.schema.dropTable(table).execute();
      }
    },
  };
}
