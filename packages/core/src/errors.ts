const marker = Symbol.for('kaiwa.error');

/** A field that failed validation: its path (`['text']`, `['labels', 2]`) and why. */
export interface FieldIssue {
  path: (string | number)[];
  message: string;
}

export type KaiwaErrorCode =
  | 'validation_failed'
  | 'not_found'
  | 'forbidden'
  | 'conflict'
  | 'database_unavailable'
  | 'busy'
  | 'internal';

/**
 * Base of every error Kaiwa throws on purpose. Callers branch on `code` (or `instanceof`);
 * only the server turns these into HTTP answers.
 */
export class KaiwaError extends Error {
  readonly [marker] = true;
  readonly code: KaiwaErrorCode;

  constructor(code: KaiwaErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KaiwaError';
    this.code = code;
  }

  /** True for any Kaiwa error, also one thrown by another copy of this package. */
  static isInstance(error: unknown): error is KaiwaError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[marker] === true;
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
  /** Always true: the same call may succeed once the database is back. */
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
  /** Always true: the lock is usually gone within a second. */
  readonly retryable = true;
  /** How long a caller should wait before the first retry. */
  readonly retryAfterMs: number;

  constructor(message: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super('busy', message, options);
    this.name = 'DatabaseBusyError';
    this.retryAfterMs = options?.retryAfterMs ?? 1000;
  }
}
