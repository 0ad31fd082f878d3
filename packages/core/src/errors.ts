const marker = Symbol.for('kaiwa.error');

/** A field that failed validation: its path (`['text']`, `['labels', 2]`) and why. */
export interface FieldIssue {
  path: (string | number)[];
  message: string;
}

export type KaiwaErrorCode = 'validation_failed' | 'not_found' | 'forbidden' | 'conflict' | 'internal';

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
