import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createId } from '../ids.js';
import {
  AUDIT_GENESIS_HASH,
  type AuditAction,
  type AuditEntry,
  type AuditEntryInput,
} from '../ports/audit-repository.js';
import type { AuditStorage } from '../ports/chat-store.js';
import type { StorageUnderTest } from './chat-store-repositories/support.js';

export interface AuditRepositoryContractOptions {
  /** Shown in the test names, e.g. `postgres`. */
  name: string;
  /**
   * Opens a fresh, migrated store of its own (a `ChatStore`, or storage composed of fewer modules with the
   * audit log); `close()` is called at the end.
   */
  open: () => Promise<StorageUnderTest<AuditStorage>>;
  /** When set, the suite is skipped and this reason printed once. */
  skip?: string;
}

/** A seal for the suite: any deterministic function of the link and the entry will do for the store. */
function seal(entry: AuditEntryInput) {
  return ({ seq, previousHash }: { seq: number; previousHash: string }) =>
    createHash('sha256')
      .update(`${previousHash}|${seq}|${JSON.stringify(entry)}`)
      .digest('hex');
}

/**
 * The conformance suite of `AuditRepository`: entries get gap-free sequence numbers and chain to the one
 * before (the first to the genesis hash), concurrent appends never fork the chain, a failing seal or a
 * rolled-back transaction writes nothing, the head follows the newest entry, entries round-trip with their
 * JSON details, and `list` filters and pages newest first.
 *
 * @example
 * auditRepositoryContract({ name: 'sqlite', open: () => openTestStore('sqlite') });
 */
