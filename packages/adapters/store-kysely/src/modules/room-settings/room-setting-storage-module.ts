import type { RoomSettingStorage } from '@kaiwa/core';
import { defineKyselyStorageModule } from '../storage-module.js';
import { roomSettingsMigration } from './migrations/0003-room-settings.js';
import { KyselyRoomSettingRepository } from './room-setting-repository.js';

/**
 * `RoomSettingStorage`: per-room settings of features. Its rows belong to rooms (a foreign key), hence
 * `requires: ['chat']`.
 *
 * @example
 * const storage = createKyselyStorage({ db, dialect, modules: [chatStorageModule, roomSettingStorageModule] });
 */
export const roomSettingStorageModule = defineKyselyStorageModule({
  name: 'room-settings',
  requires: ['chat'],
  migrations: (dialect) => ({ '0003_room_settings': roomSettingsMigration(dialect) }),
  repositories: (context): RoomSettingStorage => ({
    roomSettings: new KyselyRoomSettingRepository(context),
  }),
});
