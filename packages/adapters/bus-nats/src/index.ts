export { createNatsBus, NatsBus, type NatsBusConfig } from './nats-bus.js';
export {
  createNatsPresenceStore,
  NatsPresenceStore,
  type NatsPresenceStoreConfig,
} from './nats-presence-store.js';
