import type { Migration } from 'kysely';
import {
  atomically,
  columnTypes,
  createTable,
  type MigrationDialect,
} from '../../../migrations/frozen-helpers-v1.js';

/* Frozen: released migrations are never edited; a schema change is a new migration file. */

/**
 * The audit log: one row per entry, keyed by its sequence number, and a one-row chain head that every
 * append locks (an UPDATE) until it commits, so appends from any number of connections or instances happen
 * one at a time and never fork the chain. The head starts at seq 0 and the genesis hash (64 zeros).
 */
export function auditLogMigration(dialect: MigrationDialect): Migration {
  const type = columnTypes(dialect);
  return {
    async up(db) {
      await atomically(db, dialect, async () => {
        await createTable(db, dialect, 'audit_log')
          .addColumn('seq', type.bigint, (column) => column.notNull().primaryKey())
          .addColumn('id', type.id, (column) => column.notNull())
          .addColumn('at', type.timestamp, (column) => column.notNull())
          .addColumn('actor_id', type.id)
          .addColumn('action', type.key(64), (column) => column.notNull())
          .addColumn('target_type', type.key(32))
          .addColumn('target_id', type.key(128))
          .addColumn('outcome', type.key(16), (column) => column.notNull())
          .addColumn('request_id', type.key(128))
          .addColumn('remote_address', type.key(64))
          .addColumn('details', type.longText, (column) => column.notNull())
          .addColumn('previous_hash', type.key(64), (column) => column.notNull())
          .addColumn('hash', type.key(64), (column) => column.notNull())
          .addUniqueConstraint('audit_log_id_unique', ['id'])
          .execute();
        await db.schema.createIndex('audit_log_action').on('audit_log').columns(['action', 'seq']).execute();
        await db.schema.createIndex('audit_log_actor').on('audit_log').columns(['actor_id', 'seq']).execute();
        await db.schema
          .createIndex('audit_log_target')
          .on('audit_log')
          .columns(['target_type', 'target_id', 'seq'])
          .execute();
        await db.schema.createIndex('audit_log_at').on('audit_log').column('at').execute();
        await createTable(db, dialect, 'audit_chain_head')
          .addColumn('id', type.integer, (column) => column.notNull().primaryKey())
          .addColumn('seq', type.bigint, (column) => column.notNull())
          .addColumn('hash', type.key(64), (column) => column.notNull())
          .execute();
        await db
          .insertInto('audit_chain_head')
          .values({ id: 1, seq: 0, hash: '0'.repeat(64) })
          .execute();
      });
    },
    async down(db) {
      await db.schema.dropTable('audit_chain_head').execute();
      await db.schema.dropTable('audit_log').execute();
    },
  };
}
