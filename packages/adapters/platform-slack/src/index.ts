export {
  createSlackAdapter,
  SlackAdapter,
  type SlackSettings,
  slackAdapterDescriptor,
} from './slack-adapter.js';
export {
  type SlackAdapterConfig,
  type SlackReceiverConfig,
  slackSettingsSchema,
  upgradeSlackSettings,
} from './slack-config.js';
export { toPlatformError as slackErrorToPlatformError } from './slack-error.js';
export type { SlackLookups } from './slack-format.js';
