import { z } from 'zod';
import { KaiwaBaseError } from '../errors.js';
import { type JsonValue, JsonValueSchema } from '../schemas/common.js';
import { utf8ByteLength } from '../utf8.js';
import { parseInput } from '../validate.js';

/**
 * Every plugin's key-value storage, kept apart by plugin id. A write that would take a plugin's usage (the UTF-8
 * bytes of its keys plus their values as JSON, {@link pluginStorageEntryBytes}) over `quotaBytes` throws
 * {@link PluginStorageQuotaError} and changes nothing; the check and the write are one step, so writers on
 * several server instances cannot pass the quota together. Keys are 1 to
 * {@link PLUGIN_STORAGE_KEY_MAX_LENGTH} characters of well-formed text without NUL; a bad key, plugin id or
 * value throws `ValidationError` naming the field. Implementations: `@kaiwa/plugins`'
 * `createMemoryKeyValueStore` (tests, one instance) and `@kaiwa/store-kysely`'s `pluginKeyValues` (the
 * database: it survives restarts and is shared by every instance).
 *
 * @example
 * await storage.set('hello', 'greeted:alice', true, { quotaBytes: 65_536 });
 * await storage.get('hello', 'greeted:alice'); // true
 */
export interface PluginKeyValueStore {
  /** The value, or `undefined` when the key is not set. */
  get(pluginId: string, key: string): Promise<JsonValue | undefined>;
  /**
   * Sets or replaces; a replaced value's bytes no longer count.
   *
   * @throws PluginStorageQuotaError when the plugin's usage would pass `quotaBytes` (nothing is written).
   */
  set(pluginId: string, key: string, value: JsonValue, options: { quotaBytes: number }): Promise<void>;
  /** Removes the key; nothing happens when it is not set. */
  delete(pluginId: string, key: string): Promise<void>;
  /** Keys starting with `prefix`, sorted as JavaScript sorts strings (UTF-16 code units). */
  list(pluginId: string, prefix?: string): Promise<string[]>;
  /** Bytes the plugin uses now. */
  usage(pluginId: string): Promise<number>;
  /** Removes everything of the plugin (an uninstall that does not keep its data). */
  clear(pluginId: string): Promise<void>;
}

/** Plugins' key-value storage, as a storage module of a store provides it (`@kaiwa/store-kysely`'s `plugins`). */
export interface PluginStorage {
  pluginKeyValues: PluginKeyValueStore;
}

/** Longest key, in UTF-16 code units (what the plugin host accepts from a plugin). */
export const PLUGIN_STORAGE_KEY_MAX_LENGTH = 256;
/** Longest plugin id (a manifest's id is 2 to 64 characters). */
const PLUGIN_ID_MAX_LENGTH = 64;

const marker = Symbol.for('kaiwa.error.PluginStorageQuotaError');

/**
 * A plugin's key-value write that would pass its storage quota; nothing was written. The plugin host answers the
 * plugin with JSON-RPC error `quota_exceeded`.
 *
 * @example
 * try {
 *   await storage.set(pluginId, key, value, { quotaBytes });
 * } catch (error) {
 *   if (PluginStorageQuotaError.isInstance(error)) return `over quota by ${error.usageBytes - error.quotaBytes} bytes`;
 *   throw error;
 * }
 */
export class PluginStorageQuotaError extends KaiwaBaseError<'quota_exceeded'> {
  readonly [marker] = true;
  readonly pluginId: string;
  /** What the plugin would have used with the write. */
  readonly usageBytes: number;
  readonly quotaBytes: number;

  constructor(pluginId: string, usageBytes: number, quotaBytes: number) {
    super(
      'quota_exceeded',
      `plugin "${pluginId}" would use ${usageBytes} bytes of storage, its quota is ${quotaBytes}`,
    );
    this.name = 'PluginStorageQuotaError';
    this.pluginId = pluginId;
    this.usageBytes = usageBytes;
    this.quotaBytes = quotaBytes;
  }

  /** True for this error, also one thrown by another copy of this package. */
  static override isInstance(value: unknown): value is PluginStorageQuotaError {
    return KaiwaBaseError.hasMarker(value, marker);
  }
}

// A lone surrogate would be stored as U+FFFD (another key); PostgreSQL refuses NUL in text.
const wellFormed = (text: string) => !/\p{Cs}/u.test(text) && !text.includes('\u0000');

const pluginIdSchema = z.string().min(1).max(PLUGIN_ID_MAX_LENGTH);
const keySchema = z
  .string()
  .min(1)
  .max(PLUGIN_STORAGE_KEY_MAX_LENGTH)
  .refine(wellFormed, 'must be well-formed text without NUL characters');
const prefixSchema = z
  .string()
  .max(PLUGIN_STORAGE_KEY_MAX_LENGTH)
  .refine(wellFormed, 'must be well-formed text without NUL characters');
const quotaSchema = z.int().nonnegative();

/**
 * Checks what a {@link PluginKeyValueStore} is given, for its implementations: the plugin id, the key (or the
 * prefix of `list`), and for `set` the quota and the value, which it returns as JSON text.
 *
 * @throws ValidationError naming the field (`pluginId`, `key`, `prefix`, `quotaBytes` or `value`).
 * @example
 * const { json } = checkPluginStorageInput({ pluginId, key, value, quotaBytes });
 */
export function checkPluginStorageInput(input: {
  pluginId: string;
  key?: string;
  prefix?: string;
  value?: JsonValue;
  quotaBytes?: number;
}): { json: string } {
  parseInput(pluginIdSchema, input.pluginId, ['pluginId']);
  if ('key' in input) parseInput(keySchema, input.key, ['key']);
  if (input.prefix !== undefined) parseInput(prefixSchema, input.prefix, ['prefix']);
  if ('quotaBytes' in input) parseInput(quotaSchema, input.quotaBytes, ['quotaBytes']);
  if (!('value' in input)) return { json: '' };
  return { json: JSON.stringify(parseInput(JsonValueSchema, input.value, ['value'])) };
}

/**
 * What one entry counts against its plugin's quota: the UTF-8 bytes of its key plus those of its value as JSON.
 *
 * @example
 * pluginStorageEntryBytes('greeted', '3'); // 8
 */
export function pluginStorageEntryBytes(key: string, json: string): number {
  return utf8ByteLength(key) + utf8ByteLength(json);
}
