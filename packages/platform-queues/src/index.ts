export { type BackoffOptions, backoffDelay } from './backoff.js';
export { type PlatformEventHandler, PlatformInbox, type PlatformInboxConfig } from './inbox.js';
export {
  type OutboxDeliveryResult,
  type OutboxMessageRef,
  PlatformOutbox,
  type PlatformOutboxConfig,
  type PlatformOutboxRequest,
} from './outbox.js';
export { fromPlatformJson, toPlatformJson } from './platform-json.js';
