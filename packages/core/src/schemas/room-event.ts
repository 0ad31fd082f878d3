import { z } from 'zod';
import { IdSchema, TimestampSchema } from './common.js';
import { MessageSchema } from './message.js';
import { MembershipSchema, RoomSchema } from './room.js';

const ReactionChangeSchema = z.object({ messageId: IdSchema, emoji: z.string(), userId: IdSchema });

/** Payload of each kind of room event. Every change to a room is one of these. */
export const RoomEventPayloadSchemas = {
  'message.created': z.object({ message: MessageSchema }),
  'message.updated': z.object({ message: MessageSchema }),
  'message.deleted': z.object({ message: MessageSchema }),
  'reaction.added': ReactionChangeSchema,
  'reaction.removed': ReactionChangeSchema,
  'room.updated': z.object({ room: RoomSchema }),
  'member.joined': z.object({ membership: MembershipSchema }),
  'member.left': z.object({ roomId: IdSchema, userId: IdSchema }),
  /** A member's role in the room changed. */
  'member.updated': z.object({ membership: MembershipSchema }),
} as const;

export type RoomEventType = keyof typeof RoomEventPayloadSchemas;
export const ROOM_EVENT_TYPES = Object.keys(RoomEventPayloadSchemas) as RoomEventType[];
export type RoomEventPayloads = { [K in RoomEventType]: z.infer<(typeof RoomEventPayloadSchemas)[K]> };

/**
 * A change to a room with its per-room sequence number. Sequence numbers start at 1, have no gaps and are
 * assigned in the same transaction as the change, so a client that remembers the last one it saw can fetch
 * exactly what it missed.
 */
export type RoomEvent = {
  [K in RoomEventType]: {
    roomId: string;
    seq: number;
    type: K;
    payload: RoomEventPayloads[K];
    createdAt: string;
  };
}[RoomEventType];

export const RoomEventSchema = z.object({
  roomId: IdSchema,
  seq: z.number().int().min(1),
  type: z.enum(ROOM_EVENT_TYPES as [RoomEventType, ...RoomEventType[]]),
  payload: z.unknown(),
  createdAt: TimestampSchema,
});
