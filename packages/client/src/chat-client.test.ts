import { rmSync } from 'node:fs';
import type { Message } from '@kaiwa/protocol';
import type { KaiwaServer } from '@kaiwa/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { KaiwaChatClient, prefetchHistory, prefetchRooms } from './chat-client.js';
import { KaiwaApiError, KaiwaRestClient } from './rest-client.js';
import { startClientTestServer } from './test-support/client-test-server.js';

/*
 * The client against a real reference server in this process: a temporary SQLite file, port 0, the real
 * sign-in, REST routes and WebSocket. Connections are `ws` sockets the tests can cut, as a network would.
 */

const PASSWORD = 'correct horse battery staple';

interface SentFrame {
  type: string;
  clientMessageId?: string;
}

/**
 * A `ws` WebSocket class of one client's own, remembering its sockets and every frame sent, and able to
 * lose the next send's ack (the send reaches the server, then the connection dies).
 */
function trackedWebSocket() {
  const tracked = {
    sockets: [] as WebSocket[],
    sent: [] as SentFrame[],
    cutAfterNextSend: false,
  };
  class TrackedWebSocket extends WebSocket {
    constructor(url: string) {
      super(url);
      tracked.sockets.push(this);
    }

    override send(data: string): void {
      const frame = JSON.parse(data) as SentFrame;
      tracked.sent.push(frame);
      if (frame.type === 'send' && tracked.cutAfterNextSend) {
        tracked.cutAfterNextSend = false;
        super.send(data, () => this.terminate());
        return;
      }
      super.send(data);
    }
  }
  return { state: tracked, WebSocket: TrackedWebSocket };
}

/** Waits until `check` passes (it throws until then). */
async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

