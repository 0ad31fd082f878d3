import type {
  AuditAction,
  AuditChainHead,
  AuditEntry,
  AuditEntryInput,
  AuditOutcome,
  AuditQuery,
  AuditRepository,
  JsonValue,
} from '@kaiwa/core';
import type { Kysely, Selectable } from 'kysely';
import type { AuditLogTable, KaiwaDatabase } from '../../database.js';
import type { RepositoryContext } from '../repository-context.js';

function toEntry(row: Selectable<AuditLogTable>): AuditEntry {
  return {
    id: row.id,
    seq: Number(row.seq),
    at: row.at,
    actorId: row.actor_id,
    action: row.action as AuditAction,
    targetType: row.target_type,
    targetId: row.target_id,
    outcome: row.outcome as AuditOutcome,
    requestId: row.request_id,
    remoteAddress: row.remote_address,
    details: JSON.parse(row.details) as { [key: string]: JsonValue },
    previousHash: row.previous_hash,
    hash: row.hash,
  };
}

/**
 * The audit log on kysely. An append moves the one-row chain head first (`UPDATE … SET seq = seq + 1`):
 * that write locks the row until commit on PostgreSQL and MariaDB/MySQL, and takes SQLite's single write
 * lock, so a second append anywhere waits and then chains to the first. The same statements run on every
 * dialect. Nothing here updates or deletes an entry.
 */
export class KyselyAuditRepository implements AuditRepository {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  append(
    entry: AuditEntryInput,
    seal: (link: { seq: number; previousHash: string }) => string,
  ): Promise<AuditEntry> {
    const { db } = this.#context;
    // Inside the caller's transaction when there is one, so the entry commits or rolls back with its work.
    if (db.isTransaction) return appendLocked(db, entry, seal);
    return db.transaction().execute((trx) => appendLocked(trx, entry, seal));
  }

  async list(query: AuditQuery): Promise<AuditEntry[]> {
    let select = this.#context.db.selectFrom('audit_log').selectAll();
    if (query.actions !== undefined) {
      if (query.actions.length === 0) return [];
      select = select.where('action', 'in', query.actions);
    }
    if (query.actorId !== undefined) select = select.where('actor_id', '=', query.actorId);
    if (query.targetType !== undefined) select = select.where('target_type', '=', query.targetType);
    if (query.targetId !== undefined) select = select.where('target_id', '=', query.targetId);
    if (query.since !== undefined) select = select.where('at', '>=', query.since);
    if (query.until !== undefined) select = select.where('at', '<', query.until);
    if (query.beforeSeq !== undefined) select = select.where('seq', '<', query.beforeSeq);
    const rows = await select.orderBy('seq', 'desc').limit(query.limit).execute();
    return rows.map(toEntry);
  }

  async listInOrder(afterSeq: number, limit: number): Promise<AuditEntry[]> {
    const rows = await this.#context.db
      .selectFrom('audit_log')
      .selectAll()
      .where('seq', '>', afterSeq)
      .orderBy('seq', 'asc')
      .limit(limit)
      .execute();
    return rows.map(toEntry);
  }

  async head(): Promise<AuditChainHead> {
    const row = await this.#context.db
      .selectFrom('audit_chain_head')
      .select(['seq', 'hash'])
      .where('id', '=', 1)
      .executeTakeFirst();
    if (row === undefined) throw missingHead();
    return { seq: Number(row.seq), hash: row.hash };
  }
}

async function appendLocked(
  db: Kysely<KaiwaDatabase>,
  entry: AuditEntryInput,
  seal: (link: { seq: number; previousHash: string }) => string,
): Promise<AuditEntry> {
  // The lock first: everything read after it is what the previous append committed.
  const moved = await db
    .updateTable('audit_chain_head')
    .set((eb) => ({ seq: eb('seq', '+', 1) }))
    .where('id', '=', 1)
    .executeTakeFirst();
  if (Number(moved.numUpdatedRows) !== 1) throw missingHead();
  const head = await db
    .selectFrom('audit_chain_head')
    .select(['seq', 'hash'])
    .where('id', '=', 1)
    .executeTakeFirstOrThrow();
  const seq = Number(head.seq);
  const previousHash = head.hash;
  const hash = seal({ seq, previousHash });
  const stored: AuditEntry = { ...entry, seq, previousHash, hash };
  await db
    .insertInto('audit_log')
    .values({
      seq,
      id: entry.id,
      at: entry.at,
      actor_id: entry.actorId,
      action: entry.action,
      target_type: entry.targetType,
      target_id: entry.targetId,
      outcome: entry.outcome,
      request_id: entry.requestId,
      remote_address: entry.remoteAddress,
      details: JSON.stringify(entry.details),
      previous_hash: previousHash,
      hash,
    })
    .execute();
  await db.updateTable('audit_chain_head').set({ hash }).where('id', '=', 1).execute();
  return stored;
}

function missingHead(): Error {
  return new Error(
    'the audit chain head row (audit_chain_head, id 1) is missing: the audit table was tampered with; ' +
      'run `kaiwa audit verify`',
  );
}
