import { pluginKeyValueStoreContract } from '@kaiwa/core/testing';
import { createMemoryKeyValueStore } from './key-value-store.js';

// The memory store runs the port's conformance suite; `@kaiwa/store-kysely` runs it on every database.
pluginKeyValueStoreContract({
  name: 'memory',
  open: async () => ({ store: createMemoryKeyValueStore(), close: async () => {} }),
});
