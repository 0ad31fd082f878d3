import { auditRepositoryContract } from '@kaiwa/core/testing';
import { openTestStorage, testDialects } from '../../test-support.js';
import { auditStorageModule } from './audit-storage-module.js';

// The audit module on its own, on every database: `AuditStorage`'s conformance suite.
for (const { dialect, skip } of testDialects) {
  auditRepositoryContract({
    name: `${dialect}, audit module only`,
    open: () => openTestStorage(dialect, [auditStorageModule]),
    ...(skip ? { skip } : {}),
  });
}
