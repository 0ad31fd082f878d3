import { ConflictError, createId, type Room, type User } from '@kaiwa/core';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { openTestStore, testMigrator, testSkipReason } from './test-support.js';

const DIALECT_NAMES = { sqlite: 'SQLite', postgres: 'PostgreSQL', mysql: 'MariaDB/MySQL' } as const;
const at = () => new Date().toISOString();

function user(name: string): User {
  const now = at();
  return {
    id: createId(),
    username: name,
    displayName: name,
    role: 'member',
    forcePasswordChange: false,
    createdAt: now,
    updatedAt: now,
  };
}

function room(kind: Room['kind'], name: string, createdBy: string): Room {
  const now = at();
  return {
    id: createId(),
    kind,
    name,
    topic: '',
    archived: false,
    createdBy,
    lastSeq: 0,
    createdAt: now,
    updatedAt: now,
  };
}

for (const dialect of ['sqlite', 'postgres', 'mysql'] as const) {
  const skip = testSkipReason(dialect);
  describe.skipIf(skip !== undefined)(`0008_private_room_names on ${DIALECT_NAMES[dialect]}`, () => {
    if (skip !== undefined)
      console.info(`${DIALECT_NAMES[dialect]} private room name tests skipped: ${skip}`);

    it('keeps the rooms of a database made before it, their members and foreign keys, and unique channel names only', async () => {
      const store = await openTestStore(dialect, { migrate: false });
      try {
        const migrator = await testMigrator(store, dialect);
        expect((await migrator.migrateTo('0007_audit_log')).error).toBeUndefined();
        const alice = user(`alice-${dialect}`);
        await store.users.insert(alice);
        const general = room('channel', 'general', alice.id);
        const secret = room('group', 'secret', alice.id);
        await store.rooms.insert(general);
        await store.rooms.insert(secret);
        await store.memberships.insert({
          roomId: secret.id,
          userId: alice.id,
          role: 'owner',
          lastReadMessageId: null,
          muted: false,
          joinedAt: at(),
        });
        // Before: one name for all rooms, so a second "secret" group is refused (and so revealed).
        await expect(store.rooms.insert(room('group', 'secret', alice.id))).rejects.toBeInstanceOf(
          ConflictError,
        );

        expect(await store.migrate()).toEqual({
          applied: [
            '0008_private_room_names',
            '0009_knowledge',
            '0010_plugin_storage',
            '0011_plugin_job_runs',
            '0012_plugin_installations',
            '0013_plugin_settings',
            '0014_knowledge_full_text',
            '0015_knowledge_full_text_documents_only',
          ],
        });
        expect(await store.rooms.findById(general.id)).toEqual(general);
        expect(await store.rooms.findById(secret.id)).toEqual(secret);
        expect((await store.memberships.find(secret.id, alice.id))?.role).toBe('owner');

        // Groups share names with groups and with channels; channels stay unique.
        const twin = room('group', 'secret', alice.id);
        await store.rooms.insert(twin);
        const publicSecret = room('channel', 'secret', alice.id);
        await store.rooms.insert(publicSecret);
        const taken = await store.rooms
          .insert(room('channel', 'general', alice.id))
          .catch((error: unknown) => error);
        expect(taken).toBeInstanceOf(ConflictError);
        expect((taken as ConflictError).field).toBe('name');
        await expect(store.rooms.update(twin.id, { name: 'general' })).resolves.toBeUndefined();
        await expect(store.rooms.update(publicSecret.id, { name: 'general' })).rejects.toMatchObject({
          field: 'name',
        });
        // The channel first, then the oldest group.
        expect((await store.rooms.findByName('secret'))?.id).toBe(publicSecret.id);
        expect((await store.rooms.findByName('general'))?.id).toBe(general.id);

        // Foreign keys still hold after the rebuild.
        await expect(
          store.memberships.insert({
            roomId: createId(),
            userId: alice.id,
            role: 'member',
            lastReadMessageId: null,
            muted: false,
            joinedAt: at(),
          }),
        ).rejects.toThrow();
        if (dialect === 'sqlite') {
          const { rows } = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(store.db);
          expect(rows[0]?.foreign_keys).toBe(1);
        }
      } finally {
        await store.close();
      }
    });
  });
}
