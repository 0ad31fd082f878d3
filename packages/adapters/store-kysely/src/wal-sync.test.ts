import { mkdtempSync, rmSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChatEngine } from '@kaiwa/core';
import { chatStoreContract, userFixture } from '@kaiwa/core/testing';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import type { KyselyChatStore } from './kysely-chat-store.js';
import { createSqliteStore } from './sqlite.js';
import { WalSyncError } from './wal-sync.js';

const directory = mkdtempSync(join(tmpdir(), 'kaiwa-wal-sync-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

let files = 0;
const freshFile = () => join(directory, `store-${++files}.sqlite`);

/**
 * A WAL sync the test releases by hand: each call really syncs the WAL (so the file is the real one), then
 * waits for `release()` or fails at `fail()`. `calls` counts the syncs asked for.
 */
class HeldSyncs {
  calls = 0;
  held = false;
  readonly #pending: { release: () => void; fail: (error: Error) => void }[] = [];
  #waiting: (() => void) | undefined;

  readonly sync = async (wal: FileHandle): Promise<void> => {
    this.calls += 1;
    await wal.datasync();
    if (!this.held) return;
    await new Promise<void>((release, fail) => {
      this.#pending.push({ release, fail });
      this.#waiting?.();
    });
  };

  /** Resolves once `count` syncs are pending. */
  async pending(count: number): Promise<void> {
    while (this.#pending.length < count) await new Promise<void>((resolve) => (this.#waiting = resolve));
  }

  release(): void {
    this.#pending.shift()!.release();
  }

  fail(error: Error): void {
    this.#pending.shift()!.fail(error);
  }
}

/** Whether `promise` settled within a few turns of the event loop (no timing: it is pending or not). */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  for (let turn = 0; turn < 20; turn += 1) await new Promise((resolve) => setImmediate(resolve));
  return done;
}

async function openHeld(syncs: HeldSyncs): Promise<KyselyChatStore> {
  const store = await createSqliteStore({
    filename: freshFile(),
    synchronous: 'full-async',
    syncWal: syncs.sync,
  });
  await store.migrate();
  return store;
}

describe("synchronous: 'full-async'", () => {
  it('runs SQLite at NORMAL and resolves a write only once the WAL sync after it finished', async () => {
    const syncs = new HeldSyncs();
    const store = await openHeld(syncs);
    try {
      const { rows } = await sql<{ synchronous: number }>`pragma synchronous`.execute(store.db);
      expect(rows[0]?.synchronous).toBe(1); // NORMAL: the store syncs the WAL itself
      syncs.held = true;
      const alice = userFixture();
      const write = store.users.insert(alice);
      await syncs.pending(1);
      expect(await settled(write)).toBe(false);
      // The write is committed (another reader sees it) and reads do not wait for the sync.
      expect((await store.users.findById(alice.id))?.username).toBe(alice.username);
      syncs.release();
      await write;
    } finally {
      syncs.held = false;
      await store.close();
    }
  });

  it('makes transactions wait too, and a commit during a sync waits for the next sync, which covers all', async () => {
    const syncs = new HeldSyncs();
    const store = await openHeld(syncs);
    try {
      syncs.held = true;
      const before = syncs.calls;
      const first = store.users.insert(userFixture());
      await syncs.pending(1);
      // Committed while the first sync runs: that sync may have started before their frames were written.
      const second = store.transaction(async (tx) => {
        await tx.users.insert(userFixture());
        await tx.users.insert(userFixture());
      });
      const third = store.users.insert(userFixture());
      expect(await settled(second)).toBe(false);
      expect(await settled(third)).toBe(false);
      syncs.release();
      await first;
      await syncs.pending(1);
      expect(await settled(second)).toBe(false);
      expect(await settled(third)).toBe(false);
      syncs.release();
      await Promise.all([second, third]);
      expect(syncs.calls - before).toBe(2);
    } finally {
      syncs.held = false;
      await store.close();
    }
  });

  it('does not sync for reads', async () => {
    const syncs = new HeldSyncs();
    const store = await openHeld(syncs);
    try {
      const before = syncs.calls;
      await store.users.count();
      await store.users.findByUsername('nobody');
      expect(syncs.calls).toBe(before);
    } finally {
      await store.close();
    }
  });

  it('rejects the write whose sync failed, and refuses every later write, but still reads', async () => {
    const syncs = new HeldSyncs();
    const store = await openHeld(syncs);
    try {
      syncs.held = true;
      syncs.calls = 0;
      const write = store.users.insert(userFixture());
      await syncs.pending(1);
      syncs.fail(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
      const error = await write.then(
        () => undefined,
        (rejection: unknown) => rejection,
      );
      expect(error).toBeInstanceOf(WalSyncError);
      expect((error as WalSyncError).message).toMatch(
        /Could not sync the SQLite WAL file .*-wal to disk \(EIO/,
      );
      expect((error as WalSyncError).isRetryable).toBe(false);
      syncs.held = false;
      // Later writes are refused before they write anything, so a caller that retries cannot write twice.
      const stored = await store.users.count();
      await expect(store.users.insert(userFixture())).rejects.toBeInstanceOf(WalSyncError);
      await expect(store.transaction((tx) => tx.users.insert(userFixture()))).rejects.toBeInstanceOf(
        WalSyncError,
      );
      expect(await store.users.count()).toBe(stored);
      expect(syncs.calls).toBe(1);
    } finally {
      await store.close();
    }
  });

  it("fails the engine's group-committed sends after a failed sync without writing them twice", async () => {
    const syncs = new HeldSyncs();
    const store = await openHeld(syncs);
    const engine = new ChatEngine({ store });
    try {
      const owner = await engine.createUser({ username: 'owner' });
      const room = await engine.createRoom(owner.id, { kind: 'channel', name: 'sync-failure' });
      syncs.held = true;
      const first = engine.sendMessage(owner.id, { roomId: room.id, text: 'first' });
      await syncs.pending(1);
      // These queue behind the first commit and then share one transaction.
      const later = ['a', 'b', 'c'].map((text) => engine.sendMessage(owner.id, { roomId: room.id, text }));
      syncs.fail(new Error('EIO: i/o error, fdatasync'));
      await expect(first).rejects.toBeInstanceOf(WalSyncError);
      for (const send of later) await expect(send).rejects.toBeInstanceOf(WalSyncError);
      // Only the first send reached the file (committed, never acknowledged); none was written again.
      const stored = await store.messages.page({ roomId: room.id, limit: 10 });
      expect(stored.map((message) => message.text)).toEqual(['first']);
    } finally {
      engine.close();
      await store.close();
    }
  });

  it('keeps what it acknowledged across a reopen, with the real fdatasync', async () => {
    const filename = freshFile();
    const alice = userFixture();
    const store = await createSqliteStore({ filename, synchronous: 'full-async' });
    await store.migrate();
    await store.users.insert(alice);
    await store.close();
    const again = await createSqliteStore({ filename, synchronous: 'full-async' });
    try {
      expect((await again.users.findById(alice.id))?.username).toBe(alice.username);
    } finally {
      await again.close();
    }
  });

  it('needs no sync for an in-memory database', async () => {
    const syncs = new HeldSyncs();
    const store = await createSqliteStore({
      filename: ':memory:',
      synchronous: 'full-async',
      syncWal: syncs.sync,
    });
    try {
      await store.migrate();
      await store.users.insert(userFixture());
      expect(syncs.calls).toBe(0);
    } finally {
      await store.close();
    }
  });
});

// Every repository and the engine's group commit through the syncing path, on a real file.
chatStoreContract({
  name: "sqlite file, synchronous 'full-async'",
  open: async () => {
    const store = await createSqliteStore({ filename: freshFile(), synchronous: 'full-async' });
    await store.migrate();
    return store;
  },
});
