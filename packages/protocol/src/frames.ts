import {
  ClientMessageIdSchema,
  IdSchema,
  MessageSchema,
  ProjectSchema,
  RoomEventPayloadSchemas,
  RoomSchema,
  TicketSchema,
  TimestampSchema,
  UserSchema,
} from '@kaiwa/core';
import { z } from 'zod';
import { CapabilitiesSchema } from './capabilities.js';
import {
  ERROR_CODES,
  PRESENCE_STATUSES,
  type RoomEventType,
  UNSUBSCRIBE_REASONS,
  WORKFLOW_RUN_STATUSES,
  WORKFLOW_STEP_STATUSES,
} from './constants.js';
import { RoomRightsSchema } from './room-rights.js';

/*
 * The wire protocol: JSON text frames `{ "type": …, … }`, one schema per `type`. docs/protocol.md describes
 * every frame. Client frames are validated by the server as they come; server frames are what the server
 * sends, validated by clients that want to (the types alone cost nothing at run time).
 */

/** Client-chosen id of a frame, echoed in the reply. */
export const FrameIdSchema = z.union([z.string().min(1).max(64), z.number().int()]);
export type FrameId = z.infer<typeof FrameIdSchema>;

const MetadataFieldSchema = z.record(z.string(), z.unknown());
const optionalId = FrameIdSchema.optional();

// ---------------------------------------------------------------- client → server

/** Frames a client sends, by `type`. */
export const ClientFrameSchemas = {
  auth: z.object({
    type: z.literal('auth'),
    id: optionalId,
    token: z.string().min(1).max(8192),
    /** Receive `presence.updated` frames (default true); bots and load generators turn it off. */
    presence: z.boolean().optional(),
    /** Receive `project.*` and `ticket.*` frames (default true; never for guests, who see no projects). */
    work: z.boolean().optional(),
  }),
  ping: z.object({ type: z.literal('ping'), id: optionalId }),
  subscribe: z.object({
    type: z.literal('subscribe'),
    id: optionalId,
    roomId: IdSchema,
    /** The last sequence number the client saw in this room: everything after it is replayed first. */
    lastSeq: z.number().int().min(0).optional(),
  }),
  unsubscribe: z.object({ type: z.literal('unsubscribe'), id: optionalId, roomId: IdSchema }),
  fetch: z.object({
    type: z.literal('fetch'),
    id: optionalId,
    roomId: IdSchema,
    afterSeq: z.number().int().min(0),
    limit: z.number().int().min(1).max(1000).default(100),
  }),
  send: z.object({
    type: z.literal('send'),
    id: optionalId,
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
    id: optionalId,
    messageId: IdSchema,
    text: z.string(),
    metadata: MetadataFieldSchema.optional(),
  }),
  delete: z.object({ type: z.literal('delete'), id: optionalId, messageId: IdSchema }),
  react: z.object({
    type: z.literal('react'),
    id: optionalId,
    messageId: IdSchema,
    emoji: z.string().min(1).max(64),
  }),
  unreact: z.object({
    type: z.literal('unreact'),
    id: optionalId,
    messageId: IdSchema,
    emoji: z.string().min(1).max(64),
  }),
  read: z.object({
    type: z.literal('read'),
    id: optionalId,
    roomId: IdSchema,
    messageId: IdSchema.optional(),
  }),
  typing: z.object({
    type: z.literal('typing'),
    id: optionalId,
    roomId: IdSchema,
    typing: z.boolean(),
  }),
  'presence.query': z.object({
    type: z.literal('presence.query'),
    id: optionalId,
    userIds: z.array(IdSchema).min(1).max(500),
  }),
} as const;

export type ClientFrameType = keyof typeof ClientFrameSchemas;
/** Each client frame as the server sees it after parsing (defaults filled in). */
export type ClientFrames = { [K in ClientFrameType]: z.output<(typeof ClientFrameSchemas)[K]> };
export type ClientFrame = ClientFrames[ClientFrameType];
/** What a client may put in a frame (fields with defaults may be left out). */
export type ClientFrameInput = {
  [K in ClientFrameType]: z.input<(typeof ClientFrameSchemas)[K]>;
}[ClientFrameType];

