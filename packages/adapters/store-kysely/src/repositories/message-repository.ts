import {
  type Attachment,
  type Mentions,
  type Message,
  type MessagePageQuery,
  type MessageRepository,
  type MessageSearchQuery,
  type Metadata,
  type ReactionSummary,
  type StoredMessage,
  searchDocument,
  searchTerms,
} from '@kaiwa/core';
import {
  CompiledQuery,
  type Insertable,
  type Kysely,
  type QueryResult,
  type Selectable,
  sql,
  type Updateable,
} from 'kysely';
import type { KaiwaDatabase, MessagesTable } from '../database.js';
import {
  mysqlSearchQuery,
  mysqlSearchText,
  postgresTsquery,
  postgresTsvector,
  sqliteMatchQuery,
} from '../search-syntax.js';
import { asConflictError, uniqueViolation } from '../unique-violations.js';
import type { RepositoryContext } from './repository-context.js';

/** Every column a message is read from; the search columns stay in the database. */
const MESSAGE_COLUMNS = [
  'id',
  'room_id',
  'author_id',
  'seq',
  'text',
  'mentions',
  'thread_root_id',
  'reply_to_id',
  'attachments',
  'reply_count',
  'last_reply_at',
  'client_message_id',
  'metadata',
  'created_at',
  'edited_at',
  'deleted_at',
] as const;

type MessageRow = Pick<Selectable<MessagesTable>, (typeof MESSAGE_COLUMNS)[number]>;

const CLIENT_MESSAGE_ID_KEY = 'messages_author_client_message_id_unique';

/** SQLite: a message's terms go in under the message's row_id. */
const INSERT_SEARCH_ROW = 'insert into message_search (rowid, content) values (?, ?)';

function toMessage(row: MessageRow, reactions: ReactionSummary[]): Message {
  return {
    id: row.id,
    roomId: row.room_id,
    authorId: row.author_id,
    seq: Number(row.seq),
    text: row.text,
    mentions: JSON.parse(row.mentions) as Mentions,
    threadRootId: row.thread_root_id,
    replyToId: row.reply_to_id,
    attachments: JSON.parse(row.attachments) as Attachment[],
    reactions,
    replyCount: Number(row.reply_count),
    lastReplyAt: row.last_reply_at,
    clientMessageId: row.client_message_id,
    metadata: JSON.parse(row.metadata) as Metadata,
    createdAt: row.created_at,
    editedAt: row.edited_at,
    deletedAt: row.deleted_at,
  };
}

export class KyselyMessageRepository implements MessageRepository {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  async insert(message: StoredMessage): Promise<'inserted' | 'duplicate'> {
    const { db, dialect, prepared } = this.#context;
    const document = message.deletedAt === null ? searchDocument(message.text) : '';
    const row: Insertable<MessagesTable> = {
      id: message.id,
      room_id: message.roomId,
      author_id: message.authorId,
      seq: message.seq,
      text: message.text,
      mentions: JSON.stringify(message.mentions),
      thread_root_id: message.threadRootId,
      reply_to_id: message.replyToId,
      attachments: JSON.stringify(message.attachments),
      reply_count: message.replyCount,
      last_reply_at: message.lastReplyAt,
      client_message_id: message.clientMessageId,
      metadata: JSON.stringify(message.metadata),
      created_at: message.createdAt,
      edited_at: message.editedAt,
      deleted_at: message.deletedAt,
    };

    if (dialect === 'mysql') {
      // MySQL has no ON CONFLICT for one key; a duplicate-key error only undoes this statement, not the
      // transaction. INSERT IGNORE would also swallow unrelated errors.
      row.search_text = mysqlSearchText(document);
      try {
        await db.executeQuery(
          prepared.bind('messages.insert', row, (values) => db.insertInto('messages').values(values)),
        );
        return 'inserted';
      } catch (error) {
        if (uniqueViolation(error, 'messages')?.key === CLIENT_MESSAGE_ID_KEY) return 'duplicate';
        throw asConflictError(error, 'messages');
      }
    }

