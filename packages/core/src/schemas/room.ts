import { z } from 'zod';
import type { RoomRights } from '../engine/permissions.js';
import { IdSchema, TimestampSchema } from './common.js';

/** `channel`: public, anyone but guests may join. `group`: private, by invitation. `direct`: two people. */
export const ROOM_KINDS = ['channel', 'group', 'direct'] as const;
export const RoomKindSchema = z.enum(ROOM_KINDS);
export type RoomKind = z.infer<typeof RoomKindSchema>;

export const RoomNameSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[\p{L}\p{N}][\p{L}\p{N}_.-]*$/u, 'must be letters, digits, "_", "." or "-", without spaces');

export const RoomSchema = z.object({
  id: IdSchema,
  kind: RoomKindSchema,
  /** Unique among channels; groups may share names (so none is revealed); direct rooms have none. */
  name: RoomNameSchema.nullable(),
  topic: z.string().max(512),
  archived: z.boolean(),
  createdBy: IdSchema,
  /** Sequence number of the newest event in this room (0 before the first). */
  lastSeq: z.number().int().min(0),
  createdAt: TimestampSchema,
  updatedAt: TimestampSchema,
});
export type Room = z.infer<typeof RoomSchema>;

export const CreateRoomInputSchema = z.object({
  kind: z.enum(['channel', 'group']),
  name: RoomNameSchema,
  topic: z.string().max(512).default(''),
  /** Users added besides the creator. */
  memberIds: z.array(IdSchema).max(1000).default([]),
});
export type CreateRoomInput = z.input<typeof CreateRoomInputSchema>;

export const UpdateRoomInputSchema = z
  .object({
    name: RoomNameSchema,
    topic: z.string().max(512),
    archived: z.boolean(),
  })
  .partial();
export type UpdateRoomInput = z.input<typeof UpdateRoomInputSchema>;

export const MEMBER_ROLES = ['owner', 'moderator', 'member'] as const;
export const MemberRoleSchema = z.enum(MEMBER_ROLES);
export type MemberRole = z.infer<typeof MemberRoleSchema>;

export const MembershipSchema = z.object({
  roomId: IdSchema,
  userId: IdSchema,
  role: MemberRoleSchema,
  /** The newest message this member has read; null before the first read marker. */
  lastReadMessageId: IdSchema.nullable(),
  muted: z.boolean(),
  joinedAt: TimestampSchema,
});
export type Membership = z.infer<typeof MembershipSchema>;

/**
 * When a member is notified of new messages in a room: `default` follows the room's kind (every message in
 * direct rooms and groups, mentions in channels), `all`, `mentions` only, or `none`.
 */
export const NOTIFY_LEVELS = ['default', 'all', 'mentions', 'none'] as const;
export const NotifyLevelSchema = z.enum(NOTIFY_LEVELS);
export type NotifyLevel = z.infer<typeof NotifyLevelSchema>;

/** A member's own choices for a room, seen by nobody else. */
export const RoomPreferencesSchema = z.object({
  /** Shown among the favourites, above the other rooms. */
  favourite: z.boolean(),
  notify: NotifyLevelSchema,
});
export type RoomPreferences = z.infer<typeof RoomPreferencesSchema>;

export const DEFAULT_ROOM_PREFERENCES: RoomPreferences = { favourite: false, notify: 'default' };

/**
 * A change to the member's own view of a room: favourite, notification level, muted (kept on the membership).
 * An empty change answers the current state.
 */
export const UpdateRoomPreferencesInputSchema = z
  .object({
    favourite: z.boolean(),
    notify: NotifyLevelSchema,
    /** A muted room shows no unread badge and never notifies. */
    muted: z.boolean(),
  })
  .partial()
  .strict();
export type UpdateRoomPreferencesInput = z.input<typeof UpdateRoomPreferencesInputSchema>;

/** A room as one member sees it in the room list. */
export interface RoomSummary {
  room: Room;
  membership: Membership;
  unreadCount: number;
  /** Unread messages that mention this member, `@room` or `@here` (thread replies included). */
  mentionCount: number;
  preferences: RoomPreferences;
  /** What this member may do in the room (`roomRightsOf`), so clients show only the controls that work. */
  rights: RoomRights;
}
