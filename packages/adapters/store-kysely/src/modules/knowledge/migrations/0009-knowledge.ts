import { type Migration, sql } from 'kysely';
import {
  atomically,
  columnTypes,
  createTable,
  type MigrationDialect,
} from '../../../migrations/frozen-helpers-v1.js';

/* Frozen: released migrations are never edited; a schema change is a new migration file. */

/**
 * Knowledge for retrieval: vector indexes (one embedding model and dimension each) and their chunks. Only
 * new tables, so it is safe on every existing database. The vector is stored as little-endian float32
 * bytes everywhere, which needs no extension; PostgreSQL's pgvector column and HNSW index are added by the
 * store when pgvector is there (an extension a migration cannot count on).
 */
export function knowledgeMigration(dialect: MigrationDialect): Migration {
  const type = columnTypes(dialect);
  const blob = sql.raw(dialect === 'postgres' ? 'bytea' : dialect === 'mysql' ? 'longblob' : 'blob');
  return {
    async up(db) {
      await atomically(db, dialect, async () => {
        await createTable(db, dialect, 'knowledge_indexes')
          .addColumn('name', type.key(128), (column) => column.notNull().primaryKey())
          .addColumn('model', type.key(255), (column) => column.notNull())
          .addColumn('dimensions', type.integer, (column) => column.notNull())
          .addColumn('created_at', type.timestamp, (column) => column.notNull())
          .execute();
        await createTable(db, dialect, 'knowledge_chunks')
          .addColumn('index_name', type.key(128), (column) =>
            column.notNull().references('knowledge_indexes.name').onDelete('cascade'),
          )
          .addColumn('id', type.key(255), (column) => column.notNull())
          .addColumn('source_type', type.key(16), (column) => column.notNull())
          .addColumn('source_id', type.key(128), (column) => column.notNull())
          .addColumn('room_id', type.id)
          .addColumn('project_id', type.id)
          .addColumn('file_id', type.id)
          .addColumn('page', type.integer)
          .addColumn('text', type.longText, (column) => column.notNull())
          .addColumn('metadata', type.longText, (column) => column.notNull())
          .addColumn('embedding', blob, (column) => column.notNull())
          .addPrimaryKeyConstraint('knowledge_chunks_pk', ['index_name', 'id'])
          .execute();
        await db.schema
          .createIndex('knowledge_chunks_source')
          .on('knowledge_chunks')
          .columns(['index_name', 'source_type', 'source_id'])
          .execute();
        for (const column of ['room_id', 'project_id', 'file_id']) {
          await db.schema
            .createIndex(`knowledge_chunks_${column}`)
            .on('knowledge_chunks')
            .columns(['index_name', column])
            .execute();
        }
      });
    },
    async down(db) {
      await db.schema.dropTable('knowledge_chunks').execute();
      await db.schema.dropTable('knowledge_indexes').execute();
    },
  };
}
