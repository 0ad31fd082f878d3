import { NotFoundError, type Room, type RoomKind, type RoomRepository } from '@kaiwa/core';
import { type Selectable, sql, type Updateable } from 'kysely';
import type { RoomsTable } from '../../database.js';
import { asConflictError } from '../../unique-violations.js';
import type { RepositoryContext } from '../repository-context.js';

export function toRoom(row: Selectable<RoomsTable>): Room {
  return {
    id: row.id,
    kind: row.kind as RoomKind,
    name: row.name,
    topic: row.topic,
    archived: Boolean(row.archived),
    createdBy: row.created_by,
    lastSeq: Number(row.last_seq),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export class KyselyRoomRepository implements RoomRepository {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  async insert(room: Room, directKey?: string): Promise<void> {
    const { db, adapter } = this.#context;
    try {
      await db
        .insertInto('rooms')
        .values({
          id: room.id,
          kind: room.kind,
          name: room.name,
          direct_key: directKey ?? null,
          topic: room.topic,
          archived: adapter.sqlBoolean(room.archived),
          created_by: room.createdBy,
          last_seq: room.lastSeq,
          created_at: room.createdAt,
          updated_at: room.updatedAt,
        })
        .execute();
    } catch (error) {
      throw asConflictError(error, 'rooms');
    }
  }

  async findById(id: string): Promise<Room | undefined> {
    // On every engine call that names a room: compiled once.
    const { db, prepared } = this.#context;
    const { rows } = await db.executeQuery(
      prepared.bind('rooms.findById', { id }, (values) =>
        db.selectFrom('rooms').selectAll().where('id', '=', values.id),
      ),
    );
    return rows[0] && toRoom(rows[0]);
  }

  async findByName(name: string): Promise<Room | undefined> {
    // Groups may share a name (and a channel's): the channel first, else the oldest room.
    const row = await this.#context.db
      .selectFrom('rooms')
      .selectAll()
      .where('name', '=', name)
      .orderBy(sql`case when kind = 'channel' then 0 else 1 end`)
      .orderBy('id')
      .limit(1)
      .executeTakeFirst();
    return row && toRoom(row);
  }

  async findDirect(directKey: string): Promise<Room | undefined> {
    const row = await this.#context.db
      .selectFrom('rooms')
      .selectAll()
      .where('direct_key', '=', directKey)
      .executeTakeFirst();
    return row && toRoom(row);
  }

  async listChannels(query: { after?: string; limit: number; includeArchived?: boolean }): Promise<Room[]> {
    const { db, adapter } = this.#context;
    let select = db.selectFrom('rooms').selectAll().where('kind', '=', 'channel');
    if (!query.includeArchived) select = select.where('archived', '=', adapter.sqlBoolean(false));
    if (query.after !== undefined) select = select.where('id', '>', query.after);
    const rows = await select.orderBy('id').limit(query.limit).execute();
    return rows.map(toRoom);
  }

  async listReadableIds(userId: string, query: { includeChannels: boolean }): Promise<string[]> {
    const { db } = this.#context;
    const memberOf = db.selectFrom('memberships').select('room_id as id').where('user_id', '=', userId);
    // UNION, not UNION ALL: a channel the user is in is listed once.
    const select = query.includeChannels
      ? memberOf.union(db.selectFrom('rooms').select('id').where('kind', '=', 'channel'))
      : memberOf;
    return (await select.execute()).map((row) => row.id);
  }

  async update(
    id: string,
    patch: Partial<Pick<Room, 'name' | 'topic' | 'archived' | 'updatedAt'>>,
  ): Promise<void> {
    const { db, adapter } = this.#context;
    const values: Updateable<RoomsTable> = {};
    if (patch.name !== undefined) values.name = patch.name;
    if (patch.topic !== undefined) values.topic = patch.topic;
    if (patch.archived !== undefined) values.archived = adapter.sqlBoolean(patch.archived);
    if (patch.updatedAt !== undefined) values.updated_at = patch.updatedAt;
    if (Object.keys(values).length === 0) return;
    try {
      await db.updateTable('rooms').set(values).where('id', '=', id).execute();
    } catch (error) {
      throw asConflictError(error, 'rooms');
    }
  }

  async nextSeq(roomId: string): Promise<number> {
    const { db, adapter, prepared } = this.#context;
    const seq = await adapter.increment(db, prepared, { table: 'rooms', column: 'last_seq', id: roomId });
    if (seq === undefined) throw new NotFoundError('room', roomId);
    return seq;
  }
}
