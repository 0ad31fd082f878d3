/*
 * The wire shapes the UI reads: the server's JSON for users, rooms, messages, room events and realtime
 * frames (see docs/protocol.md and src/http/api-schemas.ts in the server). Only what the UI uses is here.
 */

import type { WorkflowProgressFrame } from './workflows-timeline';

export type UserRole = 'admin' | 'moderator' | 'member' | 'guest' | 'bot';

export interface User {
  id: string;
  username: string;
  displayName: string;
  role: UserRole;
  forcePasswordChange: boolean;
  createdAt: string;
  updatedAt: string;
}

export type RoomKind = 'channel' | 'group' | 'direct';

export interface Room {
  id: string;
  kind: RoomKind;
  name: string | null;
  topic: string;
  archived: boolean;
  createdBy: string;
  lastSeq: number;
  createdAt: string;
  updatedAt: string;
}

export interface Membership {
  roomId: string;
  userId: string;
  role: 'owner' | 'moderator' | 'member';
  lastReadMessageId: string | null;
  muted: boolean;
  joinedAt: string;
}

export interface RoomSummary {
  room: Room;
  membership: Membership;
  unreadCount: number;
}

export interface Attachment {
  fileId: string;
  name: string;
  mimeType: string;
  size: number;
}

export interface ReactionSummary {
  emoji: string;
  count: number;
  userIds: string[];
}

export interface Message {
  id: string;
  roomId: string;
  authorId: string;
  text: string;
  mentions: { userIds: string[]; room: boolean; here: boolean };
  threadRootId: string | null;
  replyToId: string | null;
  attachments: Attachment[];
  reactions: ReactionSummary[];
  replyCount: number;
  lastReplyAt: string | null;
  clientMessageId: string | null;
  metadata: Record<string, unknown>;
  createdAt: string;
  editedAt: string | null;
  deletedAt: string | null;
}

export interface MessagePage {
  messages: Message[];
  hasMore: boolean;
}

export interface FileRecord {
  id: string;
  name: string;
  mimeType: string;
  size: number;
  uploaderId: string;
  roomId: string | null;
  createdAt: string;
}

export interface Session {
  tokenType: 'Bearer';
  accessToken: string;
  expiresIn: number;
  accessTokenExpiresAt: string;
  refreshToken: string;
  refreshTokenExpiresAt: string;
  user: User;
}

export interface ServerInfo {
  accountsEnabled: boolean;
  signupEnabled: boolean;
  maxUploadBytes: number;
  uploadAllowedTypes: string[];
}

interface ReactionChange {
  messageId: string;
  emoji: string;
  userId: string;
}

interface EventBase<T extends string, P> {
  type: T;
  roomId: string;
  seq: number;
  createdAt: string;
  payload: P;
}

/** A change to a room with its per-room sequence number (gap-free, starting at 1). */
export type RoomEvent =
  | EventBase<'message.created', { message: Message }>
  | EventBase<'message.updated', { message: Message }>
  | EventBase<'message.deleted', { message: Message }>
  | EventBase<'reaction.added', ReactionChange>
  | EventBase<'reaction.removed', ReactionChange>
  | EventBase<'room.updated', { room: Room }>
  | EventBase<'member.joined', { membership: Membership }>
  | EventBase<'member.left', { roomId: string; userId: string }>;

export const ROOM_EVENT_TYPES: ReadonlySet<string> = new Set([
  'message.created',
  'message.updated',
  'message.deleted',
  'reaction.added',
  'reaction.removed',
  'room.updated',
  'member.joined',
  'member.left',
]);

export type PresenceStatus = 'online' | 'away' | 'offline';

export interface RealtimeLimits {
  maxFrameBytes: number;
  maxSubscriptions: number;
  framesPerSecond: number;
  frameBurst: number;
  heartbeatIntervalMs: number;
  typingThrottleMs: number;
  typingExpiryMs: number;
}

export type FrameId = string | number;

/** Frames the server sends (room events are sent as they are stored). */
export type ServerFrame =
  | { type: 'ready'; id?: FrameId; user: User; sessionId: string; serverTime: string; limits: RealtimeLimits }
  | { type: 'pong'; id?: FrameId; serverTime: string }
  | { type: 'subscribed'; id?: FrameId; roomId: string; fromSeq: number; room: Room }
  | { type: 'unsubscribed'; id?: FrameId; roomId: string; reason: 'requested' | 'access_lost' | 'error' }
  | { type: 'events'; id?: FrameId; roomId: string; events: RoomEvent[]; hasMore: boolean }
  | {
      type: 'ack';
      id?: FrameId;
      clientMessageId?: string;
      message?: Message;
      seq?: number | null;
      roomId?: string;
      lastReadMessageId?: string | null;
    }
  | { type: 'typing.updated'; roomId: string; userId: string; typing: boolean }
  | {
      type: 'message.delta';
      roomId: string;
      streamId: string;
      replyTo: string;
      threadRootId: string | null;
      authorId: string;
      text: string;
      done?: true;
    }
  | { type: 'presence.updated'; userId: string; status: PresenceStatus }
  | { type: 'presence.state'; id?: FrameId; statuses: Record<string, PresenceStatus> }
  | { type: 'read.updated'; roomId: string; userId: string; lastReadMessageId: string | null }
  | { type: 'room.created'; room: Room; memberIds: string[] }
  | WorkflowProgressFrame
  | { type: 'error'; id?: FrameId; code: string; message: string; details?: Record<string, unknown> }
  | RoomEvent;

/** Close codes the server uses besides the standard ones. */
export const CLOSE_CODES = {
  authenticationFailed: 4001,
  tokenExpired: 4002,
  credentialsRevoked: 4003,
  authenticationTimeout: 4008,
  slowConsumer: 4009,
  rateLimited: 4029,
} as const;
