import type { AccountStorage } from '@kaiwa/core';
import { defineKyselyStorageModule } from '../storage-module.js';
import { KyselyAccountRepository } from './account-repository.js';

/**
 * `AccountStorage`: password hashes, refresh tokens and API keys. No migrations of its own: its tables were
 * created by the chat module's 0001_initial (which predates the modules and stays whole; 0006 indexes
 * refresh tokens), and they refer to users.
 *
 * @example
 * const storage = createKyselyStorage({ db, dialect, modules: [chatStorageModule, accountStorageModule] });
 */
export const accountStorageModule = defineKyselyStorageModule({
  name: 'accounts',
  requires: ['chat'],
  repositories: (context): AccountStorage => ({ accounts: new KyselyAccountRepository(context) }),
});
