import { type AuditEntryInput, createId } from '@kaiwa/core';
import { chatStorageContract } from '@kaiwa/core/testing';
import { sql } from 'kysely';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { createKyselyStorage } from './kysely-storage.js';
import { auditStorageModule, chatStorageModule, projectStorageModule } from './modules/index.js';
import { openTestStorage, openTestStore, testDialects } from './test-support.js';

// Storage of a few modules is a store in its own right: the chat suite passes on chat and audit alone.
for (const { dialect, skip } of testDialects) {
  chatStorageContract({
    name: `${dialect}, chat and audit modules`,
    open: () => openTestStorage(dialect, [chatStorageModule, auditStorageModule]),
    ...(skip ? { skip } : {}),
  });
}

describe('createKyselyStorage', () => {
  it('has exactly the repositories of its modules and migrates only their tables', async () => {
    const database = await openTestStore('sqlite', { migrate: false });
    const storage = createKyselyStorage({
      db: database.db,
      dialect: 'sqlite',
      modules: [chatStorageModule, auditStorageModule],
    });
    try {
      expectTypeOf(storage.audit.append).toBeFunction();
      expectTypeOf(storage).not.toHaveProperty('projects');
      expect(storage.modules).toEqual(['chat', 'audit']);
      expect(Object.keys(storage)).not.toContain('workflows');
      expect((await storage.migrate()).applied).toEqual([
        '0001_initial',
        '0002_deferred_search_index',
        '0006_user_deactivation',
        '0007_audit_log',
        '0008_private_room_names',
      ]);
      expect((await storage.migrate()).applied).toEqual([]);
      const tables = await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(
        storage.db,
      );
      const names = tables.rows.map((row) => row.name);
      expect(names).toContain('audit_log');
      expect(names).not.toContain('room_settings');
      expect(names).not.toContain('workflow_runs');

      const entry: AuditEntryInput = {
        id: createId(),
        at: new Date().toISOString(),
        actorId: null,
        action: 'auth.login',
        targetType: 'user',
        targetId: null,
        outcome: 'success',
        requestId: 'req-1',
        remoteAddress: null,
        details: {},
      };
      await expect(
        storage.transaction(async (tx) => {
          await tx.audit.append(entry, () => 'sealed');
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
      expect(await storage.audit.listInOrder(0, 10)).toEqual([]);
    } finally {
      await storage.close();
      await database.close();
    }
  });

  it('grows: modules added later run their migrations, though they sort before ones that ran', async () => {
    const database = await openTestStore('sqlite', { migrate: false });
    try {
      const first = createKyselyStorage({
        db: database.db,
        dialect: 'sqlite',
        modules: [auditStorageModule],
      });
      expect((await first.migrate()).applied).toEqual(['0007_audit_log']);
      // The store of every module on the same database: everything else runs now.
      expect((await database.migrate()).applied).toEqual([
        '0001_initial',
        '0002_deferred_search_index',
        '0003_room_settings',
        '0004_workflows',
        '0005_platform_bridge',
        '0006_user_deactivation',
        '0008_private_room_names',
        '0009_knowledge',
        '0010_plugin_storage',
        '0011_plugin_job_runs',
        '0012_plugin_installations',
        '0013_plugin_settings',
        '0014_knowledge_full_text',
        '0015_knowledge_full_text_documents_only',
      ]);
    } finally {
      await database.close();
    }
  });

  it('refuses a module without the modules it requires', () => {
    expect(() =>
      createKyselyStorage({
        db: undefined as never,
        dialect: 'sqlite',
        modules: [projectStorageModule],
      }),
    ).toThrow("storage module 'projects' requires storage module 'chat', which is not composed");
  });
});
