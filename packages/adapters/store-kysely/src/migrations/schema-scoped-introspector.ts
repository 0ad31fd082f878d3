import {
  type DatabaseIntrospector,
  type DatabaseMetadata,
  type DatabaseMetadataOptions,
  DEFAULT_MIGRATION_LOCK_TABLE,
  DEFAULT_MIGRATION_TABLE,
  type Kysely,
  type SchemaMetadata,
  sql,
  type TableMetadata,
} from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on today's table types.
type AnyDatabase = Kysely<any>;

/**
 * What kysely's `Migrator` asks a PostgreSQL database (does its schema exist, which tables are there), answered
 * from the one schema the migrations write to.
 *
 * Kysely's own PostgreSQL introspector reads every column of every schema and calls `has_schema_privilege` on
 * each schema's name; when another schema of the database is dropped meanwhile (another tenant's, another
 * test file's) that call fails with "schema … does not exist", and the migration with it. It also grows with
 * every schema in the database. Tables come back by name only, without columns: all the Migrator reads.
 */
export class SchemaScopedPostgresIntrospector implements DatabaseIntrospector {
  readonly #db: AnyDatabase;
  readonly #schema: string;

  constructor(db: AnyDatabase, schema: string) {
    this.#db = db;
    this.#schema = schema;
  }

  async getSchemas(): Promise<SchemaMetadata[]> {
    const { rows } = await sql<SchemaMetadata>`
      select nspname as name from pg_catalog.pg_namespace where nspname = ${this.#schema}`.execute(this.#db);
    return rows;
  }

  async getTables(options?: DatabaseMetadataOptions): Promise<TableMetadata[]> {
    const internal = options?.withInternalKyselyTables === true;
    const { rows } = await sql<{ name: string; kind: string }>`
      select c.relname as name, c.relkind as kind
        from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
       where n.nspname = ${this.#schema} and c.relkind in ('r', 'p', 'v', 'm', 'f')
       order by c.relname`.execute(this.#db);
    const kyselyTables = [DEFAULT_MIGRATION_TABLE, DEFAULT_MIGRATION_LOCK_TABLE];
    return rows
      .filter((row) => internal || !kyselyTables.includes(row.name))
      .map((row) => ({
        name: row.name,
        schema: this.#schema,
        isView: row.kind === 'v' || row.kind === 'm',
        columns: [],
      }));
  }

  async getMetadata(options?: DatabaseMetadataOptions): Promise<DatabaseMetadata> {
    return { tables: await this.getTables(options) };
  }
}

/** `db`, but its `introspection` is `introspector`; everything else is `db`'s own. */
export function withIntrospector(db: AnyDatabase, introspector: DatabaseIntrospector): AnyDatabase {
  return new Proxy(db, {
    get(target, key) {
      if (key === 'introspection') return introspector;
      const value: unknown = Reflect.get(target, key);
      // Kysely keeps its state in private fields, which only the instance itself may read.
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
