import type { Capabilities, MemberRole, Room } from '@kaiwa/protocol';

/*
 * What the signed-in user may do in one room, for the room details panel. The account-wide part comes from
 * the server's capabilities (`manageUsers` is held by admins, `listUsers` by everyone but guests); the room's
 * part from my membership role, as @kaiwa/core's `permissions` rule it (`canInvite`, `canManageRoom`,
 * `canRemoveMember`, the owner-only role change of `setMemberRole`). The server checks every request anyway:
 * this only decides which controls are shown.
 */

export interface RoomRights {
  /** Rename, change the topic, archive or unarchive. */
  manage: boolean;
  /** Whom I may remove, by their membership role: moderators remove plain members only. */
  removeRoles: readonly MemberRole[];
  /** Add people (needs the directory to find them; guests never invite). */
  invite: boolean;
  /** Make members owners, moderators or members. */
  setRoles: boolean;
}

export function roomRights(
  room: Room,
  myRole: MemberRole | undefined,
  capabilities: Pick<Capabilities, 'manageUsers' | 'listUsers'>,
): RoomRights {
  if (room.kind === 'direct') return { manage: false, removeRoles: [], invite: false, setRoles: false };
  const admin = capabilities.manageUsers;
  const manage = admin || myRole === 'owner' || myRole === 'moderator';
  const invitesHere =
    admin ||
    (myRole !== undefined && (room.kind === 'channel' || myRole === 'owner' || myRole === 'moderator'));
  const removeRoles: readonly MemberRole[] =
    admin || myRole === 'owner' ? ['owner', 'moderator', 'member'] : myRole === 'moderator' ? ['member'] : [];
  return {
    manage,
    removeRoles,
    invite: !room.archived && capabilities.listUsers && invitesHere,
    setRoles: admin || myRole === 'owner',
  };
}

/**
 * A private group's name from its people's usernames (`ada-bob-carol`): room names are letters, digits,
 * "_", "." or "-", at most 64 characters.
 */
export function groupName(usernames: string[]): string {
  const name = [...usernames]
    .sort((a, b) => a.localeCompare(b))
    .join('-')
    .slice(0, 64);
  return name.replace(/[-_.]+$/, '') || 'group';
}
