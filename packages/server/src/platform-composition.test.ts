import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChatEngine, type ChatStore, type Message } from '@kaiwa/core';
// The fake Slack Web API / Socket Mode and Telegram Bot API of the adapters' own test support, on 127.0.0.1.
import { FakeSlackApi } from '@kaiwa/platform-slack/testing';
import { FakeTelegramApi } from '@kaiwa/platform-telegram/testing';
import { createSqliteStore } from '@kaiwa/store-kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BridgeFileError, parseBridgeFile } from './platform-composition.js';
import { startTestServer, TEST_PASSWORD, type TestServer } from './test-support.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
): Promise<T> {
  for (let attempt = 0; attempt < 500; attempt++) {
    const value = await check();
    if (value) return value;
    await sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

// Secrets reach the bridge file only as env: references; these names are this test's own.
const ENV = {
  KAIWA_TEST_BRIDGE_SLACK_BOT: 'xoxb-test',
  KAIWA_TEST_BRIDGE_SLACK_APP: 'xapp-test',
} as const;

let directory: string;
let slackApi: FakeSlackApi;
let telegramApi: FakeTelegramApi;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'kaiwa-bridge-file-'));
  slackApi = await FakeSlackApi.start({ users: [{ id: 'U1', name: 'sato', realName: 'Sato' }] });
  telegramApi = await FakeTelegramApi.start();
  Object.assign(process.env, ENV, { KAIWA_TEST_BRIDGE_TELEGRAM: telegramApi.token });
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  for (const name of [...Object.keys(ENV), 'KAIWA_TEST_BRIDGE_TELEGRAM']) delete process.env[name];
  await slackApi.close();
  await telegramApi.close();
  rmSync(directory, { recursive: true, force: true });
});

/** A store with a `general` channel, as a server would have it from earlier runs. */
async function storeWithRoom(): Promise<{ store: ChatStore; roomId: string }> {
  const store = await createSqliteStore({ filename: ':memory:' });
  await store.migrate();
  const engine = new ChatEngine({ store });
  const owner = await engine.createUser({ username: 'owner' });
  const room = await engine.createRoom(owner.id, { kind: 'channel', name: 'general' });
  engine.close();
  cleanups.push(() => store.close());
  return { store, roomId: room.id };
}

function writeBridgeFile(name: string, text: string): string {
  const file = join(directory, name);
  writeFileSync(file, text);
  return file;
}

async function started(bridgeFile: string, store: ChatStore): Promise<TestServer> {
  const server = await startTestServer({ bridgeFile }, { store });
  cleanups.push(() => server.close());
  return server;
}

