import type { JsonValue, RoomSettingRepository } from '@kaiwa/core';
import { insertOnce } from './platform-queue.js';
import type { RepositoryContext } from './repository-context.js';

export class KyselyRoomSettingRepository implements RoomSettingRepository {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  async get(roomId: string, key: string): Promise<JsonValue | undefined> {
    const row = await this.#context.db
      .selectFrom('room_settings')
      .select('value')
      .where('room_id', '=', roomId)
      .where('key', '=', key)
      .executeTakeFirst();
    return row === undefined ? undefined : (JSON.parse(row.value) as JsonValue);
  }

  async set(roomId: string, key: string, value: JsonValue, updatedAt: string): Promise<void> {
    const { db, dialect } = this.#context;
    const row = { room_id: roomId, key, value: JSON.stringify(value), updated_at: updatedAt };
    const insert = db.insertInto('room_settings').values(row);
    if (dialect === 'mysql') {
      await insert.onDuplicateKeyUpdate({ value: row.value, updated_at: updatedAt }).execute();
    } else {
      await insert
        .onConflict((conflict) =>
          conflict.columns(['room_id', 'key']).doUpdateSet({ value: row.value, updated_at: updatedAt }),
        )
        .execute();
    }
  }

  insertIfAbsent(roomId: string, key: string, value: JsonValue, updatedAt: string): Promise<boolean> {
    const row = { room_id: roomId, key, value: JSON.stringify(value), updated_at: updatedAt };
    return insertOnce(this.#context, 'room_settings', row, ['room_id', 'key'], 'room_settings_pkey');
  }

  async delete(roomId: string, key: string): Promise<void> {
    await this.#context.db
      .deleteFrom('room_settings')
      .where('room_id', '=', roomId)
      .where('key', '=', key)
      .execute();
  }

  async listByKey(key: string): Promise<{ roomId: string; value: JsonValue }[]> {
    const rows = await this.#context.db
      .selectFrom('room_settings')
      .select(['room_id', 'value'])
      .where('key', '=', key)
      .orderBy('room_id')
      .execute();
    return rows.map((row) => ({ roomId: row.room_id, value: JSON.parse(row.value) as JsonValue }));
  }
}
