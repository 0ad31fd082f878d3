export type {
  TelegramAdapterConfig,
  TelegramReceiverConfig,
  TelegramWebhookRequest,
  TelegramWebhookResponse,
} from './telegram-adapter.js';
export { createTelegramAdapter, TelegramAdapter } from './telegram-adapter.js';
export { toPlatformError as telegramErrorToPlatformError } from './telegram-error.js';
