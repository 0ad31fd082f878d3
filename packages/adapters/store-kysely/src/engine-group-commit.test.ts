import { ChatEngine, type ChatStore, ConflictError, DatabaseUnavailableError } from '@kaiwa/core';
import { afterAll, describe, expect, it } from 'vitest';
import type { KyselyChatStore } from './kysely-chat-store.js';
import { openTestStore, testDialects } from './test-support.js';

/**
 * A real store whose first transaction of several changes (several savepoints) commits, and then its
 * caller hears DatabaseUnavailableError: what a connection killed during COMMIT looks like to the engine.
 */
function storeLosingOneGroupCommit(store: KyselyChatStore): { store: ChatStore; lost: () => number } {
  let lost = 0;
  const transaction: ChatStore['transaction'] = async (work) => {
    let savepoints = 0;
    const result = await store.transaction((tx) =>
      work(
        new Proxy(tx, {
          get(target, key) {
            if (key === 'savepoint') {
              return <T>(inner: () => Promise<T>) => {
                savepoints += 1;
                return target.savepoint(inner);
              };
            }
            const value = Reflect.get(target, key);
            return typeof value === 'function' ? value.bind(target) : value;
          },
        }),
      ),
    );
    if (savepoints > 1 && lost === 0) {
      lost += 1;
      throw new DatabaseUnavailableError('the connection closed before the answer to COMMIT arrived');
    }
    return result;
  };
  const faulty = new Proxy(store, {
    get(target, key) {
      if (key === 'transaction') return transaction;
      const value = Reflect.get(target, key);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { store: faulty, lost: () => lost };
}

describe.each(testDialects)('ChatEngine group commit on $dialect', ({ dialect, skip }) => {
  let store: KyselyChatStore;
  afterAll(() => store?.close());

  it.skipIf(skip !== undefined)(
    'does not write a shared transaction again when its connection went at COMMIT; repeated sends find their messages',
    async () => {
      store = await openTestStore(dialect);
      const faulty = storeLosingOneGroupCommit(store);
      const engine = new ChatEngine({ store: faulty.store });
      const alice = await engine.createUser({ username: 'alice' });
      const room = await engine.createRoom(alice.id, { kind: 'channel', name: 'commits' });

      const send = (index: number) =>
        engine.sendMessage(alice, {
          roomId: room.id,
          text: `message ${index}`,
          clientMessageId: `c-${index}`,
        });
      // The first send commits alone; the ones that arrive meanwhile share the next transaction.
      const first = await Promise.allSettled(Array.from({ length: 6 }, (_, index) => send(index)));
      expect(faulty.lost()).toBe(1);

      const refused = first.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason] : []));
      expect(refused.length).toBeGreaterThan(1);
      for (const reason of refused) {
        expect(reason).toBeInstanceOf(DatabaseUnavailableError);
        expect(reason).not.toBeInstanceOf(ConflictError);
      }

      // Each caller sends again with the same clientMessageId, as a client does after a retryable error.
      const again = await Promise.all(Array.from({ length: 6 }, (_, index) => send(index)));
      for (const [index, outcome] of first.entries()) {
        if (outcome.status === 'fulfilled') expect(again[index]!.id).toBe(outcome.value.id);
      }
      const page = await engine.history(alice.id, { roomId: room.id, limit: 50 });
      const stored = page.messages.map((message) => message.clientMessageId).sort();
      expect(stored).toEqual(['c-0', 'c-1', 'c-2', 'c-3', 'c-4', 'c-5']);
      expect(new Set(page.messages.map((message) => message.seq)).size).toBe(6);
      engine.close();
    },
  );
});
