import type { RoomEvent, RoomEventRepository } from '@kaiwa/core';
import { asConflictError } from '../../unique-violations.js';
import type { RepositoryContext } from '../repository-context.js';

export class KyselyRoomEventRepository implements RoomEventRepository {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  async append(event: RoomEvent): Promise<void> {
    const { db, prepared } = this.#context;
    const row = {
      room_id: event.roomId,
      seq: event.seq,
      type: event.type,
      payload: JSON.stringify(event.payload),
      created_at: event.createdAt,
    };
    try {
      await db.executeQuery(
        prepared.bind('roomEvents.append', row, (values) => db.insertInto('room_events').values(values)),
      );
    } catch (error) {
      throw asConflictError(error, 'room_events');
    }
  }

  async listSince(roomId: string, afterSeq: number, limit: number): Promise<RoomEvent[]> {
    const rows = await this.#context.db
      .selectFrom('room_events')
      .selectAll()
      .where('room_id', '=', roomId)
      .where('seq', '>', afterSeq)
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map(
      (row) =>
        ({
          roomId: row.room_id,
          seq: Number(row.seq),
          type: row.type,
          payload: JSON.parse(row.payload),
          createdAt: row.created_at,
        }) as RoomEvent,
    );
  }
}
