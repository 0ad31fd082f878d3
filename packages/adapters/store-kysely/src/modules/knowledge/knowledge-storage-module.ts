import { type KnowledgeStorage, searchDocument } from '@kaiwa/core';
import { mysqlSearchText, postgresTsvector } from '../../search-syntax.js';
import { defineKyselyStorageModule } from '../storage-module.js';
import { KyselyVectorStore } from './kysely-vector-store.js';
import { knowledgeMigration } from './migrations/0009-knowledge.js';
import { knowledgeFullTextMigration } from './migrations/0014-knowledge-full-text.js';
import { knowledgeFullTextDocumentsOnlyMigration } from './migrations/0015-knowledge-full-text-documents-only.js';
import { textSearchFor } from './text-search.js';
import { type SqliteVecSearchOptions, vectorSearchFor } from './vector-search.js';

/**
 * `KnowledgeStorage`: vector indexes and knowledge chunks for retrieval (`VectorStore`), searched with
 * sqlite-vec on SQLite, pgvector's HNSW on PostgreSQL and an exact scan in the application on MariaDB/MySQL,
 * and the text of document chunks searched with the database's full-text search (FTS5, tsvector, FULLTEXT).
 * Chunks keep room, file and project ids without foreign keys (a chunk is deleted with its source by the
 * indexer, and the ids are what the permission filter matches), so it needs no other module.
 *
 * @example
 * const storage = createKyselyStorage({ db, dialect, modules: [knowledgeStorageModule] });
 * await storage.knowledge.ensureIndex({ name: 'knowledge', model, dimensions: 384 });
 */
export const knowledgeStorageModule = knowledgeStorageModuleWith();

/** The module with tuning the tests use (SQLite's vec0 path on small corpora); not exported from the package. */
export function knowledgeStorageModuleWith(options: SqliteVecSearchOptions = {}) {
  return defineKyselyStorageModule({
    name: 'knowledge',
    migrations: (dialect) => ({
      '0009_knowledge': knowledgeMigration(dialect),
      '0014_knowledge_full_text': knowledgeFullTextMigration(dialect, {
        searchDocument,
        postgresTsvector,
        mysqlSearchText,
      }),
      '0015_knowledge_full_text_documents_only': knowledgeFullTextDocumentsOnlyMigration(dialect),
    }),
    repositories: (context): KnowledgeStorage => ({
      knowledge: new KyselyVectorStore(
        context,
        vectorSearchFor(context.adapter.dialect, options),
        textSearchFor(context.adapter.dialect),
      ),
    }),
  });
}
