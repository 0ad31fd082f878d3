import type { JsonValue, RoomSettingRepository } from '@kaiwa/core';
import type { RepositoryContext } from '../repository-context.js';

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
    const { db, adapter } = this.#context;
    const row = { room_id: roomId, key, value: JSON.stringify(value), updated_at: updatedAt };
    await adapter.upsert(db, {
      table: 'room_settings',
      row,
      key: ['room_id', 'key'],
      change: { value: row.value, updated_at: updatedAt },
    });
  }

  insertIfAbsent(roomId: string, key: string, value: JsonValue, updatedAt: string): Promise<boolean> {
    const { db, adapter } = this.#context;
    const row = { room_id: roomId, key, value: JSON.stringify(value), updated_at: updatedAt };
    return adapter.insertOnce(db, {
      table: 'room_settings',
      row,
      key: { name: 'room_settings_pkey', columns: ['room_id', 'key'] },
    });
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
