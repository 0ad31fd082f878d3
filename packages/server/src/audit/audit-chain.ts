import { createHash } from 'node:crypto';
import { AUDIT_GENESIS_HASH, type AuditEntry, type AuditEntryInput, type AuditRepository } from '@kaiwa/core';
import canonicalize from 'canonicalize';

/*
 * The hash chain of the audit log (ADR 0004). An entry's hash is
 *
 *   hash = hex(sha256(previousHash + canonicalJson(entry)))
 *
 * where `canonicalJson` is RFC 8785 (JSON Canonicalization Scheme: keys sorted, no whitespace, one spelling
 * per number) of the entry's own fields, its seq included, and `previousHash` is the hash of the entry
 * before (64 zeros for the first). Anyone with read access can recompute it with any JCS library.
 */

/** The fields an entry's hash covers, in the shape that is canonicalised. */
export function canonicalAuditEntry(entry: AuditEntryInput, seq: number): string {
  const text = canonicalize({
    id: entry.id,
    seq,
    at: entry.at,
    actorId: entry.actorId,
    action: entry.action,
    target: { type: entry.targetType, id: entry.targetId },
    outcome: entry.outcome,
    requestId: entry.requestId,
    remoteAddress: entry.remoteAddress,
    details: entry.details,
  });
  if (text === undefined) throw new Error('an audit entry must be JSON');
  return text;
}

/**
 * The hash of `entry` at position `seq` after `previousHash`.
 *
 * @example
 * const hash = auditEntryHash(input, 1, AUDIT_GENESIS_HASH); // 64 hex characters
 */
export function auditEntryHash(entry: AuditEntryInput, seq: number, previousHash: string): string {
  return createHash('sha256')
    .update(previousHash, 'utf8')
    .update(canonicalAuditEntry(entry, seq), 'utf8')
    .digest('hex');
}

/** What a verification found wrong, first problem only. */
export interface AuditChainProblem {
  /**
   * `changed`: an entry's content or hash was edited; `deleted`: entries are missing (a gap in the
   * sequence, a link to an entry that is gone, or entries gone from the end); `inserted`: entries that were
   * never appended through the log sit in the chain.
   */
  kind: 'changed' | 'deleted' | 'inserted';
  /** The first entry concerned: the changed or first inserted one, or the first missing seq. */
  seq: number;
  message: string;
}

export type AuditChainReport =
  | { ok: true; entries: number; head: { seq: number; hash: string } }
  | { ok: false; entries: number; problem: AuditChainProblem };

/** How many recent hashes are remembered to tell an inserted run of entries from a changed one. */
const INSERTION_WINDOW = 1000;

/**
 * Walks the whole audit log in sequence order and reports the first changed, inserted or deleted entry.
 * It reads in pages, so memory stays flat however long the log is.
 *
 * @example
 * const report = await verifyAuditChain(store.audit);
 * if (!report.ok) console.error(`entry ${report.problem.seq}: ${report.problem.message}`);
 */
export async function verifyAuditChain(
  repository: AuditRepository,
  options: { pageSize?: number } = {},
): Promise<AuditChainReport> {
  const pageSize = options.pageSize ?? 500;
  let previous = { seq: 0, hash: AUDIT_GENESIS_HASH };
  let entries = 0;
  const recent = new Map<string, number>([[AUDIT_GENESIS_HASH, 0]]);
  const fail = (problem: AuditChainProblem): AuditChainReport => ({ ok: false, entries, problem });

  for (;;) {
    const page = await repository.listInOrder(previous.seq, pageSize);
    for (const entry of page) {
      const problem = checkLink(entry, previous, recent);
      if (problem) return fail(problem);
      entries++;
      previous = { seq: entry.seq, hash: entry.hash };
      recent.set(entry.hash, entry.seq);
      if (recent.size > INSERTION_WINDOW) recent.delete(recent.keys().next().value as string);
    }
    if (page.length < pageSize) break;
  }

  const head = await repository.head();
  if (head.seq > previous.seq) {
    return fail({
      kind: 'deleted',
      seq: previous.seq + 1,
      message: `entries ${previous.seq + 1}–${head.seq} are missing from the end of the log (the chain head says ${head.seq})`,
    });
  }
  if (head.seq < previous.seq) {
    return fail({
      kind: 'inserted',
      seq: head.seq + 1,
      message: `entries after ${head.seq} were added behind the log's back (the chain head says ${head.seq})`,
    });
  }
  if (head.hash !== previous.hash) {
    return fail({
      kind: 'changed',
      seq: previous.seq,
      message: `entry ${previous.seq} differs from the one the chain head recorded`,
    });
  }
  return { ok: true, entries, head };
}

