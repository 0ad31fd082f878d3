import { pluginInstallationStoreContract } from '@kaiwa/core/testing';
import { openTestPeer, openTestStorage, testDialects } from '../../test-support.js';
import { pluginStorageModule } from './plugin-storage-module.js';

// `PluginInstallationStore`'s conformance suite on every database. On PostgreSQL and MariaDB/MySQL a second
// store on its own connection pool races the first for the same plugin id, as another server instance.
for (const { dialect, skip } of testDialects) {
  pluginInstallationStoreContract({
    name: `${dialect}, plugins module only`,
    open: async () => {
      const storage = await openTestStorage(dialect, [pluginStorageModule]);
      const peer = dialect === 'sqlite' ? undefined : await openTestPeer(dialect, storage.db);
      return {
        store: storage.pluginInstallations,
        ...(peer ? { peer: peer.pluginInstallations } : {}),
        async close() {
          await peer?.close();
          await storage.close();
        },
      };
    },
    ...(skip ? { skip } : {}),
  });
}
