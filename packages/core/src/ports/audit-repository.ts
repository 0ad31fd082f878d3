import type { JsonValue } from '../schemas/common.js';

/*
 * The audit log: an append-only record of security-relevant actions. Each entry carries a sequence number
 * and a hash that chains it to the entry before it, `hash = sha256(previousHash + canonical JSON of the
 * entry)`, so that a changed, inserted or deleted row breaks the chain where it happened. The store keeps
 * the rows and serialises appends; the server computes the hashes (the `seal` of `append`) and verifies.
 */

/**
 * Every action the audit log records. The list is closed: a new kind of entry is a new name here, so that
 * filters and reports can rely on it. Names are `<subject>.<what happened>`.
 */
export const AUDIT_ACTIONS = [
  /** A password sign-in; `outcome` says whether it worked, `details.username` who was tried. */
  'auth.login',
  /** A nickname sign-in while accounts are off. */
  'auth.anonymous_login',
  /** A member signed themselves up. */
  'auth.signup',
  /** Someone changed their own password. */
  'auth.password_changed',
  /** Signing out one session or all of them. */
  'auth.logout',
  /** An admin gave a user a new one-time password. */
  'user.password_reset',
  /** An admin created a user or a bot. */
  'user.created',
  /** An admin changed a user's role (`details.role`). */
  'user.role_changed',
  /** An admin forced or cleared a password change. */
  'user.force_password_change_set',
  /** An admin deactivated an account. */
  'user.deactivated',
  /** An admin reactivated an account. */
  'user.reactivated',
  /** An API key (or a signing key, `details.signing`) was created. */
  'api_key.created',
  /** An API key was revoked. */
  'api_key.revoked',
  /** A workflow definition (a new version of one) was stored. */
  'workflow.defined',
  /** The platform adapters and bridge links the server started with differ from the last ones recorded. */
  'platform.configured',
  /** An admin started a plugin (`details.version`). */
  'plugin.started',
  /** An admin stopped a plugin. */
  'plugin.stopped',
  /** An admin installed a plugin from a tarball (`details.version`, `details.sha256`). */
  'plugin.installed',
  /** An admin upgraded a plugin (`details.fromVersion`, `details.toVersion`). */
  'plugin.upgraded',
  /** An upgrade failed and the old version was put back (`details.stage`, `details.reason`). */
  'plugin.rolled_back',
  /** An admin uninstalled a plugin (`details.keepData`). */
  'plugin.uninstalled',
  /** An admin saved a plugin's settings (`details.changed`: the keys, never the values). */
  'plugin.configured',
  /** Another admin-only action; `details.route` names it. */
  'admin.action',
] as const;

export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** `denied`: refused for lack of permission or a bad credential; `failure`: anything else that failed. */
export const AUDIT_OUTCOMES = ['success', 'failure', 'denied'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** The hash the first entry chains to: 64 zeros. */
export const AUDIT_GENESIS_HASH = '0'.repeat(64);

/**
 * One entry as the caller describes it, before the store gives it a place in the chain. `details` is small
 * JSON and never holds a secret or message text.
 *
 * @example
 * const entry: AuditEntryInput = {
 *   id: createId(), at: new Date().toISOString(), actorId: null, action: 'auth.login', outcome: 'failure',
 *   targetType: 'user', targetId: null, requestId: 'req-1', remoteAddress: '203.0.113.7',
 *   details: { username: 'alice' },
 * };
 */
export interface AuditEntryInput {
  /** A ULID. */
  id: string;
  at: string;
  /** Who acted; null for the system and for anonymous callers. */
  actorId: string | null;
  action: AuditAction;
  /** What the action was about (`user`, `api_key`, `workflow`, `platform`), when there is such a thing. */
  targetType: string | null;
  targetId: string | null;
  outcome: AuditOutcome;
  requestId: string | null;
  remoteAddress: string | null;
  details: { [key: string]: JsonValue };
}

/** A stored entry: the input plus its place in the chain. */
export interface AuditEntry extends AuditEntryInput {
  /** 1 for the first entry, then one more for each; never reused. */
  seq: number;
  /** The hash of entry `seq - 1`, or {@link AUDIT_GENESIS_HASH} for the first. */
  previousHash: string;
  /** Hex SHA-256 as computed by the `seal` passed to `append`. */
  hash: string;
}

/** The newest link of the chain as the store last wrote it: seq 0 and the genesis hash when empty. */
export interface AuditChainHead {
  seq: number;
  hash: string;
}

export interface AuditQuery {
  /** Entries with any of these actions. */
  actions?: AuditAction[];
  actorId?: string;
  targetType?: string;
  targetId?: string;
  /** `at >= since` and `at < until` (ISO timestamps). */
  since?: string;
  until?: string;
  /** Exclusive cursor: entries with a smaller seq (the last seq of the previous page). */
  beforeSeq?: number;
  /** The store returns up to `limit` rows; ask for one more than you show to learn whether more exist. */
  limit: number;
}

/**
 * Append-only storage of the audit log: there is no way to change or remove an entry through this port.
 * Appends are serialised across every connection and instance on the database (the chain head row is
 * locked until commit), so two writers never give two entries the same sequence number or fork the chain.
 *
 * @example
 * const entry = await store.audit.append(input, ({ seq, previousHash }) => sealEntry(seq, previousHash, input));
 * const newest = await store.audit.list({ actions: ['auth.login'], limit: 51 });
 */
export interface AuditRepository {
  /**
   * Gives `entry` the next sequence number and the hash `seal` computes from it and the previous hash,
   * stores it and moves the chain head, all in one transaction (the caller's, when called on one). When
   * `seal` throws, nothing is written.
   *
   * @example
   * await store.audit.append(input, (link) => sha256Hex(link.previousHash + canonicalJson({ ...input, seq: link.seq })));
   */
  append(
    entry: AuditEntryInput,
    seal: (link: { seq: number; previousHash: string }) => string,
  ): Promise<AuditEntry>;
  /**
   * Entries matching every given filter, newest (highest seq) first.
   *
   * @example const page = await store.audit.list({ actorId, beforeSeq: 120, limit: 51 });
   */
  list(query: AuditQuery): Promise<AuditEntry[]>;
  /**
   * Entries with `seq > afterSeq` in sequence order, at most `limit`: how a verifier walks the chain.
   *
   * @example const first = await store.audit.listInOrder(0, 500);
   */
  listInOrder(afterSeq: number, limit: number): Promise<AuditEntry[]>;
  /**
   * The chain head as last written; a verifier compares it with the newest entry to find entries removed
   * from the end.
   *
   * @example const { seq, hash } = await store.audit.head();
   */
  head(): Promise<AuditChainHead>;
}
