import {
  type AuditAction,
  type AuditEntry,
  type AuditOutcome,
  type AuditQuery,
  type AuditRepository,
  createId,
  type JsonValue,
  KaiwaError,
} from '@kaiwa/core';
import { type AuditChainReport, auditEntryHash, verifyAuditChain } from './audit-chain.js';

/** What a caller says about one action; the log fills in id, time, chain and request. */
export interface AuditRecord {
  action: AuditAction;
  /** Defaults to `success`. */
  outcome?: AuditOutcome;
  /** Who acted; null or absent for the system and anonymous callers. */
  actorId?: string | null;
  target?: { type: string; id: string | null };
  /** Small JSON; keys that name secrets are dropped and long strings cut (see {@link sanitizeAuditDetails}). */
  details?: { [key: string]: JsonValue | undefined };
  /**
   * The HTTP request the action came in on: its id and the caller's address are recorded, and the request
   * counts as audited (no generic `admin.action` entry is added for it).
   */
  request?: { id: string; ip: string } | undefined;
}

export interface AuditLogOptions {
  repository: AuditRepository;
  clock?: () => Date;
  /** Called when an entry could not be written; the action it describes has happened regardless. */
  onError?: (error: unknown, record: AuditRecord) => void;
}

/** Detail keys that could carry a secret are never recorded, whatever a caller passes. */
const SECRET_KEY = /pass(word)?|secret|token|api.?key$|^key$|authorization|cookie/i;
const MAX_STRING = 200;
const MAX_DETAIL_KEYS = 32;

/**
 * The audit log of the server: security-relevant actions, each appended to an append-only, hash-chained
 * log in the store (ADR 0004). Guarantees: every entry is sealed with `sha256(previous hash + canonical
 * JSON)` in the same store transaction that gives it its sequence number, so concurrent writers on any
 * number of instances produce one unforked chain; `record` resolves only once its entry is committed, and
 * never throws — a failed write is reported to `onError` (logged at error level by the server), because
 * the action it describes has already happened. Details never hold secrets or message text: keys that
 * look like secrets are dropped, strings are cut to 200 characters and made well-formed.
 *
 * @example
 * await audit.record({ action: 'user.deactivated', actorId: admin.id, target: { type: 'user', id }, request });
 */
export class AuditLog {
  readonly #repository: AuditRepository;
  readonly #clock: () => Date;
  readonly #onError: (error: unknown, record: AuditRecord) => void;
  readonly #audited = new WeakSet<object>();

  constructor(options: AuditLogOptions) {
    this.#repository = options.repository;
    this.#clock = options.clock ?? (() => new Date());
    this.#onError = options.onError ?? (() => {});
  }

  /**
   * Appends one entry; resolves to it, or to undefined when it could not be written (see `onError`).
   *
   * @example
   * await audit.record({ action: 'api_key.revoked', actorId, target: { type: 'api_key', id: keyId } });
   */
  async record(record: AuditRecord): Promise<AuditEntry | undefined> {
    if (record.request) this.#audited.add(record.request);
    try {
      const input = {
        id: createId(),
        at: this.#clock().toISOString(),
        actorId: record.actorId ?? null,
        action: record.action,
        targetType: record.target?.type ?? null,
        targetId: record.target?.id ?? null,
        outcome: record.outcome ?? 'success',
        requestId: record.request ? cut(record.request.id, 128) : null,
        remoteAddress: record.request ? cut(record.request.ip, 64) : null,
        details: sanitizeAuditDetails(record.details ?? {}),
      };
      return await this.#repository.append(input, ({ seq, previousHash }) =>
        auditEntryHash(input, seq, previousHash),
      );
    } catch (error) {
      this.#onError(error, record);
      return undefined;
    }
  }

  /** Whether an entry was recorded for this request (see `record`'s `request`). */
  wasRecorded(request: object): boolean {
    return this.#audited.has(request);
  }

  /**
   * Entries newest first, filtered (see AuditQuery).
   *
   * @example const page = await audit.list({ actions: ['auth.login'], limit: 51 });
   */
  list(query: AuditQuery): Promise<AuditEntry[]> {
    return this.#repository.list(query);
  }

  /**
   * Walks the whole chain; the first changed, inserted or deleted entry, if any.
   *
   * @example const report = await audit.verify(); if (!report.ok) console.error(report.problem.message);
   */
  verify(): Promise<AuditChainReport> {
    return verifyAuditChain(this.#repository);
  }

  /**
   * Runs `work` and records its outcome: `success` with what `describe` adds from the result, or
   * `denied`/`failure` (with the error's code) when it throws; the error is rethrown.
   *
   * @example
   * const session = await audit.around(
   *   { action: 'auth.login', details: { username }, request },
   *   () => accounts.login(username, password),
   *   (session) => ({ actorId: session.user.id, target: { type: 'user', id: session.user.id } }),
   * );
   */
  async around<T>(
    record: AuditRecord,
    work: () => Promise<T>,
    describe?: (result: T) => Partial<AuditRecord>,
  ): Promise<T> {
    let result: T;
    try {
      result = await work();
    } catch (error) {
      await this.record({
        ...record,
        outcome: outcomeOf(error),
        details: { ...record.details, error: errorCode(error) },
      });
      throw error;
    }
    const extra = describe?.(result) ?? {};
    await this.record({ ...record, ...extra, details: { ...record.details, ...extra.details } });
    return result;
  }
}

/** `denied` for refusals (401/403 and their Kaiwa errors), `failure` otherwise. */
export function outcomeOf(error: unknown): AuditOutcome {
  const status = (error as { statusCode?: unknown }).statusCode;
  if (status === 401 || status === 403) return 'denied';
  if (KaiwaError.isInstance(error) && error.code === 'forbidden') return 'denied';
  return 'failure';
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? cut(code, 64) : 'internal';
}

/**
 * Details as they are stored: at most 32 keys, none that looks like a secret (`password`, `token`,
 * `secret`, `apiKey`, …), strings at most 200 characters and well-formed UTF-16, undefined values left out.
 *
 * @example sanitizeAuditDetails({ username: 'alice', password: 'x' }) // { username: 'alice' }
 */
export function sanitizeAuditDetails(details: { [key: string]: JsonValue | undefined }): {
  [key: string]: JsonValue;
} {
  const clean: { [key: string]: JsonValue } = {};
  let count = 0;
  for (const [key, value] of Object.entries(details)) {
    if (value === undefined || SECRET_KEY.test(key)) continue;
    if (++count > MAX_DETAIL_KEYS) break;
    clean[cut(key, 64)] = sanitizeValue(value, 3);
  }
  return clean;
}

function sanitizeValue(value: JsonValue, depth: number): JsonValue {
  if (typeof value === 'string') return cut(value, MAX_STRING);
  if (value === null || typeof value !== 'object') {
    return typeof value === 'number' && !Number.isFinite(value) ? null : value;
  }
  if (depth === 0) return '[nested]';
  if (Array.isArray(value)) return value.slice(0, 32).map((item) => sanitizeValue(item, depth - 1));
  const nested: { [key: string]: JsonValue } = {};
  for (const [key, child] of Object.entries(value).slice(0, MAX_DETAIL_KEYS)) {
    if (!SECRET_KEY.test(key)) nested[cut(key, 64)] = sanitizeValue(child, depth - 1);
  }
  return nested;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** At most `length` UTF-16 units, lone surrogates (which JCS refuses) replaced by U+FFFD. */
function cut(text: string, length: number): string {
  const short = text.length <= length ? text : `${text.slice(0, length - 1)}…`;
  return short.replace(LONE_SURROGATE, '\uFFFD');
}
