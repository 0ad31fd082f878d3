import { checkPluginSettingsInput, type PluginSettingsStore, type StoredPluginSettings } from '@kaiwa/core';

/*
 * The port, `PluginSettingsStore`, lives in `@kaiwa/core` (ports in core) so the database-backed one in
 * `@kaiwa/store-kysely` implements it without depending on the plugin host; it is re-exported here.
 */
export type { PluginSettingsStore } from '@kaiwa/core';

/**
 * A {@link PluginSettingsStore} in memory, for tests and a server whose store has no plugins module: settings
 * saved here are lost at restart and not seen by other instances.
 *
 * @example
 * const settings = createMemoryPluginSettingsStore();
 * await settings.put('hello', { greeting: 'Hi' }, { updatedAt: new Date().toISOString(), updatedBy: null });
 */
export function createMemoryPluginSettingsStore(): PluginSettingsStore {
  const records = new Map<string, StoredPluginSettings>();
  const copy = (record: StoredPluginSettings): StoredPluginSettings => ({
    ...record,
    values: { ...record.values },
  });
  return {
    async get(pluginId) {
      checkPluginSettingsInput({ pluginId });
      const record = records.get(pluginId);
      return record && copy(record);
    },
    async put(pluginId, values, meta) {
      checkPluginSettingsInput({ pluginId, values, meta });
      const record = {
        pluginId,
        values: { ...values },
        updatedAt: meta.updatedAt,
        updatedBy: meta.updatedBy,
      };
      records.set(pluginId, record);
      return copy(record);
    },
    async clear(pluginId) {
      checkPluginSettingsInput({ pluginId });
      records.delete(pluginId);
    },
  };
}