export function auditRepositoryContract(options: AuditRepositoryContractOptions): void {
  if (options.skip) {
    console.info(`[${options.name}] audit repository suite skipped: ${options.skip}`);
    describe.skip(`AuditRepository contract: ${options.name}`, () => {
      it('is skipped', () => {});
    });
    return;
  }

  describe(`AuditRepository contract: ${options.name}`, () => {
    let store: StorageUnderTest<AuditStorage>;
    const at = (second: number) => new Date(Date.UTC(2026, 10, 25, 9, 0, second)).toISOString();
    const input = (patch: Partial<AuditEntryInput> = {}): AuditEntryInput => ({
      id: createId(),
      at: at(0),
      actorId: null,
      action: 'auth.login',
      targetType: 'user',
      targetId: null,
      outcome: 'success',
      requestId: 'req-1',
      remoteAddress: '203.0.113.7',
      details: {},
      ...patch,
    });
    const append = (entry: AuditEntryInput) => store.audit.append(entry, seal(entry));

    beforeAll(async () => {
      store = await options.open();
    });
    afterAll(async () => {
      await store?.close();
    });

    async function wholeChain(): Promise<AuditEntry[]> {
      const all: AuditEntry[] = [];
      for (;;) {
        const page = await store.audit.listInOrder(all.at(-1)?.seq ?? 0, 7);
        all.push(...page);
        if (page.length < 7) return all;
      }
    }

    function expectChained(entries: AuditEntry[]): void {
      entries.forEach((entry, index) => {
        expect(entry.seq).toBe(index + 1);
        expect(entry.previousHash).toBe(index === 0 ? AUDIT_GENESIS_HASH : entries[index - 1]?.hash);
      });
    }

    it('starts at the genesis head and chains the first entry to it', async () => {
      expect(await store.audit.head()).toEqual({ seq: 0, hash: AUDIT_GENESIS_HASH });
      const entry = input({
        actorId: createId(),
        targetId: createId(),
        details: { username: 'アリス', nested: { list: [1, 'two', null, true] } },
      });
      const stored = await append(entry);
      expect(stored).toEqual({
        ...entry,
        seq: 1,
        previousHash: AUDIT_GENESIS_HASH,
        hash: seal(entry)({ seq: 1, previousHash: AUDIT_GENESIS_HASH }),
      });
      expect(await store.audit.head()).toEqual({ seq: 1, hash: stored.hash });
      expect(await store.audit.listInOrder(0, 10)).toEqual([stored]);
    });

    it('keeps nulls and JSON details exactly as given', async () => {
      const entry = input({
        targetType: null,
        targetId: null,
        requestId: null,
        remoteAddress: null,
        outcome: 'denied',
        details: { reason: 'bad password', attempts: 3, ratio: 0.25, flags: [] },
      });
      const stored = await append(entry);
      const [read] = await store.audit.list({ limit: 1 });
      expect(read).toEqual(stored);
      expect(read?.details).toEqual({ reason: 'bad password', attempts: 3, ratio: 0.25, flags: [] });
    });

    it('writes nothing when the seal throws', async () => {
      const before = await store.audit.head();
      await expect(
        store.audit.append(input(), () => {
          throw new Error('no hash today');
        }),
      ).rejects.toThrow('no hash today');
      expect(await store.audit.head()).toEqual(before);
      expect((await wholeChain()).at(-1)?.seq).toBe(before.seq);
      // The next append takes the seq the failed one did not.
      const next = await append(input());
      expect(next.seq).toBe(before.seq + 1);
      expect(next.previousHash).toBe(before.hash);
    });

    it('appends inside a transaction and rolls back with it', async () => {
      const before = await store.audit.head();
      await expect(
        store.transaction(async (tx) => {
          const entry = input({ action: 'user.created' });
          await tx.audit.append(entry, seal(entry));
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
      expect(await store.audit.head()).toEqual(before);
      const committed = await store.transaction(async (tx) => {
        const entry = input({ action: 'user.created' });
        return tx.audit.append(entry, seal(entry));
      });
      expect(committed.seq).toBe(before.seq + 1);
      expect(await store.audit.head()).toEqual({ seq: committed.seq, hash: committed.hash });
    });

    it('never forks the chain under concurrent appends', async () => {
      const entries = Array.from({ length: 24 }, (_, index) =>
        input({ action: index % 2 ? 'api_key.created' : 'auth.login', details: { index } }),
      );
      const stored = await Promise.all(entries.map((entry) => append(entry)));
      const seqs = stored.map((entry) => entry.seq).sort((a, b) => a - b);
      expect(new Set(seqs).size).toBe(24);
      const chain = await wholeChain();
      expectChained(chain);
      expect(seqs.at(-1)).toBe(chain.at(-1)?.seq);
      expect(await store.audit.head()).toEqual({ seq: chain.at(-1)?.seq, hash: chain.at(-1)?.hash });
    });

    it('filters by action, actor, target and time, and pages newest first', async () => {
      const actorId = createId();
      const targetId = createId();
      const mine = (action: AuditAction, second: number) =>
        input({ action, actorId, targetType: 'api_key', targetId, at: at(second) });
      const a = await append(mine('api_key.created', 10));
      const b = await append(mine('api_key.revoked', 20));
      const c = await append(mine('api_key.created', 30));
      await append(input({ action: 'api_key.created', at: at(25) }));

      expect(await store.audit.list({ actorId, limit: 10 })).toEqual([c, b, a]);
      expect(await store.audit.list({ actorId, actions: ['api_key.created'], limit: 10 })).toEqual([c, a]);
      expect(
        await store.audit.list({ actorId, actions: ['api_key.created', 'api_key.revoked'], limit: 10 }),
      ).toEqual([c, b, a]);
      expect(await store.audit.list({ actions: [], limit: 10 })).toEqual([]);
      expect(await store.audit.list({ targetType: 'api_key', targetId, limit: 10 })).toEqual([c, b, a]);
      expect(await store.audit.list({ actorId, since: at(20), until: at(30), limit: 10 })).toEqual([b]);
      // Keyset pages: ask for one more than shown, continue before the last seq shown.
      const first = await store.audit.list({ actorId, limit: 2 });
      expect(first).toEqual([c, b]);
      expect(await store.audit.list({ actorId, beforeSeq: b.seq, limit: 2 })).toEqual([a]);
    });

    it('offers no way to change or remove an entry', () => {
      const methods = new Set<string>();
      for (let proto = Object.getPrototypeOf(store.audit); proto && proto !== Object.prototype; ) {
        for (const name of Object.getOwnPropertyNames(proto)) methods.add(name);
        proto = Object.getPrototypeOf(proto);
      }
      for (const name of Object.keys(store.audit)) methods.add(name);
      methods.delete('constructor');
      expect([...methods].sort()).toEqual(['append', 'head', 'list', 'listInOrder']);
    });
  });
}
