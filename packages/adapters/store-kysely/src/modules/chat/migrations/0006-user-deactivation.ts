import type { Migration } from 'kysely';
import { columnTypes, type MigrationDialect } from '../../../migrations/frozen-helpers-v1.js';

/* Frozen: released migrations are never edited; a schema change is a new migration file. */

/**
 * Deactivated users (their messages stay, they cannot sign in) and an index on refresh-token revocation
 * times, which the server reads at start and now and then to rebuild its set of revoked sessions.
 */
export function userDeactivationMigration(dialect: MigrationDialect): Migration {
  const type = columnTypes(dialect);
  return {
    async up(db) {
      await db.schema.alterTable('users').addColumn('deactivated_at', type.timestamp).execute();
      await db.schema
        .createIndex('refresh_tokens_revoked_at')
        .on('refresh_tokens')
        .column('revoked_at')
        .execute();
    },
    async down(db) {
      // `drop index … on table` is MySQL's syntax only.
      const drop = db.schema.dropIndex('refresh_tokens_revoked_at');
      await (dialect === 'mysql' ? drop.on('refresh_tokens') : drop).execute();
      await db.schema.alterTable('users').dropColumn('deactivated_at').execute();
    },
  };
}
