import { pluginKeyValueStoreContract } from '@kaiwa/core/testing';
import { openTestPeer, openTestStorage, testDialects } from '../../test-support.js';
import { pluginStorageModule } from './plugin-storage-module.js';

// The plugins module on its own, on every database: `PluginKeyValueStore`'s conformance suite. On PostgreSQL
// and MariaDB/MySQL a second store on its own connection pool races the first, as another server instance.
for (const { dialect, skip } of testDialects) {
  pluginKeyValueStoreContract({
    name: `${dialect}, plugins module only`,
    open: async () => {
      const storage = await openTestStorage(dialect, [pluginStorageModule]);
      const peer = dialect === 'sqlite' ? undefined : await openTestPeer(dialect, storage.db);
      return {
        store: storage.pluginKeyValues,
        ...(peer ? { peer: peer.pluginKeyValues } : {}),
        async close() {
          await peer?.close();
          await storage.close();
        },
      };
    },
    ...(skip ? { skip } : {}),
  });
}
