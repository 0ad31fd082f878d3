import type { StoreDialect } from '@kaiwa/core';
import type { Migration } from 'kysely';
import type { RepositoryContext } from './repository-context.js';

/**
 * One storage module of the kysely store: the repositories of one feature (one storage port in core, such as
 * `ChatStorage` or `AuditStorage`), the migrations that create and change their tables, and the modules
 * whose tables they need. `createKyselyChatStore` composes every module; `createKyselyStorage` composes the
 * ones you pick.
 *
 * @example
 * const storage = createKyselyStorage({ db, dialect, modules: [chatStorageModule, auditStorageModule] });
 */
export interface KyselyStorageModule<Name extends string = string, Repositories extends object = object> {
  /** Unique among the modules of a store; what other modules name in `requires`. */
  readonly name: Name;
  /** The modules whose tables this module's tables or repositories need: composing it without them fails. */
  readonly requires: readonly string[];
  /** This module's migrations for one database, under names that never change and sort in run order. */
  readonly migrations: (dialect: StoreDialect) => Record<string, Migration>;
  /** The module's repositories, bound to the root connection or to one transaction. */
  readonly repositories: (context: RepositoryContext) => Repositories;
  /** Whether its repositories write through SQLite's deferred full-text indexer (chat's messages do). */
  readonly usesDeferredSearchIndex: boolean;
}

/** The repositories of every module in `Modules`, as one object type. */
export type RepositoriesOf<Modules extends readonly KyselyStorageModule[]> =
  UnionToIntersection<ReturnType<Modules[number]['repositories']>> extends infer Repositories extends object
    ? Repositories
    : never;

type UnionToIntersection<Union> = (Union extends unknown ? (member: Union) => void : never) extends (
  intersection: infer Intersection,
) => void
  ? Intersection
  : never;

/**
 * Declares a storage module; `requires`, `migrations` and `usesDeferredSearchIndex` default to none.
 *
 * @example
 * export const workflowStorageModule = defineKyselyStorageModule({
 *   name: 'workflows',
 *   migrations: (dialect) => ({ '0004_workflows': workflowsMigration(dialect) }),
 *   repositories: (context): WorkflowStorage => ({ workflows: new KyselyWorkflowRepository(context) }),
 * });
 */
export function defineKyselyStorageModule<
  const Name extends string,
  Repositories extends object,
>(definition: {
  name: Name;
  requires?: readonly string[];
  migrations?: (dialect: StoreDialect) => Record<string, Migration>;
  repositories: (context: RepositoryContext) => Repositories;
  usesDeferredSearchIndex?: boolean;
}): KyselyStorageModule<Name, Repositories> {
  return {
    name: definition.name,
    requires: definition.requires ?? [],
    migrations: definition.migrations ?? (() => ({})),
    repositories: definition.repositories,
    usesDeferredSearchIndex: definition.usesDeferredSearchIndex ?? false,
  };
}

/**
 * Checks that `modules` can be composed: each name once, and every module's `requires` among them.
 *
 * @throws Error naming the module and what it lacks.
 */
export function checkStorageModules(modules: readonly KyselyStorageModule[]): void {
  const names = new Set<string>();
  for (const module of modules) {
    if (names.has(module.name)) throw new Error(`storage module '${module.name}' is composed twice`);
    names.add(module.name);
  }
  for (const module of modules) {
    for (const required of module.requires) {
      if (!names.has(required)) {
        throw new Error(
          `storage module '${module.name}' requires storage module '${required}', which is not composed: add it to the modules`,
        );
      }
    }
  }
}

/**
 * The migrations of every module in `modules` for one database, by name, in the order they run (by name).
 *
 * @throws Error when two modules declare a migration of the same name.
 */
export function composedMigrations(
  modules: readonly KyselyStorageModule[],
  dialect: StoreDialect,
): Record<string, Migration> {
  const owners = new Map<string, { module: string; migration: Migration }>();
  for (const module of modules) {
    for (const [name, migration] of Object.entries(module.migrations(dialect))) {
      const owner = owners.get(name);
      if (owner) {
        throw new Error(
          `migration ${name} is declared by storage modules '${owner.module}' and '${module.name}': migration names must be unique`,
        );
      }
      owners.set(name, { module: module.name, migration });
    }
  }
  // Sorted as kysely's Migrator sorts them, so this is the order they run in.
  return Object.fromEntries(
    [...owners]
      .sort(([first], [second]) => first.localeCompare(second))
      .map(([name, { migration }]) => [name, migration]),
  );
}
