import {
  checkPluginStorageInput,
  type JsonValue,
  type PluginKeyValueStore,
  PluginStorageQuotaError,
  pluginStorageEntryBytes,
} from '@kaiwa/core';

/*
 * The port, `PluginKeyValueStore`, lives in `@kaiwa/core` (ports in core) so the database-backed one in
 * `@kaiwa/store-kysely` implements it without depending on the plugin host; it is re-exported here.
 */
export type { PluginKeyValueStore } from '@kaiwa/core';

/**
 * A {@link PluginKeyValueStore} in memory: lost at restart, not shared between instances, for tests and
 * single-instance development. The server keeps plugins' storage in its database (`@kaiwa/store-kysely`'s
 * `pluginKeyValues`).
 *
 * @example
 * const storage = createMemoryKeyValueStore();
 * await storage.set('hello', 'greeted', 1, { quotaBytes: 4096 });
 */
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
  return {
    async get(pluginId, key) {
      checkPluginStorageInput({ pluginId, key });
      const json = plugins.get(pluginId)?.entries.get(key);
      return json === undefined ? undefined : (JSON.parse(json) as JsonValue);
    },
    async set(pluginId, key, value, { quotaBytes }) {
      const { json } = checkPluginStorageInput({ pluginId, key, value, quotaBytes });
      const plugin = of(pluginId);
      const previous = plugin.entries.get(key);
      const usage =
        plugin.usage -
        (previous === undefined ? 0 : pluginStorageEntryBytes(key, previous)) +
        pluginStorageEntryBytes(key, json);
      // A write that does not grow the usage is allowed even over a quota lowered since.
      if (usage > quotaBytes && usage > plugin.usage) {
        throw new PluginStorageQuotaError(pluginId, usage, quotaBytes);
      }
      plugin.entries.set(key, json);
      plugin.usage = usage;
    },
    async delete(pluginId, key) {
      checkPluginStorageInput({ pluginId, key });
      const plugin = plugins.get(pluginId);
      const previous = plugin?.entries.get(key);
      if (!plugin || previous === undefined) return;
      plugin.entries.delete(key);
      plugin.usage -= pluginStorageEntryBytes(key, previous);
    },
    async list(pluginId, prefix = '') {
      checkPluginStorageInput({ pluginId, prefix });
      return [...(plugins.get(pluginId)?.entries.keys() ?? [])]
        .filter((key) => key.startsWith(prefix))
        .sort();
    },
    async usage(pluginId) {
      checkPluginStorageInput({ pluginId });
      return plugins.get(pluginId)?.usage ?? 0;
    },
    async clear(pluginId) {
      checkPluginStorageInput({ pluginId });
      plugins.delete(pluginId);
    },
  };
}
