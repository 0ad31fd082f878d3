export { createRedisBus, RedisBus, type RedisBusConfig } from './redis-bus.js';
export {
  createRedisPresenceStore,
  RedisPresenceStore,
  type RedisPresenceStoreConfig,
} from './redis-presence-store.js';
