import type { JsonValue } from '@kaiwa/plugin-sdk';
import { PluginError } from './errors.js';

/**
 * Every plugin's key-value storage, kept apart by plugin id. A write that would take a plugin's usage (the UTF-8
 * bytes of its keys plus their values as JSON) over `quotaBytes` throws `PluginError` `quota_exceeded` and
 * changes nothing. The memory one is for tests and single-instance development; a database-backed one
 * implements the same port, checking the quota in the write's transaction.
 *
 * @example
 * await storage.set('hello', 'greeted:alice', true, { quotaBytes: 65_536 });
 * await storage.get('hello', 'greeted:alice'); // true
 */
export interface PluginKeyValueStore {
  /** The value, or `undefined` when the key is not set. */
  get(pluginId: string, key: string): Promise<JsonValue | undefined>;
  /** Sets or replaces; throws `quota_exceeded` when the plugin's usage would pass `quotaBytes`. */
  set(pluginId: string, key: string, value: JsonValue, options: { quotaBytes: number }): Promise<void>;
  delete(pluginId: string, key: string): Promise<void>;
  /** Keys starting with `prefix`, sorted. */
  list(pluginId: string, prefix?: string): Promise<string[]>;
  /** Bytes the plugin uses now. */
  usage(pluginId: string): Promise<number>;
  /** Removes everything of the plugin (an uninstall that does not keep its data). */
  clear(pluginId: string): Promise<void>;
}

/** A {@link PluginKeyValueStore} in memory: lost at restart, not shared between instances. */
export function createMemoryKeyValueStore(): PluginKeyValueStore {
  const plugins = new Map<string, { entries: Map<string, string>; usage: number }>();
  const of = (pluginId: string) => {
    let plugin = plugins.get(pluginId);
    if (!plugin) {
      plugin = { entries: new Map(), usage: 0 };
      plugins.set(pluginId, plugin);
    }
    return plugin;
  };
  const sizeOf = (key: string, json: string) => Buffer.byteLength(key) + Buffer.byteLength(json);
  return {
    async get(pluginId, key) {
      const json = plugins.get(pluginId)?.entries.get(key);
      return json === undefined ? undefined : (JSON.parse(json) as JsonValue);
    },
    async set(pluginId, key, value, { quotaBytes }) {
      const plugin = of(pluginId);
      const json = JSON.stringify(value);
      const previous = plugin.entries.get(key);
      const usage = plugin.usage - (previous === undefined ? 0 : sizeOf(key, previous)) + sizeOf(key, json);
      if (usage > quotaBytes) {
        throw new PluginError(
          'quota_exceeded',
          `plugin "${pluginId}" would use ${usage} bytes of storage, its quota is ${quotaBytes}`,
          { pluginId },
        );
      }
      plugin.entries.set(key, json);
      plugin.usage = usage;
    },
    async delete(pluginId, key) {
      const plugin = plugins.get(pluginId);
      const previous = plugin?.entries.get(key);
      if (!plugin || previous === undefined) return;
      plugin.entries.delete(key);
      plugin.usage -= sizeOf(key, previous);
    },
    async list(pluginId, prefix = '') {
      return [...(plugins.get(pluginId)?.entries.keys() ?? [])]
        .filter((key) => key.startsWith(prefix))
        .sort();
    },
    async usage(pluginId) {
      return plugins.get(pluginId)?.usage ?? 0;
    },
    async clear(pluginId) {
      plugins.delete(pluginId);
    },
  };
}
