import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileSystemBlobStore } from '@kaiwa/blob-fs';
import { KaiwaRoomsAdapter } from '@kaiwa/bot';
import { ChatEngine, type ChatStore, type Message } from '@kaiwa/core';
import { createSqliteStore } from '@kaiwa/store-kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { type Bridge, createBridge } from './bridge.js';

const dir = mkdtempSync(join(tmpdir(), 'kaiwa-bridge-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** One process: the store file, an engine, the Kaiwa adapter as the relay user, and the bridge. */
async function boot() {
  const store: ChatStore = await createSqliteStore({ filename: join(dir, 'bridge.sqlite') });
  await store.migrate();
  const engine = new ChatEngine({ store });
  const blobs = createFileSystemBlobStore({ directory: join(dir, 'blobs') });
  const start = async (relay: string, rooms: { a: string; b: string; c: string }) => {
    const kaiwa = new KaiwaRoomsAdapter({ engine, botUserId: relay, blobs, resumeKey: 'bridge' });
    const bridge = createBridge({
      store,
      adapters: [kaiwa],
      links: [
        {
          id: 'triad',
          endpoints: [rooms.a, rooms.b, rooms.c].map((channelId) => ({ platform: 'kaiwa', channelId })),
        },
      ],
      inbox: { pollMs: 20 },
      outbox: { pollMs: 20 },
    });
    await bridge.start();
    return { kaiwa, bridge };
  };
  return { store, engine, blobs, start };
}

/** Waits until every engine event reached the inbox and everything due was handled and delivered. */
async function settle(kaiwa: KaiwaRoomsAdapter, bridge: Bridge): Promise<void> {
  for (let round = 0; round < 50; round++) {
    await kaiwa.idle();
    const taken = await bridge.drain();
    await kaiwa.idle();
    if (taken === 0 && (await bridge.drain()) === 0) return;
  }
  throw new Error('the bridge did not settle');
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('@kaiwa/bridge: three linked Kaiwa rooms and a restart', () => {
  it('relays, threads, edits, deletes and attachments, with no echoes or duplicates', async () => {
    // ---- first process
    const first = await boot();
    const { engine } = first;
    const relay = await engine.createUser({ username: 'relay', displayName: 'Bridge' });
    const alice = await engine.createUser({ username: 'alice', displayName: 'Alice' });
    const bob = await engine.createUser({ username: 'bob', displayName: 'Bob' });
    const carol = await engine.createUser({ username: 'carol', displayName: 'キャロル' });
    const roomOf = async (owner: string, name: string) =>
      (await engine.createRoom(owner, { kind: 'channel', name, memberIds: [relay.id] })).id;
    const rooms = {
      a: await roomOf(alice.id, 'room-a'),
      b: await roomOf(bob.id, 'room-b'),
      c: await roomOf(carol.id, 'room-c'),
    };
    const { kaiwa, bridge } = await first.start(relay.id, rooms);

    const timeline = async (eng: ChatEngine, roomId: string) =>
      (await eng.history(relay.id, { roomId, limit: 100 })).messages;
    const thread = async (eng: ChatEngine, roomId: string, rootId: string) =>
      (await eng.history(relay.id, { roomId, threadRootId: rootId, limit: 100 })).messages;
    const copiesOf = (messages: Message[], originId: string) =>
      messages.filter(
        (message) =>
          (message.metadata.bridge as { origin?: { messageId?: string } } | undefined)?.origin?.messageId ===
          originId,
      );

    const hello = await engine.sendMessage(alice.id, { roomId: rooms.a, text: 'hello from **A** 👋' });
    await settle(kaiwa, bridge);
    const [copyB] = copiesOf(await timeline(engine, rooms.b), hello.id);
    const [copyC] = copiesOf(await timeline(engine, rooms.c), hello.id);
    for (const copy of [copyB, copyC]) {
      expect(copy).toMatchObject({ authorId: relay.id, text: 'hello from **A** 👋' });
      expect(copy?.metadata.author).toEqual({ name: 'Alice' });
      expect(copy?.metadata.bridge).toEqual({
        origin: { bridgeId: 'triad', platform: 'kaiwa', channelId: rooms.a, messageId: hello.id },
      });
    }
    expect((await timeline(engine, rooms.a)).map((message) => message.id)).toEqual([hello.id]);

    // Bob answers in the thread of the copy in B: the answer lands in the matching threads of A and C.
    const reply = await engine.sendMessage(bob.id, {
      roomId: rooms.b,
      text: 'reply from B',
      threadRootId: copyB!.id,
    });
    await settle(kaiwa, bridge);
    expect(
      (await thread(engine, rooms.a, hello.id)).map((message) => [message.text, message.metadata.author]),
    ).toEqual([['reply from B', { name: 'Bob' }]]);
    expect((await thread(engine, rooms.c, copyC!.id)).map((message) => message.text)).toEqual([
      'reply from B',
    ]);

    await engine.editMessage(alice.id, hello.id, { text: 'hello from A (edited)' });
    await settle(kaiwa, bridge);
    for (const roomId of [rooms.b, rooms.c]) {
      const [copy] = copiesOf(await timeline(engine, roomId), hello.id);
      expect(copy?.text).toBe('hello from A (edited)');
    }

    // A file travels as bytes: read from A's blob, uploaded again for B and C.
    const bytes = new TextEncoder().encode('請求書 #42\n');
    await first.blobs.put('uploads/invoice', bytes);
    const file = await engine.createFileRecord(alice.id, {
      name: 'invoice.txt',
      mimeType: 'text/plain',
      size: bytes.byteLength,
      sha256: sha256(bytes),
      storageKey: 'uploads/invoice',
      roomId: rooms.a,
    });
    const withFile = await engine.sendMessage(alice.id, {
      roomId: rooms.a,
      text: 'the invoice',
      attachmentIds: [file.id],
    });
    await settle(kaiwa, bridge);
    for (const roomId of [rooms.b, rooms.c]) {
      const [copy] = copiesOf(await timeline(engine, roomId), withFile.id);
      expect(copy?.attachments).toHaveLength(1);
      const record = await engine.getFileRecord(relay.id, copy!.attachments[0]!.fileId);
      expect(record).toMatchObject({
        name: 'invoice.txt',
        mimeType: 'text/plain',
        sha256: sha256(bytes),
        roomId,
      });
      expect(record.id).not.toBe(file.id);
    }

    await bridge.stop();
    engine.close();
    await first.store.close();

    // ---- second process on the same database file: the mapping and links come back from the store.
    const second = await boot();
    const again = second.engine;
    // Said while no bridge ran: the adapter replays it from the room's events when the bridge starts.
    const whileDown = await again.sendMessage(bob.id, {
      roomId: rooms.b,
      text: 'said while the bridge was down',
    });
    const { kaiwa: kaiwa2, bridge: bridge2 } = await second.start(relay.id, rooms);

    await again.editMessage(alice.id, hello.id, { text: 'hello again, after a restart' });
    const fromC = await again.sendMessage(carol.id, { roomId: rooms.c, text: 'こんにちは from C' });
    await settle(kaiwa2, bridge2);
    for (const roomId of [rooms.b, rooms.c]) {
      const [copy] = copiesOf(await timeline(again, roomId), hello.id);
      expect(copy?.text).toBe('hello again, after a restart');
    }
    for (const roomId of [rooms.a, rooms.b]) {
      const copies = copiesOf(await timeline(again, roomId), fromC.id);
      expect(copies.map((copy) => [copy.text, copy.metadata.author])).toEqual([
        ['こんにちは from C', { name: 'キャロル' }],
      ]);
    }

    for (const roomId of [rooms.a, rooms.c]) {
      expect(copiesOf(await timeline(again, roomId), whileDown.id).map((copy) => copy.text)).toEqual([
        'said while the bridge was down',
      ]);
    }

    // Bob deletes his reply: its copies in the threads of A and C go too.
    await again.deleteMessage(bob.id, reply.id);
    await settle(kaiwa2, bridge2);
    expect((await thread(again, rooms.a, hello.id)).map((message) => message.deletedAt !== null)).toEqual([
      true,
    ]);
    expect((await thread(again, rooms.c, copyC!.id)).map((message) => message.deletedAt !== null)).toEqual([
      true,
    ]);

    // No echoes, no duplicates: every message a person wrote has exactly one copy in each other room, and
    // nothing the relay wrote was relayed again.
    const everything: Message[] = [];
    for (const roomId of Object.values(rooms)) {
      const top = await timeline(again, roomId);
      everything.push(...top);
      for (const root of top) everything.push(...(await thread(again, roomId, root.id)));
    }
    const originals = everything.filter((message) => message.authorId !== relay.id);
    expect(originals.map((message) => message.id).sort()).toEqual(
      [hello.id, reply.id, withFile.id, fromC.id, whileDown.id].sort(),
    );
    // The deleted reply and its two copies are tombstones (checked above); the live ones carry their origin.
    expect(everything.filter((message) => message.deletedAt !== null)).toHaveLength(3);
    const live = originals.filter((message) => message.deletedAt === null);
    const copies = everything.filter(
      (message) => message.authorId === relay.id && message.deletedAt === null,
    );
    expect(copies).toHaveLength(live.length * 2);
    for (const original of live) {
      const rooms = copiesOf(copies, original.id).map((copy) => copy.roomId);
      expect(new Set(rooms).size).toBe(2);
      expect(rooms).not.toContain(original.roomId);
    }
    expect(await second.store.platformOutbox.list({ consumer: 'bridge', status: 'dead', limit: 10 })).toEqual(
      [],
    );
    expect(await second.store.platformInbox.list({ consumer: 'bridge', status: 'dead', limit: 10 })).toEqual(
      [],
    );
    const group = await second.store.bridges.findMessage('kaiwa', rooms.a, hello.id);
    expect(
      (await second.store.bridges.listGroup('triad', group[0]!.groupId)).map((entry) => entry.role),
    ).toEqual(['origin', 'copy', 'copy']);

    await bridge2.stop();
    again.close();
    await second.store.close();
  });

  it('rejects a bad link with an error naming the field', () => {
    expect(() =>
      createBridge({
        store: {} as ChatStore,
        adapters: [],
        links: [{ id: 'has spaces', endpoints: [] }],
      }),
    ).toThrow(/links\.0\.id/);
  });
});
