import { type ChatStorage, searchDocument } from '@kaiwa/core';
import { defineKyselyStorageModule } from '../storage-module.js';
import { KyselyMembershipRepository } from './membership-repository.js';
import { KyselyMessageRepository } from './message-repository.js';
import { initialMigration } from './migrations/0001-initial.js';
import { deferredSearchIndexMigration } from './migrations/0002-deferred-search-index.js';
import { userDeactivationMigration } from './migrations/0006-user-deactivation.js';
import { privateRoomNamesMigration } from './migrations/0008-private-room-names.js';
import { KyselyReactionRepository } from './reaction-repository.js';
import { KyselyRoomEventRepository } from './room-event-repository.js';
import { KyselyRoomRepository } from './room-repository.js';
import { KyselyUserRepository } from './user-repository.js';

/**
 * `ChatStorage`: users, rooms, memberships, messages with reactions and full-text search, room events.
 *
 * Migration 0001_initial predates the modules and also creates the tables of the projects and accounts
 * modules (projects, tickets, files; user_passwords, refresh_tokens, api_keys), and 0006_user_deactivation
 * also indexes refresh_tokens. Released migrations stay whole under their recorded names, so both live here
 * and those modules require this one.
 *
 * @example
 * const storage = createKyselyStorage({ db, dialect, modules: [chatStorageModule] });
 */
export const chatStorageModule = defineKyselyStorageModule({
  name: 'chat',
  migrations: (dialect) => ({
    '0001_initial': initialMigration(dialect),
    '0002_deferred_search_index': deferredSearchIndexMigration(dialect, searchDocument),
    '0006_user_deactivation': userDeactivationMigration(dialect),
    '0008_private_room_names': privateRoomNamesMigration(dialect),
  }),
  repositories: (context): ChatStorage => ({
    users: new KyselyUserRepository(context),
    rooms: new KyselyRoomRepository(context),
    memberships: new KyselyMembershipRepository(context),
    messages: new KyselyMessageRepository(context),
    reactions: new KyselyReactionRepository(context),
    roomEvents: new KyselyRoomEventRepository(context),
  }),
  usesDeferredSearchIndex: true,
});
