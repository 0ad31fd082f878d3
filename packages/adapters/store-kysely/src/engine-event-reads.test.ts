import { ChatEngine } from '@kaiwa/core';
import { afterAll, describe, expect, it } from 'vitest';
import type { KyselyChatStore } from './kysely-chat-store.js';
import { createSqliteStore } from './sqlite.js';

describe('ChatEngine.eventsSince', () => {
  const sql: string[] = [];
  let store: KyselyChatStore;
  afterAll(() => store?.close());

  it('shares one store read among readers asking for the same page at once', async () => {
    store = await createSqliteStore({ filename: ':memory:', onQuery: (event) => sql.push(event.sql) });
    await store.migrate();
    const engine = new ChatEngine({ store });
    const alice = await engine.createUser({ username: 'alice' });
    const bob = await engine.createUser({ username: 'bob' });
    const room = await engine.createRoom(alice.id, { kind: 'channel', name: 'busy' });
    await engine.joinRoom(bob.id, room.id);
    for (let index = 0; index < 3; index += 1) {
      await engine.sendMessage(alice.id, { roomId: room.id, text: `message ${index}` });
    }
    const eventReads = () => sql.filter((text) => /from\s+"?room_events"?/i.test(text)).length;

    const before = eventReads();
    const pages = await Promise.all(
      Array.from({ length: 40 }, (_, index) =>
        engine.eventsSince(index % 2 ? alice.id : bob.id, room.id, 1, 100),
      ),
    );
    expect(eventReads() - before).toBe(1);
    const seqs = pages.map((page) => page.map((event) => event.seq));
    for (const page of seqs) expect(page).toEqual(seqs[0]);
    expect(seqs[0]?.length).toBeGreaterThanOrEqual(3);
    // Each caller gets its own array, and a later read asks the store again.
    pages[0]?.pop();
    expect(pages[1]?.length).toBe(seqs[0]?.length);
    await engine.eventsSince(alice.id, room.id, 1, 100);
    expect(eventReads() - before).toBe(2);
    // The permission check still runs for each reader.
    const carol = await engine.createUser({ username: 'carol' });
    const group = await engine.createRoom(alice.id, { kind: 'group', name: 'closed' });
    await expect(engine.eventsSince(carol.id, group.id, 0, 10)).rejects.toMatchObject({
      code: expect.any(String),
    });
    engine.close();
  });
});
