import { IdSchema } from '../schemas/common.js';
import { MEMBER_ROLES, type MemberRole, type Membership, type Room } from '../schemas/room.js';
import type { User, UserRole } from '../schemas/user.js';

/*
 * Who may do what. Pure functions over already-loaded rows, so the engine checks before it writes.
 * Global admins and moderators moderate; they do not read private groups or direct rooms they are not in.
 */

export function isStaff(user: User): boolean {
  return user.role === 'admin' || user.role === 'moderator';
}

/** Members read their rooms; everyone but guests reads public channels. */
export function canReadRoom(user: User, room: Room, membership: Membership | undefined): boolean {
  if (membership) return true;
  return room.kind === 'channel' && user.role !== 'guest';
}

export function canCreateRoom(user: User): boolean {
  return user.role !== 'guest';
}

export function canJoinRoom(user: User, room: Room): boolean {
  return room.kind === 'channel' && user.role !== 'guest' && !room.archived;
}

/** Invite someone: any non-guest member of a channel; owners and moderators of a group; global admins. */
export function canInvite(user: User, room: Room, membership: Membership | undefined): boolean {
  if (room.kind === 'direct' || room.archived) return false;
  if (user.role === 'admin') return true;
  if (!membership) return false;
  if (room.kind === 'channel') return user.role !== 'guest';
  return membership.role === 'owner' || membership.role === 'moderator';
}

/** Rename, change the topic, archive: room owners and moderators, and global admins. */
export function canManageRoom(user: User, room: Room, membership: Membership | undefined): boolean {
  if (room.kind === 'direct') return false;
  if (user.role === 'admin') return true;
  return membership?.role === 'owner' || membership?.role === 'moderator';
}

/**
 * Remove someone else from a room: global admins and room owners remove anyone; room moderators remove plain
 * members only, never an owner or another moderator (so a moderator cannot take a room from its owners).
 * Nobody removes anyone from a direct room.
 */
export function canRemoveMember(
  user: User,
  room: Room,
  membership: Membership | undefined,
  target: Pick<Membership, 'role'>,
): boolean {
  if (room.kind === 'direct') return false;
  if (user.role === 'admin' || membership?.role === 'owner') return true;
  return membership?.role === 'moderator' && target.role === 'member';
}

/** Make members owners, moderators or members: room owners and global admins; nobody in a direct room. */
export function canSetMemberRoles(user: User, room: Room, membership: Membership | undefined): boolean {
  if (room.kind === 'direct') return false;
  return user.role === 'admin' || membership?.role === 'owner';
}

/** Delete someone else's message: room owners and moderators, and global staff who can read the room. */
export function canModerateRoom(user: User, room: Room, membership: Membership | undefined): boolean {
  if (membership?.role === 'owner' || membership?.role === 'moderator') return true;
  return isStaff(user) && canReadRoom(user, room, membership);
}

/** Projects, tickets and their files are for everyone but guests. */
export function canReadWork(user: User): boolean {
  return user.role !== 'guest';
}

/** Only admins deactivate and reactivate accounts, never their own (nobody locks the last door from inside). */
export function canDeactivateUser(actor: User, target: User): boolean {
  return actor.role === 'admin' && actor.id !== target.id;
}

const ROLE_RANK: Record<User['role'], number> = { admin: 4, moderator: 3, member: 2, guest: 1, bot: 0 };

/**
 * A role change that takes rights away: to a lower role, or into or out of `bot` (another kind of account).
 * Sessions minted under the old role end, so no token or socket outlives the rights it was issued with.
 */
export function isDemotion(from: User['role'], to: User['role']): boolean {
  if (from === to) return false;
  if (from === 'bot' || to === 'bot') return true;
  return ROLE_RANK[to] < ROLE_RANK[from];
}

/**
 * Every role but guests: who may create rooms, start workflows, use projects and tickets. Servers declare
 * route access with it instead of spelling the list out.
 */
