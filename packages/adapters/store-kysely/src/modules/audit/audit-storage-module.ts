import type { AuditStorage } from '@kaiwa/core';
import { defineKyselyStorageModule } from '../storage-module.js';
import { KyselyAuditRepository } from './audit-repository.js';
import { auditLogMigration } from './migrations/0007-audit-log.js';

/**
 * `AuditStorage`: the append-only, hash-chained audit log. Entries keep actor and target ids without
 * foreign keys (the log outlives what it names), so it needs no other module.
 *
 * @example
 * const storage = createKyselyStorage({ db, dialect, modules: [auditStorageModule] });
 */
export const auditStorageModule = defineKyselyStorageModule({
  name: 'audit',
  migrations: (dialect) => ({ '0007_audit_log': auditLogMigration(dialect) }),
  repositories: (context): AuditStorage => ({ audit: new KyselyAuditRepository(context) }),
});
