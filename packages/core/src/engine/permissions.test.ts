import { describe, expect, it } from 'vitest';
import type { MemberRole, Membership, Room } from '../schemas/room.js';
import type { User, UserRole } from '../schemas/user.js';
import { canRemoveMember, roomRightsOf } from './permissions.js';

const user = (role: UserRole = 'member') => ({ id: `user-${role}`, role }) as User;
const room = (kind: Room['kind'] = 'channel', archived = false) => ({ id: 'room', kind, archived }) as Room;
const membership = (role: MemberRole) => ({ roomId: 'room', userId: `user-${role}`, role }) as Membership;

describe('canRemoveMember', () => {
  it('lets room moderators remove plain members only, never owners or other moderators', () => {
    const moderator = membership('moderator');
    expect(canRemoveMember(user(), room(), moderator, membership('member'))).toBe(true);
    expect(canRemoveMember(user(), room(), moderator, membership('moderator'))).toBe(false);
    expect(canRemoveMember(user(), room(), moderator, membership('owner'))).toBe(false);
  });

  it('lets room owners and global admins remove anyone, members and global moderators nobody', () => {
    for (const target of ['owner', 'moderator', 'member'] as const) {
      expect(canRemoveMember(user(), room('group'), membership('owner'), membership(target))).toBe(true);
      expect(canRemoveMember(user('admin'), room('group'), undefined, membership(target))).toBe(true);
      expect(canRemoveMember(user(), room(), membership('member'), membership(target))).toBe(false);
      expect(canRemoveMember(user('moderator'), room(), undefined, membership(target))).toBe(false);
    }
  });

  it('removes nobody from a direct room', () => {
    expect(canRemoveMember(user('admin'), room('direct'), membership('owner'), membership('member'))).toBe(
      false,
    );
  });
});

describe('roomRightsOf', () => {
  const everything = ['owner', 'moderator', 'member'];

  it('gives owners every right, moderators all but roles, settings and removing their peers', () => {
    expect(roomRightsOf(user(), room('group'), membership('owner'))).toEqual({
      manage: true,
      rename: true,
      invite: true,
      setRoles: true,
      removeRoles: everything,
      changeSettings: true,
      moderate: true,
    });
    expect(roomRightsOf(user(), room('group'), membership('moderator'))).toEqual({
      manage: true,
      rename: true,
      invite: true,
      setRoles: false,
      removeRoles: ['member'],
      changeSettings: false,
      moderate: true,
    });
  });

  it('lets plain members invite to channels only, and guests never', () => {
    const none = {
      manage: false,
      rename: false,
      setRoles: false,
      removeRoles: [],
      changeSettings: false,
      moderate: false,
    };
    expect(roomRightsOf(user(), room('channel'), membership('member'))).toEqual({ ...none, invite: true });
    expect(roomRightsOf(user(), room('group'), membership('member'))).toEqual({ ...none, invite: false });
    expect(roomRightsOf(user('guest'), room('channel'), membership('member'))).toEqual({
      ...none,
      invite: false,
    });
    // A guest who owns a group still manages it, as the engine allows.
    expect(roomRightsOf(user('guest'), room('group'), membership('owner')).invite).toBe(true);
  });

  it('lets global admins do everything without a membership, and outsiders nothing', () => {
    expect(roomRightsOf(user('admin'), room('channel'), undefined)).toEqual({
      manage: true,
      rename: true,
      invite: true,
      setRoles: true,
      removeRoles: everything,
      changeSettings: true,
      moderate: true,
    });
    expect(roomRightsOf(user(), room('channel'), undefined)).toEqual({
      manage: false,
      rename: false,
      invite: false,
      setRoles: false,
      removeRoles: [],
      changeSettings: false,
      moderate: false,
    });
  });

  it('lets global moderators moderate the rooms they can read, and nothing more', () => {
    expect(roomRightsOf(user('moderator'), room('channel'), undefined)).toMatchObject({
      manage: false,
      moderate: true,
    });
    // A private group they are not in is not theirs to read, so not theirs to moderate.
    expect(roomRightsOf(user('moderator'), room('group'), undefined).moderate).toBe(false);
  });

  it('lets the two people of a direct room change its settings and nothing else', () => {
    expect(roomRightsOf(user(), room('direct'), membership('member'))).toEqual({
      manage: false,
      rename: false,
      invite: false,
      setRoles: false,
      removeRoles: [],
      changeSettings: true,
      moderate: false,
    });
    // Staff still moderate the messages of a direct room they are in.
    expect(roomRightsOf(user('admin'), room('direct'), membership('member')).moderate).toBe(true);
  });

  it('in an archived room allows unarchiving and roles, but no rename and no invitation', () => {
    expect(roomRightsOf(user(), room('group', true), membership('owner'))).toEqual({
      manage: true,
      rename: false,
      invite: false,
      setRoles: true,
      removeRoles: everything,
      changeSettings: true,
      moderate: true,
    });
  });
});
