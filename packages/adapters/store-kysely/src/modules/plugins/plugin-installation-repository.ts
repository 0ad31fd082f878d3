import {
  checkPluginInstallationInput,
  type PluginInstallation,
  type PluginInstallationPatch,
  type PluginInstallationStore,
} from '@kaiwa/core';
import type { Selectable } from 'kysely';
import type { PluginInstallationsTable } from '../../database.js';
import type { RepositoryContext } from '../repository-context.js';

/**
 * The installed plugins on kysely. `add` is the store's insert-once on the primary key (the plugin id), so of
 * any number of instances installing one id, one inserts, on every dialect; `update` writes the named columns
 * and reads the row back.
 */
export class KyselyPluginInstallationStore implements PluginInstallationStore {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  async add(installation: PluginInstallation): Promise<boolean> {
    checkPluginInstallationInput({ installation });
    return this.#context.adapter.insertOnce(this.#context.db, {
      table: 'plugin_installations',
      row: {
        plugin_id: installation.pluginId,
        version: installation.version,
        enabled: this.#context.adapter.sqlBoolean(installation.enabled),
        sha256: installation.sha256,
        installed_at: installation.installedAt,
        updated_at: installation.updatedAt,
      },
      key: { name: 'plugin_installations_pkey', columns: ['plugin_id'] },
    });
  }

  async update(pluginId: string, patch: PluginInstallationPatch): Promise<PluginInstallation | undefined> {
    checkPluginInstallationInput({ pluginId, patch });
    const result = await this.#context.db
      .updateTable('plugin_installations')
      .set({
        ...(patch.version !== undefined ? { version: patch.version } : {}),
        ...(patch.sha256 !== undefined ? { sha256: patch.sha256 } : {}),
        ...(patch.enabled !== undefined ? { enabled: this.#context.adapter.sqlBoolean(patch.enabled) } : {}),
        updated_at: patch.updatedAt,
      })
      .where('plugin_id', '=', pluginId)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) return undefined;
    return this.get(pluginId);
  }

  async get(pluginId: string): Promise<PluginInstallation | undefined> {
    checkPluginInstallationInput({ pluginId });
    const row = await this.#context.db
      .selectFrom('plugin_installations')
      .selectAll()
      .where('plugin_id', '=', pluginId)
      .executeTakeFirst();
    return row === undefined ? undefined : toInstallation(row);
  }

  async list(): Promise<PluginInstallation[]> {
    const rows = await this.#context.db
      .selectFrom('plugin_installations')
      .selectAll()
      .orderBy('plugin_id', 'asc')
      .execute();
    return rows.map(toInstallation);
  }

  async remove(pluginId: string): Promise<boolean> {
    checkPluginInstallationInput({ pluginId });
    const result = await this.#context.db
      .deleteFrom('plugin_installations')
      .where('plugin_id', '=', pluginId)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}

function toInstallation(row: Selectable<PluginInstallationsTable>): PluginInstallation {
  return {
    pluginId: row.plugin_id,
    version: row.version,
    enabled: Boolean(row.enabled),
    sha256: row.sha256,
    installedAt: row.installed_at,
    updatedAt: row.updated_at,
  };
}
