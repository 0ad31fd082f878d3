const baseMarker = Symbol.for('kaiwa.error');
const marker = Symbol.for('kaiwa.error.KaiwaError');

/** A field that failed validation: its path (`['text']`, `['labels', 2]`) and why. */
export interface FieldIssue {
  path: (string | number)[];
  message: string;
}

/**
 * The one base of every error family Kaiwa throws on purpose: {@link KaiwaError} (the engine and its stores),
 * `ModelError` (model backends) and `PlatformError` (chat platforms). Each carries a machine-readable `code`,
 * the `cause`, and `isRetryable`: whether the same call may succeed later (a database or backend back up, a
 * rate limit over), not whether anything already retried. Families are told apart by their own `isInstance`;
 * markers made with `Symbol.for` make those checks work across duplicated copies of the package, where
 * `instanceof` does not.
 *
 * @example
 * try {
 *   await step.run(context);
 * } catch (error) {
 *   if (KaiwaBaseError.isInstance(error) && error.isRetryable) return retryLater(error.code);
 *   throw error;
 * }
 */
export abstract class KaiwaBaseError<Code extends string = string> extends Error {
  readonly [baseMarker] = true;
  /** Machine-readable: callers branch on it. @example if (error.code === 'not_found') return undefined; */
  readonly code: Code;
  /** The same call may succeed later. @example if (error.isRetryable) await sleep(1_000); */
  readonly isRetryable: boolean;

  constructor(code: Code, message: string, options: { cause?: unknown; isRetryable?: boolean } = {}) {
    super(message, 'cause' in options ? { cause: options.cause } : undefined);
    this.code = code;
    this.isRetryable = options.isRetryable ?? false;
  }

  /**
   * True for an error of any Kaiwa family, also one thrown by another copy of `@kaiwa/core`.
   *
   * @example
   * if (KaiwaBaseError.isInstance(error)) log.warn({ code: error.code, retryable: error.isRetryable });
   */
  static isInstance(value: unknown): value is KaiwaBaseError {
    return KaiwaBaseError.hasMarker(value, baseMarker);
  }

  /** Whether `value` carries `marker` (a `Symbol.for` symbol), the check behind every family's `isInstance`. */
  protected static hasMarker(value: unknown, marker: symbol): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[marker] === true;
  }
}

export type KaiwaErrorCode =
  | 'validation_failed'
  | 'not_found'
  | 'forbidden'
  | 'conflict'
  | 'database_unavailable'
  | 'busy'
  | 'internal';

const RETRYABLE_CODES: ReadonlySet<KaiwaErrorCode> = new Set(['database_unavailable', 'busy']);

/**
 * Base of every error the engine and its stores throw on purpose. Callers branch on `code` (or
 * `instanceof`); only the server turns these into HTTP answers, by code. `isRetryable` is true for
 * `database_unavailable` and `busy`.
 *
 * @example
 * if (KaiwaError.isInstance(error) && error.code === 'not_found') return reply.status(404).send();
 */
export class KaiwaError extends KaiwaBaseError<KaiwaErrorCode> {
  readonly [marker] = true;

  constructor(code: KaiwaErrorCode, message: string, options?: { cause?: unknown; isRetryable?: boolean }) {
    super(code, message, { ...options, isRetryable: options?.isRetryable ?? RETRYABLE_CODES.has(code) });
    this.name = 'KaiwaError';
  }

  /**
   * True for any engine or store error (not a model or platform one), also one thrown by another copy of
   * this package.
   *
   * @example
   * if (KaiwaError.isInstance(error)) console.log(error.code);
   */
  static override isInstance(value: unknown): value is KaiwaError {
    return KaiwaBaseError.hasMarker(value, marker);
  }
}

/** Input broke a schema or a rule; `issues` names every bad field. */
export class ValidationError extends KaiwaError {
  readonly issues: FieldIssue[];

  constructor(issues: FieldIssue[], options?: { cause?: unknown }) {
    const first = issues[0];
    const where = first && first.path.length > 0 ? `${first.path.join('.')}: ` : '';
    super('validation_failed', `${where}${first?.message ?? 'invalid input'}`, options);
    this.name = 'ValidationError';
    this.issues = issues;
  }

  static field(path: string | (string | number)[], message: string): ValidationError {
    return new ValidationError([{ path: Array.isArray(path) ? path : [path], message }]);
  }
}

/** The entity does not exist, or the caller may not know that it exists. */
export class NotFoundError extends KaiwaError {
  readonly entity: string;
  readonly id: string;

  constructor(entity: string, id: string) {
    super('not_found', `${entity} ${id} not found`);
    this.name = 'NotFoundError';
    this.entity = entity;
    this.id = id;
  }
}

/** The caller is known but may not do this. */
export class ForbiddenError extends KaiwaError {
  readonly action: string;

  constructor(action: string, reason: string) {
    super('forbidden', `${action}: ${reason}`);
    this.name = 'ForbiddenError';
    this.action = action;
  }
}

/** The change clashes with existing state (a taken username, a duplicate membership). */
export class ConflictError extends KaiwaError {
  readonly field: string | undefined;

  constructor(message: string, field?: string, options?: { cause?: unknown }) {
    super('conflict', message, options);
    this.name = 'ConflictError';
    this.field = field;
  }
}

/**
 * The database cannot be reached right now (refused or lost connection, a server shutting down or
 * restarting, a killed session). Nothing of the failed call was committed, or, when the connection was
 * lost during the commit itself, it may have been: retrying the same call is safe where it is
 * idempotent (a send with the same `clientMessageId`). The server answers 503 with `Retry-After`.
 *
 * @example
 * try {
 *   await engine.sendMessage(userId, { roomId, text, clientMessageId });
 * } catch (error) {
 *   if (error instanceof DatabaseUnavailableError) setTimeout(retry, error.retryAfterMs);
 * }
 */
export class DatabaseUnavailableError extends KaiwaError {
  /**
   * Always true: the same call may succeed once the database is back.
   * @deprecated Read `isRetryable`, which every Kaiwa error carries.
   */
  readonly retryable = true;
  /** How long a caller should wait before the first retry. */
  readonly retryAfterMs: number;

  constructor(message: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super('database_unavailable', message, options);
    this.name = 'DatabaseUnavailableError';
    this.retryAfterMs = options?.retryAfterMs ?? 1000;
  }
}

/**
 * The database is reachable but held by another writer for longer than it waits (SQLite's
 * `database is locked`). Nothing was written; the same call may succeed in a moment.
 *
 * @example
 * if (error instanceof DatabaseBusyError) setTimeout(retry, error.retryAfterMs);
 */
export class DatabaseBusyError extends KaiwaError {
  /**
   * Always true: the lock is usually gone within a second.
   * @deprecated Read `isRetryable`, which every Kaiwa error carries.
   */
  readonly retryable = true;
  /** How long a caller should wait before the first retry. */
  readonly retryAfterMs: number;

  constructor(message: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super('busy', message, options);
    this.name = 'DatabaseBusyError';
    this.retryAfterMs = options?.retryAfterMs ?? 1000;
  }
}
