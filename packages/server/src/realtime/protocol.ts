import {
  ClientMessageIdSchema,
  type FieldIssue,
  IdSchema,
  type Message,
  type Room,
  type RoomEvent,
  type User,
  type WorkflowRun,
  type WorkflowStepRecord,
} from '@kaiwa/core';
import { z } from 'zod';

/*
 * The wire protocol: JSON text frames `{ "type": …, … }`. docs/protocol.md describes every frame; the
 * schemas here validate what clients send, the types describe what the server sends.
 */

/** Close codes the server uses, besides the standard 1000, 1001, 1009 and 1011. */
export const CLOSE_CODES = {
  normal: 1000,
  goingAway: 1001,
  messageTooBig: 1009,
  internalError: 1011,
  /** The first frame was not a valid `auth` frame, or the token was refused. */
  authenticationFailed: 4001,
  /** The access token expired and no fresh one came in an `auth` frame: refresh it and reconnect. */
  tokenExpired: 4002,
  /**
   * The credential was ended: signed out (this session or all), password changed or reset, role lowered,
   * account deactivated, API key revoked. The close reason says which. Refresh (which fails when the whole
   * sign-in ended) or sign in again.
   */
  credentialsRevoked: 4003,
  /** No `auth` frame within the deadline. */
  authenticationTimeout: 4008,
  /** The connection fell too far behind; reconnect and resume. */
  slowConsumer: 4009,
  /** The connection kept sending faster than its rate limit. */
  rateLimited: 4029,
} as const;

/** `code` of an `error` frame. */
export type ErrorCode =
  | 'bad_json'
  | 'binary_not_supported'
  | 'frame_too_large'
  | 'unknown_type'
  | 'validation_failed'
  | 'rate_limited'
  | 'already_authenticated'
  | 'not_subscribed'
  | 'too_many_subscriptions'
  | 'not_found'
  | 'forbidden'
  | 'conflict'
  | 'database_unavailable'
  | 'busy'
  | 'internal';

/** Client-chosen id of a frame, echoed in the reply. */
export const FrameIdSchema = z.union([z.string().min(1).max(64), z.number().int()]);
export type FrameId = z.infer<typeof FrameIdSchema>;

const MetadataFieldSchema = z.record(z.string(), z.unknown());

export const InboundFrameSchemas = {
  auth: z.object({
    type: z.literal('auth'),
    id: FrameIdSchema.optional(),
    token: z.string().min(1).max(8192),
    /** Receive `presence.updated` frames (default true); bots and load generators turn it off. */
    presence: z.boolean().optional(),
  }),
  ping: z.object({ type: z.literal('ping'), id: FrameIdSchema.optional() }),
  subscribe: z.object({
    type: z.literal('subscribe'),
    id: FrameIdSchema.optional(),
    roomId: IdSchema,
    /** The last sequence number the client saw in this room: everything after it is replayed first. */
    lastSeq: z.number().int().min(0).optional(),
  }),
  unsubscribe: z.object({ type: z.literal('unsubscribe'), id: FrameIdSchema.optional(), roomId: IdSchema }),
  fetch: z.object({
    type: z.literal('fetch'),
    id: FrameIdSchema.optional(),
    roomId: IdSchema,
    afterSeq: z.number().int().min(0),
    limit: z.number().int().min(1).max(1000).default(100),
  }),
  send: z.object({
    type: z.literal('send'),
    id: FrameIdSchema.optional(),
    roomId: IdSchema,
    clientMessageId: ClientMessageIdSchema,
    text: z.string(),
    threadRootId: IdSchema.optional(),
    replyToId: IdSchema.optional(),
    attachmentIds: z.array(IdSchema).max(20).optional(),
    metadata: MetadataFieldSchema.optional(),
  }),
  edit: z.object({
    type: z.literal('edit'),
    id: FrameIdSchema.optional(),
    messageId: IdSchema,
    text: z.string(),
    metadata: MetadataFieldSchema.optional(),
  }),
  delete: z.object({ type: z.literal('delete'), id: FrameIdSchema.optional(), messageId: IdSchema }),
  react: z.object({
    type: z.literal('react'),
    id: FrameIdSchema.optional(),
    messageId: IdSchema,
    emoji: z.string().min(1).max(64),
  }),
  unreact: z.object({
    type: z.literal('unreact'),
    id: FrameIdSchema.optional(),
    messageId: IdSchema,
    emoji: z.string().min(1).max(64),
  }),
  read: z.object({
    type: z.literal('read'),
    id: FrameIdSchema.optional(),
    roomId: IdSchema,
    messageId: IdSchema.optional(),
  }),
  typing: z.object({
    type: z.literal('typing'),
    id: FrameIdSchema.optional(),
    roomId: IdSchema,
    typing: z.boolean(),
  }),
  'presence.query': z.object({
    type: z.literal('presence.query'),
    id: FrameIdSchema.optional(),
    userIds: z.array(IdSchema).min(1).max(500),
  }),
} as const;

export type InboundFrameType = keyof typeof InboundFrameSchemas;
export type InboundFrames = { [K in InboundFrameType]: z.output<(typeof InboundFrameSchemas)[K]> };
export type InboundFrame = InboundFrames[InboundFrameType];

const INBOUND_TYPES = new Set<string>(Object.keys(InboundFrameSchemas));

