import { pluginJobRunStoreContract } from '@kaiwa/core/testing';
import { createMemoryPluginJobRunStore } from './job-run-store.js';

pluginJobRunStoreContract({
  name: 'memory',
  open: async () => ({ store: createMemoryPluginJobRunStore(), close: async () => {} }),
});
