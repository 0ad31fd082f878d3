import type { Room } from '@kaiwa/protocol';
import { describe, expect, it } from 'vitest';
import { groupName, roomRights } from './room-rights';

const room = (kind: Room['kind'], archived = false) => ({ kind, archived }) as Room;
const member = { manageUsers: false, listUsers: true };
const guest = { manageUsers: false, listUsers: false };
const admin = { manageUsers: true, listUsers: true };

describe('roomRights', () => {
  it('lets owners do everything, moderators all but roles and removing owners or moderators, members of channels only invite', () => {
    expect(roomRights(room('group'), 'owner', member)).toEqual({
      manage: true,
      removeRoles: ['owner', 'moderator', 'member'],
      invite: true,
      setRoles: true,
    });
    expect(roomRights(room('group'), 'moderator', member)).toEqual({
      manage: true,
      removeRoles: ['member'],
      invite: true,
      setRoles: false,
    });
    expect(roomRights(room('group'), 'member', member)).toEqual({
      manage: false,
      removeRoles: [],
      invite: false,
      setRoles: false,
    });
    expect(roomRights(room('channel'), 'member', member).invite).toBe(true);
  });

  it('never lets guests invite, and nobody manage a direct room', () => {
    expect(roomRights(room('channel'), 'owner', guest)).toEqual({
      manage: true,
      removeRoles: ['owner', 'moderator', 'member'],
      invite: false,
      setRoles: true,
    });
    expect(roomRights(room('direct'), 'owner', admin)).toEqual({
      manage: false,
      removeRoles: [],
      invite: false,
      setRoles: false,
    });
  });

  it('lets admins manage any room they see, and nobody invite into an archived one', () => {
    expect(roomRights(room('group'), undefined, admin)).toEqual({
      manage: true,
      removeRoles: ['owner', 'moderator', 'member'],
      invite: true,
      setRoles: true,
    });
    expect(roomRights(room('group', true), 'owner', member).invite).toBe(false);
  });
});

describe('groupName', () => {
  it('joins the usernames in order, within 64 characters and without a trailing separator', () => {
    expect(groupName(['carol', 'ada', 'bob'])).toBe('ada-bob-carol');
    expect(groupName(Array.from({ length: 9 }, (_, index) => `person.${index}`)).length).toBeLessThanOrEqual(
      64,
    );
    expect(groupName([`${'a'.repeat(63)}`, 'b'])).toBe('a'.repeat(63));
  });
});
