/* Test helpers for code that drives the Telegram adapter: a local fake of the Bot API. Not for production. */

export type {
  FakeTelegramApiOptions,
  FakeTelegramCall,
  FakeTelegramFailure,
  FakeTelegramMessage,
} from './test-support/fake-telegram-api.js';
export { FakeTelegramApi } from './test-support/fake-telegram-api.js';
