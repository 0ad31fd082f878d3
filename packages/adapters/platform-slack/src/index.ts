export type {
  SlackAdapterConfig,
  SlackReceiverConfig,
  SlackWebhookRequest,
  SlackWebhookResponse,
} from './slack-adapter.js';
export { createSlackAdapter, SlackAdapter } from './slack-adapter.js';
export { toPlatformError as slackErrorToPlatformError } from './slack-error.js';
export type { SlackLookups } from './slack-format.js';
