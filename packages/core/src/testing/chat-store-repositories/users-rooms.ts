import { describe, expect } from 'vitest';
import { NotFoundError } from '../../errors.js';
import { createId } from '../../ids.js';
import type { ChatStorage } from '../../ports/chat-store.js';
import {
  conflictField,
  gate,
  membershipFixture,
  now,
  pause,
  type RepositorySuite,
  rejection,
  roomFixture,
  unique,
  userFixture,
} from './support.js';

/** The tests of {@link userRoomRepositoryTests}, by the key `skipTests` takes. */
export type UserRoomRepositoryTest =
  | 'users-round-trip'
  | 'users-unique'
  | 'rooms-round-trip'
  | 'rooms-list-channels'
  | 'rooms-readable-ids'
  | 'rooms-unique'
  | 'rooms-sequence-gap-free'
  | 'rooms-sequence-commit-order'
  | 'memberships-round-trip'
  | 'memberships-unique';

/**
 * Users, rooms and memberships: round trips, keyset pages, unique keys reported as ConflictError naming
 * the field, and room sequence numbers that are gap-free and in commit order.
 */
export function userRoomRepositoryTests(suite: RepositorySuite<UserRoomRepositoryTest, ChatStorage>): void {
  const { store, test, newUser, newRoom } = suite;

  describe('users', () => {
    test('users-round-trip', 'inserts, finds, lists, counts and updates users', async () => {
      const before = await store.users.count();
      const alice = await newUser({
        displayName: 'Alice 愛 🌸',
        role: 'moderator',
        forcePasswordChange: true,
      });
      const bob = await newUser({ role: 'moderator' });
      const carol = await newUser({ role: 'guest' });

      expect(await store.users.findById(alice.id)).toEqual(alice);
      expect(await store.users.findById(createId())).toBeUndefined();
      expect(await store.users.findByUsername(bob.username)).toEqual(bob);
      expect(await store.users.findByUsername(bob.username.toUpperCase())).toBeUndefined();
      expect(await store.users.findByUsernames([carol.username, 'nobody-here', alice.username])).toEqual([
        alice,
        carol,
      ]);
      expect(await store.users.findByUsernames([])).toEqual([]);
      expect(await store.users.findByIds([carol.id, bob.id, createId()])).toEqual([bob, carol]);
      expect(await store.users.count()).toBe(before + 3);

      const moderators = await store.users.list({ role: 'moderator', limit: 200 });
      expect(moderators.map((user) => user.id)).toEqual([alice.id, bob.id]);
      expect(await store.users.list({ role: 'moderator', after: alice.id, limit: 10 })).toEqual([bob]);
      expect(await store.users.list({ role: 'moderator', limit: 1 })).toEqual([alice]);

      const later = now();
      await store.users.update(alice.id, {
        displayName: 'Alice 2',
        role: 'admin',
        forcePasswordChange: false,
        updatedAt: later,
      });
      expect(await store.users.findById(alice.id)).toEqual({
        ...alice,
        displayName: 'Alice 2',
        role: 'admin',
        forcePasswordChange: false,
        updatedAt: later,
      });
      await store.users.update(alice.id, {});
      await store.users.update(createId(), { displayName: 'nobody' });
    });

    test('users-unique', 'refuses a taken username or id with a conflict naming the field', async () => {
      const alice = await newUser();
      expect(await conflictField(store.users.insert(userFixture({ username: alice.username })))).toBe(
        'username',
      );
      expect(await conflictField(store.users.insert(userFixture({ id: alice.id })))).toBe('id');
    });
  });

  describe('rooms', () => {
    test('rooms-round-trip', 'inserts, finds and updates rooms of every kind', async () => {
      const alice = await newUser();
      const bob = await newUser();
      const channel = await newRoom(alice.id, { topic: 'トピック 🚀' });
      const group = await newRoom(alice.id, { kind: 'group', name: unique('グループ') });
      const directKey = [alice.id, bob.id].sort().join(':');
      const direct = roomFixture(alice.id, { kind: 'direct', name: null });
      await store.rooms.insert(direct, directKey);

      expect(await store.rooms.findById(channel.id)).toEqual(channel);
      expect(await store.rooms.findByName(group.name!)).toEqual(group);
      expect(await store.rooms.findDirect(directKey)).toEqual(direct);
      expect(await store.rooms.findDirect(`${bob.id}:${alice.id}`)).toBeUndefined();

      const later = now();
      await store.rooms.update(channel.id, {
        name: unique('renamed'),
        topic: 'new',
        archived: true,
        updatedAt: later,
      });
      const updated = await store.rooms.findById(channel.id);
      expect(updated).toMatchObject({ topic: 'new', archived: true, updatedAt: later });
      expect(updated?.name).not.toBe(channel.name);
      await store.rooms.update(createId(), { topic: 'nobody' });
    });

    test(
      'rooms-list-channels',
      'lists public channels in id order, leaving out archived ones unless asked',
      async () => {
        const alice = await newUser();
        const mine = [
          await newRoom(alice.id),
          await newRoom(alice.id, { archived: true }),
          await newRoom(alice.id),
        ];
        await newRoom(alice.id, { kind: 'group' });
        const live = await store.rooms.listChannels({ limit: 200 });
        expect(live.every((room) => room.kind === 'channel' && !room.archived)).toBe(true);
        expect(live.map((room) => room.id)).toEqual([...live.map((room) => room.id)].sort());
        expect(live.map((room) => room.id)).toEqual(expect.arrayContaining([mine[0]!.id, mine[2]!.id]));
        expect(live.map((room) => room.id)).not.toContain(mine[1]!.id);
        const all = await store.rooms.listChannels({ after: mine[0]!.id, limit: 2, includeArchived: true });
        expect(all.map((room) => room.id)).toEqual([mine[1]!.id, mine[2]!.id]);
      },
    );

    test(
      'rooms-readable-ids',
      "lists the ids of a user's rooms and, when asked, of every channel, archived too, each once",
      async () => {
        const alice = await newUser();
        const bob = await newUser();
        const joined = await newRoom(bob.id, {}, [bob.id, alice.id]);
        const group = await newRoom(bob.id, { kind: 'group' }, [bob.id, alice.id]);
        const direct = await newRoom(bob.id, { kind: 'direct', name: '' }, [bob.id, alice.id]);
        const open = await newRoom(bob.id, {}, [bob.id]);
        const archived = await newRoom(bob.id, { archived: true }, [bob.id]);
        const closed = await newRoom(bob.id, { kind: 'group' }, [bob.id]);
        const sorted = (ids: string[]) => [...ids].sort();
        expect(sorted(await store.rooms.listReadableIds(alice.id, { includeChannels: false }))).toEqual(
          sorted([joined.id, group.id, direct.id]),
        );
        const all = await store.rooms.listReadableIds(alice.id, { includeChannels: true });
        expect(new Set(all).size).toBe(all.length);
        expect(all).toEqual(expect.arrayContaining([joined.id, group.id, direct.id, open.id, archived.id]));
        expect(all).not.toContain(closed.id);
      },
    );

    test('rooms-unique', 'refuses a taken name or direct key with a conflict naming the field', async () => {
      const alice = await newUser();
      const room = await newRoom(alice.id);
      const other = await newRoom(alice.id);
      expect(await conflictField(store.rooms.insert(roomFixture(alice.id, { name: room.name })))).toBe(
        'name',
      );
      expect(await conflictField(store.rooms.update(other.id, { name: room.name! }))).toBe('name');
      const directKey = `${alice.id}:${createId()}`;
      await store.rooms.insert(roomFixture(alice.id, { kind: 'direct', name: null }), directKey);
      expect(
        await conflictField(
          store.rooms.insert(roomFixture(alice.id, { kind: 'direct', name: null }), directKey),
        ),
      ).toBe('directKey');
      // Rooms without a name or direct key never clash.
      await store.rooms.insert(
        roomFixture(alice.id, { kind: 'direct', name: null }),
        `${alice.id}:${createId()}`,
      );
    });

    test(
      'rooms-sequence-gap-free',
      'hands out gap-free sequence numbers, also when a transaction rolls back',
      async () => {
        const alice = await newUser();
        const room = await newRoom(alice.id);
        expect(await store.transaction((tx) => tx.rooms.nextSeq(room.id))).toBe(1);
        const failed = store.transaction(async (tx) => {
          expect(await tx.rooms.nextSeq(room.id)).toBe(2);
          throw new Error('roll back');
        });
        await expect(failed).rejects.toThrow('roll back');
        expect(await store.transaction((tx) => tx.rooms.nextSeq(room.id))).toBe(2);
        expect(await store.rooms.nextSeq(room.id)).toBe(3);
        expect((await store.rooms.findById(room.id))?.lastSeq).toBe(3);
        const error = await rejection(store.rooms.nextSeq(createId()));
        expect(error).toBeInstanceOf(NotFoundError);
      },
    );

    test(
      'rooms-sequence-commit-order',
      'orders sequence numbers of concurrent transactions by commit',
      async () => {
        const alice = await newUser();
        const room = await newRoom(alice.id);
        const hold = gate();
        const taken = gate();
        const first = store.transaction(async (tx) => {
          const seq = await tx.rooms.nextSeq(room.id);
          taken.open();
          await hold.promise;
          return seq;
        });
        await taken.promise;
        const second = store.transaction((tx) => tx.rooms.nextSeq(room.id));
        await pause(50);
        hold.open();
        expect(await Promise.all([first, second])).toEqual([1, 2]);
      },
    );
  });

  describe('memberships', () => {
    test(
      'memberships-round-trip',
      'inserts, finds, lists, updates, counts and deletes memberships',
      async () => {
        const owner = await newUser();
        const members = [await newUser(), await newUser(), await newUser()];
        const room = await newRoom(owner.id, {}, []);
        const other = await newRoom(members[0]!.id, { kind: 'group' }, []);
        const ownerMembership = membershipFixture(room.id, owner.id, { role: 'owner', muted: true });
        await store.memberships.insert(ownerMembership);
        for (const member of members) await store.memberships.insert(membershipFixture(room.id, member.id));
        await store.memberships.insert(membershipFixture(other.id, members[0]!.id, { role: 'owner' }));

        expect(await store.memberships.find(room.id, owner.id)).toEqual(ownerMembership);
        expect(await store.memberships.find(other.id, owner.id)).toBeUndefined();
        expect(await store.memberships.countByRoom(room.id)).toBe(4);

        const everyone = [owner.id, ...members.map((member) => member.id)].sort();
        const firstPage = await store.memberships.listByRoom(room.id, { limit: 2 });
        expect(firstPage.map((membership) => membership.userId)).toEqual(everyone.slice(0, 2));
        const secondPage = await store.memberships.listByRoom(room.id, { after: everyone[1], limit: 10 });
        expect(secondPage.map((membership) => membership.userId)).toEqual(everyone.slice(2));

        const rooms = await store.memberships.listByUser(members[0]!.id);
        expect(rooms.map(({ room }) => room.id)).toEqual([room.id, other.id].sort());
        const inOther = rooms.find((entry) => entry.room.id === other.id)!;
        expect(inOther.room).toEqual(await store.rooms.findById(other.id));
        expect(inOther.membership).toEqual(await store.memberships.find(other.id, members[0]!.id));

        // The room with the user's membership in one read: absent membership, absent room.
        expect(await store.memberships.findWithRoom(room.id, owner.id)).toEqual({
          room: await store.rooms.findById(room.id),
          membership: ownerMembership,
        });
        expect(await store.memberships.findWithRoom(other.id, owner.id)).toEqual({
          room: await store.rooms.findById(other.id),
          membership: undefined,
        });
        expect(await store.memberships.findWithRoom(createId(), owner.id)).toBeUndefined();

        const readUpTo = createId();
        await store.memberships.update(room.id, members[1]!.id, {
          role: 'moderator',
          lastReadMessageId: readUpTo,
          muted: true,
        });
        expect(await store.memberships.find(room.id, members[1]!.id)).toMatchObject({
          role: 'moderator',
          lastReadMessageId: readUpTo,
          muted: true,
        });
        expect((await store.memberships.findWithRoom(room.id, members[1]!.id))?.membership).toEqual(
          await store.memberships.find(room.id, members[1]!.id),
        );
        await store.memberships.update(room.id, members[1]!.id, { lastReadMessageId: null, muted: false });
        expect(await store.memberships.find(room.id, members[1]!.id)).toMatchObject({
          lastReadMessageId: null,
          muted: false,
        });

        await store.memberships.delete(room.id, members[2]!.id);
        await store.memberships.delete(room.id, members[2]!.id);
        expect(await store.memberships.find(room.id, members[2]!.id)).toBeUndefined();
        expect(await store.memberships.countByRoom(room.id)).toBe(3);
      },
    );

    test('memberships-unique', 'refuses a second membership with a conflict naming userId', async () => {
      const owner = await newUser();
      const room = await newRoom(owner.id);
      expect(await conflictField(store.memberships.insert(membershipFixture(room.id, owner.id)))).toBe(
        'userId',
      );
    });
  });
}