    // PostgreSQL aborts the whole transaction on a unique violation, so the duplicate must not be raised:
    // ON CONFLICT waits for a concurrent insert of the same pair to commit, then does nothing.
    if (dialect === 'postgres') row.search_vector = postgresTsvector(document);
    const query = prepared.bind('messages.insert', row, (values) =>
      db
        .insertInto('messages')
        .values(values)
        .onConflict((conflict) => conflict.columns(['author_id', 'client_message_id']).doNothing()),
    );
    const insert = async (target: Kysely<KaiwaDatabase>): Promise<'inserted' | 'duplicate'> => {
      let result: QueryResult<unknown>;
      try {
        result = await target.executeQuery(query);
      } catch (error) {
        throw asConflictError(error, 'messages');
      }
      if (!result.numAffectedRows) return 'duplicate';
      if (dialect === 'sqlite' && document !== '') {
        await target.executeQuery(CompiledQuery.raw(INSERT_SEARCH_ROW, [result.insertId, document]));
      }
      return 'inserted';
    };
    // SQLite writes two tables; outside a caller's transaction they still commit together.
    if (dialect === 'sqlite' && !db.isTransaction) return db.transaction().execute(insert);
    return insert(db);
  }

  async findById(id: string): Promise<Message | undefined> {
    const row = await this.#context.db
      .selectFrom('messages')
      .select(MESSAGE_COLUMNS)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && (await this.#withReactions([row]))[0];
  }

  async findByClientMessageId(authorId: string, clientMessageId: string): Promise<Message | undefined> {
    const row = await this.#context.db
      .selectFrom('messages')
      .select(MESSAGE_COLUMNS)
      .where('author_id', '=', authorId)
      .where('client_message_id', '=', clientMessageId)
      .executeTakeFirst();
    return row && (await this.#withReactions([row]))[0];
  }

  async findByIds(ids: string[]): Promise<Message[]> {
    if (ids.length === 0) return [];
    const rows = await this.#context.db
      .selectFrom('messages')
      .select(MESSAGE_COLUMNS)
      .where('id', 'in', ids)
      .orderBy('id')
      .execute();
    return this.#withReactions(rows);
  }

  async page(query: MessagePageQuery): Promise<Message[]> {
    let select = this.#context.db
      .selectFrom('messages')
      .select(MESSAGE_COLUMNS)
      .where('room_id', '=', query.roomId);
    select =
      query.threadRootId === undefined
        ? select.where('thread_root_id', 'is', null)
        : select.where('thread_root_id', '=', query.threadRootId);
    if (query.after !== undefined) {
      select = select.where('id', '>', query.after).orderBy('id', 'asc');
    } else {
      if (query.before !== undefined) select = select.where('id', '<', query.before);
      select = select.orderBy('id', 'desc');
    }
    return this.#withReactions(await select.limit(query.limit).execute());
  }

  async update(
    id: string,
    patch: Partial<
      Pick<StoredMessage, 'text' | 'mentions' | 'attachments' | 'metadata' | 'editedAt' | 'deletedAt'>
    >,
  ): Promise<void> {
    const { db, dialect } = this.#context;
    const values: Updateable<MessagesTable> = {};
    if (patch.text !== undefined) values.text = patch.text;
    if (patch.mentions !== undefined) values.mentions = JSON.stringify(patch.mentions);
    if (patch.attachments !== undefined) values.attachments = JSON.stringify(patch.attachments);
    if (patch.metadata !== undefined) values.metadata = JSON.stringify(patch.metadata);
    if (patch.editedAt !== undefined) values.edited_at = patch.editedAt;
    if (patch.deletedAt !== undefined) values.deleted_at = patch.deletedAt;
    if (Object.keys(values).length === 0) return;

    const apply = async (target: Kysely<KaiwaDatabase>): Promise<void> => {
      // The search document follows the text; a deleted message leaves the index.
      let document: string | undefined;
      if (patch.deletedAt) {
        document = '';
      } else if (patch.text !== undefined) {
        document = searchDocument(patch.text);
      } else if (patch.deletedAt === null) {
        const current = await target
          .selectFrom('messages')
          .select('text')
          .where('id', '=', id)
          .executeTakeFirst();
        if (current === undefined) return;
        document = searchDocument(current.text);
      }
      if (document !== undefined && dialect === 'postgres') values.search_vector = postgresTsvector(document);
      if (document !== undefined && dialect === 'mysql') values.search_text = mysqlSearchText(document);

      const result = await target.updateTable('messages').set(values).where('id', '=', id).executeTakeFirst();
      if (dialect !== 'sqlite' || document === undefined || !result.numUpdatedRows) return;
      if (document === '') {
        await sql`delete from message_search where rowid = (select row_id from messages where id = ${id})`.execute(
          target,
        );
      } else {
        await sql`replace into message_search (rowid, content) select row_id, ${document} from messages where id = ${id}`.execute(
          target,
        );
      }
    };
    const touchesSearch = patch.text !== undefined || patch.deletedAt !== undefined;
    if (dialect === 'sqlite' && touchesSearch && !db.isTransaction) return db.transaction().execute(apply);
    return apply(db);
  }

  async recordReply(rootId: string, at: string): Promise<void> {
    await this.#context.db
      .updateTable('messages')
      .set((eb) => ({ reply_count: eb('reply_count', '+', 1), last_reply_at: at }))
      .where('id', '=', rootId)
      .execute();
  }

  async search(query: MessageSearchQuery): Promise<Message[]> {
    const groups = searchTerms(query.text);
    if (groups.length === 0) return [];
    const { db, dialect } = this.#context;

    let select = db.selectFrom('messages').select(MESSAGE_COLUMNS);
    if (dialect === 'sqlite') {
      select = select.where(
        sql<boolean>`row_id in (select rowid from message_search where message_search match ${sqliteMatchQuery(groups)})`,
      );
    } else if (dialect === 'postgres') {
      select = select.where(sql<boolean>`search_vector @@ ${postgresTsquery(groups)}::tsquery`);
    } else {
      const { against, phrases } = mysqlSearchQuery(groups);
      select = select.where(sql<boolean>`match (search_text) against (${against} in boolean mode)`);
      for (const phrase of phrases) {
        select = select.where(sql<boolean>`concat(' ', search_text, ' ') like ${phrase}`);
      }
    }
    select = select.where('deleted_at', 'is', null).where((eb) => {
      const member = eb(
        'room_id',
        'in',
        eb
          .selectFrom('memberships')
          .select('memberships.room_id')
          .where('memberships.user_id', '=', query.readerId),
      );
      if (!query.includeChannels) return member;
      return eb.or([
        member,
        eb('room_id', 'in', eb.selectFrom('rooms').select('rooms.id').where('rooms.kind', '=', 'channel')),
      ]);
    });
    if (query.roomId !== undefined) select = select.where('room_id', '=', query.roomId);
    if (query.before !== undefined) select = select.where('id', '<', query.before);
    const rows = await select.orderBy('id', 'desc').limit(query.limit).execute();
    return this.#withReactions(rows);
  }

  async countUnread(roomId: string, afterId: string | null, excludeAuthorId: string): Promise<number> {
    let select = this.#context.db
      .selectFrom('messages')
      .select((eb) => eb.fn.countAll().as('count'))
      .where('room_id', '=', roomId)
      .where('thread_root_id', 'is', null)
      .where('deleted_at', 'is', null)
      .where('author_id', '<>', excludeAuthorId);
    if (afterId !== null) select = select.where('id', '>', afterId);
    const row = await select.executeTakeFirstOrThrow();
    return Number(row.count);
  }

  /** Joins reactions in with one query for the whole batch, grouped by emoji in order of first use. */
  async #withReactions(rows: MessageRow[]): Promise<Message[]> {
    if (rows.length === 0) return [];
    const reactionRows = await this.#context.db
      .selectFrom('reactions')
      .select(['message_id', 'emoji', 'user_id'])
      .where(
        'message_id',
        'in',
        rows.map((row) => row.id),
      )
      .orderBy('created_at')
      .orderBy('emoji')
      .orderBy('user_id')
      .execute();
    if (reactionRows.length === 0) return rows.map((row) => toMessage(row, []));

    const byMessage = new Map<string, Map<string, ReactionSummary>>();
    for (const reaction of reactionRows) {
      let summaries = byMessage.get(reaction.message_id);
      if (summaries === undefined) {
        summaries = new Map();
        byMessage.set(reaction.message_id, summaries);
      }
      const summary = summaries.get(reaction.emoji);
      if (summary === undefined) {
        summaries.set(reaction.emoji, { emoji: reaction.emoji, count: 1, userIds: [reaction.user_id] });
      } else {
        summary.count += 1;
        summary.userIds.push(reaction.user_id);
      }
    }
    return rows.map((row) => {
      const summaries = byMessage.get(row.id);
      return toMessage(row, summaries === undefined ? [] : [...summaries.values()]);
    });
  }
}
