import type { ChatEvent } from '../events.js';
import type { Bus } from '../ports/bus.js';
import { busContract, presenceStoreContract } from '../testing/bus-contract.js';
import { InMemoryPresenceStore } from './in-memory-presence-store.js';
import { InProcessBus } from './in-process-bus.js';

// One process has one in-process bus; the contract's "instances" are views on it that close on their own.
const shared = new Map<string, InProcessBus>();

function view(bus: InProcessBus): Bus {
  const stops = new Set<() => void>();
  return {
    publish: (event: ChatEvent) => bus.publish(event),
    subscribe(listener) {
      const stop = bus.subscribe(listener);
      stops.add(stop);
      return () => {
        stop();
        stops.delete(stop);
      };
    },
    async close() {
      for (const stop of stops) stop();
      stops.clear();
    },
  };
}

busContract({
  name: 'in-process',
  create(namespace) {
    let bus = shared.get(namespace);
    if (!bus) {
      bus = new InProcessBus({ onListenerError: () => undefined });
      shared.set(namespace, bus);
    }
    return view(bus);
  },
});

const presence = new Map<string, InMemoryPresenceStore>();

presenceStoreContract({
  name: 'in-memory',
  create(namespace) {
    let store = presence.get(namespace);
    if (!store) {
      store = new InMemoryPresenceStore();
      presence.set(namespace, store);
    }
    // Instances share the store; closing one must not clear the others' entries.
    const shared = store;
    return {
      announce: (...args) => shared.announce(...args),
      withdraw: (...args) => shared.withdraw(...args),
      statuses: (...args) => shared.statuses(...args),
      close: async () => undefined,
    };
  },
});
