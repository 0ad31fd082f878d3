import type { PlatformInboundEvent } from '@kaiwa/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTeamsAdapter, type TeamsAdapter } from './index.js';
import { type FakeBotConnector, startFakeBotConnector } from './testing.js';

/* handleWebhook: the messaging endpoint's requests as web Requests from the host, answered with Responses. */

let connector: FakeBotConnector;
let teams: TeamsAdapter;
const events: PlatformInboundEvent[] = [];
let refuse = 0;

beforeAll(async () => {
  connector = await startFakeBotConnector();
  teams = createTeamsAdapter({ retry: { maxRetryAfterMs: 2000 } });
});
afterAll(async () => {
  await teams.disconnect();
  await connector.close();
});

function post(body: string, method = 'POST'): Request {
  return new Request('http://kaiwa.test/api/v1/platforms/teams/events', {
    method,
    headers: { 'content-type': 'application/json' },
    ...(method === 'GET' ? {} : { body }),
  });
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
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    refuse = 0;
  });

  it('answers 400 to what is not an activity and 405 to other methods', async () => {
    expect((await teams.handleWebhook(post('{"type":'))).status).toBe(400);
    const typeless = await teams.handleWebhook(post('{"text":"x"}'));
    expect(typeless.status).toBe(400);
    expect(((await typeless.json()) as { error: string }).error).toContain('body:');
    expect((await teams.handleWebhook(post('{}', 'GET'))).status).toBe(405);
  });
});
