import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test-support.js';

describe('default channels', () => {
  let test: TestServer;

  beforeAll(async () => {
    test = await startTestServer({ defaultChannels: ['general', 'random'] });
  });
  afterAll(() => test.close());

  const roomNames = async (token: string) =>
    (await test.call('GET', '/api/v1/rooms', { token }))
      .json()
      .rooms.map((summary: { room: { name: string } }) => summary.room.name)
      .sort();

  it('puts every new member into them, creating them on first use; guests join none', async () => {
    const first = await test.signedIn('member', 'first-arrival');
    expect(await roomNames(first.token)).toEqual(['general', 'random']);
    const second = await test.signedIn('moderator', 'second-arrival');
    expect(await roomNames(second.token)).toEqual(['general', 'random']);
    const visitor = await test.signedIn('guest', 'visitor');
    expect(await roomNames(visitor.token)).toEqual([]);

    // One room each, shared: the first to arrive (the admin made at first start) created it.
    const general = async (token: string) =>
      (await test.call('GET', '/api/v1/rooms', { token }))
        .json()
        .rooms.find((summary: { room: { name: string } }) => summary.room.name === 'general');
    const [firstView, secondView] = [await general(first.token), await general(second.token)];
    expect(secondView.room.id).toBe(firstView.room.id);
    expect(secondView.membership.role).toBe('member');
  });

  it('skips an archived default channel', async () => {
    const owner = await test.signedIn('admin', 'archiver');
    const rooms = (await test.call('GET', '/api/v1/rooms', { token: owner.token })).json().rooms;
    const random = rooms.find((summary: { room: { name: string } }) => summary.room.name === 'random');
    const archived = await test.call('PATCH', `/api/v1/rooms/${random.room.id}`, {
      token: owner.token,
      body: { archived: true },
    });
    expect(archived.statusCode).toBe(200);
    const late = await test.signedIn('member', 'late-arrival');
    expect(await roomNames(late.token)).toEqual(['general']);
  });
});

describe('PATCH /rooms/:roomId/preferences', () => {
  let test: TestServer;

  beforeAll(async () => {
    test = await startTestServer();
  });
  afterAll(() => test.close());

  it("changes the caller's own favourite, notification level and mute, and lists them", async () => {
    const alice = await test.signedIn('member', 'alice');
    const bob = await test.signedIn('member', 'bob');
    const room = (
      await test.call('POST', '/api/v1/rooms', {
        token: alice.token,
        body: { kind: 'channel', name: 'design', memberIds: [bob.user.id] },
      })
    ).json();

    const changed = await test.call('PATCH', `/api/v1/rooms/${room.id}/preferences`, {
      token: bob.token,
      body: { favourite: true, notify: 'all', muted: true },
    });
    expect(changed.statusCode).toBe(200);
    expect(changed.json()).toMatchObject({
      room: { id: room.id },
      membership: { userId: bob.user.id, muted: true },
      preferences: { favourite: true, notify: 'all' },
      unreadCount: 0,
    });

    const bobsRooms = (await test.call('GET', '/api/v1/rooms', { token: bob.token })).json().rooms;
    expect(bobsRooms[0]).toMatchObject({ preferences: { favourite: true, notify: 'all' } });
    const alicesRooms = (await test.call('GET', '/api/v1/rooms', { token: alice.token })).json().rooms;
    expect(alicesRooms[0]).toMatchObject({
      membership: { muted: false },
      preferences: { favourite: false, notify: 'default' },
    });
  });

  it('answers 400 naming the field for a bad value or an unknown key, 404 outside the room', async () => {
    const carol = await test.signedIn('member', 'carol');
    const dave = await test.signedIn('member', 'dave');
    const room = (
      await test.call('POST', '/api/v1/rooms', {
        token: carol.token,
        body: { kind: 'group', name: 'secret' },
      })
    ).json();

    const bad = await test.call('PATCH', `/api/v1/rooms/${room.id}/preferences`, {
      token: carol.token,
      body: { notify: 'loud' },
    });
    expect(bad.statusCode).toBe(400);
    expect(JSON.stringify(bad.json())).toContain('notify');

    const unknown = await test.call('PATCH', `/api/v1/rooms/${room.id}/preferences`, {
      token: carol.token,
      body: { colour: 'red' },
    });
    expect(unknown.statusCode).toBe(400);

    const outsider = await test.call('PATCH', `/api/v1/rooms/${room.id}/preferences`, {
      token: dave.token,
      body: { favourite: true },
    });
    expect(outsider.statusCode).toBe(404);
  });
});
