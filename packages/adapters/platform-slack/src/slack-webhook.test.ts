import { createHmac } from 'node:crypto';
import { type PlatformInboundEvent, silentPlatformLogger } from '@kaiwa/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSlackAdapter, type SlackAdapter } from './index.js';
import { FakeSlackApi, slackEventCallback } from './testing.js';

/* The `http` receiver: the host hands each request to handleWebhook as a web Request; no server of its own. */

let fake: FakeSlackApi;
const adapters: SlackAdapter[] = [];

beforeAll(async () => {
  fake = await FakeSlackApi.start({ users: [{ id: 'U1', name: 'alice' }] });
});
afterEach(async () => {
  for (const adapter of adapters.splice(0)) await adapter.disconnect();
});
afterAll(async () => {
  await fake.close();
});

function mounted(): SlackAdapter {
  const adapter = createSlackAdapter({
    token: 'xoxb-test',
    apiUrl: fake.apiUrl,
    retry: { maxAttempts: 1 },
    receiver: { type: 'http', signingSecret: fake.signingSecret },
    logger: silentPlatformLogger,
  });
  adapters.push(adapter);
  return adapter;
}

/** A request as Slack signs it: HMAC-SHA256 of `v0:<timestamp>:<raw body>`. */
function signed(
  body: string,
  options: {
    contentType?: string;
    secret?: string;
    timestamp?: number;
    retryNum?: number;
    method?: string;
  } = {},
): Request {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const signature = createHmac('sha256', options.secret ?? fake.signingSecret)
    .update(`v0:${timestamp}:${body}`)
    .digest('hex');
  const method = options.method ?? 'POST';
  return new Request('http://kaiwa.test/api/v1/platforms/slack/events', {
    method,
    headers: {
      'content-type': options.contentType ?? 'application/json',
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': `v0=${signature}`,
      ...(options.retryNum !== undefined ? { 'x-slack-retry-num': String(options.retryNum) } : {}),
    },
    ...(method === 'GET' ? {} : { body }),
  });
}

function unsigned(body: string, headers: Record<string, string> = {}): Request {
  return new Request('http://kaiwa.test/api/v1/platforms/slack/events', { method: 'POST', headers, body });
}

describe('SlackAdapter.handleWebhook (receiver: http)', () => {
  it('checks the signature and timestamp, answers url_verification and ssl_check', async () => {
    const slack = mounted();
    await slack.connect({ accept: async () => {} });
    const challenge = await slack.handleWebhook(
      signed(JSON.stringify({ type: 'url_verification', challenge: 'x' })),
    );
    expect(challenge.status).toBe(200);
    expect(await challenge.text()).toBe(JSON.stringify({ challenge: 'x' }));
    const body = JSON.stringify(
      slackEventCallback({ type: 'message', channel: 'C1', user: 'U1', text: 'hi', ts: '1.1' }),
    );
    expect((await slack.handleWebhook(signed(body, { secret: 'wrong' }))).status).toBe(401);
    const stale = Math.floor(Date.now() / 1000) - 6 * 60;
    expect((await slack.handleWebhook(signed(body, { timestamp: stale }))).status).toBe(401);
    expect((await slack.handleWebhook(unsigned(body))).status).toBe(401);
    // Unsigned, as Slack sends it; a smuggled payload beside it is never read.
    const ssl = await slack.handleWebhook(
      unsigned('ssl_check=1&token=x', { 'content-type': 'application/x-www-form-urlencoded' }),
    );
    expect(ssl.status).toBe(200);
    expect((await slack.handleWebhook(signed(body, { method: 'GET' }))).status).toBe(405);
    expect((await slack.handleWebhook(signed('{not json'))).status).toBe(400);
  });

  it('acknowledges only after the sink recorded the event, and answers 500 when it could not', async () => {
    const events: PlatformInboundEvent[] = [];
    let refuse = true;
    const slack = mounted();
    const body = JSON.stringify(
      slackEventCallback({
        type: 'message',
        channel: 'C1',
        user: 'U1',
        text: 'hello',
        ts: '1700000000.000001',
      }),
    );
    // Before connect there is nothing to record into: Slack delivers again later.
    expect((await slack.handleWebhook(signed(body))).status).toBe(503);
    await slack.connect({
      accept: async (event) => {
        if (refuse) throw new Error('store is down');
        events.push(event);
      },
    });
    expect((await slack.handleWebhook(signed(body))).status).toBe(500);
    expect(events).toHaveLength(0);
    refuse = false;
    expect((await slack.handleWebhook(signed(body, { retryNum: 1 }))).status).toBe(200);
    expect(events).toMatchObject([
      { kind: 'message', eventId: 'message:C1:1700000000.000001', channelId: 'C1' },
    ]);

    const command = new URLSearchParams({
      command: '/deploy',
      text: 'prod',
      user_id: 'U1',
      user_name: 'alice',
      channel_id: 'C1',
      trigger_id: 'T-1',
    }).toString();
    const answer = await slack.handleWebhook(
      signed(command, { contentType: 'application/x-www-form-urlencoded' }),
    );
    expect(answer.status).toBe(200);
    expect(events.at(-1)).toMatchObject({ kind: 'command', command: 'deploy', args: 'prod' });
  });

  it('verifies the exact bytes received: the same JSON spaced differently fails', async () => {
    const slack = mounted();
    await slack.connect({ accept: async () => {} });
    const body = '{ "type": "url_verification",  "challenge": "ü" }';
    expect((await slack.handleWebhook(signed(body))).status).toBe(200);
    const request = signed(body);
    const respaced = new Request(request.url, {
      method: 'POST',
      headers: request.headers,
      body: JSON.stringify(JSON.parse(body)),
    });
    expect((await slack.handleWebhook(respaced)).status).toBe(401);
  });

  it('answers 404 when the adapter receives over Socket Mode', async () => {
    const slack = createSlackAdapter({
      token: 'xoxb-test',
      apiUrl: fake.apiUrl,
      receiver: { type: 'socket', appToken: 'xapp-test' },
    });
    expect((await slack.handleWebhook(signed('{}'))).status).toBe(404);
  });
});