describe('KaiwaChatClient against a reference server', () => {
  let dataDirectory: string;
  let server: KaiwaServer;
  let baseUrl: string;
  const clients: KaiwaChatClient[] = [];
  const sockets = new Map<KaiwaChatClient, ReturnType<typeof trackedWebSocket>['state']>();

  /** A new member, signed in through the REST client, with a started chat client. */
  async function member(username: string): Promise<KaiwaChatClient> {
    await server.accounts.createAccount({ username, role: 'member', password: PASSWORD });
    const rest = new KaiwaRestClient({ baseUrl });
    await rest.login(username, PASSWORD);
    const tracked = trackedWebSocket();
    const chat = new KaiwaChatClient({ rest, WebSocket: tracked.WebSocket });
    sockets.set(chat, tracked.state);
    clients.push(chat);
    await chat.start();
    await eventually(() => expect(chat.connection.state).toBe('online'));
    return chat;
  }

  /** Cuts a chat client's connection, as a network loss would. */
  function cut(chat: KaiwaChatClient): void {
    const socket = sockets.get(chat)?.sockets.at(-1);
    if (socket?.readyState !== WebSocket.OPEN) throw new Error('no open socket');
    socket.terminate();
  }

  let ada: KaiwaChatClient;
  let grace: KaiwaChatClient;
  let roomId: string;

  beforeAll(async () => {
    ({ server, baseUrl, folder: dataDirectory } = await startClientTestServer('chat'));
    ada = await member('ada');
    grace = await member('grace');
    const room = await ada.createRoom({ kind: 'channel', name: 'client-test', topic: '' });
    roomId = room.id;
    await grace.joinRoom(room);
    await eventually(() => {
      expect(ada.state.rooms.get(roomId)?.lastSeq).not.toBeNull();
      expect(grace.state.rooms.get(roomId)?.lastSeq).not.toBeNull();
    });
  });

  afterAll(async () => {
    for (const chat of clients) chat.stop();
    await server?.close();
    rmSync(dataDirectory, { recursive: true, force: true });
  });

  it('signs in and lists my rooms over REST', async () => {
    const { rooms } = await ada.rest.listRooms();
    expect(rooms.map((summary) => summary.room.name)).toContain('client-test');
    expect((await ada.rest.me()).username).toBe('ada');
  });

  it('keeps what I may do in each room as the server rules it: from the room list, then as it changes', async () => {
    const room = await ada.createRoom({ kind: 'group', name: 'rights-follow', topic: '' });
    await ada.rest.addMember(room.id, grace.me.id);
    const rights = () => grace.state.rooms.get(room.id)?.rights;
    // Invited: the room list brings the room with my rights as a plain member of a group.
    await eventually(() => expect(rights()).toMatchObject({ manage: false, invite: false, moderate: false }));
    await eventually(() => expect(grace.state.rooms.get(room.id)?.lastSeq).not.toBeNull());
    // Made a moderator, then the room archived: each change arrives as a room.rights frame.
    await ada.rest.setMemberRole(room.id, grace.me.id, 'moderator');
    await eventually(() => expect(rights()).toMatchObject({ manage: true, invite: true, moderate: true }));
    await ada.rest.updateRoom(room.id, { archived: true });
    await eventually(() => expect(rights()).toMatchObject({ manage: true, rename: false, invite: false }));
    expect(rights()).toEqual((await grace.rest.listMembers(room.id)).rights);
  });

  it('follows what I may do when an admin changes my role: capabilities and the rights in my rooms', async () => {
    const hopper = await member('hopper');
    await server.accounts.createAccount({ username: 'root', role: 'admin', password: PASSWORD });
    const admin = new KaiwaRestClient({ baseUrl });
    await admin.login('root', PASSWORD);
    const room = await ada.createRoom({ kind: 'group', name: 'role-follow', topic: '' });
    await ada.rest.addMember(room.id, hopper.me.id);
    await eventually(() => expect(hopper.state.rooms.get(room.id)?.rights?.moderate).toBe(false));
    expect(hopper.state.capabilities).toMatchObject({ managePlugins: false, moderateMessages: false });

    await admin.setUserRole(hopper.me.id, 'admin');
    await eventually(() =>
      expect(hopper.state.capabilities).toMatchObject({ managePlugins: true, moderateMessages: true }),
    );
    expect(hopper.state.me?.role).toBe('admin');
    // Admins moderate every room: the room list, read again, says so.
    await eventually(() => expect(hopper.state.rooms.get(room.id)?.rights?.moderate).toBe(true));
  });

  it('sends over the socket, gets the ack, and the other member receives the message', async () => {
    const message = await ada.waitForAck(ada.send(roomId, 'hello grace'));
    expect(message).toMatchObject({ roomId, text: 'hello grace' });
    expect(ada.state.outbox.size).toBe(0);
    await eventually(() => expect(grace.state.message(roomId, message.id)?.text).toBe('hello grace'));
  });

  it('resumes after a lost connection with what was missed, exactly once', async () => {
    const before = grace.state.rooms.get(roomId)!.lastSeq!;
    const sessions = grace.connection.sessions;
    cut(grace);
    await eventually(() => expect(grace.connection.state).not.toBe('online'));
    for (const text of ['missed 1', 'missed 2', 'missed 3']) {
      await ada.rest.sendMessage(roomId, { text });
    }
    await eventually(() => expect(grace.connection.sessions).toBe(sessions + 1));
    const entry = await eventually(() => {
      const current = grace.state.rooms.get(roomId)!;
      expect(current.lastSeq).toBe(before + 3);
      return current;
    });
    const texts = grace.state.timeline(roomId).map((message) => message.text);
    for (const text of ['missed 1', 'missed 2', 'missed 3']) {
      expect(texts.filter((candidate) => candidate === text)).toHaveLength(1);
    }
    expect(entry.held).toEqual([]);
  });

  it('sends the outbox again with the same clientMessageId after a reconnect; the server stores it once', async () => {
    const tracked = sockets.get(ada)!;
    const socketsBefore = tracked.sockets.length;
    tracked.cutAfterNextSend = true;
    const clientMessageId = ada.send(roomId, 'sent once');
    const message = await ada.waitForAck(clientMessageId);
    expect(tracked.sockets.length).toBe(socketsBefore + 1);
    const sends = tracked.sent.filter(
      (frame) => frame.type === 'send' && frame.clientMessageId === clientMessageId,
    );
    expect(sends.length).toBeGreaterThanOrEqual(2);
    const { messages } = await ada.rest.messagePage(roomId, { limit: 200 });
    expect(messages.filter((stored) => stored.clientMessageId === clientMessageId)).toEqual([
      expect.objectContaining({ id: message.id, text: 'sent once' }),
    ]);
  });

  it('shows typing and presence', async () => {
    ada.typing(roomId, true);
    await eventually(() => expect(grace.state.rooms.get(roomId)?.typing.has(ada.me.id)).toBe(true));
    ada.typing(roomId, false);
    await eventually(() => expect(grace.state.rooms.get(roomId)?.typing.has(ada.me.id)).toBe(false));
    await eventually(() => expect(ada.state.presence.get(grace.me.id)).toBe('online'));
  });

  it('clears unread messages with the read marker, and mutes a room', async () => {
    await ada.rest.sendMessage(roomId, { text: 'unread for grace' });
    await eventually(() => expect(grace.state.rooms.get(roomId)?.unread).toBeGreaterThan(0));
    expect((await grace.rest.unreadCounts()).unread[roomId]).toBeGreaterThan(0);
    grace.markRead(roomId);
    await eventually(async () => {
      const { unread } = await grace.rest.unreadCounts();
      expect(unread[roomId] ?? 0).toBe(0);
    });
    expect(grace.state.rooms.get(roomId)?.unread).toBe(0);
    const muted = await grace.rest.muteRoom(roomId);
    expect(muted).toMatchObject({ room: { id: roomId }, membership: { muted: true } });
  });

  it("lists a room's members with what each caller may do there, as the server rules it", async () => {
    const { members, rights } = await ada.rest.listMembers(roomId);
    expect(members.map((each) => each.role).sort()).toEqual(['member', 'owner']);
    expect(rights).toEqual({
      manage: true,
      rename: true,
      invite: true,
      setRoles: true,
      removeRoles: ['owner', 'moderator', 'member'],
      changeSettings: true,
      moderate: true,
    });
    // A plain member of a channel may invite, and nothing more.
    expect((await grace.rest.listMembers(roomId)).rights).toEqual({
      manage: false,
      rename: false,
      invite: true,
      setRoles: false,
      removeRoles: [],
      changeSettings: false,
      moderate: false,
    });
  });

  it('turns a REST error into a typed error naming the code', async () => {
    const rest = new KaiwaRestClient({ baseUrl });
    const error = await rest.login('ada', 'not the password').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KaiwaApiError);
    expect(error).toMatchObject({ status: 401, code: 'invalid_credentials' });
    const missing = await ada.rest.getRoom('01JAAAAAAAAAAAAAAAAAAAAAAA').catch((caught: unknown) => caught);
    expect(missing).toMatchObject({ status: 404, code: 'not_found' });
  });

  it('loads the history around an old message without leaving a hole up to the present', async () => {
    const room = await ada.createRoom({ kind: 'channel', name: 'long-history', topic: '' });
    const sent = [];
    for (let index = 0; index < 120; index += 1) {
      sent.push(await ada.rest.sendMessage(room.id, { text: `line ${index}` }));
    }
    const reply = await ada.rest.sendMessage(room.id, { text: 'a reply', threadRootId: sent[5]!.id });
    // Grace joins afterwards: she knows only what she loads.
    await grace.joinRoom(room);
    await eventually(() => expect(grace.state.rooms.get(room.id)?.lastSeq).not.toBeNull());
    await grace.openRoom(room.id);
    expect(grace.state.timeline(room.id)).toHaveLength(50);

    const target = sent[30]!;
    await expect(grace.loadAround(room.id, target.id)).resolves.toMatchObject({ id: target.id });
    const ids = grace.state.timeline(room.id).map((message) => message.id);
    // 25 before it, then everything to the newest, each once and in order.
    expect(ids).toEqual(sent.slice(5).map((message) => message.id));
    expect(grace.state.rooms.get(room.id)?.hasOlder).toBe(true);

    // A thread reply: its root is loaded in place, and its thread.
    await expect(grace.loadAround(room.id, reply.id)).resolves.toMatchObject({ threadRootId: sent[5]!.id });
    expect(grace.state.timeline(room.id)[0]?.id).toBe(sent[0]!.id);
    expect(grace.state.rooms.get(room.id)?.hasOlder).toBe(false);
    expect(grace.state.threadReplies(room.id, sent[5]!.id).map((message) => message.id)).toEqual([reply.id]);
  });

  it('opens a room with its newest page asked for before the chat started, and misses nothing sent meanwhile', async () => {
    const room = await ada.createRoom({ kind: 'channel', name: 'prefetched', topic: '' });
    for (let index = 0; index < 60; index += 1)
      await ada.rest.sendMessage(room.id, { text: `early ${index}` });
    await grace.joinRoom(room);
    const rest = new KaiwaRestClient({ baseUrl });
    await rest.login('grace', PASSWORD);
    const asked: string[] = [];
    const page = rest.messagePage.bind(rest);
    rest.messagePage = (id, query) => {
      asked.push(JSON.stringify(query ?? {}));
      return page(id, query);
    };
    const prefetched = prefetchHistory(rest, room.id);
    await prefetched.page;
    // Sent after the page was fetched and before this chat subscribed: in neither unless asked again.
    const late = await ada.rest.sendMessage(room.id, { text: 'sent in between' });
    const chat = new KaiwaChatClient({ rest, WebSocket, prefetchedHistory: prefetched });
    clients.push(chat);
    await chat.start();
    await chat.openRoom(room.id);
    // The prefetched page is what the room opens with; the one request after it is the top-up, once the
    // subscription stands, and not awaited.
    await eventually(() => expect(asked).toEqual(['{"limit":50}', '{"limit":50}']));
    expect(chat.state.timeline(room.id).length).toBeGreaterThanOrEqual(50);
    expect(chat.state.rooms.get(room.id)?.hasOlder).toBe(true);
    await eventually(() => expect(chat.state.timeline(room.id).at(-1)?.id).toBe(late.id));
    expect(chat.state.rooms.get(room.id)?.hasOlder).toBe(true);
  });
  it('joins a room and opens it at once, and misses nothing stored between its history read and its subscription', async () => {
    const room = await ada.createRoom({ kind: 'channel', name: 'joined-and-opened', topic: '' });
    await ada.rest.sendMessage(room.id, { text: 'before the join' });
    const rest = new KaiwaRestClient({ baseUrl });
    await rest.login('grace', PASSWORD);
    // The subscription reaches the server only after the history was read and Ada sent one more message: the
    // order a slow socket next to a fast REST request can give.
    let late: Promise<Message> | undefined;
    let readAndSent: () => void = () => undefined;
    const historyRead = new Promise<void>((resolve) => {
      readAndSent = resolve;
    });
    const page = rest.messagePage.bind(rest);
    rest.messagePage = async (id, query) => {
      const result = await page(id, query);
      if (id === room.id && !late) {
        late = ada.rest.sendMessage(room.id, { text: 'sent in between' });
        await late;
        readAndSent();
      }
      return result;
    };
    class SubscribingLate extends WebSocket {
      override send(data: string): void {
        const frame = JSON.parse(data) as { type: string; roomId?: string };
        if (frame.type === 'subscribe' && frame.roomId === room.id) {
          void historyRead.then(() => super.send(data));
          return;
        }
        super.send(data);
      }
    }
    const chat = new KaiwaChatClient({ rest, WebSocket: SubscribingLate });
    clients.push(chat);
    await chat.start();
    await eventually(() => expect(chat.connection.state).toBe('online'));
    await chat.joinRoom(room);
    await chat.openRoom(room.id);
    const sent = await late!;
    await eventually(() =>
      expect(chat.state.timeline(room.id).map((message) => message.text)).toEqual([
        'before the join',
        'sent in between',
      ]),
    );
    expect(chat.state.timeline(room.id).at(-1)?.id).toBe(sent.id);
    // And what comes after the subscription arrives live.
    const after = await ada.rest.sendMessage(room.id, { text: 'after' });
    await eventually(() => expect(chat.state.timeline(room.id).at(-1)?.id).toBe(after.id));
  });

  it('starts with the room list asked for before it started, and asks again when that request failed', async () => {
    const room = await ada.createRoom({ kind: 'channel', name: 'listed-early', topic: '' });
    await grace.joinRoom(room);
    const rest = new KaiwaRestClient({ baseUrl });
    await rest.login('grace', PASSWORD);
    let asked = 0;
    const listRooms = rest.listRooms.bind(rest);
    rest.listRooms = () => {
      asked += 1;
      return listRooms();
    };
    const prefetched = prefetchRooms(rest);
    await prefetched.list;
    const chat = new KaiwaChatClient({ rest, WebSocket, prefetchedRooms: prefetched });
    clients.push(chat);
    await chat.start();
    // The list asked for early is the one the chat starts with: no second request.
    expect(asked).toBe(1);
    expect(chat.state.rooms.has(room.id)).toBe(true);

    const failed = { requestedAt: Date.now(), list: Promise.reject(new Error('offline')) };
    failed.list.catch(() => undefined);
    const again = new KaiwaChatClient({ rest, WebSocket, prefetchedRooms: failed });
    clients.push(again);
    await again.start();
    expect(asked).toBe(2);
    expect(again.state.rooms.has(room.id)).toBe(true);
  });
});
