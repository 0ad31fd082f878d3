import { createId, type Room, type User } from '@kaiwa/core';
import type { KyselyChatStore } from '@kaiwa/store-kysely';
import type { Population } from './workload.js';

/** Users and channels through the store; every user joins every room (no join events: not measured). */
export async function createPopulation(
  store: KyselyChatStore,
  users: number,
  rooms: number,
  at: string,
): Promise<Population> {
  const population: Population = { userIds: [], roomIds: [] };
  await store.transaction(async (tx) => {
    for (let i = 0; i < users; i++) {
      const user: User = {
        id: createId(),
        username: `bench${i}`,
        displayName: `Bench user ${i}`,
        role: 'member',
        forcePasswordChange: false,
        createdAt: at,
        updatedAt: at,
      };
      await tx.users.insert(user);
      population.userIds.push(user.id);
    }
    for (let i = 0; i < rooms; i++) {
      const room: Room = {
        id: createId(),
        kind: 'channel',
        name: `bench-room-${i}`,
        topic: '',
        archived: false,
        createdBy: population.userIds[0]!,
        lastSeq: 0,
        createdAt: at,
        updatedAt: at,
      };
      await tx.rooms.insert(room);
      population.roomIds.push(room.id);
      for (const userId of population.userIds) {
        await tx.memberships.insert({
          roomId: room.id,
          userId,
          role: userId === room.createdBy ? 'owner' : 'member',
          lastReadMessageId: null,
          muted: false,
          joinedAt: at,
        });
      }
    }
  });
  return population;
}

/** The population of a filled database, in a stable order. */
export async function loadPopulation(store: KyselyChatStore): Promise<Population> {
  const users = await store.db.selectFrom('users').select('id').orderBy('id').execute();
  const rooms = await store.db.selectFrom('rooms').select('id').orderBy('id').execute();
  return { userIds: users.map((row) => row.id), roomIds: rooms.map((row) => row.id) };
}

/** Fill plan: for message `i`, its room (spread at random, so rooms differ in size) and author. */
export function fillPlan(population: Population, next: () => number) {
  return () => ({
    roomIndex: Math.floor(next() * population.roomIds.length),
    authorId: population.userIds[Math.floor(next() * population.userIds.length)]!,
  });
}
