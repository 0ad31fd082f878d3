import { busContract, presenceStoreContract } from '@kaiwa/core/testing';
import { createRedisBus } from './redis-bus.js';
import { createRedisPresenceStore } from './redis-presence-store.js';

const url = process.env.KAIWA_TEST_REDIS_URL || undefined;
const skip = url ? undefined : 'set KAIWA_TEST_REDIS_URL=redis://127.0.0.1:6379 to run them';

busContract({
  name: 'redis',
  skip,
  carriesTraceContext: true,
  create: (namespace) => createRedisBus({ url, channel: namespace, onListenerError: () => undefined }),
});

presenceStoreContract({
  name: 'redis',
  skip,
  create: (namespace) => createRedisPresenceStore({ url, prefix: `${namespace}:` }),
});
