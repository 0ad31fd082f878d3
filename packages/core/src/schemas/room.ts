import { z } from 'zod';
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

/** A room as one member sees it in the room list. */
export interface RoomSummary {
  room: Room;
  membership: Membership;
  unreadCount: number;
}