/** How far a renumbering is looked for: an entry that hashes right at a nearby seq was moved there. */
const RENUMBER_WINDOW = 16;

/** The seq at which `entry` was appended, when it hashes right at a seq near its present one. */
function renumberedFrom(entry: AuditEntry): number | undefined {
  for (let shift = 1; shift <= RENUMBER_WINDOW; shift++) {
    for (const seq of [entry.seq - shift, entry.seq + shift]) {
      if (seq >= 1 && auditEntryHash(entry, seq, entry.previousHash) === entry.hash) return seq;
    }
  }
  return undefined;
}

function checkLink(
  entry: AuditEntry,
  previous: { seq: number; hash: string },
  recent: Map<string, number>,
): AuditChainProblem | undefined {
  if (entry.seq > previous.seq + 1) {
    const last = entry.seq - 1;
    return {
      kind: 'deleted',
      seq: previous.seq + 1,
      message:
        last === previous.seq + 1
          ? `entry ${last} is missing`
          : `entries ${previous.seq + 1}–${last} are missing`,
    };
  }
  if (auditEntryHash(entry, entry.seq, entry.previousHash) !== entry.hash) {
    const renumbered = renumberedFrom(entry);
    if (renumbered !== undefined && renumbered < entry.seq) {
      // It was appended at a lower seq: entries were slipped in before it and the rest moved up.
      const first = (recent.get(entry.previousHash) ?? renumbered - 1) + 1;
      const last = entry.seq - 1;
      return {
        kind: 'inserted',
        seq: first,
        message:
          first === last
            ? `entry ${first} was inserted (entry ${entry.seq} was appended as ${renumbered})`
            : `entries ${first}–${last} were inserted (entry ${entry.seq} was appended as ${renumbered})`,
      };
    }
    if (renumbered !== undefined) {
      return {
        kind: 'deleted',
        seq: entry.seq,
        message: `entries were deleted before entry ${entry.seq} and the rest renumbered (it was appended as ${renumbered})`,
      };
    }
    return {
      kind: 'changed',
      seq: entry.seq,
      message: `entry ${entry.seq} (${entry.action}) was changed: its content no longer matches its hash`,
    };
  }
  if (entry.previousHash === previous.hash) return undefined;
  const linkedTo = recent.get(entry.previousHash);
  if (linkedTo !== undefined && linkedTo < previous.seq) {
    return {
      kind: 'inserted',
      seq: linkedTo + 1,
      message:
        linkedTo + 1 === previous.seq
          ? `entry ${previous.seq} was inserted: entry ${entry.seq} chains to entry ${linkedTo}`
          : `entries ${linkedTo + 1}–${previous.seq} were inserted: entry ${entry.seq} chains to entry ${linkedTo}`,
    };
  }
  if (previous.seq === 0) {
    return {
      kind: 'deleted',
      seq: 1,
      message: `entries before ${entry.seq} are missing: it does not chain to the start of the log`,
    };
  }
  return {
    kind: 'changed',
    seq: previous.seq,
    message:
      `entry ${previous.seq} was rewritten (entry ${entry.seq} chained to a different hash), ` +
      'or entries were deleted and the rest renumbered',
  };
}
