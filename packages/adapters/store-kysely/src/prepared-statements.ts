import { createHash } from 'node:crypto';
import type { PostgresCursor, PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';

/** How many statements each connection prepares at most, unless configured otherwise. */
export const DEFAULT_MAX_PREPARED_PER_CONNECTION = 500;

/** Whitespace and comments before a statement's first word. */
const LEADING = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*/;
const DML = /^(?:select|insert|update|delete|with)\b/i;
/** Statements that may change what a prepared statement returns. */
const DDL = /^(?:alter|create|drop|comment|truncate)\b/i;

/**
 * Whether `sql` is one DML statement (SELECT, INSERT, UPDATE, DELETE or WITH …), the statements worth
 * preparing. DDL, transaction control and text holding more than one statement are never prepared.
 *
 * @example
 * isPreparable('select * from users where id = $1'); // true
 * isPreparable('create table t (id int)'); // false
 */
export function isPreparable(sql: string): boolean {
  const body = sql.replace(LEADING, '');
  if (!DML.test(body)) return false;
  // A `;` anywhere but at the end may start a second statement (or sit in a literal; then unnamed is fine).
  return !body.replace(/;\s*$/, '').includes(';');
}

/** `k_` and the first 16 hex digits of the SQL's SHA-1: the same text gets the same name on every connection. */
function statementName(sql: string, generation: number): string {
  const hash = createHash('sha1').update(sql).digest('hex').slice(0, 16);
  return generation === 0 ? `k_${hash}` : `k_${hash}_g${generation}`;
}

/** PostgreSQL's answer when a prepared statement's result columns changed under it (an ALTER TABLE). */
function isStalePlan(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return (
    code === '0A000' &&
    typeof message === 'string' &&
    message.includes('cached plan must not change result type')
  );
}

/** A `pg` client as the wrapper uses it: kysely's `PostgresPoolClient` plus named queries. */
interface PgClient {
  query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
  query<R>(config: { name: string; text: string; values: unknown[] }): Promise<PostgresQueryResult<R>>;
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  release(destroy?: boolean): void;
  /** 'I' idle, 'T' in a transaction, 'E' in a failed transaction (pg ≥ 8.16; absent before). */
  getTransactionStatus?(): string | null;
}

interface ConnectionState {
  /** The pool's generation the names below belong to. */
  generation: number;
  /** SQL text → statement name on this connection. */
  readonly names: Map<string, string>;
  /** Statements of earlier generations still on the server (only when they could not be deallocated). */
  retired: number;
}

/**
 * A `pg` pool for kysely's `PostgresDialect` whose clients send DML as named queries, so PostgreSQL
 * parses and plans each statement once per connection instead of on every call (kysely sends
 * everything unnamed). Streaming through a cursor, DDL and transaction control pass through unchanged.
 *
 * - At most `maxPerConnection` statements are prepared on one connection; further texts (say, `in (…)`
 *   lists of every length) go unnamed, so server memory stays bounded.
 * - DDL sent through the pool (a migration) starts a new generation: each connection drops its prepared
 *   statements (`deallocate all`) before its next query outside a transaction, and prepares afresh under
 *   new names; inside a transaction it sends unnamed until then.
 * - A schema changed elsewhere (another process migrated) shows as PostgreSQL's "cached plan must not change
 *   result type": outside a transaction the query is retried once unnamed; in both cases a new generation
 *   starts, so the failure happens once, not once per statement and connection. A transaction that met it
 *   has failed and is not retried here.
 *
 * @example
 * const dialect = new PostgresDialect({ pool: preparingPool(new pg.Pool({ connectionString })) });
 */
export function preparingPool(
  pool: PostgresPool,
  maxPerConnection = DEFAULT_MAX_PREPARED_PER_CONNECTION,
): PostgresPool {
  let generation = 0;
  /** Whether a statement was named since the generation began (DDL before that has nothing to renew). */
  let namedSince = false;
  const renew = () => {
    generation += 1;
    namedSince = false;
  };
  // kysely keeps one connection object per client it gets, so each pg client gets one stable wrapper.
  const wrappers = new WeakMap<PostgresPoolClient, PostgresPoolClient>();

  const wrap = (client: PgClient): PostgresPoolClient => {
    const state: ConnectionState = { generation, names: new Map(), retired: 0 };

    /** The name to send `sql` under, or undefined to send it unnamed. */
    const nameFor = async (sql: string): Promise<string | undefined> => {
      if (state.generation !== generation) {
        const status = client.getTransactionStatus?.() ?? undefined;
        if (status === 'T' || status === 'E') return undefined; // unnamed until the transaction ends
        if (status === 'I') {
          await client.query('deallocate all', []);
        } else {
          // Older pg cannot tell whether a transaction is open: the old statements stay until the
          // connection closes, and still count against the bound.
          state.retired += state.names.size;
        }
        state.names.clear();
        state.generation = generation;
      }
      const known = state.names.get(sql);
      if (known !== undefined) return known;
      if (state.names.size + state.retired >= maxPerConnection || !isPreparable(sql)) return undefined;
      const name = statementName(sql, generation);
      state.names.set(sql, name);
      namedSince = true;
      return name;
    };

    async function run<R>(sql: string, parameters: ReadonlyArray<unknown>) {
      const name = await nameFor(sql);
      if (name === undefined) {
        const result = await client.query<R>(sql, parameters);
        if (namedSince && DDL.test(sql.replace(LEADING, ''))) renew();
        return result;
      }
      try {
        return await client.query<R>({ name, text: sql, values: [...parameters] });
      } catch (error) {
        if (!isStalePlan(error)) throw error;
        if (state.generation === generation) renew();
        const status = client.getTransactionStatus?.();
        if (status === 'T' || status === 'E') throw error;
        return client.query<R>(sql, parameters);
      }
    }

    function query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
    function query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
    function query<R>(
      sqlOrCursor: string | PostgresCursor<R>,
      parameters?: ReadonlyArray<unknown>,
    ): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
      if (typeof sqlOrCursor !== 'string') return client.query(sqlOrCursor);
      return run<R>(sqlOrCursor, parameters ?? []);
    }

    return { query, release: (destroy) => client.release(destroy) };
  };

  return {
    async connect() {
      const client = await pool.connect();
      let wrapper = wrappers.get(client);
      if (wrapper === undefined) {
        wrapper = wrap(client as unknown as PgClient);
        wrappers.set(client, wrapper);
      }
      return wrapper;
    },
    end: () => pool.end(),
  };
}
