import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditAction, StoreDialect } from '@kaiwa/core';
import { createSqliteStore, type KyselyChatStore } from '@kaiwa/store-kysely';
import { openTestStore, testSkipReason } from '@kaiwa/store-kysely/testing';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli-program.js';
import { auditEntryHash } from './audit-chain.js';
import { AuditLog } from './audit-log.js';

/*
 * `kaiwa audit verify` against rows tampered with by raw SQL: a changed entry, one deleted from the middle
 * or the end, one inserted, and a rewrite that recomputes the changed entry's own hash.
 */

const ACTIONS: AuditAction[] = [
  'auth.login',
  'user.created',
  'api_key.created',
  'user.role_changed',
  'auth.logout',
];

async function fill(store: KyselyChatStore, count = 5): Promise<AuditLog> {
  const audit = new AuditLog({ repository: store.audit });
  for (let index = 0; index < count; index++) {
    await audit.record({
      action: ACTIONS[index % ACTIONS.length] as AuditAction,
      details: { index },
      request: { id: `req-${index}`, ip: '198.51.100.4' },
    });
  }
  return audit;
}

describe('kaiwa audit verify on SQLite', () => {
  const directory = mkdtempSync(join(tmpdir(), 'kaiwa-audit-'));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));
  let counter = 0;

  /** A database file with five entries, and the CLI run against it. */
  async function database(): Promise<{
    store: KyselyChatStore;
    verify: () => Promise<{ code: number; out: string }>;
  }> {
    const filename = join(directory, `audit-${++counter}.sqlite`);
    const store = await createSqliteStore({ filename });
    await store.migrate();
    await fill(store);
    const verify = async () => {
      let out = '';
      const code = await runCli(['node', 'kaiwa', 'audit', 'verify'], {
        env: { KAIWA_DATABASE_URL: filename, KAIWA_DATA_DIR: directory, LOG_LEVEL: 'silent' },
        stdout: (text) => {
          out += text;
        },
        stderr: (text) => {
          out += text;
        },
        onSignal: () => {},
        exit: () => {},
      });
      return { code: code ?? -1, out };
    };
    return { store, verify };
  }

  it('passes an untouched log and names its head', async () => {
    const { store, verify } = await database();
    const head = await store.audit.head();
    await store.close();
    const { code, out } = await verify();
    expect(out).toBe(`The audit log is intact: 5 entries, head 5 ${head.hash}\n`);
    expect(code).toBe(0);
  });

  it('finds a changed entry', async () => {
    const { store, verify } = await database();
    await sql`update audit_log set details = '{"index":99}' where seq = 3`.execute(store.db);
    await store.close();
    const { code, out } = await verify();
    expect(code).toBe(1);
    expect(out).toContain('broken at entry 3 (changed): entry 3 (api_key.created) was changed');
    expect(out).toContain('2 entries before it check out');
  });

  it('finds an entry deleted from the middle and from the end', async () => {
    const middle = await database();
    await sql`delete from audit_log where seq = 2`.execute(middle.store.db);
    await middle.store.close();
    const inMiddle = await middle.verify();
    expect(inMiddle.code).toBe(1);
    expect(inMiddle.out).toContain('broken at entry 2 (deleted): entry 2 is missing');

    const end = await database();
    await sql`delete from audit_log where seq >= 4`.execute(end.store.db);
    await end.store.close();
    const atEnd = await end.verify();
    expect(atEnd.code).toBe(1);
    expect(atEnd.out).toContain('broken at entry 4 (deleted): entries 4–5 are missing from the end');
  });

  it('finds an inserted entry, even when the forger chained it and renumbered the rest', async () => {
    const { store, verify } = await database();
    // Make room at seq 3 and insert a forged entry that chains correctly to entry 2.
    await sql`update audit_log set seq = seq + 10 where seq >= 3`.execute(store.db);
    await sql`update audit_log set seq = seq - 9 where seq >= 13`.execute(store.db);
    const [second] = await store.audit.listInOrder(1, 1);
    const forged = {
      id: '01JDQ00000000000000000FAKE',
      at: '2026-11-25T09:00:00.000Z',
      actorId: null,
      action: 'user.created' as const,
      targetType: 'user',
      targetId: null,
      outcome: 'success' as const,
      requestId: null,
      remoteAddress: null,
      details: {},
    };
    const hash = auditEntryHash(forged, 3, second?.hash ?? '');
    await sql`insert into audit_log (seq, id, at, actor_id, action, target_type, target_id, outcome, request_id,
      remote_address, details, previous_hash, hash)
      values (3, ${forged.id}, ${forged.at}, null, 'user.created', 'user', null, 'success', null, null, '{}',
      ${second?.hash}, ${hash})`.execute(store.db);
    await sql`update audit_chain_head set seq = 6`.execute(store.db);
    await store.close();
    const { code, out } = await verify();
    expect(code).toBe(1);
    expect(out).toContain('broken at entry 3 (inserted): entry 3 was inserted (entry 4 was appended as 3)');
  });

  it('finds a rewritten entry whose own hash was recomputed', async () => {
    const { store, verify } = await database();
    const [third] = await store.audit.listInOrder(2, 1);
    if (!third) throw new Error('no third entry');
    const rewritten = { ...third, details: { index: 'rewritten' } };
    const hash = auditEntryHash(rewritten, 3, third.previousHash);
    await sql`update audit_log set details = ${JSON.stringify(rewritten.details)}, hash = ${hash} where seq = 3`.execute(
      store.db,
    );
    await store.close();
    const { code, out } = await verify();
    expect(code).toBe(1);
    expect(out).toContain('broken at entry 3 (changed): entry 3 was rewritten');
  });
});

// The same checks through the verifier on PostgreSQL and MariaDB.
for (const dialect of ['postgres', 'mysql'] satisfies StoreDialect[]) {
  const skip = testSkipReason(dialect);
  describe.skipIf(skip !== undefined)(`audit verification on ${dialect}`, () => {
    if (skip) console.info(`[${dialect}] audit verification skipped: ${skip}`);

    it('passes an untouched log, then finds a changed and a deleted entry', async () => {
      const store = await openTestStore(dialect);
      try {
        const audit = await fill(store, 6);
        expect(await audit.verify()).toMatchObject({ ok: true, entries: 6 });
        await sql`update audit_log set outcome = 'failure' where seq = 4`.execute(store.db);
        expect(await audit.verify()).toMatchObject({
          ok: false,
          entries: 3,
          problem: { kind: 'changed', seq: 4 },
        });
        await sql`update audit_log set outcome = 'success' where seq = 4`.execute(store.db);
        await sql`delete from audit_log where seq = 5`.execute(store.db);
        expect(await audit.verify()).toMatchObject({ ok: false, problem: { kind: 'deleted', seq: 5 } });
      } finally {
        await store.close();
      }
    });
  });
}