describe('the bridge in the reference server (KAIWA_BRIDGE_FILE)', () => {
  it('relays between a Kaiwa room, Slack and Telegram, and lets workflows notify platform channels', async () => {
    const { store, roomId } = await storeWithRoom();
    const file = writeBridgeFile(
      'bridge.yaml',
      `
username: relay
displayName: Relay
# Last release's keys (botToken, slackApiUrl, retryConfig, apiRoot): still read, reported as deprecated.
platforms:
  slack:
    botToken: env:KAIWA_TEST_BRIDGE_SLACK_BOT
    receiver: { type: socket, appToken: env:KAIWA_TEST_BRIDGE_SLACK_APP }
    slackApiUrl: ${slackApi.apiUrl}
    retryConfig: { retries: 0 }
  telegram:
    token: env:KAIWA_TEST_BRIDGE_TELEGRAM
    apiRoot: ${telegramApi.apiRoot}
links:
  - id: general
    room: general
    channels:
      - { platform: slack, channelId: C1 }
      - { platform: telegram, channelId: -100500 }
`,
    );
    const test = await started(file, store);
    const { server } = test;
    const relay = server.platforms?.botUser;
    expect(relay).toMatchObject({ username: 'relay', displayName: 'Relay', role: 'bot' });
    expect(await server.store.memberships.find(roomId, relay!.id)).toBeDefined();

    // A person posts through the REST API: Slack shows the author's name, Telegram a bold prefix.
    await server.accounts.createAccount({
      username: 'alice',
      displayName: 'Alice',
      role: 'member',
      password: TEST_PASSWORD,
    });
    const { user: alice, accessToken } = await server.accounts.login('alice', TEST_PASSWORD);
    await server.engine.joinRoom(alice.id, roomId);
    const posted = await test.call('POST', `/api/v1/rooms/${roomId}/messages`, {
      token: accessToken,
      body: { text: 'hello from **Kaiwa**' },
    });
    expect(posted.statusCode).toBe(201);
    const [slackCall] = await until(
      () => slackApi.calls('chat.postMessage').length > 0 && slackApi.calls('chat.postMessage'),
      'the Slack copy',
    );
    expect(slackCall!.params).toMatchObject({ channel: 'C1', username: 'Alice' });
    expect(String(slackCall!.params.text)).toContain('hello from');
    const [telegramCall] = await until(
      () => telegramApi.calls('sendMessage').length > 0 && telegramApi.calls('sendMessage'),
      'the Telegram copy',
    );
    expect(String(telegramCall!.params.chat_id)).toBe('-100500');
    expect(String(telegramCall!.params.text)).toContain('<b>Alice</b>: hello from <b>Kaiwa</b>');

    // A Telegram user writes in the linked chat: the message arrives in the Kaiwa room, with its author.
    telegramApi.pushUpdate({
      message: {
        message_id: 7,
        date: 1_800_000_000,
        chat: { id: -100500, type: 'supergroup', title: 'General' },
        from: { id: 77, is_bot: false, first_name: 'Kenji', username: 'kenji' },
        text: 'こんにちは from Telegram',
      },
    });
    const relayed = await until(async () => {
      const page = await server.engine.history(alice.id, { roomId, limit: 10 });
      return page.messages.find((message: Message) => message.text.includes('from Telegram'));
    }, 'the Kaiwa copy of the Telegram message');
    expect(relayed).toMatchObject({ authorId: relay!.id, metadata: { author: { name: 'Kenji' } } });
    // …and on to Slack, never back to Telegram.
    await until(
      () => slackApi.calls('chat.postMessage').some((call) => call.params.username === 'Kenji'),
      'the Slack copy of the Telegram message',
    );
    expect(telegramApi.calls('sendMessage')).toHaveLength(1);

    // Workflows get the same adapters: a notify step posts to the Telegram chat.
    const [admin] = await server.engine.listUsers({ role: 'admin', limit: 1 });
    const actor =
      admin ??
      (await server.accounts.createAccount({ username: 'boss', role: 'admin', password: TEST_PASSWORD }))
        .user;
    await server.workflows.engine.define(
      {
        id: 'tell-telegram',
        name: 'Tell Telegram',
        steps: [
          {
            id: 'tell',
            type: 'notify',
            input: { platform: 'telegram', channelId: '-100500', text: 'build **green**' },
          },
        ],
      },
      actor.id,
    );
    const run = await server.workflows.engine.start('tell-telegram', { actorId: actor.id });
    const finished = await server.workflows.engine.waitForRun(run.id, { timeoutMs: 5_000 });
    expect(finished.run.status).toBe('succeeded');
    expect(
      telegramApi.calls('sendMessage').some((call) => String(call.params.text).includes('<b>green</b>')),
    ).toBe(true);

    // Restarted with Slack taken out of the link: the same bot user, and Slack is unlinked in the store.
    await test.close();
    const polls = telegramApi.calls('getUpdates').length;
    const telegramOnly = writeBridgeFile(
      'telegram-only.yaml',
      `
username: relay
platforms:
  telegram: { token: env:KAIWA_TEST_BRIDGE_TELEGRAM, apiRoot: '${telegramApi.apiRoot}' }
links: [{ id: general, room: general, channels: [{ platform: telegram, channelId: -100500 }] }]
`,
    );
    const again = await started(telegramOnly, store);
    expect(again.server.platforms?.botUser?.id).toBe(relay!.id);
    expect([...(again.server.platforms?.platforms.keys() ?? [])]).toEqual(['telegram']);
    const endpoints = await store.bridges.listEndpoints('general');
    expect(endpoints.map((endpoint) => endpoint.platform).sort()).toEqual(['kaiwa', 'telegram']);
    // telegraf resolves its launch callback before polling starts; a stop in between waits out a long poll.
    await until(
      () => telegramApi.calls('getUpdates').length > polls,
      'the restarted bridge polling Telegram',
    );
  });

  it('starts while a platform is down and connects the bridge once it is back', async () => {
    const { store, roomId } = await storeWithRoom();
    const telegram = await FakeTelegramApi.start();
    cleanups.push(() => telegram.close());
    telegram.failNext('getMe', { errorCode: 502, description: 'Bad Gateway' });
    const file = writeBridgeFile(
      'down.yaml',
      `
platforms:
  telegram:
    token: env:KAIWA_TEST_BRIDGE_TELEGRAM
    apiUrl: ${telegram.apiUrl}
    retry: { maxAttempts: 1 }
links: [{ id: general, room: ${roomId}, channels: [{ platform: telegram, channelId: -100600 }] }]
`,
    );
    const { server } = await started(file, store);
    expect(server.platforms?.botUser?.username).toBe('bridge');
    telegram.pushUpdate({
      message: {
        message_id: 1,
        date: 1_800_000_000,
        chat: { id: -100600, type: 'supergroup', title: 'General' },
        from: { id: 78, is_bot: false, first_name: 'Aiko' },
        text: 'anyone there?',
      },
    });
    const relayed = await until(async () => {
      const events = await server.store.roomEvents.listSince(roomId, 0, 50);
      return events.find(
        (event) => event.type === 'message.created' && event.payload.message.text === 'anyone there?',
      );
    }, 'the message after the bridge connected again');
    expect(relayed).toBeDefined();
    expect(telegram.calls('getMe').length).toBeGreaterThanOrEqual(2);
  });

  it('refuses to start on a bad bridge file, naming every problem by its path', async () => {
    const { store } = await storeWithRoom();
    const file = writeBridgeFile(
      'bad.json',
      JSON.stringify({
        platforms: {
          slack: {
            botToken: 'xoxb-inline-secret',
            receiver: { type: 'socket', appToken: 'env:NOT_SET_ANYWHERE' },
          },
          telegram: { token: 'env:KAIWA_TEST_BRIDGE_UNSET' },
          matrix: {},
        },
        links: [{ id: 'general', room: 'general', channels: [{ platform: 'discord', channelId: '1' }] }],
      }),
    );
    const failure = await startTestServer({ bridgeFile: file }, { store }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(BridgeFileError);
    const problems = (failure as BridgeFileError).problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^platforms\.slack\.botToken: must be an env:VAR_NAME reference/),
        expect.stringMatching(/^platforms\.matrix: unknown platform/),
      ]),
    );
    expect((failure as Error).message).toContain('KAIWA_BRIDGE_FILE');
    expect((failure as Error).message).not.toContain('xoxb-inline-secret');

    // With the shape right: unconfigured platforms, missing variables and unknown rooms.
    const second = writeBridgeFile(
      'bad.yaml',
      `
platforms:
  telegram: { token: env:KAIWA_TEST_BRIDGE_UNSET }
links:
  - id: general
    room: no-such-room
    channels: [{ platform: discord, channelId: '1' }, { platform: irc, channelId: '#a' }]
`,
    );
    const shaped = await startTestServer({ bridgeFile: second }, { store }).then(
      () => undefined,
      (error: unknown) => error as BridgeFileError,
    );
    expect(shaped?.problems).toEqual([
      'links.0.channels.0.platform: "discord" is not configured under platforms',
      expect.stringMatching(/^links\.0\.channels\.1\.platform: unknown platform "irc"/),
      'platforms.telegram.token: environment variable KAIWA_TEST_BRIDGE_UNSET is not set',
    ]);

    const roomless = writeBridgeFile(
      'roomless.yaml',
      `
platforms:
  telegram: { token: env:KAIWA_TEST_BRIDGE_TELEGRAM, apiRoot: '${telegramApi.apiRoot}' }
links: [{ id: x, room: no-such-room, channels: [{ platform: telegram, channelId: 5 }] }]
`,
    );
    await expect(startTestServer({ bridgeFile: roomless }, { store })).rejects.toThrow(
      'links.0.room: no Kaiwa room named "no-such-room"',
    );
  });

  it('reads channel ids given as numbers and resolves env references', async () => {
    const settings = await parseBridgeFile(
      {
        platforms: { telegram: { token: 'env:TOKEN' } },
        links: [{ id: 'a', room: 'general', channels: [{ platform: 'telegram', channelId: -100 }] }],
      },
      { TOKEN: '1:abc' },
    );
    expect(settings.username).toBe('bridge');
    expect(settings.platforms.telegram?.token).toBe('1:abc');
    expect(settings.links[0]!.channels[0]!.channelId).toBe('-100');
    await expect(parseBridgeFile({ platforms: {}, links: 'x' }, {})).rejects.toThrow(/links: /);
  });

  it('checks each platform with its adapter descriptor: webhook receivers, secrets and fields by path', async () => {
    const settings = await parseBridgeFile(
      {
        platforms: {
          slack: { token: 'env:BOT', receiver: { type: 'http', signingSecret: 'env:SIGNING' } },
          telegram: { token: 'env:TOKEN', receiver: { type: 'webhook', secretToken: 'env:SECRET' } },
          teams: { apiUrl: 'http://127.0.0.1:1/' },
        },
      },
      { BOT: 'xoxb-1', SIGNING: 's1', TOKEN: '1:abc', SECRET: 't1' },
    );
    expect(settings.platforms.slack?.receiver).toEqual({ type: 'http', signingSecret: 's1' });
    expect(settings.platforms.telegram?.receiver).toEqual({ type: 'webhook', secretToken: 't1' });
    expect(settings.platforms.teams).toEqual({ apiUrl: 'http://127.0.0.1:1/' });
    expect(settings.deprecations).toEqual([]);

    const failure = await parseBridgeFile(
      {
        platforms: {
          telegram: {
            token: 'env:T',
            receiver: { type: 'webhook', secretToken: 'x' },
            retry: { maxAttempts: 0 },
          },
          teams: { listen: { port: 3978 } },
          discord: { token: 'env:T', colour: 'blue' },
        },
      },
      { T: '1' },
      '/etc/kaiwa/bridge.yaml',
    ).then(
      () => undefined,
      (error: unknown) => error as BridgeFileError,
    );
    expect(failure?.message).toContain('KAIWA_BRIDGE_FILE: /etc/kaiwa/bridge.yaml: ');
    expect(failure?.problems).toEqual([
      'platforms.discord.colour: unknown field',
      expect.stringMatching(/^platforms\.telegram\.receiver\.secretToken: must be an env:VAR_NAME reference/),
      expect.stringMatching(/^platforms\.telegram\.retry\.maxAttempts: /),
      expect.stringMatching(
        /^platforms\.teams\.listen: no longer supported: .*\/api\/v1\/platforms\/teams\/events/,
      ),
    ]);
  });

  it('still reads last release’s keys and receivers, each one reported as deprecated', async () => {
    const settings = await parseBridgeFile(
      {
        platforms: {
          slack: { botToken: 'env:BOT', receiver: { type: 'mounted', signingSecret: 'env:SIGNING' } },
          telegram: {
            token: 'env:TOKEN',
            apiRoot: 'http://127.0.0.1:1',
            receiver: { type: 'mounted', secretToken: 'env:SECRET' },
          },
          teams: { serviceUrl: 'http://127.0.0.1:1/', receiver: { type: 'mounted' } },
        },
      },
      { BOT: 'xoxb-1', SIGNING: 's1', TOKEN: '1:abc', SECRET: 't1' },
    );
    expect(settings.platforms.slack).toEqual({
      token: 'xoxb-1',
      receiver: { type: 'http', signingSecret: 's1' },
    });
    expect(settings.platforms.telegram).toEqual({
      token: '1:abc',
      apiUrl: 'http://127.0.0.1:1',
      receiver: { type: 'webhook', secretToken: 't1' },
    });
    expect(settings.platforms.teams).toEqual({ apiUrl: 'http://127.0.0.1:1/' });
    expect(settings.deprecations).toEqual([
      'platforms.slack.botToken: deprecated, write token',
      'platforms.slack.receiver.type: mounted is deprecated, write http (the webhook the host serves)',
      'platforms.telegram.apiRoot: deprecated, write apiUrl',
      'platforms.telegram.receiver.type: mounted is deprecated, write webhook (the webhook the host serves)',
      'platforms.teams.serviceUrl: deprecated, write apiUrl',
      'platforms.teams.receiver: deprecated, remove it (Teams always posts to the webhook the host serves)',
    ]);
  });
});
