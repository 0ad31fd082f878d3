import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test-support.js';

describe('message routes', () => {
  let test: TestServer;
  let token: string;
  let roomId: string;
  beforeAll(async () => {
    test = await startTestServer();
    token = (await test.signedIn('member')).token;
    const room = await test.call('POST', '/api/v1/rooms', {
      token,
      body: { kind: 'channel', name: 'posts' },
    });
    roomId = room.json().room?.id ?? room.json().id;
  });
  afterAll(() => test.close());

  it('refuses metadata.workflow in a send and an edit with 400 naming it: only the server sets it', async () => {
    const workflow = { workflowId: 'w', runId: 'r', startedBy: 'someone' };
    const refused = {
      code: 'validation_failed',
      details: { issues: [{ path: ['metadata.workflow'], message: 'is set by the server, not by clients' }] },
    };
    const forged = await test.call('POST', `/api/v1/rooms/${roomId}/messages`, {
      token,
      body: { text: 'forged', metadata: { workflow } },
    });
    expect(forged.statusCode).toBe(400);
    expect(forged.json().error).toMatchObject(refused);

    const sent = await test.call('POST', `/api/v1/rooms/${roomId}/messages`, {
      token,
      body: { text: 'plain' },
    });
    expect(sent.statusCode).toBe(201);
    const edit = await test.call('PATCH', `/api/v1/messages/${sent.json().id}`, {
      token,
      body: { text: 'forged', metadata: { workflow } },
    });
    expect(edit.statusCode).toBe(400);
    expect(edit.json().error).toMatchObject(refused);
    const history = await test.call('GET', `/api/v1/rooms/${roomId}/messages`, { token });
    expect(history.json().messages.map((message: { metadata: unknown }) => message.metadata)).toEqual([{}]);
  });
});
