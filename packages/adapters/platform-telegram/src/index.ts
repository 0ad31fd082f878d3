export type { TelegramAdapterConfig, TelegramReceiverConfig } from './telegram-adapter.js';
export { createTelegramAdapter, TelegramAdapter } from './telegram-adapter.js';
export { toPlatformError as telegramErrorToPlatformError } from './telegram-error.js';
