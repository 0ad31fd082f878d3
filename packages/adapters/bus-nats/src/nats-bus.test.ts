import type { PresenceStore } from '@kaiwa/core';
import { busContract, presenceStoreContract } from '@kaiwa/core/testing';
import { Kvm } from '@nats-io/kv';
import { createNatsBus } from './nats-bus.js';
import { createNatsPresenceStore } from './nats-presence-store.js';

const servers = process.env.KAIWA_TEST_NATS_URL || undefined;
const skip = servers ? undefined : 'set KAIWA_TEST_NATS_URL=nats://127.0.0.1:4222 to run them';

busContract({
  name: 'nats',
  skip,
  carriesTraceContext: true,
  create: (namespace) =>
    createNatsBus({ servers, subject: namespace.replaceAll('-', '.'), onListenerError: () => undefined }),
});

presenceStoreContract({
  name: 'nats-kv',
  skip,
  async create(namespace): Promise<PresenceStore> {
    const bus = await createNatsBus({ servers });
    const bucket = namespace.replaceAll('-', '_');
    const store = await createNatsPresenceStore({ connection: bus.connection, bucket });
    return {
      announce: (...args) => store.announce(...args),
      withdraw: (...args) => store.withdraw(...args),
      statuses: (...args) => store.statuses(...args),
      async close() {
        await store.close();
        // The shared test server keeps buckets: remove this test's (the second close finds it gone).
        await new Kvm(bus.connection)
          .open(bucket)
          .then((kv) => kv.destroy())
          .catch(() => undefined);
        await bus.close();
      },
    };
  },
});
