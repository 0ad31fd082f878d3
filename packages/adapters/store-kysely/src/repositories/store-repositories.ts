import type { StoreRepositories } from '@kaiwa/core';
import type { Kysely } from 'kysely';
import type { KaiwaDatabase } from '../database.js';
import type { StoreDialectAdapter } from '../dialect/index.js';
import type { PreparedQueries } from '../prepared-queries.js';
import type { SqliteSearchIndex } from '../search-index.js';
import { KyselyAccountRepository } from './account-repository.js';
import { KyselyAuditRepository } from './audit-repository.js';
import { KyselyFileRecordRepository } from './file-record-repository.js';
import { KyselyMembershipRepository } from './membership-repository.js';
import { KyselyMessageRepository } from './message-repository.js';
import { KyselyBridgeRepository } from './platform-bridge-repository.js';
import { KyselyPlatformInboxRepository } from './platform-inbox-repository.js';
import { KyselyPlatformOutboxRepository } from './platform-outbox-repository.js';
import { KyselyProjectRepository } from './project-repository.js';
import { KyselyReactionRepository } from './reaction-repository.js';
import { KyselyRoomEventRepository } from './room-event-repository.js';
import { KyselyRoomRepository } from './room-repository.js';
import { KyselyRoomSettingRepository } from './room-setting-repository.js';
import { KyselyTicketRepository } from './ticket-repository.js';
import { KyselyUserRepository } from './user-repository.js';
import { KyselyWorkflowRepository } from './workflow-repository.js';

/**
 * Every repository bound to `db`, which may be the root connection or a transaction: the repositories
 * behave the same on either. `adapter` does what differs per database; `prepared` holds the store's
 * compiled hot queries; `searchIndex` is SQLite's deferred full-text indexer.
 */
export function createStoreRepositories(
  db: Kysely<KaiwaDatabase>,
  adapter: StoreDialectAdapter,
  prepared: PreparedQueries,
  searchIndex?: SqliteSearchIndex,
): StoreRepositories {
  const context = { db, adapter, prepared, searchIndex };
  return {
    users: new KyselyUserRepository(context),
    rooms: new KyselyRoomRepository(context),
    memberships: new KyselyMembershipRepository(context),
    messages: new KyselyMessageRepository(context),
    reactions: new KyselyReactionRepository(context),
    roomEvents: new KyselyRoomEventRepository(context),
    projects: new KyselyProjectRepository(context),
    tickets: new KyselyTicketRepository(context),
    files: new KyselyFileRecordRepository(context),
    accounts: new KyselyAccountRepository(context),
    roomSettings: new KyselyRoomSettingRepository(context),
    workflows: new KyselyWorkflowRepository(context),
    platformInbox: new KyselyPlatformInboxRepository(context),
    platformOutbox: new KyselyPlatformOutboxRepository(context),
    bridges: new KyselyBridgeRepository(context),
    audit: new KyselyAuditRepository(context),
  };
}
