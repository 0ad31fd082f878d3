import { type Migration, sql } from 'kysely';
import {
  type AnyDatabase,
  atomically,
  columnTypes,
  createTable,
  type MigrationDialect,
} from '../../../migrations/frozen-helpers-v1.js';

/* Frozen: released migrations are never edited; a schema change is a new migration file. */

/** Every table and index of version 1. */
async function createInitialSchema(db: AnyDatabase, dialect: MigrationDialect): Promise<void> {
  const type = columnTypes(dialect);

  await createTable(db, dialect, 'users')
    .addColumn('id', type.id, (column) => column.notNull())
    .addColumn('username', type.key(32), (column) => column.notNull())
    .addColumn('display_name', type.text, (column) => column.notNull())
    .addColumn('role', type.key(16), (column) => column.notNull())
    .addColumn('force_password_change', type.boolean, (column) => column.notNull())
    .addColumn('created_at', type.timestamp, (column) => column.notNull())
    .addColumn('updated_at', type.timestamp, (column) => column.notNull())
    .addPrimaryKeyConstraint('users_pkey', ['id'])
    .addUniqueConstraint('users_username_unique', ['username'])
    .execute();
  await db.schema.createIndex('users_role').on('users').columns(['role', 'id']).execute();

  await createTable(db, dialect, 'rooms')
    .addColumn('id', type.id, (column) => column.notNull())
    .addColumn('kind', type.key(16), (column) => column.notNull())
    .addColumn('name', type.key(64))
    .addColumn('direct_key', type.key(64))
    .addColumn('topic', type.text, (column) => column.notNull())
    .addColumn('archived', type.boolean, (column) => column.notNull())
    .addColumn('created_by', type.id, (column) => column.notNull())
    .addColumn('last_seq', type.bigint, (column) => column.notNull().defaultTo(0))
    .addColumn('created_at', type.timestamp, (column) => column.notNull())
    .addColumn('updated_at', type.timestamp, (column) => column.notNull())
    .addPrimaryKeyConstraint('rooms_pkey', ['id'])
    .addUniqueConstraint('rooms_name_unique', ['name'])
    .addUniqueConstraint('rooms_direct_key_unique', ['direct_key'])
    .addForeignKeyConstraint('rooms_created_by_fkey', ['created_by'], 'users', ['id'])
    .execute();
  await db.schema.createIndex('rooms_kind').on('rooms').columns(['kind', 'id']).execute();
  await db.schema.createIndex('rooms_created_by').on('rooms').column('created_by').execute();

  await createTable(db, dialect, 'memberships')
    .addColumn('room_id', type.id, (column) => column.notNull())
    .addColumn('user_id', type.id, (column) => column.notNull())
    .addColumn('role', type.key(16), (column) => column.notNull())
    .addColumn('last_read_message_id', type.id)
    .addColumn('muted', type.boolean, (column) => column.notNull())
    .addColumn('joined_at', type.timestamp, (column) => column.notNull())
    .addPrimaryKeyConstraint('memberships_pkey', ['room_id', 'user_id'])
    .addForeignKeyConstraint('memberships_room_fkey', ['room_id'], 'rooms', ['id'], (constraint) =>
      constraint.onDelete('cascade'),
    )
    .addForeignKeyConstraint('memberships_user_fkey', ['user_id'], 'users', ['id'], (constraint) =>
      constraint.onDelete('cascade'),
    )
    .execute();
  await db.schema.createIndex('memberships_user').on('memberships').columns(['user_id', 'room_id']).execute();

  let messages = createTable(db, dialect, 'messages');
  if (dialect === 'sqlite') {
    // An explicit INTEGER PRIMARY KEY keeps rowids stable across VACUUM, so the FTS5 row can point at
    // it. The table's layout is the same as with a text primary key: a rowid tree plus a unique index.
    messages = messages
      .addColumn('row_id', 'integer', (column) => column.primaryKey())
      .addColumn('id', type.id, (column) => column.notNull())
      .addUniqueConstraint('messages_pkey', ['id']);
  } else {
    messages = messages
      .addColumn('id', type.id, (column) => column.notNull())
      .addPrimaryKeyConstraint('messages_pkey', ['id']);
  }
  messages = messages
    .addColumn('room_id', type.id, (column) => column.notNull())
    .addColumn('author_id', type.id, (column) => column.notNull())
    .addColumn('seq', type.integer, (column) => column.notNull())
    .addColumn('text', type.longText, (column) => column.notNull())
    .addColumn('mentions', type.longText, (column) => column.notNull())
    .addColumn('thread_root_id', type.id)
    .addColumn('reply_to_id', type.id)
    .addColumn('attachments', type.longText, (column) => column.notNull())
    .addColumn('reply_count', type.integer, (column) => column.notNull().defaultTo(0))
    .addColumn('last_reply_at', type.timestamp)
    .addColumn('client_message_id', type.key(64))
    .addColumn('metadata', type.longText, (column) => column.notNull())
    .addColumn('created_at', type.timestamp, (column) => column.notNull())
    .addColumn('edited_at', type.timestamp)
    .addColumn('deleted_at', type.timestamp)
    .addForeignKeyConstraint('messages_room_fkey', ['room_id'], 'rooms', ['id'], (constraint) =>
      constraint.onDelete('cascade'),
    )
    .addForeignKeyConstraint('messages_author_fkey', ['author_id'], 'users', ['id']);
  if (dialect === 'postgres') {
    messages = messages.addColumn('search_vector', sql`tsvector`, (column) =>
      column.notNull().defaultTo(sql`''::tsvector`),
    );
  } else if (dialect === 'mysql') {
    // Hex-encoded terms are plain ASCII words; see search-syntax.ts.
    messages = messages.addColumn(
      'search_text',
      sql`mediumtext character set ascii collate ascii_general_ci`,
    );
  }
  await messages.execute();
  // The room timeline, by (room_id, id). The trailing columns make unread counts index-only: a room read
  // long ago counts thousands of rows, and the filters on thread, deletion and author need no row reads.
  await db.schema
    .createIndex('messages_room')
    .on('messages')
    .columns(['room_id', 'id', 'thread_root_id', 'deleted_at', 'author_id'])
    .execute();
  await db.schema.createIndex('messages_author').on('messages').columns(['author_id', 'id']).execute();
  // Most messages are not replies: where the dialect allows, the thread index holds only replies, which
  // keeps it small and cheap to write, and keeps the timeline query (thread_root_id IS NULL) off it.
  let threadIndex = db.schema.createIndex('messages_thread').on('messages').columns(['thread_root_id', 'id']);
  if (dialect !== 'mysql') threadIndex = threadIndex.where('thread_root_id', 'is not', null);
  await threadIndex.execute();
  // NULL client message ids never clash, so messages sent without one are not limited.
  await db.schema
    .createIndex('messages_author_client_message_id_unique')
    .on('messages')
    .columns(['author_id', 'client_message_id'])
    .unique()
    .execute();
  if (dialect === 'sqlite') {
    // Contentless: the terms live only in the index (the message keeps its text), and contentless_delete
    // lets edits and deletions take rows out again. Marks join the token characters so FTS5 keeps each
    // of core's terms whole (by default it splits words such as हिन्दी at their combining marks).
    await sql`create virtual table message_search using fts5(content, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 0 categories ''L* N* Co M*''')`.execute(
      db,
    );
  } else if (dialect === 'postgres') {
    await sql`create index messages_search on messages using gin (search_vector)`.execute(db);
  } else {
    await sql`create fulltext index messages_search on messages (search_text)`.execute(db);
  }

  await createTable(db, dialect, 'reactions')
    .addColumn('message_id', type.id, (column) => column.notNull())
    .addColumn('emoji', type.key(64), (column) => column.notNull())
    .addColumn('user_id', type.id, (column) => column.notNull())
    .addColumn('created_at', type.timestamp, (column) => column.notNull())
    .addPrimaryKeyConstraint('reactions_pkey', ['message_id', 'emoji', 'user_id'])
    .addForeignKeyConstraint('reactions_message_fkey', ['message_id'], 'messages', ['id'], (constraint) =>
      constraint.onDelete('cascade'),
    )
    .addForeignKeyConstraint('reactions_user_fkey', ['user_id'], 'users', ['id'], (constraint) =>
      constraint.onDelete('cascade'),
    )
    .execute();
  await db.schema.createIndex('reactions_user').on('reactions').column('user_id').execute();

  await createTable(db, dialect, 'room_events')
    .addColumn('room_id', type.id, (column) => column.notNull())
    .addColumn('seq', type.bigint, (column) => column.notNull())
    .addColumn('type', type.key(32), (column) => column.notNull())
    .addColumn('payload', type.longText, (column) => column.notNull())
    .addColumn('created_at', type.timestamp, (column) => column.notNull())
    .addPrimaryKeyConstraint('room_events_pkey', ['room_id', 'seq'])
    .addForeignKeyConstraint('room_events_room_fkey', ['room_id'], 'rooms', ['id'], (constraint) =>
      constraint.onDelete('cascade'),
    )
    .execute();

  await createTable(db, dialect, 'projects')
    .addColumn('id', type.id, (column) => column.notNull())
    .addColumn('name', type.text, (column) => column.notNull())
    .addColumn('description', type.longText, (column) => column.notNull())
    .addColumn('status', type.key(16), (column) => column.notNull())
    .addColumn('owner_id', type.id, (column) => column.notNull())
    .addColumn('created_at', type.timestamp, (column) => column.notNull())
    .addColumn('updated_at', type.timestamp, (column) => column.notNull())
    .addPrimaryKeyConstraint('projects_pkey', ['id'])
    .addForeignKeyConstraint('projects_owner_fkey', ['owner_id'], 'users', ['id'])
    .execute();
  await db.schema.createIndex('projects_status').on('projects').columns(['status', 'id']).execute();
  await db.schema.createIndex('projects_owner').on('projects').columns(['owner_id', 'id']).execute();

  await createTable(db, dialect, 'tickets')
    .addColumn('id', type.id, (column) => column.notNull())
    .addColumn('project_id', type.id, (column) => column.notNull())
    .addColumn('title', type.text, (column) => column.notNull())
    .addColumn('description', type.longText, (column) => column.notNull())
    .addColumn('status', type.key(16), (column) => column.notNull())
    .addColumn('priority', type.key(16), (column) => column.notNull())
    .addColumn('reporter_id', type.id, (column) => column.notNull())
    .addColumn('assignee_id', type.id)
    .addColumn('due_date', type.date)
    .addColumn('labels', type.longText, (column) => column.notNull())
    .addColumn('created_at', type.timestamp, (column) => column.notNull())
    .addColumn('updated_at', type.timestamp, (column) => column.notNull())
    .addPrimaryKeyConstraint('tickets_pkey', ['id'])
    .addForeignKeyConstraint('tickets_project_fkey', ['project_id'], 'projects', ['id'], (constraint) =>
      constraint.onDelete('cascade'),
    )
    .addForeignKeyConstraint('tickets_reporter_fkey', ['reporter_id'], 'users', ['id'])
    .addForeignKeyConstraint('tickets_assignee_fkey', ['assignee_id'], 'users', ['id'], (constraint) =>
      constraint.onDelete('set null'),
    )
    .execute();
  await db.schema.createIndex('tickets_project').on('tickets').columns(['project_id', 'id']).execute();
  await db.schema.createIndex('tickets_status').on('tickets').columns(['status', 'id']).execute();
  await db.schema.createIndex('tickets_assignee').on('tickets').columns(['assignee_id', 'id']).execute();
  await db.schema.createIndex('tickets_priority').on('tickets').columns(['priority', 'id']).execute();
  await db.schema.createIndex('tickets_due_date').on('tickets').columns(['due_date', 'id']).execute();
  await db.schema.createIndex('tickets_reporter').on('tickets').column('reporter_id').execute();

  await createTable(db, dialect, 'files')
    .addColumn('id', type.id, (column) => column.notNull())
    .addColumn('name', type.text, (column) => column.notNull())
    .addColumn('mime_type', type.key(255), (column) => column.notNull())
    .addColumn('size', type.bigint, (column) => column.notNull())
    .addColumn('sha256', type.key(64), (column) => column.notNull())
    .addColumn('storage_key', type.text, (column) => column.notNull())
    .addColumn('uploader_id', type.id, (column) => column.notNull())
    .addColumn('room_id', type.id)
    .addColumn('project_id', type.id)
    .addColumn('ticket_id', type.id)
    .addColumn('created_at', type.timestamp, (column) => column.notNull())
    .addPrimaryKeyConstraint('files_pkey', ['id'])
    .addForeignKeyConstraint('files_uploader_fkey', ['uploader_id'], 'users', ['id'])
    .addForeignKeyConstraint('files_room_fkey', ['room_id'], 'rooms', ['id'], (constraint) =>
      constraint.onDelete('set null'),
    )
    .addForeignKeyConstraint('files_project_fkey', ['project_id'], 'projects', ['id'], (constraint) =>
      constraint.onDelete('set null'),
    )
    .addForeignKeyConstraint('files_ticket_fkey', ['ticket_id'], 'tickets', ['id'], (constraint) =>
      constraint.onDelete('set null'),
    )
    .execute();
  await db.schema.createIndex('files_project').on('files').columns(['project_id', 'id']).execute();
  await db.schema.createIndex('files_ticket').on('files').columns(['ticket_id', 'id']).execute();
  await db.schema.createIndex('files_room').on('files').columns(['room_id', 'id']).execute();
  await db.schema.createIndex('files_mime_type').on('files').columns(['mime_type', 'id']).execute();
  await db.schema.createIndex('files_uploader').on('files').column('uploader_id').execute();

  await createTable(db, dialect, 'user_passwords')
    .addColumn('user_id', type.id, (column) => column.notNull())
    .addColumn('password_hash', type.text, (column) => column.notNull())
    .addColumn('updated_at', type.timestamp, (column) => column.notNull())
    .addPrimaryKeyConstraint('user_passwords_pkey', ['user_id'])
    .addForeignKeyConstraint('user_passwords_user_fkey', ['user_id'], 'users', ['id'], (constraint) =>
      constraint.onDelete('cascade'),
    )
    .execute();

  await createTable(db, dialect, 'refresh_tokens')
    .addColumn('id', type.id, (column) => column.notNull())
    .addColumn('user_id', type.id, (column) => column.notNull())
    .addColumn('token_hash', type.key(64), (column) => column.notNull())
    .addColumn('family_id', type.id, (column) => column.notNull())
    .addColumn('created_at', type.timestamp, (column) => column.notNull())
    .addColumn('expires_at', type.timestamp, (column) => column.notNull())
    .addColumn('revoked_at', type.timestamp)
    .addPrimaryKeyConstraint('refresh_tokens_pkey', ['id'])
    .addUniqueConstraint('refresh_tokens_token_hash_unique', ['token_hash'])
    .addForeignKeyConstraint('refresh_tokens_user_fkey', ['user_id'], 'users', ['id'], (constraint) =>
      constraint.onDelete('cascade'),
    )
    .execute();
  await db.schema.createIndex('refresh_tokens_family').on('refresh_tokens').column('family_id').execute();
  await db.schema.createIndex('refresh_tokens_user').on('refresh_tokens').column('user_id').execute();

  await createTable(db, dialect, 'api_keys')
    .addColumn('id', type.id, (column) => column.notNull())
    .addColumn('user_id', type.id, (column) => column.notNull())
    .addColumn('name', type.text, (column) => column.notNull())
    .addColumn('key_hash', type.key(64), (column) => column.notNull())
    .addColumn('created_at', type.timestamp, (column) => column.notNull())
    .addColumn('last_used_at', type.timestamp)
    .addColumn('revoked_at', type.timestamp)
    .addPrimaryKeyConstraint('api_keys_pkey', ['id'])
    .addUniqueConstraint('api_keys_key_hash_unique', ['key_hash'])
    .addForeignKeyConstraint('api_keys_user_fkey', ['user_id'], 'users', ['id'], (constraint) =>
      constraint.onDelete('cascade'),
    )
    .execute();
  await db.schema.createIndex('api_keys_user').on('api_keys').columns(['user_id', 'id']).execute();
}

export function initialMigration(dialect: MigrationDialect): Migration {
  return {
    up: (db) => atomically(db, dialect, () => createInitialSchema(db, dialect)),

    async down(db) {
      for (const table of [
        'api_keys',
        'refresh_tokens',
        'user_passwords',
        'files',
        'tickets',
        'projects',
        'room_events',
        'reactions',
      ]) {
        await db.schema.dropTable(table).execute();
      }
      if (dialect === 'sqlite') await sql`drop table message_search`.execute(db);
      for (const table of ['messages', 'memberships', 'rooms', 'users']) {
        await db.schema.dropTable(table).execute();
      }
    },
  };
}
