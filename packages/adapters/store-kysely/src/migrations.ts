import { type StoreDialect, searchDocument } from '@kaiwa/core';
import {
  type CreateTableBuilder,
  type Expression,
  type Kysely,
  type Migration,
  type MigrationProvider,
  Migrator,
  sql,
} from 'kysely';

/*
 * Versioned schema changes, defined in code so a bundled app needs no migration files on disk. Each
 * migration is frozen once released: a later change to the schema is a new entry, never an edit.
 */

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on today's table types.
type AnyDatabase = Kysely<any>;

function columnTypes(dialect: StoreDialect) {
  const postgres = dialect === 'postgres';
  const mysql = dialect === 'mysql';
  // PostgreSQL keys use the "C" collation: byte order makes ULID comparison cheap and range scans exact
  // whatever the database locale. MariaDB/MySQL tables default to utf8mb4_bin for the same reason (and
  // because utf8mb4_unicode_ci treats distinct emoji as equal).
  const key = (length: number): Expression<unknown> =>
    postgres ? sql.raw(`varchar(${length}) collate "C"`) : sql.raw(`varchar(${length})`);
  return {
    id: key(26),
    key,
    timestamp: key(24),
    date: key(10),
    boolean: sql.raw(dialect === 'sqlite' ? 'integer' : 'boolean'),
    integer: sql.raw('integer'),
    bigint: sql.raw('bigint'),
    /** Short free text, never indexed. */
    text: sql.raw('text'),
    /** Message text and JSON: MariaDB/MySQL TEXT stops at 65,535 bytes, one short of a 64 KiB message. */
    longText: sql.raw(mysql ? 'mediumtext' : 'text'),
  };
}

function createTable(
  db: AnyDatabase,
  dialect: StoreDialect,
  name: string,
): CreateTableBuilder<string, never> {
  const builder = db.schema.createTable(name);
  return dialect === 'mysql'
    ? builder.modifyEnd(sql`engine = InnoDB default charset = utf8mb4 collate = utf8mb4_bin`)
    : builder;
}

/**
 * Runs a migration's statements all or nothing where the database allows it. Kysely's Migrator wraps each
 * migration in a transaction on PostgreSQL only; SQLite's DDL is transactional too, so a savepoint does it
 * there. MariaDB/MySQL commit every DDL statement on their own: a failed migration leaves what it made.
 */
async function atomically(db: AnyDatabase, dialect: StoreDialect, work: () => Promise<void>): Promise<void> {
  if (dialect !== 'sqlite') return work();
  await sql`savepoint kaiwa_migration`.execute(db);
  try {
    await work();
  } catch (error) {
    await sql`rollback to kaiwa_migration`.execute(db);
    await sql`release kaiwa_migration`.execute(db);
    throw error;
  }
  await sql`release kaiwa_migration`.execute(db);
}

