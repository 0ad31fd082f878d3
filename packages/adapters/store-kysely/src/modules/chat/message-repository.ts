import {
  type Attachment,
  type Mentions,
  type Message,
  type MessagePageQuery,
  type MessageRepository,
  type MessageSearchQuery,
  type Metadata,
  messageSearchText,
  type ReactionSummary,
  type StoredMessage,
  searchDocument,
  searchTerms,
} from '@kaiwa/core';
import type { Insertable, Kysely, Selectable, Updateable } from 'kysely';
import type { KaiwaDatabase, MessagesTable } from '../../database.js';
import type { RepositoryContext } from '../repository-context.js';

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

/** Reaction lookups for up to this many messages are compiled once per size. */
const MAX_PREPARED_BATCH = 201;

const CLIENT_MESSAGE_ID_KEY = 'messages_author_client_message_id_unique';

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
    const { db, adapter, prepared } = this.#context;
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
    // Where the search index is kept apart (SQLite), it is written later, in a batch, and before any search.
    if (adapter.searchIndexInRow) {
      Object.assign(
        row,
        adapter.searchColumns(message.deletedAt === null ? searchDocument(messageSearchText(message)) : ''),
      );
    }
    const inserted = await adapter.insertOnce(db, {
      table: 'messages',
      row,
      key: { name: CLIENT_MESSAGE_ID_KEY, columns: ['author_id', 'client_message_id'] },
      prepared: { queries: prepared, name: 'messages.insert' },
    });
    if (!inserted) return 'duplicate';
    this.#context.searchIndex?.schedule();
    return 'inserted';
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
    // The history read: one compiled query per shape (thread or timeline, cursor direction).
    const { db, prepared } = this.#context;
    const thread = query.threadRootId !== undefined;
    const cursor = query.after !== undefined ? 'after' : query.before !== undefined ? 'before' : 'none';
    const values: Record<string, unknown> = { roomId: query.roomId, limit: query.limit };
    if (thread) values.threadRootId = query.threadRootId;
    if (cursor !== 'none') values.cursor = cursor === 'after' ? query.after : query.before;
    const compiled = prepared.bind(`messages.page.${thread ? 'thread' : 'room'}.${cursor}`, values, (v) => {
      let select = db
        .selectFrom('messages')
        .select(MESSAGE_COLUMNS)
        .where('room_id', '=', v.roomId as string);
      select = thread
        ? select.where('thread_root_id', '=', v.threadRootId as string)
        : select.where('thread_root_id', 'is', null);
      if (cursor === 'after') {
        select = select.where('id', '>', v.cursor as string).orderBy('id', 'asc');
      } else {
        if (cursor === 'before') select = select.where('id', '<', v.cursor as string);
        select = select.orderBy('id', 'desc');
      }
      return select.limit(v.limit as number);
    });
    return this.#withReactions((await db.executeQuery(compiled)).rows);
  }

  async update(
    id: string,
    patch: Partial<
      Pick<StoredMessage, 'text' | 'mentions' | 'attachments' | 'metadata' | 'editedAt' | 'deletedAt'>
    >,
  ): Promise<void> {
    const { db, adapter } = this.#context;
    const values: Updateable<MessagesTable> = {};
    if (patch.text !== undefined) values.text = patch.text;
    if (patch.mentions !== undefined) values.mentions = JSON.stringify(patch.mentions);
    if (patch.attachments !== undefined) values.attachments = JSON.stringify(patch.attachments);
    if (patch.metadata !== undefined) values.metadata = JSON.stringify(patch.metadata);
    if (patch.editedAt !== undefined) values.edited_at = patch.editedAt;
    if (patch.deletedAt !== undefined) values.deleted_at = patch.deletedAt;
    if (Object.keys(values).length === 0) return;

    const apply = async (target: Kysely<KaiwaDatabase>): Promise<void> => {
      // The search document follows the text and the transcript; a deleted message leaves the index.
      let document: string | undefined;
      if (patch.deletedAt) {
        document = '';
      } else if (patch.text !== undefined || patch.metadata !== undefined || patch.deletedAt === null) {
        let text = patch.text;
        let metadata = patch.metadata;
        if (text === undefined || metadata === undefined) {
          const current = await target
            .selectFrom('messages')
            .select(['text', 'metadata'])
            .where('id', '=', id)
            .executeTakeFirst();
          if (current === undefined) return;
          text ??= current.text;
          metadata ??= JSON.parse(current.metadata) as Metadata;
        }
        document = searchDocument(messageSearchText({ text, metadata }));
      }
      if (document !== undefined) Object.assign(values, adapter.searchColumns(document));

      const result = await target.updateTable('messages').set(values).where('id', '=', id).executeTakeFirst();
      if (document === undefined || !result.numUpdatedRows) return;
      await adapter.reindexMessage(target, id, document);
    };
    // An index kept apart from the row changes in the same transaction as the row.
    const touchesSearch =
      patch.text !== undefined || patch.metadata !== undefined || patch.deletedAt !== undefined;
    if (!adapter.searchIndexInRow && touchesSearch && !db.isTransaction)
      return db.transaction().execute(apply);
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
    const { db, adapter, searchIndex } = this.#context;
    // Every message whose send returned is found: index what is pending first (usually nothing).
    await searchIndex?.flush(db);

    let select = db.selectFrom('messages').select(MESSAGE_COLUMNS);
    for (const condition of adapter.searchConditions(groups)) select = select.where(condition);
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

  async countUnreadByRoom(userId: string): Promise<Map<string, number>> {
    const rows = await this.#context.db
      .selectFrom('memberships')
      .innerJoin('messages', 'messages.room_id', 'memberships.room_id')
      .select((eb) => ['memberships.room_id as roomId', eb.fn.countAll().as('count')])
      .where('memberships.user_id', '=', userId)
      .where('messages.thread_root_id', 'is', null)
      .where('messages.deleted_at', 'is', null)
      .where('messages.author_id', '<>', userId)
      .where((eb) =>
        eb.or([
          eb('memberships.last_read_message_id', 'is', null),
          eb('messages.id', '>', eb.ref('memberships.last_read_message_id')),
        ]),
      )
      .groupBy('memberships.room_id')
      .execute();
    return new Map(rows.map((row) => [row.roomId, Number(row.count)]));
  }

  async countUnreadMentionsByRoom(userId: string): Promise<Map<string, number>> {
    const rows = await this.#unreadMentions(userId)
      .select((eb) => ['memberships.room_id as roomId', eb.fn.countAll().as('count')])
      .groupBy('memberships.room_id')
      .execute();
    return new Map(rows.map((row) => [row.roomId, Number(row.count)]));
  }

  async countUnreadMentions(userId: string, roomId: string): Promise<number> {
    const row = await this.#unreadMentions(userId)
      .select((eb) => eb.fn.countAll().as('count'))
      .where('memberships.room_id', '=', roomId)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  /** The user's memberships joined with the messages there that mention them and they have not read. */
  #unreadMentions(userId: string) {
    // Mentions are stored as JSON text: `{"userIds":[…],"room":…,"here":…}`. User ids are ULIDs (validated
    // before they get here), so a quoted id matches only that user and holds no LIKE wildcard.
    const mentioned = `%"${parseUlid(userId)}"%`;
    return this.#context.db
      .selectFrom('memberships')
      .innerJoin('messages', 'messages.room_id', 'memberships.room_id')
      .where('memberships.user_id', '=', userId)
      .where('messages.deleted_at', 'is', null)
      .where('messages.author_id', '<>', userId)
      .where((eb) =>
        eb.or([
          eb('memberships.last_read_message_id', 'is', null),
          eb('messages.id', '>', eb.ref('memberships.last_read_message_id')),
        ]),
      )
      .where((eb) =>
        eb.or([
          eb('messages.mentions', 'like', mentioned),
          eb('messages.mentions', 'like', '%"room":true%'),
          eb('messages.mentions', 'like', '%"here":true%'),
        ]),
      );
  }

  /** Joins reactions in with one query for the whole batch, grouped by emoji in order of first use. */
  async #withReactions(rows: MessageRow[]): Promise<Message[]> {
    if (rows.length === 0) return [];
    const { db, prepared } = this.#context;
    const build = (messageIds: string[]) =>
      db
        .selectFrom('reactions')
        .select(['message_id', 'emoji', 'user_id'])
        .where('message_id', 'in', messageIds)
        .orderBy('created_at')
        .orderBy('emoji')
        .orderBy('user_id');
    // Compiled once per batch size for page-sized batches, the common case; larger ones are rare.
    const ids = Object.fromEntries(rows.map((row, index) => [`id${index}`, row.id]));
    const query =
      rows.length <= MAX_PREPARED_BATCH
        ? prepared.bind(`reactions.ofMessages.${rows.length}`, ids, (placeholders) =>
            build(Object.values(placeholders)),
          )
        : build(Object.values(ids)).compile();
    const { rows: reactionRows } = await db.executeQuery(query);
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

/** A user id as it appears in stored mentions; anything else would not be a ULID and matches nobody. */
function parseUlid(id: string): string {
  if (!/^[0-9A-HJKMNP-TV-Z]{26}$/.test(id)) throw new Error(`not a user id: ${JSON.stringify(id)}`);
  return id;
}
