export type { SlackAdapterConfig, SlackReceiverConfig } from './slack-adapter.js';
export { createSlackAdapter, SlackAdapter } from './slack-adapter.js';
export { toPlatformError as slackErrorToPlatformError } from './slack-error.js';
export type { SlackLookups } from './slack-format.js';