/** Why a frame was refused before it reached the engine. */
export class ProtocolError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'ProtocolError';
    this.code = code;
    this.details = details;
  }

  static invalid(issues: FieldIssue[]): ProtocolError {
    const first = issues[0];
    const where = first && first.path.length > 0 ? `${first.path.join('.')}: ` : '';
    return new ProtocolError('validation_failed', `${where}${first?.message ?? 'invalid frame'}`, { issues });
  }
}

export type ParsedFrame =
  | { ok: true; frame: InboundFrame }
  | { ok: false; id: FrameId | undefined; error: ProtocolError };

/** Parses one text frame: JSON, a known `type`, then that type's fields. */
export function parseFrame(text: string): ParsedFrame {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, id: undefined, error: new ProtocolError('bad_json', 'the frame is not valid JSON') };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return {
      ok: false,
      id: undefined,
      error: ProtocolError.invalid([{ path: [], message: 'a frame must be a JSON object' }]),
    };
  }
  const record = raw as Record<string, unknown>;
  const idResult = FrameIdSchema.safeParse(record.id);
  const id = idResult.success ? idResult.data : undefined;
  const type = record.type;
  if (typeof type !== 'string') {
    return { ok: false, id, error: ProtocolError.invalid([{ path: ['type'], message: 'must be a string' }]) };
  }
  if (!INBOUND_TYPES.has(type)) {
    return {
      ok: false,
      id,
      error: new ProtocolError('unknown_type', `type: unknown frame type "${type.slice(0, 64)}"`, {
        issues: [{ path: ['type'], message: 'unknown frame type' }],
      }),
    };
  }
  const result = InboundFrameSchemas[type as InboundFrameType].safeParse(raw);
  if (!result.success) {
    return {
      ok: false,
      id,
      error: ProtocolError.invalid(
        result.error.issues.map((issue) => ({
          path: issue.path.map((segment) => (typeof segment === 'symbol' ? String(segment) : segment)),
          message: issue.message,
        })),
      ),
    };
  }
  return { ok: true, frame: result.data as InboundFrame };
}

/** What a client needs to know about its limits; sent in `ready`. */
export interface AdvertisedLimits {
  maxFrameBytes: number;
  maxSubscriptions: number;
  framesPerSecond: number;
  frameBurst: number;
  heartbeatIntervalMs: number;
  typingThrottleMs: number;
  typingExpiryMs: number;
}

/** Frames the server sends. Room events (`message.created` …) are sent as the stored {@link RoomEvent}. */
export type OutboundFrame =
  | {
      type: 'ready';
      id?: FrameId;
      user: User;
      sessionId: string;
      serverTime: string;
      /** When the access token expires (absent for API keys): send a fresh one in an `auth` frame before. */
      expiresAt?: string;
      limits: AdvertisedLimits;
    }
  /** Answer to an `auth` frame on an authenticated connection: the new token now holds it open. */
  | { type: 'reauthenticated'; id?: FrameId; expiresAt?: string }
  | { type: 'pong'; id?: FrameId; serverTime: string }
  | { type: 'subscribed'; id?: FrameId; roomId: string; fromSeq: number; room: Room }
  | { type: 'unsubscribed'; id?: FrameId; roomId: string; reason: 'requested' | 'access_lost' | 'error' }
  | { type: 'events'; id?: FrameId; roomId: string; events: RoomEvent[]; hasMore: boolean }
  | { type: 'ack'; id?: FrameId; clientMessageId: string; message: Message; seq: number }
  | { type: 'ack'; id?: FrameId; message: Message }
  | { type: 'ack'; id?: FrameId; roomId: string; lastReadMessageId: string | null }
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
  | { type: 'presence.updated'; userId: string; status: 'online' | 'away' | 'offline' }
  | { type: 'presence.state'; id?: FrameId; statuses: Record<string, 'online' | 'away' | 'offline'> }
  | { type: 'read.updated'; roomId: string; userId: string; lastReadMessageId: string | null }
  | { type: 'room.created'; room: Room; memberIds: string[] }
  | { type: 'workflow.run.updated'; run: Omit<WorkflowRun, 'claimedBy' | 'claimedUntil'> }
  | { type: 'workflow.step.updated'; runId: string; step: Omit<WorkflowStepRecord, 'runId'> }
  | {
      type: 'error';
      id?: FrameId;
      code: ErrorCode;
      message: string;
      details?: Record<string, unknown>;
      /**
       * Set when the same frame may succeed later (`database_unavailable`, `busy`): send it again after
       * `retryAfterMs`, with the same `clientMessageId`, so a send that did commit is not stored twice.
       */
      retryable?: true;
      retryAfterMs?: number;
    }
  | RoomEvent;

/** Serialises a frame once; the same bytes go to every recipient. */
export function encodeFrame(frame: OutboundFrame): Buffer {
  return Buffer.from(JSON.stringify(frame), 'utf8');
}

/** A room event as a frame, with the keys in a fixed order. */
export function encodeRoomEvent(event: RoomEvent): Buffer {
  return Buffer.from(
    JSON.stringify({
      type: event.type,
      roomId: event.roomId,
      seq: event.seq,
      createdAt: event.createdAt,
      payload: event.payload,
    }),
    'utf8',
  );
}
