import type { Capabilities } from './capabilities.js';

/*
 * The protocol's plain values: no zod, no @kaiwa/core, so a client that imports only these (a browser
 * bundle) carries a few hundred bytes, not the schemas.
 */

/**
 * The protocol's version, sent in `ready` as `protocolVersion`. It goes up when a change could break a
 * client written for the previous one (a frame or field removed or changing meaning); new frames and new
 * optional fields do not change it, since clients ignore what they do not know.
 */
export const PROTOCOL_VERSION = 1;

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

export type CloseCode = (typeof CLOSE_CODES)[keyof typeof CLOSE_CODES];

/** Every `code` of an `error` frame; docs/protocol.md says when each is sent. */
export const ERROR_CODES = [
  'bad_json',
  'binary_not_supported',
  'frame_too_large',
  'unknown_type',
  'validation_failed',
  'rate_limited',
  'already_authenticated',
  'not_subscribed',
  'too_many_subscriptions',
  'not_found',
  'forbidden',
  'conflict',
  'database_unavailable',
  'busy',
  'internal',
] as const;

/** `code` of an `error` frame. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * The stored room events, each sent as a frame of its own `type` (and inside `events` batches). The same
 * list as @kaiwa/core's `ROOM_EVENT_TYPES`, spelled out so that a client can tell them apart without
 * loading core (a test keeps the two equal).
 */
export const ROOM_EVENT_TYPES = [
  'message.created',
  'message.updated',
  'message.deleted',
  'reaction.added',
  'reaction.removed',
  'room.updated',
  'member.joined',
  'member.left',
  'member.updated',
] as const;

export type RoomEventType = (typeof ROOM_EVENT_TYPES)[number];

const ROOM_EVENT_TYPE_SET: ReadonlySet<string> = new Set(ROOM_EVENT_TYPES);

/** Whether a frame `type` is a stored room event (with `roomId` and `seq`). */
export function isRoomEventType(type: string): type is RoomEventType {
  return ROOM_EVENT_TYPE_SET.has(type);
}

export const PRESENCE_STATUSES = ['online', 'away', 'offline'] as const;
export type PresenceStatus = (typeof PRESENCE_STATUSES)[number];

/** Why the server ended a subscription (`unsubscribed.reason`). */
export const UNSUBSCRIBE_REASONS = ['requested', 'access_lost', 'error'] as const;
export type UnsubscribeReason = (typeof UNSUBSCRIBE_REASONS)[number];

export const WORKFLOW_RUN_STATUSES = ['pending', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type WorkflowRunStatus = (typeof WORKFLOW_RUN_STATUSES)[number];
export const WORKFLOW_STEP_STATUSES = [...WORKFLOW_RUN_STATUSES, 'skipped'] as const;
export type WorkflowStepStatus = (typeof WORKFLOW_STEP_STATUSES)[number];

/** Every capability false: what a client assumes before `ready` comes. */
export const NO_CAPABILITIES: Capabilities = {
  createRooms: false,
  joinChannels: false,
  listUsers: false,
  moderateMessages: false,
  useProjects: false,
  startWorkflows: false,
  defineWorkflows: false,
  seeAllWorkflowRuns: false,
  manageUsers: false,
  managePlugins: false,
};
