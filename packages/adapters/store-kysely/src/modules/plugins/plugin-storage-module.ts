import type {
  PluginInstallationStorage,
  PluginJobStorage,
  PluginSettingsStorage,
  PluginStorage,
} from '@kaiwa/core';
import { defineKyselyStorageModule } from '../storage-module.js';
import { pluginStorageMigration } from './migrations/0010-plugin-storage.js';
import { pluginJobRunsMigration } from './migrations/0011-plugin-job-runs.js';
import { pluginInstallationsMigration } from './migrations/0012-plugin-installations.js';
import { pluginSettingsMigration } from './migrations/0013-plugin-settings.js';
import { KyselyPluginInstallationStore } from './plugin-installation-repository.js';
import { KyselyPluginJobRunStore } from './plugin-job-run-repository.js';
import { KyselyPluginKeyValueStore } from './plugin-key-value-repository.js';
import { KyselyPluginSettingsStore } from './plugin-settings-repository.js';

/**
 * `PluginStorage` and `PluginJobStorage`: plugins' key-value storage (`PluginKeyValueStore`), in the database so
 * a plugin's state survives restarts and is shared by every server instance, each plugin's quota checked in the
 * write's transaction; their scheduled job runs (`PluginJobRunStore`), each slot claimed by one instance; and
 * the installed plugins (`PluginInstallationStore`: version, checksum, whether an admin stopped it); and their
 * settings as admins saved them (`PluginSettingsStore`).
 * Rows are kept by plugin id without foreign keys (plugins are installed from folders, not rows), so it needs
 * no other module.
 *
 * @example
 * const storage = createKyselyStorage({ db, dialect, modules: [pluginStorageModule] });
 * await storage.migrate();
 * await storage.pluginKeyValues.set('hello', 'greeted', 1, { quotaBytes: 4096 });
 */
export const pluginStorageModule = defineKyselyStorageModule({
  name: 'plugins',
  migrations: (dialect) => ({
    '0010_plugin_storage': pluginStorageMigration(dialect),
    '0011_plugin_job_runs': pluginJobRunsMigration(dialect),
    '0012_plugin_installations': pluginInstallationsMigration(dialect),
    '0013_plugin_settings': pluginSettingsMigration(dialect),
  }),
  repositories: (
    context,
  ): PluginStorage & PluginJobStorage & PluginInstallationStorage & PluginSettingsStorage => ({
    pluginKeyValues: new KyselyPluginKeyValueStore(context),
    pluginJobRuns: new KyselyPluginJobRunStore(context),
    pluginInstallations: new KyselyPluginInstallationStore(context),
    pluginSettings: new KyselyPluginSettingsStore(context),
  }),
});
