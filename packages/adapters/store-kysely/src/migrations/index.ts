import { type StoreDialect, searchDocument } from '@kaiwa/core';
import { type Kysely, type Migration, type MigrationProvider, Migrator } from 'kysely';
import { createStoreDialectAdapter } from '../dialect/index.js';
import { initialMigration } from './0001-initial.js';
import { deferredSearchIndexMigration } from './0002-deferred-search-index.js';
import { roomSettingsMigration } from './0003-room-settings.js';
import { workflowsMigration } from './0004-workflows.js';
import { platformBridgeMigration } from './0005-platform-bridge.js';
import { userDeactivationMigration } from './0006-user-deactivation.js';
import { auditLogMigration } from './0007-audit-log.js';
import { privateRoomNamesMigration } from './0008-private-room-names.js';

/*
 * Versioned schema changes, defined in code so a bundled app needs no migration files on disk. One file
 * per migration, each importing only kysely and the frozen helpers of its generation
 * (`frozen-helpers-v1.ts`): a migration is frozen once released, so a later change to the schema is a new
 * file and a new entry below, never an edit, and no change to the repositories can alter what an old
 * migration does. Existing databases record the migrations by the names below: they never change.
 */

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on today's table types.
type AnyDatabase = Kysely<any>;

/**
 * Every migration for one dialect, by name. Names sort in the order they run.
 */
export function kaiwaMigrations(dialect: StoreDialect): Record<string, Migration> {
  return {
    '0001_initial': initialMigration(dialect),
    '0002_deferred_search_index': deferredSearchIndexMigration(dialect, searchDocument),
    '0003_room_settings': roomSettingsMigration(dialect),
    '0004_workflows': workflowsMigration(dialect),
    '0005_platform_bridge': platformBridgeMigration(dialect),
    '0006_user_deactivation': userDeactivationMigration(dialect),
    '0007_audit_log': auditLogMigration(dialect),
    '0008_private_room_names': privateRoomNamesMigration(dialect),
  };
}

/** Hands kysely's `Migrator` the migrations listed in this file. */
export class KaiwaMigrationProvider implements MigrationProvider {
  readonly #dialect: StoreDialect;

  constructor(dialect: StoreDialect) {
    this.#dialect = dialect;
  }

  async getMigrations(): Promise<Record<string, Migration>> {
    return kaiwaMigrations(this.#dialect);
  }
}

/**
 * Brings the schema to the newest version and names the migrations that ran.
 *
 * @throws the first migration error, after kysely has rolled back what it could.
 * @example
 * const { applied } = await migrateToLatest(db, 'sqlite'); // ['0001_initial'] on a new database
 */
export async function migrateToLatest(
  db: AnyDatabase,
  dialect: StoreDialect,
): Promise<{ applied: string[] }> {
  // Kysely's Migrator looks for its own tables in every schema it can see, so on PostgreSQL it must be
  // pinned to the schema this connection writes to, or a second Kaiwa schema in the database confuses it.
  const migrationTableSchema = await createStoreDialectAdapter(dialect).migrationTableSchema(db);
  const migrator = new Migrator({
    db,
    provider: new KaiwaMigrationProvider(dialect),
    ...(migrationTableSchema ? { migrationTableSchema } : {}),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((result) => result.status === 'Error');
    throw new Error(`Kaiwa migration ${failed?.migrationName ?? '(setup)'} failed: ${describe(error)}`, {
      cause: error,
    });
  }
  return {
    applied: (results ?? []).filter((result) => result.status === 'Success').map((r) => r.migrationName),
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
