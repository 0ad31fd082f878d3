import type { PlatformStorage } from '@kaiwa/core';
import { defineKyselyStorageModule } from '../storage-module.js';
import { platformBridgeMigration } from './migrations/0005-platform-bridge.js';
import { KyselyBridgeRepository } from './platform-bridge-repository.js';
import { KyselyPlatformInboxRepository } from './platform-inbox-repository.js';
import { KyselyPlatformOutboxRepository } from './platform-outbox-repository.js';

/**
 * `PlatformStorage`: the platform inbox and outbox and the bridge's links and id mappings
 * (`@kaiwa/platform-queues`). Its tables have no foreign keys into other modules' tables, so it needs no
 * other module.
 *
 * @example
 * const storage = createKyselyStorage({ db, dialect, modules: [platformStorageModule] });
 */
export const platformStorageModule = defineKyselyStorageModule({
  name: 'platform',
  migrations: (dialect) => ({ '0005_platform_bridge': platformBridgeMigration(dialect) }),
  repositories: (context): PlatformStorage => ({
    platformInbox: new KyselyPlatformInboxRepository(context),
    platformOutbox: new KyselyPlatformOutboxRepository(context),
    bridges: new KyselyBridgeRepository(context),
  }),
});