// ---------------------------------------------------------------- server → client

/** What a client needs to know about its limits; sent in `ready`. */
export const AdvertisedLimitsSchema = z.object({
  /** Largest frame the server accepts, in bytes. */
  maxFrameBytes: z.number().int().min(1),
  /** Most rooms one connection may be subscribed to. */
  maxSubscriptions: z.number().int().min(0),
  /** Sustained frames per second before `rate_limited`. */
  framesPerSecond: z.number().min(0),
  /** Frames that may come at once above the rate. */
  frameBurst: z.number().int().min(0),
  /** How often the server pings; a client that hears nothing for longer should reconnect. */
  heartbeatIntervalMs: z.number().int().min(0),
  /** Send `typing: true` at most this often per room. */
  typingThrottleMs: z.number().int().min(0),
  /** A `typing: true` lapses after this long without another. */
  typingExpiryMs: z.number().int().min(0),
});
export type AdvertisedLimits = z.infer<typeof AdvertisedLimitsSchema>;

const PresenceStatusSchema = z.enum(PRESENCE_STATUSES);

const WorkflowErrorInfoSchema = z.object({
  name: z.string(),
  message: z.string(),
  code: z.string().optional(),
  issues: z
    .array(z.object({ path: z.array(z.union([z.string(), z.number()])), message: z.string() }))
    .optional(),
  stepId: z.string().optional(),
});

/** A workflow run as clients see it (`workflow.run.updated`, and the REST API). */
export const WorkflowRunInfoSchema = z.object({
  id: IdSchema,
  workflowId: z.string(),
  workflowVersion: z.number().int(),
  status: z.enum(WORKFLOW_RUN_STATUSES),
  /** The user the run acts as (who started it). */
  actorId: z.string(),
  /** What started the run (a message, a file, a webhook body); JSON. */
  trigger: z.unknown(),
  error: WorkflowErrorInfoSchema.nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  updatedAt: z.string(),
});
export type WorkflowRunInfo = z.infer<typeof WorkflowRunInfoSchema>;

