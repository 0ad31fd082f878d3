import { pluginSettingsStoreContract } from '@kaiwa/core/testing';
import { createMemoryPluginSettingsStore } from './settings-store.js';

pluginSettingsStoreContract({
  name: 'memory',
  open: async () => ({ store: createMemoryPluginSettingsStore(), close: async () => {} }),
});
