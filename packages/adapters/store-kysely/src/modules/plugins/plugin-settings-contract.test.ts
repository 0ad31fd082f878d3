import { pluginSettingsStoreContract } from '@kaiwa/core/testing';
import { openTestPeer, openTestStorage, testDialects } from '../../test-support.js';
import { pluginStorageModule } from './plugin-storage-module.js';

// `PluginSettingsStore`'s conformance suite on every database. On PostgreSQL and MariaDB/MySQL a second store on
// its own connection pool reads what the first saved and races its saves, as another server instance.
for (const { dialect, skip } of testDialects) {
  pluginSettingsStoreContract({
    name: `${dialect}, plugins module only`,
    open: async () => {
      const storage = await openTestStorage(dialect, [pluginStorageModule]);
      const peer = dialect === 'sqlite' ? undefined : await openTestPeer(dialect, storage.db);
      return {
        store: storage.pluginSettings,
        ...(peer ? { peer: peer.pluginSettings } : {}),
        async close() {
          await peer?.close();
          await storage.close();
        },
      };
    },
    ...(skip ? { skip } : {}),
  });
}
