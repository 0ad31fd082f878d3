export {
  createTelegramAdapter,
  TelegramAdapter,
  type TelegramSettings,
  telegramAdapterDescriptor,
} from './telegram-adapter.js';
export {
  type TelegramAdapterConfig,
  type TelegramReceiverConfig,
  telegramSettingsSchema,
  upgradeTelegramSettings,
} from './telegram-config.js';
export { toPlatformError as telegramErrorToPlatformError } from './telegram-error.js';
