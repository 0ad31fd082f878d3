import { randomBytes } from 'node:crypto';
import { createId } from '@kaiwa/core';
import { describe, expect, it } from 'vitest';
import { openTestStorage, testDialects } from '../../test-support.js';
import { chatStorageModule } from '../chat/chat-storage-module.js';
import { roomSettingStorageModule } from './room-setting-storage-module.js';

/*
 * Core has no method-level suite for `RoomSettingStorage` yet (core's `chatStoreContract` covers room
 * settings through the engine, on the store of every module): until it does, the module is checked here on
 * its own with the chat module it requires, on every database.
 */
for (const { dialect, skip } of testDialects) {
  describe.skipIf(skip !== undefined)(
    `room settings module: ${dialect}${skip ? ` (skipped: ${skip})` : ''}`,
    () => {
      it('keeps JSON per room and key, inserts once, replaces, deletes and lists by key', async () => {
        const storage = await openTestStorage(dialect, [chatStorageModule, roomSettingStorageModule]);
        try {
          const at = new Date().toISOString();
          const userId = createId();
          await storage.users.insert({
            id: userId,
            username: `settings-${randomBytes(4).toString('hex')}`,
            displayName: 'Owner',
            role: 'member',
            forcePasswordChange: false,
            createdAt: at,
            updatedAt: at,
          });
          const roomIds = [createId(), createId()];
          for (const id of roomIds) {
            await storage.rooms.insert({
              id,
              kind: 'group',
              name: 'settings',
              topic: '',
              archived: false,
              createdBy: userId,
              lastSeq: 0,
              createdAt: at,
              updatedAt: at,
            });
          }
          const [first, second] = roomIds as [string, string];
          expect(await storage.roomSettings.get(first, 'assistant')).toBeUndefined();
          expect(
            await storage.roomSettings.insertIfAbsent(
              first,
              'assistant',
              { prompt: 'あなたは誠実です 🌸' },
              at,
            ),
          ).toBe(true);
          expect(
            await storage.roomSettings.insertIfAbsent(first, 'assistant', { prompt: 'second' }, at),
          ).toBe(false);
          await storage.roomSettings.set(second, 'assistant', ['a', null], at);
          await storage.roomSettings.set(second, 'assistant', { n: 2 }, at);
          expect(await storage.roomSettings.listByKey('assistant')).toEqual(
            [
              { roomId: first, value: { prompt: 'あなたは誠実です 🌸' } },
              { roomId: second, value: { n: 2 } },
            ].sort((a, b) => (a.roomId < b.roomId ? -1 : 1)),
          );
          await storage.roomSettings.delete(first, 'assistant');
          expect(await storage.roomSettings.get(first, 'assistant')).toBeUndefined();
        } finally {
          await storage.close();
        }
      });
    },
  );
}