export const NON_GUEST_ROLES = ['admin', 'moderator', 'member', 'bot'] as const satisfies readonly UserRole[];

/**
 * Change a room's settings (the assistant's model and prompt, its voice settings, say): the room's owner and
 * global admins; in a direct room, either of its people and nobody else (it belongs to both alike).
 */
export function canChangeRoomSettings(user: User, room: Room, membership: Membership | undefined): boolean {
  if (room.kind === 'direct') return membership !== undefined;
  return user.role === 'admin' || membership?.role === 'owner';
}

/**
 * Whose own state a setting key holds, such as a bot's delivery cursor or an assistant's claim on a
 * question: the user id in its second `:`-separated part (`claim:<userId>:…`); undefined for a setting of
 * the room itself.
 */
export function settingKeyOwner(key: string): string | undefined {
  const second = key.split(':')[1];
  return second !== undefined && IdSchema.safeParse(second).success ? second : undefined;
}

/**
 * Change a room setting: a personal key only by its owner (who needs only to read the room), any other
 * key as `canChangeRoomSettings` says.
 */
export function canChangeRoomSetting(
  user: User,
  room: Room,
  membership: Membership | undefined,
  key: string,
): boolean {
  const owner = settingKeyOwner(key);
  return owner === undefined ? canChangeRoomSettings(user, room, membership) : owner === user.id;
}

/** Define or change workflows: admins only (a workflow acts with the rights of whoever starts it). */
export function canDefineWorkflows(user: User): boolean {
  return user.role === 'admin';
}

/** See every workflow run (runs carry their trigger: message text, webhook bodies): admins. */
export function canSeeEveryWorkflowRun(user: User): boolean {
  return user.role === 'admin';
}

/** See a workflow run and its steps: whoever started it, and admins. */
export function canSeeWorkflowRun(user: User, run: { actorId: string }): boolean {
  return user.role === 'admin' || run.actorId === user.id;
}

/**
 * What a user may do in one room, as the engine checks it: for clients, which controls to show. Computed
 * from the rules above (never spelled again), so it cannot drift from what the engine allows.
 */
export interface RoomRights {
  /** Archive or unarchive the room (`canManageRoom`); while it is not archived, also rename it and change its topic. */
  manage: boolean;
  /** Rename the room or change its topic now: `manage`, and the room is not archived (unarchive it first). */
  rename: boolean;
  /** Add someone to the room (`canInvite`). */
  invite: boolean;
  /** Make members owners, moderators or members (`canSetMemberRoles`). */
  setRoles: boolean;
  /** Whom the user may remove, by their membership role (`canManageRoom` and `canRemoveMember`). */
  removeRoles: MemberRole[];
  /** Change the room's own settings: the assistant's, voice, knowledge (`canChangeRoomSettings`). */
  changeSettings: boolean;
  /**
   * Moderate other people's messages here: delete them, ask for a voice message's transcript again
   * (`canModerateRoom`: room owners and moderators, and global staff who can read the room).
   */
  moderate: boolean;
}

/**
 * The user's rights in a room from their membership (undefined when they are not a member), by the same
 * rules the engine enforces. `ChatEngine.roomRights` answers it for a room the user can read.
 *
 * @example
 * const rights = roomRightsOf(user, room, membership);
 * if (rights.removeRoles.includes(target.role)) showRemoveButton(target);
 */
export function roomRightsOf(user: User, room: Room, membership: Membership | undefined): RoomRights {
  const manage = canManageRoom(user, room, membership);
  return {
    manage,
    rename: manage && !room.archived,
    invite: canInvite(user, room, membership),
    setRoles: canSetMemberRoles(user, room, membership),
    removeRoles: manage
      ? MEMBER_ROLES.filter((role) => canRemoveMember(user, room, membership, { role }))
      : [],
    changeSettings: canChangeRoomSettings(user, room, membership),
    moderate: canModerateRoom(user, room, membership),
  };
}