/** One step of a workflow run as clients see it (`workflow.step.updated`). */
export const WorkflowStepInfoSchema = z.object({
  stepId: z.string(),
  position: z.number().int(),
  type: z.string(),
  status: z.enum(WORKFLOW_STEP_STATUSES),
  attempts: z.number().int(),
  /** The step's result (JSON) once it succeeded; null otherwise. */
  output: z.unknown(),
  error: WorkflowErrorInfoSchema.nullable(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  updatedAt: z.string(),
});
export type WorkflowStepInfo = z.infer<typeof WorkflowStepInfoSchema>;

function roomEventFrame<K extends RoomEventType>(type: K) {
  return z.object({
    type: z.literal(type),
    roomId: IdSchema,
    /** Per-room sequence number: gap-free, starting at 1. */
    seq: z.number().int().min(1),
    createdAt: TimestampSchema,
    payload: RoomEventPayloadSchemas[type],
  });
}

/** Stored room events, each a frame of its own `type` (the same shape as @kaiwa/core's `RoomEvent`). */
export const RoomEventFrameSchemas = {
  'message.created': roomEventFrame('message.created'),
  'message.updated': roomEventFrame('message.updated'),
  'message.deleted': roomEventFrame('message.deleted'),
  'reaction.added': roomEventFrame('reaction.added'),
  'reaction.removed': roomEventFrame('reaction.removed'),
  'room.updated': roomEventFrame('room.updated'),
  'member.joined': roomEventFrame('member.joined'),
  'member.left': roomEventFrame('member.left'),
  'member.updated': roomEventFrame('member.updated'),
} as const satisfies Record<RoomEventType, z.ZodType>;

/** Any stored room event (as in `events.events`). */
export const RoomEventFrameSchema = z.discriminatedUnion('type', [
  RoomEventFrameSchemas['message.created'],
  RoomEventFrameSchemas['message.updated'],
  RoomEventFrameSchemas['message.deleted'],
  RoomEventFrameSchemas['reaction.added'],
  RoomEventFrameSchemas['reaction.removed'],
  RoomEventFrameSchemas['room.updated'],
  RoomEventFrameSchemas['member.joined'],
  RoomEventFrameSchemas['member.left'],
  RoomEventFrameSchemas['member.updated'],
]);
export type RoomEventFrame = z.output<typeof RoomEventFrameSchema>;

/** Frames the server sends, by `type`. */
export const ServerFrameSchemas = {
  ready: z.object({
    type: z.literal('ready'),
    id: optionalId,
    /** {@link PROTOCOL_VERSION} of the server. */
    protocolVersion: z.number().int().min(1),
    user: UserSchema,
    /** What this user may do; see {@link CapabilitiesSchema}. */
    capabilities: CapabilitiesSchema,
    sessionId: IdSchema,
    serverTime: TimestampSchema,
    /** When the access token expires (absent for API keys): send a fresh one in an `auth` frame before. */
    expiresAt: TimestampSchema.optional(),
    limits: AdvertisedLimitsSchema,
  }),
  /** Answer to an `auth` frame on an authenticated connection: the new token now holds it open. */
  reauthenticated: z.object({
    type: z.literal('reauthenticated'),
    id: optionalId,
    expiresAt: TimestampSchema.optional(),
  }),
  pong: z.object({ type: z.literal('pong'), id: optionalId, serverTime: TimestampSchema }),
  subscribed: z.object({
    type: z.literal('subscribed'),
    id: optionalId,
    roomId: IdSchema,
    /** Events after this sequence number follow (replayed ones first). */
    fromSeq: z.number().int().min(0),
    room: RoomSchema,
  }),
  unsubscribed: z.object({
    type: z.literal('unsubscribed'),
    id: optionalId,
    roomId: IdSchema,
    reason: z.enum(UNSUBSCRIBE_REASONS),
  }),
  events: z.object({
    type: z.literal('events'),
    id: optionalId,
    roomId: IdSchema,
    events: z.array(RoomEventFrameSchema),
    hasMore: z.boolean(),
  }),
  /** Answer to `send` (with the stored message and its event's seq), `edit`/`delete`/`react`/`unreact`, `read`. */
  ack: z.union([
    z.object({
      type: z.literal('ack'),
      id: optionalId,
      clientMessageId: ClientMessageIdSchema,
      message: MessageSchema,
      seq: z.number().int().min(1),
    }),
    z.object({
      type: z.literal('ack'),
      id: optionalId,
      roomId: IdSchema,
      lastReadMessageId: IdSchema.nullable(),
    }),
    z.object({ type: z.literal('ack'), id: optionalId, message: MessageSchema }),
  ]),
  'typing.updated': z.object({
    type: z.literal('typing.updated'),
    roomId: IdSchema,
    userId: IdSchema,
    typing: z.boolean(),
  }),
  /** A reply being streamed (the assistant): text so far; the final text then comes as a stored message. */
  'message.delta': z.object({
    type: z.literal('message.delta'),
    roomId: IdSchema,
    streamId: z.string(),
    replyTo: IdSchema,
    threadRootId: IdSchema.nullable(),
    authorId: IdSchema,
    text: z.string(),
    done: z.literal(true).optional(),
  }),
  'presence.updated': z.object({
    type: z.literal('presence.updated'),
    userId: IdSchema,
    status: PresenceStatusSchema,
  }),
  'presence.state': z.object({
    type: z.literal('presence.state'),
    id: optionalId,
    statuses: z.record(z.string(), PresenceStatusSchema),
  }),
  'read.updated': z.object({
    type: z.literal('read.updated'),
    roomId: IdSchema,
    userId: IdSchema,
    lastReadMessageId: IdSchema.nullable(),
  }),
  'room.created': z.object({
    type: z.literal('room.created'),
    room: RoomSchema,
    memberIds: z.array(IdSchema),
  }),
  /**
   * What I may do in a subscribed room, again: sent to me after an event that changed it (my role in the
   * room changed, the room was archived or unarchived). The room list carries the rights as they are now.
   */
  'room.rights': z.object({ type: z.literal('room.rights'), roomId: IdSchema, rights: RoomRightsSchema }),
  /**
   * My account changed on the server (an admin changed my role, or I renamed myself elsewhere): the user as it
   * is now, and what I may do now. Rooms' rights may have changed with the role: read them again from the room
   * list.
   */
  'account.updated': z.object({
    type: z.literal('account.updated'),
    user: UserSchema,
    capabilities: CapabilitiesSchema,
  }),
  /** Projects and tickets as they change, to everyone who may see them (everyone but guests). */
  'project.created': z.object({ type: z.literal('project.created'), project: ProjectSchema }),
  'project.updated': z.object({ type: z.literal('project.updated'), project: ProjectSchema }),
  'ticket.created': z.object({ type: z.literal('ticket.created'), ticket: TicketSchema }),
  'ticket.updated': z.object({ type: z.literal('ticket.updated'), ticket: TicketSchema }),
  'workflow.run.updated': z.object({ type: z.literal('workflow.run.updated'), run: WorkflowRunInfoSchema }),
  'workflow.step.updated': z.object({
    type: z.literal('workflow.step.updated'),
    runId: IdSchema,
    step: WorkflowStepInfoSchema,
  }),
  error: z.object({
    type: z.literal('error'),
    id: optionalId,
    code: z.enum(ERROR_CODES),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
    /**
     * Set when the same frame may succeed later (`database_unavailable`, `busy`): send it again after
     * `retryAfterMs`, with the same `clientMessageId`, so a send that did commit is not stored twice.
     */
    retryable: z.literal(true).optional(),
    retryAfterMs: z.number().int().min(0).optional(),
  }),
  ...RoomEventFrameSchemas,
} as const;

export type ServerFrameType = keyof typeof ServerFrameSchemas;
export type ServerFrames = { [K in ServerFrameType]: z.output<(typeof ServerFrameSchemas)[K]> };
export type ServerFrame = ServerFrames[ServerFrameType];
export type ReadyFrame = ServerFrames['ready'];

// ---------------------------------------------------------------- parsing

/** A problem with one field of a frame; `path` leads to it (`[]` for the frame itself). */
export interface FrameIssue {
  path: (string | number)[];
  message: string;
}

export type FrameParseResult<F> =
  | { ok: true; frame: F }
  | { ok: false; unknownType: boolean; issues: FrameIssue[] };

function parseWith<F>(schemas: Record<string, z.ZodType>, value: unknown): FrameParseResult<F> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return {
      ok: false,
      unknownType: false,
      issues: [{ path: [], message: 'a frame must be a JSON object' }],
    };
  }
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string') {
    return { ok: false, unknownType: false, issues: [{ path: ['type'], message: 'must be a string' }] };
  }
  const schema = Object.hasOwn(schemas, type) ? schemas[type] : undefined;
  if (!schema) {
    return { ok: false, unknownType: true, issues: [{ path: ['type'], message: 'unknown frame type' }] };
  }
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, frame: result.data as F };
  return {
    ok: false,
    unknownType: false,
    issues: result.error.issues.map((issue) => ({
      path: issue.path.map((segment) => (typeof segment === 'symbol' ? String(segment) : segment)),
      message: issue.message,
    })),
  };
}

/** Checks a decoded client frame against its type's schema (what the server does with every frame). */
export function parseClientFrame(value: unknown): FrameParseResult<ClientFrame> {
  return parseWith(ClientFrameSchemas, value);
}

/**
 * Checks a decoded server frame against its type's schema. A frame of a type this version does not know
 * gives `unknownType: true`: clients ignore those (newer servers may send more).
 */
export function parseServerFrame(value: unknown): FrameParseResult<ServerFrame> {
  return parseWith(ServerFrameSchemas, value);
}
