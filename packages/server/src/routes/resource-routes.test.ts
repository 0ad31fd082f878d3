import type { User } from '@kaiwa/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test-support.js';

describe('REST resources', () => {
  let test: TestServer;
  let alice: { user: User; token: string };
  let bob: { user: User; token: string };
  let guest: { user: User; token: string };
  let admin: { user: User; token: string };

  beforeAll(async () => {
    test = await startTestServer();
    alice = await test.signedIn('member', 'alice');
    bob = await test.signedIn('member', 'bob');
    guest = await test.signedIn('guest', 'visitor');
    admin = await test.signedIn('admin', 'root');
  });
  afterAll(() => test.close());

  const eventCount = async (roomId: string) =>
    (await test.server.store.roomEvents.listSince(roomId, 0, 1000)).length;

  describe('rooms', () => {
    it('creates, lists, shows, updates, joins, leaves and manages members', async () => {
      const created = await test.call('POST', '/api/v1/rooms', {
        token: alice.token,
        body: { kind: 'channel', name: 'general', topic: 'Everything' },
      });
      expect(created.statusCode).toBe(201);
      const room = created.json();
      expect(room).toMatchObject({ kind: 'channel', name: 'general', createdBy: alice.user.id });

      const channels = await test.call('GET', '/api/v1/rooms/channels?limit=10', { token: bob.token });
      expect(channels.json().rooms.map((each: { id: string }) => each.id)).toContain(room.id);

      const joined = await test.call('POST', `/api/v1/rooms/${room.id}/join`, { token: bob.token });
      expect(joined.statusCode).toBe(200);
      expect(joined.json()).toMatchObject({ roomId: room.id, userId: bob.user.id, role: 'member' });

      const mine = await test.call('GET', '/api/v1/rooms', { token: bob.token });
      expect(mine.json().rooms).toEqual([
        expect.objectContaining({ room: expect.objectContaining({ id: room.id }), unreadCount: 0 }),
      ]);

      const shown = await test.call('GET', `/api/v1/rooms/${room.id}`, { token: bob.token });
      expect(shown.json().name).toBe('general');

      const updated = await test.call('PATCH', `/api/v1/rooms/${room.id}`, {
        token: alice.token,
        body: { topic: '何でも' },
      });
      expect(updated.statusCode).toBe(200);
      expect(updated.json().topic).toBe('何でも');

      const members = await test.call('GET', `/api/v1/rooms/${room.id}/members`, { token: bob.token });
      expect(
        members
          .json()
          .members.map((each: { userId: string }) => each.userId)
          .sort(),
      ).toEqual([alice.user.id, bob.user.id].sort());

      const promoted = await test.call('PATCH', `/api/v1/rooms/${room.id}/members/${bob.user.id}`, {
        token: alice.token,
        body: { role: 'moderator' },
      });
      expect(promoted.json().role).toBe('moderator');

      const left = await test.call('POST', `/api/v1/rooms/${room.id}/leave`, { token: bob.token });
      expect(left.statusCode).toBe(204);
      const invited = await test.call('POST', `/api/v1/rooms/${room.id}/members`, {
        token: alice.token,
        body: { userId: bob.user.id },
      });
      expect(invited.statusCode).toBe(200);
      const removed = await test.call('DELETE', `/api/v1/rooms/${room.id}/members/${bob.user.id}`, {
        token: alice.token,
      });
      expect(removed.statusCode).toBe(204);
    });

    it('opens one direct room per pair', async () => {
      const first = await test.call('POST', '/api/v1/rooms/direct', {
        token: alice.token,
        body: { userId: bob.user.id },
      });
      expect(first.statusCode).toBe(200);
      expect(first.json().kind).toBe('direct');
      const second = await test.call('POST', '/api/v1/rooms/direct', {
        token: bob.token,
        body: { userId: alice.user.id },
      });
      expect(second.json().id).toBe(first.json().id);
    });

    it("lists a room's members, and my rooms, with what the caller may do in it, each their own", async () => {
      const group = (
        await test.call('POST', '/api/v1/rooms', {
          token: alice.token,
          body: { kind: 'group', name: 'rights', memberIds: [bob.user.id] },
        })
      ).json();
      const rightsOf = async (token: string) => {
        const answer = await test.call('GET', `/api/v1/rooms/${group.id}/members`, { token });
        expect(answer.statusCode).toBe(200);
        // The room list carries the same rights with each room.
        const list = await test.call('GET', '/api/v1/rooms', { token });
        const summary = (list.json().rooms as { room: { id: string }; rights: unknown }[]).find(
          (each) => each.room.id === group.id,
        );
        expect(summary?.rights).toEqual(answer.json().rights);
        return answer.json().rights;
      };
      expect(await rightsOf(alice.token)).toEqual({
        manage: true,
        rename: true,
        invite: true,
        setRoles: true,
        removeRoles: ['owner', 'moderator', 'member'],
        changeSettings: true,
        moderate: true,
      });
      expect(await rightsOf(bob.token)).toEqual({
        manage: false,
        rename: false,
        invite: false,
        setRoles: false,
        removeRoles: [],
        changeSettings: false,
        moderate: false,
      });
      // Made a moderator, Bob may manage and invite, and remove plain members only.
      await test.call('PATCH', `/api/v1/rooms/${group.id}/members/${bob.user.id}`, {
        token: alice.token,
        body: { role: 'moderator' },
      });
      expect(await rightsOf(bob.token)).toMatchObject({
        manage: true,
        invite: true,
        removeRoles: ['member'],
        moderate: true,
      });
      // Archived, the room may be unarchived, but neither renamed nor invited into.
      await test.call('PATCH', `/api/v1/rooms/${group.id}`, { token: alice.token, body: { archived: true } });
      expect(await rightsOf(alice.token)).toMatchObject({ manage: true, rename: false, invite: false });
      // Whoever may not read the room learns nothing of it, rights included.
      const outsider = await test.call('GET', `/api/v1/rooms/${group.id}/members`, { token: guest.token });
      expect(outsider.statusCode).toBe(404);
      expect(outsider.json()).not.toHaveProperty('rights');
    });

    it('denies what the engine forbids and writes nothing', async () => {
      const group = (
        await test.call('POST', '/api/v1/rooms', {
          token: alice.token,
          body: { kind: 'group', name: 'secret' },
        })
      ).json();
      const before = await eventCount(group.id);
      // A private group the caller is not in looks absent.
      const peek = await test.call('GET', `/api/v1/rooms/${group.id}`, { token: bob.token });
      expect(peek.statusCode).toBe(404);
      expect(peek.json().error.code).toBe('not_found');
      const rename = await test.call('PATCH', `/api/v1/rooms/${group.id}`, {
        token: bob.token,
        body: { name: 'hijacked' },
      });
      expect(rename.statusCode).toBe(404);
      const guestCreate = await test.call('POST', '/api/v1/rooms', {
        token: guest.token,
        body: { kind: 'channel', name: 'guest-room' },
      });
      expect(guestCreate.statusCode).toBe(403);
      expect(guestCreate.json().error.code).toBe('forbidden');
      expect(await test.server.store.rooms.findByName('guest-room')).toBeUndefined();
      expect((await test.server.engine.getRoom(alice.user.id, group.id)).name).toBe('secret');
      expect(await eventCount(group.id)).toBe(before);
    });

    it('names the bad field in a 400', async () => {
      const badName = await test.call('POST', '/api/v1/rooms', {
        token: alice.token,
        body: { kind: 'channel', name: 'has spaces' },
      });
      expect(badName.statusCode).toBe(400);
      expect(badName.json().error).toMatchObject({
        code: 'validation_failed',
        details: { location: 'body', issues: [{ path: ['name'] }] },
      });
      expect(badName.json().error.message).toMatch(/^name: /);
      const badId = await test.call('GET', '/api/v1/rooms/not-a-ulid', { token: alice.token });
      expect(badId.statusCode).toBe(400);
      expect(badId.json().error.details).toMatchObject({
        location: 'params',
        issues: [{ path: ['roomId'] }],
      });
      const badQuery = await test.call('GET', '/api/v1/rooms/channels?limit=5000', { token: alice.token });
      expect(badQuery.statusCode).toBe(400);
      expect(badQuery.json().error.details.issues[0].path).toEqual(['limit']);
    });
  });

  describe('messages', () => {
    let roomId: string;
    beforeAll(async () => {
      roomId = (
        await test.call('POST', '/api/v1/rooms', {
          token: alice.token,
          body: { kind: 'channel', name: 'talk', memberIds: [bob.user.id] },
        })
      ).json().id;
    });

    it('sends idempotently, pages history, threads, edits, reacts, deletes, and resumes by sequence', async () => {
      const send = (text: string, extra: Record<string, unknown> = {}) =>
        test.call('POST', `/api/v1/rooms/${roomId}/messages`, {
          token: alice.token,
          body: { text, ...extra },
        });
      const first = await send('hello @bob', { clientMessageId: 'c-1' });
      expect(first.statusCode).toBe(201);
      const message = first.json();
      expect(message.mentions.userIds).toEqual([bob.user.id]);
      const repeated = await send('hello @bob', { clientMessageId: 'c-1' });
      expect(repeated.json().id).toBe(message.id);

      const second = (await send('second')).json();
      const third = (await send('third')).json();
      const reply = (
        await test.call('POST', `/api/v1/rooms/${roomId}/messages`, {
          token: bob.token,
          body: { text: 'in the thread', threadRootId: message.id },
        })
      ).json();

      const newest = await test.call('GET', `/api/v1/rooms/${roomId}/messages?limit=2`, { token: bob.token });
      expect(newest.json().messages.map((each: { id: string }) => each.id)).toEqual([second.id, third.id]);
      expect(newest.json().hasMore).toBe(true);
      const older = await test.call('GET', `/api/v1/rooms/${roomId}/messages?before=${second.id}`, {
        token: bob.token,
      });
      expect(older.json().messages.map((each: { id: string }) => each.id)).toEqual([message.id]);
      const newer = await test.call('GET', `/api/v1/rooms/${roomId}/messages?after=${message.id}&limit=1`, {
        token: bob.token,
      });
      expect(newer.json()).toMatchObject({ messages: [{ id: second.id }], hasMore: true });
      const thread = await test.call('GET', `/api/v1/rooms/${roomId}/messages?threadRootId=${message.id}`, {
        token: alice.token,
      });
      expect(thread.json().messages.map((each: { id: string }) => each.id)).toEqual([reply.id]);

      const fetched = await test.call('GET', `/api/v1/messages/${message.id}`, { token: bob.token });
      expect(fetched.json().replyCount).toBe(1);

      const edited = await test.call('PATCH', `/api/v1/messages/${message.id}`, {
        token: alice.token,
        body: { text: 'hello everyone' },
      });
      expect(edited.json()).toMatchObject({ text: 'hello everyone', mentions: { userIds: [] } });
      expect(edited.json().editedAt).not.toBeNull();

      const reacted = await test.call('POST', `/api/v1/messages/${message.id}/reactions`, {
        token: bob.token,
        body: { emoji: '🎉' },
      });
      expect(reacted.json().reactions).toEqual([{ emoji: '🎉', count: 1, userIds: [bob.user.id] }]);
      const unreacted = await test.call(
        'DELETE',
        `/api/v1/messages/${message.id}/reactions/${encodeURIComponent('🎉')}`,
        {
          token: bob.token,
        },
      );
      expect(unreacted.json().reactions).toEqual([]);

      const deleted = await test.call('DELETE', `/api/v1/messages/${third.id}`, { token: alice.token });
      expect(deleted.json()).toMatchObject({ id: third.id, text: '' });
      expect(deleted.json().deletedAt).not.toBeNull();

      const all = await test.call('GET', `/api/v1/rooms/${roomId}/events`, { token: bob.token });
      const types = all.json().events.map((event: { type: string }) => event.type);
      expect(types).toEqual([
        'message.created',
        'message.created',
        'message.created',
        'message.created',
        'message.updated',
        'reaction.added',
        'reaction.removed',
        'message.deleted',
      ]);
      const lastSeq = all.json().events.at(-1).seq;
      const resumed = await test.call(
        'GET',
        `/api/v1/rooms/${roomId}/events?afterSeq=${lastSeq - 2}&limit=1`,
        {
          token: bob.token,
        },
      );
      expect(resumed.json()).toMatchObject({
        events: [{ seq: lastSeq - 1, type: 'reaction.removed' }],
        hasMore: true,
      });
    });

    it('tracks unread counts and read markers, and searches', async () => {
      const unreadBefore = await test.call('GET', '/api/v1/rooms/unread', { token: bob.token });
      expect(unreadBefore.json().unread[roomId]).toBeGreaterThan(0);
      const marked = await test.call('POST', `/api/v1/rooms/${roomId}/read`, { token: bob.token });
      expect(marked.statusCode).toBe(200);
      expect(marked.json().lastReadMessageId).not.toBeNull();
      const unreadAfter = await test.call('GET', '/api/v1/rooms/unread', { token: bob.token });
      expect(unreadAfter.json().unread[roomId]).toBe(0);

      await test.call('POST', `/api/v1/rooms/${roomId}/messages`, {
        token: alice.token,
        body: { text: '会議は金曜日です' },
      });
      const found = await test.call('GET', `/api/v1/search?query=${encodeURIComponent('金曜日')}`, {
        token: bob.token,
      });
      expect(found.statusCode).toBe(200);
      expect(found.json().messages.map((each: { text: string }) => each.text)).toEqual(['会議は金曜日です']);
      const guestSearch = await test.call('GET', `/api/v1/search?query=${encodeURIComponent('金曜日')}`, {
        token: guest.token,
      });
      expect(guestSearch.json().messages).toEqual([]);
    });

    it("denies editing someone else's message and sending where one is not a member, writing nothing", async () => {
      const message = (
        await test.call('POST', `/api/v1/rooms/${roomId}/messages`, {
          token: alice.token,
          body: { text: 'mine' },
        })
      ).json();
      const before = await eventCount(roomId);
      const edit = await test.call('PATCH', `/api/v1/messages/${message.id}`, {
        token: bob.token,
        body: { text: 'yours now' },
      });
      expect(edit.statusCode).toBe(403);
      const outsider = await test.signedIn('member');
      const send = await test.call('POST', `/api/v1/rooms/${roomId}/messages`, {
        token: outsider.token,
        body: { text: 'let me in' },
      });
      expect(send.statusCode).toBe(403);
      expect(await eventCount(roomId)).toBe(before);
      expect((await test.server.engine.getMessage(alice.user.id, message.id)).text).toBe('mine');
    });

    it('names the bad field in a 400', async () => {
      const empty = await test.call('POST', `/api/v1/rooms/${roomId}/messages`, {
        token: alice.token,
        body: { text: '   ' },
      });
      expect(empty.statusCode).toBe(400);
      expect(empty.json().error.details.issues[0].path).toEqual(['text']);
      const badEmoji = await test.call('POST', `/api/v1/messages/${roomId}/reactions`, {
        token: alice.token,
        body: { emoji: 'not an emoji' },
      });
      expect(badEmoji.statusCode).toBe(400);
      expect(badEmoji.json().error.details.issues[0].path).toEqual(['emoji']);
      const both = await test.call(
        'GET',
        `/api/v1/rooms/${roomId}/messages?before=${roomId}&after=${roomId}`,
        {
          token: alice.token,
        },
      );
      expect(both.statusCode).toBe(400);
      expect(both.json().error.details.issues[0].path).toEqual(['before']);
    });
  });

  describe('projects and tickets', () => {
    it('creates, lists, shows and edits projects and tickets', async () => {
      const project = await test.call('POST', '/api/v1/projects', {
        token: alice.token,
        body: { name: 'Launch', description: 'Ship it' },
      });
      expect(project.statusCode).toBe(201);
      const projectId = project.json().id;
      expect(
        (await test.call('GET', '/api/v1/projects?status=active', { token: bob.token })).json().projects,
      ).toEqual([expect.objectContaining({ id: projectId })]);
      expect(
        (await test.call('GET', `/api/v1/projects/${projectId}`, { token: bob.token })).json().name,
      ).toBe('Launch');
      const renamed = await test.call('PATCH', `/api/v1/projects/${projectId}`, {
        token: alice.token,
        body: { status: 'on_hold' },
      });
      expect(renamed.json().status).toBe('on_hold');

      const ticket = await test.call('POST', '/api/v1/tickets', {
        token: bob.token,
        body: {
          projectId,
          title: 'Write docs',
          assigneeId: alice.user.id,
          labels: ['docs'],
          dueDate: '2026-12-01',
        },
      });
      expect(ticket.statusCode).toBe(201);
      const ticketId = ticket.json().id;
      const listed = await test.call('GET', `/api/v1/tickets?projectId=${projectId}&dueBefore=2026-12-31`, {
        token: alice.token,
      });
      expect(listed.json().tickets.map((each: { id: string }) => each.id)).toEqual([ticketId]);
      expect(
        (await test.call('GET', `/api/v1/tickets/${ticketId}`, { token: alice.token })).json().title,
      ).toBe('Write docs');
      const done = await test.call('PATCH', `/api/v1/tickets/${ticketId}`, {
        token: alice.token,
        body: { status: 'done' },
      });
      expect(done.json().status).toBe('done');
    });

    it('keeps guests out and strangers from editing, writing nothing', async () => {
      const project = (
        await test.call('POST', '/api/v1/projects', { token: alice.token, body: { name: 'Private plans' } })
      ).json();
      const guestList = await test.call('GET', '/api/v1/projects', { token: guest.token });
      expect(guestList.statusCode).toBe(403);
      const guestCreate = await test.call('POST', '/api/v1/projects', {
        token: guest.token,
        body: { name: 'x' },
      });
      expect(guestCreate.statusCode).toBe(403);
      const edit = await test.call('PATCH', `/api/v1/projects/${project.id}`, {
        token: bob.token,
        body: { name: 'Taken over' },
      });
      expect(edit.statusCode).toBe(403);
      expect((await test.server.engine.getProject(admin.user.id, project.id)).name).toBe('Private plans');
    });

    it('names the bad field in a 400', async () => {
      const response = await test.call('POST', '/api/v1/tickets', {
        token: alice.token,
        body: { projectId: alice.user.id, title: 'x', priority: 'whenever' },
      });
      expect(response.statusCode).toBe(400);
      expect(
        response.json().error.details.issues.map((issue: { path: string[] }) => issue.path),
      ).toContainEqual(['priority']);
    });
  });

  describe('users', () => {
    it('lists, shows and finds users by username', async () => {
      const list = await test.call('GET', '/api/v1/users?limit=200', { token: bob.token });
      expect(list.json().users.map((each: { username: string }) => each.username)).toEqual(
        expect.arrayContaining(['alice', 'bob', 'admin']),
      );
      expect(
        (await test.call('GET', `/api/v1/users/${alice.user.id}`, { token: guest.token })).json().username,
      ).toBe('alice');
      expect(
        (await test.call('GET', '/api/v1/users/by-username/alice', { token: bob.token })).json().id,
      ).toBe(alice.user.id);
      const missing = await test.call('GET', '/api/v1/users/by-username/nobody', { token: bob.token });
      expect(missing.statusCode).toBe(404);
    });
  });
});
