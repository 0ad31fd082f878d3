import {
  checkPluginInstallationInput,
  type PluginInstallation,
  type PluginInstallationStore,
} from '@kaiwa/core';

/*
 * The port, `PluginInstallationStore`, lives in `@kaiwa/core` (ports in core) so the database-backed one in
 * `@kaiwa/store-kysely` implements it without depending on the plugin host; it is re-exported here.
 */
export type { PluginInstallation, PluginInstallationStore } from '@kaiwa/core';

/**
 * A {@link PluginInstallationStore} in memory, for tests and a server without the plugins module in its store:
 * admins' start and stop choices are then forgotten at restart (the server warns).
 *
 * @example
 * const installations = createMemoryPluginInstallationStore();
 * await installations.add({ pluginId: 'hello', version: '1.0.0', enabled: true, sha256: null, installedAt, updatedAt: installedAt });
 */
export function createMemoryPluginInstallationStore(): PluginInstallationStore {
  const rows = new Map<string, PluginInstallation>();
  return {
    async add(installation) {
      checkPluginInstallationInput({ installation });
      if (rows.has(installation.pluginId)) return false;
      rows.set(installation.pluginId, { ...installation });
      return true;
    },
    async update(pluginId, patch) {
      checkPluginInstallationInput({ pluginId, patch });
      const row = rows.get(pluginId);
      if (!row) return undefined;
      if (patch.version !== undefined) row.version = patch.version;
      if (patch.sha256 !== undefined) row.sha256 = patch.sha256;
      if (patch.enabled !== undefined) row.enabled = patch.enabled;
      row.updatedAt = patch.updatedAt;
      return { ...row };
    },
    async get(pluginId) {
      checkPluginInstallationInput({ pluginId });
      const row = rows.get(pluginId);
      return row && { ...row };
    },
    async list() {
      return [...rows.values()].sort((a, b) => (a.pluginId < b.pluginId ? -1 : 1)).map((row) => ({ ...row }));
    },
    async remove(pluginId) {
      checkPluginInstallationInput({ pluginId });
      return rows.delete(pluginId);
    },
  };
}
