import type { Migration } from 'kysely';
import { columnTypes, createTable, type MigrationDialect } from '../../../migrations/frozen-helpers-v1.js';

/* Frozen: released migrations are never edited; a schema change is a new migration file. */

/**
 * Plugins' scheduled job runs: one row per claimed slot, keyed by plugin, job and scheduled time, so the
 * insert that claims a slot succeeds on one instance only; the row then records the outcome (status, reason,
 * duration). Times are ISO 8601 text, as everywhere in this schema; the index on `scheduled_at` serves pruning.
 */
export function pluginJobRunsMigration(dialect: MigrationDialect): Migration {
  const type = columnTypes(dialect);
  return {
    async up(db) {
      await createTable(db, dialect, 'plugin_job_runs')
        .addColumn('plugin_id', type.key(64), (column) => column.notNull())
        .addColumn('job', type.key(32), (column) => column.notNull())
        .addColumn('scheduled_at', type.timestamp, (column) => column.notNull())
        .addColumn('instance_id', type.key(128), (column) => column.notNull())
        .addColumn('status', type.key(16), (column) => column.notNull())
        .addColumn('claimed_at', type.timestamp, (column) => column.notNull())
        .addColumn('finished_at', type.timestamp)
        .addColumn('duration_ms', type.bigint)
        .addColumn('reason', type.text)
        .addPrimaryKeyConstraint('plugin_job_runs_pkey', ['plugin_id', 'job', 'scheduled_at'])
        .execute();
      await db.schema
        .createIndex('plugin_job_runs_scheduled')
        .on('plugin_job_runs')
        .columns(['scheduled_at'])
        .execute();
    },
    async down(db) {
      await db.schema.dropTable('plugin_job_runs').execute();
    },
  };
}
