export {
  FakeDiscordApi,
  type FakeDiscordApiOptions,
  type FakeDiscordFailure,
  type FakeDiscordRequest,
  startFakeDiscordApi,
} from './test-support/fake-discord-api.js';
