/* Test helpers for code that drives the Slack adapter: a local fake of the Slack API. Not for production. */

export type {
  FakeSlackApiOptions,
  FakeSlackCall,
  FakeSlackFailure,
  FakeSlackMessage,
  FakeSlackUpload,
  FakeSlackUser,
} from './test-support/fake-slack-api.js';
export { FakeSlackApi, slackEventCallback } from './test-support/fake-slack-api.js';
