import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChatEngine } from '@kaiwa/core';
// The adapters' own fakes of the Slack Web API, the Telegram Bot API and the Bot Framework, on 127.0.0.1.
import { FakeSlackApi, slackEventCallback } from '@kaiwa/platform-slack/testing';
import { type FakeBotConnector, startFakeBotConnector } from '@kaiwa/platform-teams/testing';
import { FakeTelegramApi } from '@kaiwa/platform-telegram/testing';
import { createSqliteStore } from '@kaiwa/store-kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test-support.js';
import { toWebRequest } from './platform-webhook-routes.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Secrets reach the bridge file only as env: references; these names are this test's own.
const ENV = {
  KAIWA_TEST_MOUNTED_SLACK_BOT: 'xoxb-test',
  KAIWA_TEST_MOUNTED_TELEGRAM_SECRET: 'telegram-secret-token',
} as const;

let directory: string;
let slackApi: FakeSlackApi;
let telegramApi: FakeTelegramApi;
let connector: FakeBotConnector;
let test: TestServer;
let baseUrl: string;
let roomId: string;

/** The texts of the messages in the bridged room, oldest first. */
async function roomTexts(): Promise<string[]> {
  const events = await test.server.store.roomEvents.listSince(roomId, 0, 200);
  return events.flatMap((event) =>
    event.type === 'message.created' ? [event.payload.message.text as string] : [],
  );
}

async function untilInRoom(text: string): Promise<void> {
  for (let attempt = 0; attempt < 500; attempt++) {
    if ((await roomTexts()).some((message) => message.includes(text))) return;
    await sleep(10);
  }
  throw new Error(`timed out waiting for "${text}" in the room`);
}

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'kaiwa-mounted-webhooks-'));
  slackApi = await FakeSlackApi.start({ users: [{ id: 'U1', name: 'sato', realName: 'Sato' }] });
  telegramApi = await FakeTelegramApi.start();
  connector = await startFakeBotConnector();
  Object.assign(process.env, ENV, {
    KAIWA_TEST_MOUNTED_SLACK_SIGNING: slackApi.signingSecret,
    KAIWA_TEST_MOUNTED_TELEGRAM: telegramApi.token,
  });

  const store = await createSqliteStore({ filename: ':memory:' });
  await store.migrate();
  const engine = new ChatEngine({ store });
  const owner = await engine.createUser({ username: 'owner' });
  roomId = (await engine.createRoom(owner.id, { kind: 'channel', name: 'general' })).id;
  engine.close();

  const file = join(directory, 'bridge.yaml');
  writeFileSync(
    file,
    `
platforms:
  slack:
    token: env:KAIWA_TEST_MOUNTED_SLACK_BOT
    receiver: { type: http, signingSecret: env:KAIWA_TEST_MOUNTED_SLACK_SIGNING }
    apiUrl: ${slackApi.apiUrl}
    retry: { maxAttempts: 1 }
  telegram:
    token: env:KAIWA_TEST_MOUNTED_TELEGRAM
    apiUrl: ${telegramApi.apiUrl}
    receiver: { type: webhook, secretToken: env:KAIWA_TEST_MOUNTED_TELEGRAM_SECRET }
  teams:
    apiUrl: ${connector.serviceUrl}
links:
  - id: general
    room: general
    channels:
      - { platform: slack, channelId: C1 }
      - { platform: telegram, channelId: -100700 }
      - { platform: teams, channelId: '19:general@thread.tacv2' }
`,
  );
  test = await startTestServer({ bridgeFile: file, port: 0, host: '127.0.0.1' }, { store });
  baseUrl = await test.server.listen();
});

afterAll(async () => {
  await test?.close();
  for (const name of [...Object.keys(ENV), 'KAIWA_TEST_MOUNTED_SLACK_SIGNING', 'KAIWA_TEST_MOUNTED_TELEGRAM'])
    delete process.env[name];
  await slackApi?.close();
  await telegramApi?.close();
  await connector?.close();
  rmSync(directory, { recursive: true, force: true });
});

