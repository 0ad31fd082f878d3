import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test-support.js';

describe('room names over REST', () => {
  let test: TestServer;
  let owner: string;
  let outsider: string;
  beforeAll(async () => {
    test = await startTestServer();
    owner = (await test.signedIn('member')).token;
    outsider = (await test.signedIn('member')).token;
  });
  afterAll(() => test.close());

  const create = (token: string, kind: 'channel' | 'group', name: string) =>
    test.call('POST', '/api/v1/rooms', { token, body: { kind, name } });

  it('does not reveal a private group by its name: an outsider creates a group or channel of that name', async () => {
    expect((await create(owner, 'group', 'board-of-directors')).statusCode).toBe(201);
    const group = await create(outsider, 'group', 'board-of-directors');
    expect(group.statusCode).toBe(201);
    const channel = await create(outsider, 'channel', 'board-of-directors');
    expect(channel.statusCode).toBe(201);
  });

  it('keeps channel names unique: 409 conflict naming the field', async () => {
    expect((await create(owner, 'channel', 'announcements')).statusCode).toBe(201);
    const taken = await create(outsider, 'channel', 'announcements');
    expect(taken.statusCode).toBe(409);
    expect(taken.json().error).toMatchObject({ code: 'conflict', details: { field: 'name' } });
  });
});
