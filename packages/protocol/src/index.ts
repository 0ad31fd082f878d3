/*
 * @kaiwa/protocol: Kaiwa's WebSocket protocol, shared by the server and every client. docs/protocol.md
 * describes every frame; the schemas here are the definition.
 */

/** The entities frames carry, as @kaiwa/core defines them (types only: no run-time cost). */
export type {
  Attachment,
  MemberRole,
  Membership,
  Mentions,
  Message,
  ReactionSummary,
  Room,
  RoomEvent,
  RoomKind,
  RoomSummary,
  User,
  UserRole,
} from '@kaiwa/core';
export { type Capabilities, CapabilitiesSchema, type Capability } from './capabilities.js';
export {
  CLOSE_CODES,
  type CloseCode,
  ERROR_CODES,
  type ErrorCode,
  isRoomEventType,
  NO_CAPABILITIES,
  PRESENCE_STATUSES,
  PROTOCOL_VERSION,
  type PresenceStatus,
  ROOM_EVENT_TYPES,
  type RoomEventType,
  UNSUBSCRIBE_REASONS,
  type UnsubscribeReason,
  WORKFLOW_RUN_STATUSES,
  WORKFLOW_STEP_STATUSES,
  type WorkflowRunStatus,
  type WorkflowStepStatus,
} from './constants.js';
export {
  type AdvertisedLimits,
  AdvertisedLimitsSchema,
  type ClientFrame,
  type ClientFrameInput,
  ClientFrameSchemas,
  type ClientFrames,
  type ClientFrameType,
  type FrameId,
  FrameIdSchema,
  type FrameIssue,
  type FrameParseResult,
  parseClientFrame,
  parseServerFrame,
  type ReadyFrame,
  type RoomEventFrame,
  RoomEventFrameSchema,
  RoomEventFrameSchemas,
  type ServerFrame,
  ServerFrameSchemas,
  type ServerFrames,
  type ServerFrameType,
  type WorkflowRunInfo,
  WorkflowRunInfoSchema,
  type WorkflowStepInfo,
  WorkflowStepInfoSchema,
} from './frames.js';
