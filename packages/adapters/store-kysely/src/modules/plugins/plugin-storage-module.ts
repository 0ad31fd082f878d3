import type { PluginStorage } from '@kaiwa/core';
import { defineKyselyStorageModule } from '../storage-module.js';
import { pluginStorageMigration } from './migrations/0010-plugin-storage.js';
import { KyselyPluginKeyValueStore } from './plugin-key-value-repository.js';

/**
 * `PluginStorage`: plugins' key-value storage (`PluginKeyValueStore`), in the database so a plugin's state
 * survives restarts and is shared by every server instance, each plugin's quota checked in the write's
 * transaction. Rows are kept by plugin id without foreign keys (plugins are installed from folders, not rows),
 * so it needs no other module.
 *
 * @example
 * const storage = createKyselyStorage({ db, dialect, modules: [pluginStorageModule] });
 * await storage.migrate();
 * await storage.pluginKeyValues.set('hello', 'greeted', 1, { quotaBytes: 4096 });
 */
export const pluginStorageModule = defineKyselyStorageModule({
  name: 'plugins',
  migrations: (dialect) => ({ '0010_plugin_storage': pluginStorageMigration(dialect) }),
  repositories: (context): PluginStorage => ({ pluginKeyValues: new KyselyPluginKeyValueStore(context) }),
});
