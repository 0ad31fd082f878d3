import type { JsonValue } from '../schemas/common.js';

/**
 * Settings that features keep per room under a key of their own (the assistant's model and prompt, say).
 * Values are JSON; the feature validates what it reads back.
 *
 * @example
 * await store.roomSettings.set(roomId, 'assistant', { preset: 'elyza' }, new Date().toISOString());
 * const all = await store.roomSettings.listByKey('assistant');
 */
export interface RoomSettingRepository {
  get(roomId: string, key: string): Promise<JsonValue | undefined>;
  /** Inserts or replaces the value. */
  set(roomId: string, key: string, value: JsonValue, updatedAt: string): Promise<void>;
  /**
   * Inserts the value only when the room has none under `key`; true when this call inserted it. Of several
   * racing callers (on several server instances) exactly one gets true, so it can claim work once.
   *
   * @example
   * if (await store.roomSettings.insertIfAbsent(roomId, `claim:${botId}:${messageId}`, { at }, at)) answer();
   */
  insertIfAbsent(roomId: string, key: string, value: JsonValue, updatedAt: string): Promise<boolean>;
  delete(roomId: string, key: string): Promise<void>;
  /** Every room's value under `key`, in room id order. */
  listByKey(key: string): Promise<{ roomId: string; value: JsonValue }[]>;
}
