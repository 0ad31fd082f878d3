export type { RealtimeIdentity, UserActionLimiter } from './connection.js';
export { DEFAULT_REALTIME_LIMITS, type RealtimeLimits } from './limits.js';
export type { RealtimeLogger } from './logger.js';
export {
  CLOSE_CODES,
  type ErrorCode,
  type FrameId,
  type InboundFrame,
  InboundFrameSchemas,
  type InboundFrameType,
  type OutboundFrame,
} from './protocol.js';
export { attachRealtime, type RealtimeOptions, type RealtimeServer } from './realtime-server.js';
