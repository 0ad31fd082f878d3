import { describe, expect, it } from 'vitest';
import type { MemberRole, Membership, Room } from '../schemas/room.js';
import type { User, UserRole } from '../schemas/user.js';
import { canRemoveMember } from './permissions.js';

const user = (role: UserRole = 'member') => ({ id: `user-${role}`, role }) as User;
const room = (kind: Room['kind'] = 'channel') => ({ id: 'room', kind, archived: false }) as Room;
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
