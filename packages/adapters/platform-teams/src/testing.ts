export {
  FakeBotConnector,
  type FakeBotConnectorOptions,
  type FakeConnectorFailure,
  type FakeConnectorRequest,
  type FakeStoredActivity,
  startFakeBotConnector,
} from './test-support/fake-bot-connector.js';
