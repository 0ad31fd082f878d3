import type { MemberRole, Membership, MembershipRepository, Room } from '@kaiwa/core';
import type { Selectable, Updateable } from 'kysely';
import type { MembershipsTable } from '../../database.js';
import { asConflictError } from '../../unique-violations.js';
import type { RepositoryContext } from '../repository-context.js';
import { toRoom } from './room-repository.js';

function toMembership(row: Selectable<MembershipsTable>): Membership {
  return {
    roomId: row.room_id,
    userId: row.user_id,
    role: row.role as MemberRole,
    lastReadMessageId: row.last_read_message_id,
    muted: Boolean(row.muted),
    joinedAt: row.joined_at,
  };
}

export class KyselyMembershipRepository implements MembershipRepository {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  async insert(membership: Membership): Promise<void> {
    const { db, adapter } = this.#context;
    try {
      await db
        .insertInto('memberships')
        .values({
          room_id: membership.roomId,
          user_id: membership.userId,
          role: membership.role,
          last_read_message_id: membership.lastReadMessageId,
          muted: adapter.sqlBoolean(membership.muted),
          joined_at: membership.joinedAt,
        })
        .execute();
    } catch (error) {
      throw asConflictError(error, 'memberships');
    }
  }

  async find(roomId: string, userId: string): Promise<Membership | undefined> {
    // On every permission check: compiled once.
    const { db, prepared } = this.#context;
    const { rows } = await db.executeQuery(
      prepared.bind('memberships.find', { roomId, userId }, (values) =>
        db
          .selectFrom('memberships')
          .selectAll()
          .where('room_id', '=', values.roomId)
          .where('user_id', '=', values.userId),
      ),
    );
    return rows[0] && toMembership(rows[0]);
  }

  async findWithRoom(
    roomId: string,
    userId: string,
  ): Promise<{ room: Room; membership: Membership | undefined } | undefined> {
    // On every engine call that checks a room's permissions (a send among them): one round trip for what
    // were two, compiled once. The two tables share no column names, so one flat row carries both.
    const { db, prepared } = this.#context;
    const { rows } = await db.executeQuery(
      prepared.bind('memberships.findWithRoom', { roomId, userId }, (values) =>
        db
          .selectFrom('rooms')
          .leftJoin('memberships', (join) =>
            join.onRef('memberships.room_id', '=', 'rooms.id').on('memberships.user_id', '=', values.userId),
          )
          .selectAll('rooms')
          .select([
            'memberships.room_id',
            'memberships.user_id',
            'memberships.role',
            'memberships.last_read_message_id',
            'memberships.muted',
            'memberships.joined_at',
          ])
          .where('rooms.id', '=', values.roomId),
      ),
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    const { room_id, user_id, role, last_read_message_id, muted, joined_at } = row;
    return {
      room: toRoom(row),
      membership:
        room_id === null || user_id === null || role === null || muted === null || joined_at === null
          ? undefined
          : toMembership({ room_id, user_id, role, last_read_message_id, muted, joined_at }),
    };
  }

  async listByRoom(roomId: string, query: { after?: string; limit: number }): Promise<Membership[]> {
    let select = this.#context.db.selectFrom('memberships').selectAll().where('room_id', '=', roomId);
    if (query.after !== undefined) select = select.where('user_id', '>', query.after);
    const rows = await select.orderBy('user_id').limit(query.limit).execute();
    return rows.map(toMembership);
  }

  async listByUser(userId: string): Promise<{ room: Room; membership: Membership }[]> {
    // The two tables share no column names, so one flat row carries both.
    const rows = await this.#context.db
      .selectFrom('memberships')
      .innerJoin('rooms', 'rooms.id', 'memberships.room_id')
      .selectAll('rooms')
      .select([
        'memberships.room_id',
        'memberships.user_id',
        'memberships.role',
        'memberships.last_read_message_id',
        'memberships.muted',
        'memberships.joined_at',
      ])
      .where('memberships.user_id', '=', userId)
      .orderBy('memberships.room_id')
      .execute();
    return rows.map((row) => ({ room: toRoom(row), membership: toMembership(row) }));
  }

  async update(
    roomId: string,
    userId: string,
    patch: Partial<Pick<Membership, 'role' | 'lastReadMessageId' | 'muted'>>,
  ): Promise<void> {
    const { db, adapter } = this.#context;
    const values: Updateable<MembershipsTable> = {};
    if (patch.role !== undefined) values.role = patch.role;
    if (patch.lastReadMessageId !== undefined) values.last_read_message_id = patch.lastReadMessageId;
    if (patch.muted !== undefined) values.muted = adapter.sqlBoolean(patch.muted);
    if (Object.keys(values).length === 0) return;
    await db
      .updateTable('memberships')
      .set(values)
      .where('room_id', '=', roomId)
      .where('user_id', '=', userId)
      .execute();
  }

  async delete(roomId: string, userId: string): Promise<void> {
    await this.#context.db
      .deleteFrom('memberships')
      .where('room_id', '=', roomId)
      .where('user_id', '=', userId)
      .execute();
  }

  async countByRoom(roomId: string): Promise<number> {
    const row = await this.#context.db
      .selectFrom('memberships')
      .select((eb) => eb.fn.countAll().as('count'))
      .where('room_id', '=', roomId)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }
}
