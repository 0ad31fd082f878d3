import {
  checkPluginSettingsInput,
  type PluginSettingsStore,
  type PluginSettingValues,
  type StoredPluginSettings,
} from '@kaiwa/core';
import type { RepositoryContext } from '../repository-context.js';

/**
 * Plugins' settings on kysely: one row per plugin, the values as JSON text. A save is one upsert on the plugin
 * id, so racing saves (from any instance) leave one of them whole, never a mix.
 */
export class KyselyPluginSettingsStore implements PluginSettingsStore {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  async get(pluginId: string): Promise<StoredPluginSettings | undefined> {
    checkPluginSettingsInput({ pluginId });
    const row = await this.#context.db
      .selectFrom('plugin_settings')
      .selectAll()
      .where('plugin_id', '=', pluginId)
      .executeTakeFirst();
    if (row === undefined) return undefined;
    return {
      pluginId: row.plugin_id,
      values: JSON.parse(row.settings) as PluginSettingValues,
      updatedAt: row.updated_at,
      updatedBy: row.updated_by,
    };
  }

  async put(
    pluginId: string,
    values: PluginSettingValues,
    meta: { updatedAt: string; updatedBy: string | null },
  ): Promise<StoredPluginSettings> {
    checkPluginSettingsInput({ pluginId, values, meta });
    const change = {
      settings: JSON.stringify(values),
      updated_at: meta.updatedAt,
      updated_by: meta.updatedBy,
    };
    await this.#context.adapter.upsert(this.#context.db, {
      table: 'plugin_settings',
      row: { plugin_id: pluginId, ...change },
      key: ['plugin_id'],
      change,
    });
    return { pluginId, values: { ...values }, updatedAt: meta.updatedAt, updatedBy: meta.updatedBy };
  }

  async clear(pluginId: string): Promise<void> {
    checkPluginSettingsInput({ pluginId });
    await this.#context.db.deleteFrom('plugin_settings').where('plugin_id', '=', pluginId).execute();
  }
}
