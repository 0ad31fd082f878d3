import { type Compilable, CompiledQuery, type RootOperationNode } from 'kysely';

/** Marks a parameter slot while a query is compiled; no real value starts with a NUL character. */
const PLACEHOLDER = '\u0000';

/**
 * Queries built and compiled by kysely once, then run with fresh values: the hot writes (a message, its
 * room's sequence number, its event) skip kysely's per-call build and compile, which costs about as much
 * as SQLite takes to run them. One instance serves a store and all its transactions, so the SQL matches
 * the store's dialect and plugins.
 */
export class PreparedQueries {
  readonly #queries = new Map<string, { sql: string; keys: string[]; node: RootOperationNode }>();

  /**
   * The query `name` with `values` bound. `build` receives placeholders in place of the values and runs
   * on first use only, so the same name must always come with the same keys.
   *
   * @example
   * const query = prepared.bind('users.touch', { id, at }, (v) =>
   *   db.updateTable('users').set({ updated_at: v.at }).where('id', '=', v.id),
   * );
   * await db.executeQuery(query);
   */
  bind<Values extends Record<string, unknown>, Result>(
    name: string,
    values: Values,
    build: (placeholders: Values) => Compilable<Result>,
  ): CompiledQuery<Result> {
    let query = this.#queries.get(name);
    if (query === undefined) {
      const placeholders = Object.fromEntries(
        Object.keys(values).map((key) => [key, `${PLACEHOLDER}${key}`]),
      );
      const compiled = build(placeholders as Values).compile();
      const keys = compiled.parameters.map((parameter) => {
        if (typeof parameter !== 'string' || !parameter.startsWith(PLACEHOLDER)) {
          throw new Error(`prepared query ${name} has a parameter that is not one of its values`);
        }
        return parameter.slice(PLACEHOLDER.length);
      });
      query = { sql: compiled.sql, keys, node: compiled.query };
      this.#queries.set(name, query);
    }
    // The original query node travels along: it tells a replication-aware dialect that a select may go to
    // a read replica (a raw node would always go to the primary).
    return {
      ...CompiledQuery.raw(
        query.sql,
        query.keys.map((key) => values[key]),
      ),
      query: query.node,
    } as CompiledQuery<Result>;
  }
}