/** Every table and index of version 1. */
async function createInitialSchema(db: AnyDatabase, dialect: StoreDialect): Promise<void> {
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

function initialMigration(dialect: StoreDialect): Migration {
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

/**
 * SQLite: search rows of new messages are written in batches rather than in each send (see
 * search-index.ts). Messages above `indexed_row_id` are pending; existing messages are all indexed already.
 * The trigger keeps that true when rows are deleted for good (a room's messages go with the room): their
 * search rows go too, and if the largest row ids go, the watermark comes down so that SQLite, which hands
 * out the largest row id + 1, never gives a new message an id the indexer has already passed.
 * The other databases index in the row itself and need nothing.
 */
function deferredSearchIndexMigration(dialect: StoreDialect): Migration {
  return {
    async up(db) {
      if (dialect !== 'sqlite') return;
      await atomically(db, dialect, async () => {
        await sql`create table message_search_state (id integer primary key check (id = 1), indexed_row_id integer not null)`.execute(
          db,
        );
        await sql`insert into message_search_state (id, indexed_row_id) select 1, coalesce(max(row_id), 0) from messages`.execute(
          db,
        );
        await sql`create trigger messages_search_delete after delete on messages begin
          delete from message_search where rowid = old.row_id
            and old.row_id <= (select indexed_row_id from message_search_state);
          update message_search_state
            set indexed_row_id = min(indexed_row_id, coalesce((select max(row_id) from messages), 0));
        end`.execute(db);
      });
    },

    async down(db) {
      if (dialect !== 'sqlite') return;
      // Index what is pending, so that 0001's synchronous indexing finds a complete index.
      const pending = await sql<{ row_id: number; text: string }>`select row_id, text from messages
        where row_id > (select indexed_row_id from message_search_state) and deleted_at is null`.execute(db);
      for (const row of pending.rows) {
        const document = searchDocument(row.text);
        if (document !== '')
          await sql`insert into message_search (rowid, content) values (${row.row_id}, ${document})`.execute(
            db,
          );
      }
      await sql`drop trigger messages_search_delete`.execute(db);
      await sql`drop table message_search_state`.execute(db);
    },
  };
}

/** Per-room settings of features, such as the assistant's model and prompt. */
function roomSettingsMigration(dialect: StoreDialect): Migration {
  const type = columnTypes(dialect);
  return {
    async up(db) {
      await createTable(db, dialect, 'room_settings')
        .addColumn('room_id', type.id, (column) => column.notNull())
        .addColumn('key', type.key(64), (column) => column.notNull())
        .addColumn('value', type.longText, (column) => column.notNull())
        .addColumn('updated_at', type.timestamp, (column) => column.notNull())
        .addPrimaryKeyConstraint('room_settings_pkey', ['room_id', 'key'])
        .addForeignKeyConstraint('room_settings_room_fkey', ['room_id'], 'rooms', ['id'], (constraint) =>
          constraint.onDelete('cascade'),
        )
        .execute();
      await db.schema
        .createIndex('room_settings_key')
        .on('room_settings')
        .columns(['key', 'room_id'])
        .execute();
    },
    async down(db) {
      await db.schema.dropTable('room_settings').execute();
    },
  };
}

/**
 * Workflow definitions (every version kept), runs with their claims, the step records of each run, and the
 * webhook deliveries already accepted. Outputs and errors are JSON text.
 */
function workflowsMigration(dialect: StoreDialect): Migration {
  const type = columnTypes(dialect);
  return {
    async up(db) {
      await atomically(db, dialect, async () => {
        await createTable(db, dialect, 'workflow_definitions')
          .addColumn('id', type.key(64), (column) => column.notNull())
          .addColumn('version', type.integer, (column) => column.notNull())
          .addColumn('name', type.text, (column) => column.notNull())
          .addColumn('definition', type.longText, (column) => column.notNull())
          .addColumn('created_by', type.id, (column) => column.notNull())
          .addColumn('created_at', type.timestamp, (column) => column.notNull())
          .addPrimaryKeyConstraint('workflow_definitions_pkey', ['id', 'version'])
          .execute();

        await createTable(db, dialect, 'workflow_runs')
          .addColumn('id', type.id, (column) => column.notNull())
          .addColumn('workflow_id', type.key(64), (column) => column.notNull())
          .addColumn('workflow_version', type.integer, (column) => column.notNull())
          .addColumn('status', type.key(16), (column) => column.notNull())
          .addColumn('actor_id', type.id, (column) => column.notNull())
          .addColumn('trigger_payload', type.longText, (column) => column.notNull())
          .addColumn('error', type.longText)
          .addColumn('created_at', type.timestamp, (column) => column.notNull())
          .addColumn('started_at', type.timestamp)
          .addColumn('finished_at', type.timestamp)
          .addColumn('updated_at', type.timestamp, (column) => column.notNull())
          .addColumn('claimed_by', type.key(64))
          .addColumn('claimed_until', type.timestamp)
          .addPrimaryKeyConstraint('workflow_runs_pkey', ['id'])
          .execute();
        await db.schema
          .createIndex('workflow_runs_workflow')
          .on('workflow_runs')
          .columns(['workflow_id', 'id'])
          .execute();
        await db.schema
          .createIndex('workflow_runs_actor')
          .on('workflow_runs')
          .columns(['actor_id', 'id'])
          .execute();
        await db.schema
          .createIndex('workflow_runs_status')
          .on('workflow_runs')
          .columns(['status', 'id'])
          .execute();

        await createTable(db, dialect, 'workflow_steps')
          .addColumn('run_id', type.id, (column) => column.notNull())
          .addColumn('step_id', type.key(64), (column) => column.notNull())
          .addColumn('position', type.integer, (column) => column.notNull())
          .addColumn('type', type.key(64), (column) => column.notNull())
          .addColumn('status', type.key(16), (column) => column.notNull())
          .addColumn('attempts', type.integer, (column) => column.notNull())
          .addColumn('output', type.longText)
          .addColumn('error', type.longText)
          .addColumn('started_at', type.timestamp)
          .addColumn('finished_at', type.timestamp)
          .addColumn('updated_at', type.timestamp, (column) => column.notNull())
          .addPrimaryKeyConstraint('workflow_steps_pkey', ['run_id', 'step_id'])
          .addForeignKeyConstraint(
            'workflow_steps_run_fkey',
            ['run_id'],
            'workflow_runs',
            ['id'],
            (constraint) => constraint.onDelete('cascade'),
          )
          .execute();

        await createTable(db, dialect, 'workflow_webhook_deliveries')
          .addColumn('workflow_id', type.key(64), (column) => column.notNull())
          .addColumn('delivery_id', type.key(128), (column) => column.notNull())
          .addColumn('received_at', type.timestamp, (column) => column.notNull())
          .addPrimaryKeyConstraint('workflow_webhook_deliveries_pkey', ['workflow_id', 'delivery_id'])
          .execute();
        await db.schema
          .createIndex('workflow_webhook_deliveries_received')
          .on('workflow_webhook_deliveries')
          .columns(['received_at'])
          .execute();
      });
    },
    async down(db) {
      for (const table of [
        'workflow_webhook_deliveries',
        'workflow_steps',
        'workflow_runs',
        'workflow_definitions',
      ]) {
        await db.schema.dropTable(table).execute();
      }
    },
  };
}

/**
 * The platform layer: the inbox of inbound events (deduplicated per consumer), the outbox of outbound
 * calls (one idempotency key each, delivered in order per target) and the bridge's links and id mappings.
 * Key columns stay short enough for MariaDB/MySQL's 3072-byte index limit in utf8mb4.
 */
function platformBridgeMigration(dialect: StoreDialect): Migration {
  const type = columnTypes(dialect);
  return {
    async up(db) {
      await atomically(db, dialect, async () => {
        await createTable(db, dialect, 'platform_inbox')
          .addColumn('id', type.id, (column) => column.primaryKey())
          .addColumn('consumer', type.key(64), (column) => column.notNull())
          .addColumn('platform', type.key(32), (column) => column.notNull())
          .addColumn('event_id', type.key(191), (column) => column.notNull())
          .addColumn('event', type.longText, (column) => column.notNull())
          .addColumn('status', type.key(16), (column) => column.notNull())
          .addColumn('attempts', type.integer, (column) => column.notNull())
          .addColumn('available_at', type.timestamp, (column) => column.notNull())
          .addColumn('last_error', type.text)
          .addColumn('received_at', type.timestamp, (column) => column.notNull())
          .addColumn('finished_at', type.timestamp)
          .addUniqueConstraint('platform_inbox_event_unique', ['consumer', 'platform', 'event_id'])
          .execute();
        await db.schema
          .createIndex('platform_inbox_due')
          .on('platform_inbox')
          .columns(['consumer', 'status', 'available_at'])
          .execute();

        await createTable(db, dialect, 'platform_outbox')
          .addColumn('id', type.id, (column) => column.primaryKey())
          .addColumn('consumer', type.key(64), (column) => column.notNull())
          .addColumn('idempotency_key', type.key(191), (column) => column.notNull())
          .addColumn('platform', type.key(32), (column) => column.notNull())
          .addColumn('target', type.key(128), (column) => column.notNull())
          .addColumn('operation', type.key(16), (column) => column.notNull())
          .addColumn('payload', type.longText, (column) => column.notNull())
          .addColumn('meta', type.longText, (column) => column.notNull())
          .addColumn('status', type.key(16), (column) => column.notNull())
          .addColumn('attempts', type.integer, (column) => column.notNull())
          .addColumn('available_at', type.timestamp, (column) => column.notNull())
          .addColumn('last_error', type.text)
          .addColumn('result', type.longText)
          .addColumn('created_at', type.timestamp, (column) => column.notNull())
          .addColumn('finished_at', type.timestamp)
          .addUniqueConstraint('platform_outbox_key_unique', ['consumer', 'idempotency_key'])
          .execute();
        await db.schema
          .createIndex('platform_outbox_due')
          .on('platform_outbox')
          .columns(['consumer', 'status', 'available_at'])
          .execute();
        await db.schema
          .createIndex('platform_outbox_target')
          .on('platform_outbox')
          .columns(['consumer', 'platform', 'target', 'status', 'id'])
          .execute();

        await createTable(db, dialect, 'bridge_endpoints')
          .addColumn('bridge_id', type.key(64), (column) => column.notNull())
          .addColumn('platform', type.key(32), (column) => column.notNull())
          .addColumn('channel_id', type.key(128), (column) => column.notNull())
          .addColumn('created_at', type.timestamp, (column) => column.notNull())
          .addPrimaryKeyConstraint('bridge_endpoints_pkey', ['bridge_id', 'platform', 'channel_id'])
          .execute();
        await db.schema
          .createIndex('bridge_endpoints_channel')
          .on('bridge_endpoints')
          .columns(['platform', 'channel_id'])
          .execute();

        await createTable(db, dialect, 'bridge_messages')
          .addColumn('bridge_id', type.key(64), (column) => column.notNull())
          .addColumn('group_id', type.id, (column) => column.notNull())
          .addColumn('platform', type.key(32), (column) => column.notNull())
          .addColumn('channel_id', type.key(128), (column) => column.notNull())
          .addColumn('message_id', type.key(128), (column) => column.notNull())
          .addColumn('thread_id', type.key(128))
          .addColumn('role', type.key(8), (column) => column.notNull())
          .addColumn('created_at', type.timestamp, (column) => column.notNull())
          .addPrimaryKeyConstraint('bridge_messages_pkey', [
            'bridge_id',
            'platform',
            'channel_id',
            'message_id',
          ])
          .execute();
        await db.schema
          .createIndex('bridge_messages_group')
          .on('bridge_messages')
          .columns(['bridge_id', 'group_id'])
          .execute();
        await db.schema
          .createIndex('bridge_messages_platform_message')
          .on('bridge_messages')
          .columns(['platform', 'channel_id', 'message_id'])
          .execute();
      });
    },
    async down(db) {
      for (const table of ['bridge_messages', 'bridge_endpoints', 'platform_outbox', 'platform_inbox']) {
        await db.schema.dropTable(table).execute();
      }
    },
  };
}

/**
 * Deactivated users (their messages stay, they cannot sign in) and an index on refresh-token revocation
 * times, which the server reads at start and now and then to rebuild its set of revoked sessions.
 */
function userDeactivationMigration(dialect: StoreDialect): Migration {
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

/**
 * The audit log: one row per entry, keyed by its sequence number, and a one-row chain head that every
 * append locks (an UPDATE) until it commits, so appends from any number of connections or instances happen
 * one at a time and never fork the chain. The head starts at seq 0 and the genesis hash (64 zeros).
 */
function auditLogMigration(dialect: StoreDialect): Migration {
  const type = columnTypes(dialect);
  return {
    async up(db) {
      await atomically(db, dialect, async () => {
        await createTable(db, dialect, 'audit_log')
          .addColumn('seq', type.bigint, (column) => column.notNull().primaryKey())
          .addColumn('id', type.id, (column) => column.notNull())
          .addColumn('at', type.timestamp, (column) => column.notNull())
          .addColumn('actor_id', type.id)
          .addColumn('action', type.key(64), (column) => column.notNull())
          .addColumn('target_type', type.key(32))
          .addColumn('target_id', type.key(128))
          .addColumn('outcome', type.key(16), (column) => column.notNull())
          .addColumn('request_id', type.key(128))
          .addColumn('remote_address', type.key(64))
          .addColumn('details', type.longText, (column) => column.notNull())
          .addColumn('previous_hash', type.key(64), (column) => column.notNull())
          .addColumn('hash', type.key(64), (column) => column.notNull())
          .addUniqueConstraint('audit_log_id_unique', ['id'])
          .execute();
        await db.schema.createIndex('audit_log_action').on('audit_log').columns(['action', 'seq']).execute();
        await db.schema.createIndex('audit_log_actor').on('audit_log').columns(['actor_id', 'seq']).execute();
        await db.schema
          .createIndex('audit_log_target')
          .on('audit_log')
          .columns(['target_type', 'target_id', 'seq'])
          .execute();
        await db.schema.createIndex('audit_log_at').on('audit_log').column('at').execute();
        await createTable(db, dialect, 'audit_chain_head')
          .addColumn('id', type.integer, (column) => column.notNull().primaryKey())
          .addColumn('seq', type.bigint, (column) => column.notNull())
          .addColumn('hash', type.key(64), (column) => column.notNull())
          .execute();
        await db
          .insertInto('audit_chain_head')
          .values({ id: 1, seq: 0, hash: '0'.repeat(64) })
          .execute();
      });
    },
    async down(db) {
      await db.schema.dropTable('audit_chain_head').execute();
      await db.schema.dropTable('audit_log').execute();
    },
  };
}

/**
 * Room names are unique among channels only: private groups may share a name with each other (and with a
 * channel), so creating a group can no longer reveal that a private group of that name exists. PostgreSQL
 * and SQLite get a partial unique index; MariaDB/MySQL have no partial indexes, so a stored generated
 * column holds the name of channels only (NULL otherwise, and NULLs never collide) under a unique index.
 * SQLite cannot drop a table constraint, so there the rooms table is rebuilt from its own stored
 * definition minus `rooms_name_unique` (any column added since comes along), with foreign keys off for the
 * swap, as SQLite's documented table-rebuild procedure asks.
 */
function privateRoomNamesMigration(dialect: StoreDialect): Migration {
  return {
    async up(db) {
      if (dialect === 'postgres') {
        // A constraint when created by 0001, an index after this migration's own `down`.
        await sql`alter table rooms drop constraint if exists rooms_name_unique`.execute(db);
        await sql`drop index if exists rooms_name_unique`.execute(db);
        await sql`create unique index rooms_channel_name_unique on rooms (name) where kind = 'channel'`.execute(
          db,
        );
        await sql`create index rooms_name on rooms (name)`.execute(db);
        return;
      }
      if (dialect === 'mysql') {
        await sql`alter table rooms add column channel_name varchar(64) as (case when kind = 'channel' then name end) stored`.execute(
          db,
        );
        await sql`create unique index rooms_channel_name_unique on rooms (channel_name)`.execute(db);
        await sql`create index rooms_name on rooms (name)`.execute(db);
        await sql`alter table rooms drop index rooms_name_unique`.execute(db);
        return;
      }
      // After this migration's own `down`, the name is unique through an index, not the table constraint.
      const downgraded = await sql<{
        name: string;
      }>`select name from sqlite_master where type = 'index' and name = 'rooms_name_unique'`.execute(db);
      if (downgraded.rows.length > 0) {
        await atomically(db, dialect, async () => {
          await sql`drop index rooms_name_unique`.execute(db);
          await sql`create unique index rooms_channel_name_unique on rooms (name) where kind = 'channel'`.execute(
            db,
          );
          await sql`create index rooms_name on rooms (name)`.execute(db);
        });
        return;
      }
      // Outside any transaction, or the pragma does nothing.
      await sql`pragma foreign_keys = off`.execute(db);
      try {
        await atomically(db, dialect, async () => {
          const table = await sql<{
            sql: string;
          }>`select sql from sqlite_master where type = 'table' and name = 'rooms'`.execute(db);
          const definition = table.rows[0]?.sql ?? '';
          const withoutName = definition.replace(
            /,\s*constraint\s+"rooms_name_unique"\s+unique\s*\("name"\)/i,
            '',
          );
          if (withoutName === definition) throw new Error('rooms_name_unique not found in the rooms table');
          const indexes = await sql<{
            sql: string;
          }>`select sql from sqlite_master where type in ('index', 'trigger') and tbl_name = 'rooms' and sql is not null`.execute(
            db,
          );
          await sql
            .raw(withoutName.replace(/^create table "rooms"/i, 'create table "rooms_0008"'))
            .execute(db);
          await sql`insert into rooms_0008 select * from rooms`.execute(db);
          await sql`drop table rooms`.execute(db);
          await sql`alter table rooms_0008 rename to rooms`.execute(db);
          for (const index of indexes.rows) await sql.raw(index.sql).execute(db);
          await sql`create unique index rooms_channel_name_unique on rooms (name) where kind = 'channel'`.execute(
            db,
          );
          await sql`create index rooms_name on rooms (name)`.execute(db);
          const broken = await sql`pragma foreign_key_check`.execute(db);
          if (broken.rows.length > 0) throw new Error('rebuilding rooms broke a foreign key');
        });
      } finally {
        await sql`pragma foreign_keys = on`.execute(db);
      }
    },
    async down(db) {
      // Global uniqueness again: fails while two rooms share a name, which is the point.
      if (dialect === 'mysql') {
        await sql`create unique index rooms_name_unique on rooms (name)`.execute(db);
        await sql`alter table rooms drop index rooms_name`.execute(db);
        await sql`alter table rooms drop index rooms_channel_name_unique`.execute(db);
        await sql`alter table rooms drop column channel_name`.execute(db);
        return;
      }
      await sql`drop index rooms_channel_name_unique`.execute(db);
      await sql`drop index rooms_name`.execute(db);
      await sql`create unique index rooms_name_unique on rooms (name)`.execute(db);
    },
  };
}

/**
 * Every migration for one dialect, by name. Names sort in the order they run.
 */
export function kaiwaMigrations(dialect: StoreDialect): Record<string, Migration> {
  return {
    '0001_initial': initialMigration(dialect),
    '0002_deferred_search_index': deferredSearchIndexMigration(dialect),
    '0003_room_settings': roomSettingsMigration(dialect),
    '0004_workflows': workflowsMigration(dialect),
    '0005_platform_bridge': platformBridgeMigration(dialect),
    '0006_user_deactivation': userDeactivationMigration(dialect),
    '0007_audit_log': auditLogMigration(dialect),
    '0008_private_room_names': privateRoomNamesMigration(dialect),
  };
}

/** Hands kysely's `Migrator` the migrations defined in this file. */
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
  const migrationTableSchema =
    dialect === 'postgres'
      ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(db)).rows[0]?.schema
      : undefined;
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
