import type { StoreDialect } from '@kaiwa/core';
import { type Kysely, type Migration, type MigrationProvider, Migrator } from 'kysely';
import { createStoreDialectAdapter } from '../dialect/index.js';
import {
  checkStorageModules,
  composedMigrations,
  type KyselyStorageModule,
  kaiwaStorageModules,
} from '../modules/index.js';
import { SchemaScopedPostgresIntrospector, withIntrospector } from './schema-scoped-introspector.js';

/*
 * Versioned schema changes, defined in code so a bundled app needs no migration files on disk. Each storage
 * module (`src/modules/<module>/migrations/`) owns the migrations of its tables, one file per migration, each
 * importing only kysely and the frozen helpers of its generation (`frozen-helpers-v1.ts`, here): a migration
 * is frozen once released, so a later change to the schema is a new file in its module, never an edit, and no
 * change to the repositories can alter what an old migration does. Existing databases record the migrations
 * by name: names never change, and they are unique across modules and sort in the order they run.
 */

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on today's table types.
type AnyDatabase = Kysely<any>;

/**
 * Every migration of every storage module for one dialect, by name. Names sort in the order they run.
 */
export function kaiwaMigrations(dialect: StoreDialect): Record<string, Migration> {
  return composedMigrations(kaiwaStorageModules, dialect);
}

/** Hands kysely's `Migrator` the migrations of the storage modules (by default, all of them). */
export class KaiwaMigrationProvider implements MigrationProvider {
  readonly #dialect: StoreDialect;
  readonly #modules: readonly KyselyStorageModule[];

  /** @throws Error when a module is composed twice or without a module it requires. */
  constructor(dialect: StoreDialect, modules: readonly KyselyStorageModule[] = kaiwaStorageModules) {
    checkStorageModules(modules);
    this.#dialect = dialect;
    this.#modules = modules;
  }

  async getMigrations(): Promise<Record<string, Migration>> {
    return composedMigrations(this.#modules, this.#dialect);
  }
}

/**
 * Kysely's `Migrator` for the migrations of `modules` (every module by default), pinned to the schema this
 * connection writes to: kysely's Migrator otherwise looks for its tables in every schema it can see, so a
 * second Kaiwa schema in the database confuses it. On PostgreSQL it also looks only into that schema (see
 * {@link SchemaScopedPostgresIntrospector}).
 *
 * @example
 * const migrator = await kaiwaMigrator(db, 'postgres');
 * await migrator.migrateTo('0009_knowledge');
 */
export async function kaiwaMigrator(
  db: AnyDatabase,
  dialect: StoreDialect,
  options: { modules?: readonly KyselyStorageModule[]; allowUnorderedMigrations?: boolean } = {},
): Promise<Migrator> {
  const migrationTableSchema = await createStoreDialectAdapter(dialect).migrationTableSchema(db);
  return new Migrator({
    db:
      dialect === 'postgres' && migrationTableSchema
        ? withIntrospector(db, new SchemaScopedPostgresIntrospector(db, migrationTableSchema))
        : db,
    provider: new KaiwaMigrationProvider(dialect, options.modules),
    ...(options.allowUnorderedMigrations ? { allowUnorderedMigrations: true } : {}),
    ...(migrationTableSchema ? { migrationTableSchema } : {}),
  });
}

/**
 * Brings the schema to the newest version and names the migrations that ran.
 *
 * A migration of a module composed later than the others (a store that grew from a few modules to more)
 * may sort before migrations that already ran; it runs then, after them: a module's migrations depend only
 * on its own and on those of the modules it requires, which ran when those were composed.
 *
 * @param modules the storage modules whose migrations to run; every module by default.
 * @throws the first migration error, after kysely has rolled back what it could.
 * @example
 * const { applied } = await migrateToLatest(db, 'sqlite'); // ['0001_initial'] on a new database
 */
export async function migrateToLatest(
  db: AnyDatabase,
  dialect: StoreDialect,
  modules: readonly KyselyStorageModule[] = kaiwaStorageModules,
): Promise<{ applied: string[] }> {
  const migrator = await kaiwaMigrator(db, dialect, { modules, allowUnorderedMigrations: true });
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
