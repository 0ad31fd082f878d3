import type { Migration } from 'kysely';
import {
  atomically,
  columnTypes,
  createTable,
  type MigrationDialect,
} from '../../../migrations/frozen-helpers-v1.js';

/* Frozen: released migrations are never edited; a schema change is a new migration file. */

/**
 * Workflow definitions (every version kept), runs with their claims, the step records of each run, and the
 * webhook deliveries already accepted. Outputs and errors are JSON text.
 */
export function workflowsMigration(dialect: MigrationDialect): Migration {
  const type = columnTypes(dialect);
  return {
    async up(db) {
      await atomically(db, dialect, async () => {
        await createTable(db, dialect, 'workflow_definitions')
          .addColumn('id', type.key(64), (column) => column.notNull())
          .addColumn('version', type.integer, (column) => column.notNull())
          .addColumn('name', type.text, (column) => column.notNull())
          .addColumn('definition', type.longText, (column) => column.notNull())
          .addColumn('created_by', type.id, (column) => column.notNull())
          .addColumn('created_at', type.timestamp, (column) => column.notNull())
          .addPrimaryKeyConstraint('workflow_definitions_pkey', ['id', 'version'])
          .execute();

        await createTable(db, dialect, 'workflow_runs')
          .addColumn('id', type.id, (column) => column.notNull())
          .addColumn('workflow_id', type.key(64), (column) => column.notNull())
          .addColumn('workflow_version', type.integer, (column) => column.notNull())
          .addColumn('status', type.key(16), (column) => column.notNull())
          .addColumn('actor_id', type.id, (column) => column.notNull())
          .addColumn('trigger_payload', type.longText, (column) => column.notNull())
          .addColumn('error', type.longText)
          .addColumn('created_at', type.timestamp, (column) => column.notNull())
          .addColumn('started_at', type.timestamp)
          .addColumn('finished_at', type.timestamp)
          .addColumn('updated_at', type.timestamp, (column) => column.notNull())
          .addColumn('claimed_by', type.key(64))
          .addColumn('claimed_until', type.timestamp)
          .addPrimaryKeyConstraint('workflow_runs_pkey', ['id'])
          .execute();
        await db.schema
          .createIndex('workflow_runs_workflow')
          .on('workflow_runs')
          .columns(['workflow_id', 'id'])
          .execute();
        await db.schema
          .createIndex('workflow_runs_actor')
          .on('workflow_runs')
          .columns(['actor_id', 'id'])
          .execute();
        await db.schema
          .createIndex('workflow_runs_status')
          .on('workflow_runs')
          .columns(['status', 'id'])
          .execute();

        await createTable(db, dialect, 'workflow_steps')
          .addColumn('run_id', type.id, (column) => column.notNull())
          .addColumn('step_id', type.key(64), (column) => column.notNull())
          .addColumn('position', type.integer, (column) => column.notNull())
          .addColumn('type', type.key(64), (column) => column.notNull())
          .addColumn('status', type.key(16), (column) => column.notNull())
          .addColumn('attempts', type.integer, (column) => column.notNull())
          .addColumn('output', type.longText)
          .addColumn('error', type.longText)
          .addColumn('started_at', type.timestamp)
          .addColumn('finished_at', type.timestamp)
          .addColumn('updated_at', type.timestamp, (column) => column.notNull())
          .addPrimaryKeyConstraint('workflow_steps_pkey', ['run_id', 'step_id'])
          .addForeignKeyConstraint(
            'workflow_steps_run_fkey',
            ['run_id'],
            'workflow_runs',
            ['id'],
            (constraint) => constraint.onDelete('cascade'),
          )
          .execute();

        await createTable(db, dialect, 'workflow_webhook_deliveries')
          .addColumn('workflow_id', type.key(64), (column) => column.notNull())
          .addColumn('delivery_id', type.key(128), (column) => column.notNull())
          .addColumn('received_at', type.timestamp, (column) => column.notNull())
          .addPrimaryKeyConstraint('workflow_webhook_deliveries_pkey', ['workflow_id', 'delivery_id'])
          .execute();
        await db.schema
          .createIndex('workflow_webhook_deliveries_received')
          .on('workflow_webhook_deliveries')
          .columns(['received_at'])
          .execute();
      });
    },
    async down(db) {
      for (const table of [
        'workflow_webhook_deliveries',
        'workflow_steps',
        'workflow_runs',
        'workflow_definitions',
      ]) {
        await db.schema.dropTable(table).execute();
      }
    },
  };
}
