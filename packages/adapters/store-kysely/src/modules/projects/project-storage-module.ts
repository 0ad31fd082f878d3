import type { ProjectStorage } from '@kaiwa/core';
import { defineKyselyStorageModule } from '../storage-module.js';
import { KyselyFileRecordRepository } from './file-record-repository.js';
import { KyselyProjectRepository } from './project-repository.js';
import { KyselyTicketRepository } from './ticket-repository.js';

/**
 * `ProjectStorage`: projects, tickets and file records. No migrations of its own: its tables were created
 * by the chat module's 0001_initial (which predates the modules and stays whole), and they refer to users
 * and rooms.
 *
 * @example
 * const storage = createKyselyStorage({ db, dialect, modules: [chatStorageModule, projectStorageModule] });
 */
export const projectStorageModule = defineKyselyStorageModule({
  name: 'projects',
  requires: ['chat'],
  repositories: (context): ProjectStorage => ({
    projects: new KyselyProjectRepository(context),
    tickets: new KyselyTicketRepository(context),
    files: new KyselyFileRecordRepository(context),
  }),
});
