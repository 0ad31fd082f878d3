import type { PlatformInboundEvent } from '@kaiwa/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTeamsAdapter, type TeamsAdapter, type TeamsWebhookRequest } from './index.js';
import { type FakeBotConnector, startFakeBotConnector } from './testing.js';

/* handleWebhook: the raw request from a host server, with the same processing as `handler`. */

let connector: FakeBotConnector;
let teams: TeamsAdapter;
const events: PlatformInboundEvent[] = [];
let refuse = 0;

beforeAll(async () => {
  connector = await startFakeBotConnector();
  teams = createTeamsAdapter({ maxRetryDelayMs: 2000 });
});
afterAll(async () => {
  await teams.disconnect();
  await connector.close();
});

function post(body: string): TeamsWebhookRequest {
  return { method: 'POST', headers: { 'content-type': 'application/json' }, rawBody: Buffer.from(body) };
}

describe('TeamsAdapter.handleWebhook', () => {
  it('records activities before answering 200, and answers 503 when it could not', async () => {
    const activity = JSON.stringify(connector.messageActivity({ text: 'hello from Teams' }));
    expect((await teams.handleWebhook(post(activity))).status).toBe(503);
    await teams.connect({
      accept: async (event) => {
        if (refuse > 0) {
          refuse -= 1;
          throw new Error('store is down');
        }
        events.push(event);
      },
    });
    expect((await teams.handleWebhook(post(activity))).status).toBe(200);
    expect(events).toMatchObject([{ kind: 'message', channelId: '19:general@thread.tacv2' }]);

    refuse = 100;
    const refused = await teams.handleWebhook(
      post(JSON.stringify(connector.messageActivity({ text: 'later' }))),
    );
    expect(refused).toMatchObject({ status: 503, headers: { 'retry-after': '1' } });
    refuse = 0;
  });

  it('answers 400 to what is not an activity and 405 to other methods', async () => {
    expect((await teams.handleWebhook(post('{"type":'))).status).toBe(400);
    const typeless = await teams.handleWebhook(post('{"text":"x"}'));
    expect(typeless.status).toBe(400);
    expect(JSON.parse(typeless.body ?? '{}').error).toContain('body:');
    expect((await teams.handleWebhook({ ...post('{}'), method: 'GET' })).status).toBe(405);
  });
});
