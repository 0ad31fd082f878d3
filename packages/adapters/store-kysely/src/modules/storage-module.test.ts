import type { Migration } from 'kysely';
import { describe, expect, it } from 'vitest';
import {
  auditStorageModule,
  chatStorageModule,
  checkStorageModules,
  composedMigrations,
  kaiwaStorageModules,
  projectStorageModule,
  roomSettingStorageModule,
} from './index.js';
import { defineKyselyStorageModule } from './storage-module.js';

const noop: Migration = { up: async () => {} };

describe('storage modules', () => {
  it('compose every module of the store, each port once', () => {
    expect(() => checkStorageModules(kaiwaStorageModules)).not.toThrow();
    expect(kaiwaStorageModules.map((module) => module.name)).toEqual([
      'chat',
      'projects',
      'accounts',
      'room-settings',
      'workflows',
      'platform',
      'audit',
      'knowledge',
      'plugins',
    ]);
  });

  it('refuses a module without a module it requires, naming both', () => {
    expect(() => checkStorageModules([projectStorageModule, auditStorageModule])).toThrow(
      "storage module 'projects' requires storage module 'chat'",
    );
    expect(() => checkStorageModules([roomSettingStorageModule, chatStorageModule])).not.toThrow();
  });

  it('refuses a module composed twice', () => {
    expect(() => checkStorageModules([chatStorageModule, chatStorageModule])).toThrow(
      "storage module 'chat' is composed twice",
    );
  });

  it('merges migrations in name order, whatever the order of the modules', () => {
    expect(Object.keys(composedMigrations([auditStorageModule, chatStorageModule], 'sqlite'))).toEqual([
      '0001_initial',
      '0002_deferred_search_index',
      '0006_user_deactivation',
      '0007_audit_log',
      '0008_private_room_names',
    ]);
    expect(Object.keys(composedMigrations([projectStorageModule], 'mysql'))).toEqual([]);
  });

  it('refuses two modules declaring a migration of the same name, naming both', () => {
    const impostor = defineKyselyStorageModule({
      name: 'impostor',
      migrations: () => ({ '0007_audit_log': noop }),
      repositories: () => ({}),
    });
    expect(() => composedMigrations([auditStorageModule, impostor], 'postgres')).toThrow(
      "migration 0007_audit_log is declared by storage modules 'audit' and 'impostor'",
    );
  });
});
