import { pluginInstallationStoreContract } from '@kaiwa/core/testing';
import { createMemoryPluginInstallationStore } from './installation-store.js';

pluginInstallationStoreContract({
  name: 'memory',
  open: async () => ({ store: createMemoryPluginInstallationStore(), close: async () => {} }),
});
