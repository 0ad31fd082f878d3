import { permissions } from '@kaiwa/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { capabilitiesOf } from './capabilities.js';
import { type Chat, type Frame, openChat, type Served, serve, sleep, TestClient } from './test-support.js';

/*
 * What I may do in a room follows me over the WebSocket: after the room event that changed it (my role in
 * the room, the room archived or unarchived, joining or leaving a channel) comes a `room.rights` frame with
 * the rights as the engine rules them then, to me only; after an admin changes my role, an `account.updated`
 * frame with what I may do now (real engine, real store, real sockets).
 */

let chat: Chat;
let served: Served | undefined;

beforeEach(async () => {
  chat = await openChat();
});

afterEach(async () => {
  await served?.stop();
  served = undefined;
  await chat.close();
});

describe('realtime: room.rights frames', () => {
  const rightsFrames = (frames: Frame[], roomId: string) =>
    frames.filter((frame) => frame.type === 'room.rights' && frame.roomId === roomId);

  it('follows my role and the room being archived, after the event that changed them', async () => {
    served = await serve(chat);
    const { engine, alice, bob, carol } = chat;
    const room = await engine.createRoom(alice.id, {
      kind: 'group',
      name: 'planning',
      memberIds: [bob.id, carol.id],
    });
    const bobClient = await TestClient.as(served.url, 'token-bob');
    const carolClient = await TestClient.as(served.url, 'token-carol');
    for (const client of [bobClient, carolClient])
      await client.request({ type: 'subscribe', roomId: room.id });

    // Bob becomes a moderator: he may manage the room now; Carol's rights did not change, so she hears nothing.
    await engine.setMemberRole(alice.id, room.id, bob.id, 'moderator');
    const promoted = await bobClient.waitFor((frame) => frame.type === 'room.rights');
    const asModerator = permissions.roomRightsOf(
      await engine.getUser(bob.id),
      await engine.getRoom(bob.id, room.id),
      await engine.findMembership(bob.id, room.id),
    );
    expect(promoted).toEqual({ type: 'room.rights', roomId: room.id, rights: asModerator });
    expect(asModerator).toMatchObject({ manage: true, rename: true, moderate: true, setRoles: false });
    const order = bobClient.frames.map((frame) => frame.type);
    expect(order.indexOf('member.updated')).toBeLessThan(order.indexOf('room.rights'));

    // A rename changes nobody's rights; archiving changes everyone's (no rename, no invitation).
    await engine.updateRoom(alice.id, room.id, { topic: 'Q3' });
    await engine.updateRoom(alice.id, room.id, { archived: true });
    await carolClient.waitFor((frame) => frame.type === 'room.rights');
    await bobClient.waitFor((frame) => frame.type === 'room.rights' && frame !== promoted);
    await sleep(50);
    expect(rightsFrames(bobClient.frames, room.id).map((frame) => frame.rights)).toEqual([
      asModerator,
      { ...asModerator, rename: false, invite: false },
    ]);
    expect(rightsFrames(carolClient.frames, room.id).map((frame) => frame.rights)).toEqual([
      await engine.roomRights(carol.id, room.id),
    ]);
    await bobClient.close();
    await carolClient.close();
  });

  it('follows joining and leaving a public channel I read', async () => {
    served = await serve(chat);
    const { engine, alice, bob } = chat;
    const channel = await engine.createRoom(alice.id, { kind: 'channel', name: 'general' });
    const bobClient = await TestClient.as(served.url, 'token-bob');
    await bobClient.request({ type: 'subscribe', roomId: channel.id });

    await engine.joinRoom(bob.id, channel.id);
    const joined = await bobClient.waitFor((frame) => frame.type === 'room.rights');
    expect(joined.rights).toMatchObject({ invite: true, manage: false });
    await engine.leaveRoom(bob.id, channel.id);
    const left = await bobClient.waitFor((frame) => frame.type === 'room.rights' && frame !== joined);
    expect(left.rights).toMatchObject({ invite: false, manage: false });
    await bobClient.close();
  });
});

describe('realtime: account.updated frames', () => {
  it('tell my own connections what I may do after an admin changes my role, and nobody else', async () => {
    served = await serve(chat);
    const { engine, bob } = chat;
    const root = await engine.createUser({ username: 'root', role: 'admin' });
    const bobClient = await TestClient.as(served.url, 'token-bob');
    const carolClient = await TestClient.as(served.url, 'token-carol');
    const ready = bobClient.frames.find((frame) => frame.type === 'ready');
    expect(ready?.capabilities).toEqual(capabilitiesOf(bob));

    await engine.updateUser(root.id, bob.id, { role: 'admin' });
    const updated = await bobClient.waitFor((frame) => frame.type === 'account.updated');
    const asAdmin = await engine.getUser(bob.id);
    expect(updated).toEqual({
      type: 'account.updated',
      user: asAdmin,
      capabilities: capabilitiesOf(asAdmin),
    });
    expect(updated.capabilities).toMatchObject({ managePlugins: true, manageUsers: true });

    // A forced password change alone changes nothing I may do: no frame. Carol heard of none of it.
    await engine.updateUser(root.id, bob.id, { forcePasswordChange: true });
    await sleep(50);
    expect(bobClient.frames.filter((frame) => frame.type === 'account.updated')).toHaveLength(1);
    expect(carolClient.frames.some((frame) => frame.type === 'account.updated')).toBe(false);
    await bobClient.close();
    await carolClient.close();
  });
});