describe('platform webhooks served on the server port (web Request in, Response out)', () => {
  it('takes signed Slack Events API POSTs into the bridged room, once, and refuses bad signatures', async () => {
    const url = `${baseUrl}/api/v1/platforms/slack/events`;
    const challenge = await slackApi.postToReceiver(url, { type: 'url_verification', challenge: 'c-123' });
    expect(challenge.status).toBe(200);
    expect(JSON.parse(challenge.body)).toEqual({ challenge: 'c-123' });

    const event = slackEventCallback({
      type: 'message',
      channel: 'C1',
      user: 'U1',
      text: 'hello from Slack',
      ts: '1800000000.000100',
    });
    expect((await slackApi.postToReceiver(url, event)).status).toBe(200);
    // Acknowledged only after the inbox recorded it; the relay into the room follows.
    await untilInRoom('hello from Slack');

    // Slack retries a delivery it thinks timed out: the same event is handled once.
    expect((await slackApi.postToReceiver(url, event, { retryNum: 1 })).status).toBe(200);
    const marker = slackEventCallback({
      type: 'message',
      channel: 'C1',
      user: 'U1',
      text: 'after the retry',
      ts: '1800000000.000200',
    });
    expect((await slackApi.postToReceiver(url, marker)).status).toBe(200);
    await untilInRoom('after the retry');
    expect((await roomTexts()).filter((text) => text.includes('hello from Slack'))).toHaveLength(1);

    const forged = slackEventCallback({
      type: 'message',
      channel: 'C1',
      user: 'U1',
      text: 'forged',
      ts: '2.1',
    });
    expect((await slackApi.postToReceiver(url, forged, { signingSecret: 'wrong' })).status).toBe(401);
    const stale = Math.floor(Date.now() / 1000) - 10 * 60;
    expect((await slackApi.postToReceiver(url, forged, { timestamp: stale })).status).toBe(401);
    const unsigned = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(forged),
    });
    expect(unsigned.status).toBe(401);
    await sleep(50);
    expect(await roomTexts()).not.toContainEqual(expect.stringContaining('forged'));
  });

  it('takes Telegram updates with the right secret token and answers 403 to a wrong one', async () => {
    const url = `${baseUrl}/api/v1/platforms/telegram/events`;
    const update = (text: string, messageId: number) => ({
      message: {
        message_id: messageId,
        date: 1_800_000_000,
        chat: { id: -100700, type: 'supergroup', title: 'General' },
        from: { id: 77, is_bot: false, first_name: 'Kenji', username: 'kenji' },
        text,
      },
    });
    const accepted = await telegramApi.postWebhook(url, update('こんにちは from Telegram', 1), {
      secretToken: ENV.KAIWA_TEST_MOUNTED_TELEGRAM_SECRET,
    });
    expect(accepted.status).toBe(200);
    await untilInRoom('こんにちは from Telegram');

    const wrong = await telegramApi.postWebhook(url, update('sneaky', 2), { secretToken: 'guess' });
    expect(wrong.status).toBe(403);
    expect((await telegramApi.postWebhook(url, update('sneaky', 3))).status).toBe(403);
    await sleep(50);
    expect(await roomTexts()).not.toContainEqual(expect.stringContaining('sneaky'));
  });

  it('takes Teams activities into the room', async () => {
    const url = `${baseUrl}/api/v1/platforms/teams/events`;
    const answer = await connector.deliver(url, connector.messageActivity({ text: 'hello from Teams' }));
    expect(answer.status).toBe(200);
    await untilInRoom('hello from Teams');
    const broken = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"no":',
    });
    expect(broken.status).toBe(400);
  });

  it('answers 404 for platforms that do not receive here, and limits the body size', async () => {
    for (const platform of ['discord', 'matrix']) {
      const response = await test.call('POST', `/api/v1/platforms/${platform}/events`, { body: {} });
      expect(response.statusCode).toBe(404);
      expect(response.json().error.code).toBe('not_found');
    }
    const tooBig = await test.server.app.inject({
      method: 'POST',
      url: '/api/v1/platforms/slack/events',
      headers: { 'content-type': 'application/json' },
      payload: `"${'x'.repeat(1024 * 1024 + 10)}"`,
    });
    expect(tooBig.statusCode).toBe(413);
  });

  it('documents the route in the OpenAPI document, without bearer auth', async () => {
    const document = (await test.call('GET', '/api/docs/json')).json();
    const operation = document.paths['/api/v1/platforms/{platform}/events']?.post;
    expect(operation?.tags).toEqual(['platforms']);
    expect(operation?.security).toEqual([]);
  });
});

describe('toWebRequest', () => {
  it('hands over the exact bytes, the method, the URL and every header value', async () => {
    // Not valid UTF-8 and not normalised JSON: signatures are computed over these bytes, so they must survive.
    const body = Buffer.from([0x7b, 0x20, 0x22, 0xff, 0xfe, 0x22, 0x20, 0x7d]);
    const request = toWebRequest(
      {
        method: 'POST',
        url: '/api/v1/platforms/slack/events?x=1',
        protocol: 'https',
        host: 'chat.example.com',
        headers: {
          'content-type': 'application/json',
          'content-length': String(body.length),
          'x-slack-signature': 'v0=abc',
          'x-forwarded-for': ['10.0.0.1', '10.0.0.2'],
        },
      },
      body.subarray(0),
    );
    expect(request.method).toBe('POST');
    expect(request.url).toBe('https://chat.example.com/api/v1/platforms/slack/events?x=1');
    expect(request.headers.get('x-slack-signature')).toBe('v0=abc');
    expect(request.headers.get('x-forwarded-for')).toBe('10.0.0.1, 10.0.0.2');
    expect(new Uint8Array(await request.arrayBuffer())).toEqual(new Uint8Array(body));
  });
});
