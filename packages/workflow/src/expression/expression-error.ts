import { type FieldIssue, ValidationError } from '@kaiwa/core';

/** Why an expression was refused or failed; `ExpressionError.reason` holds one of these. */
export type ExpressionErrorCode =
  | 'syntax'
  | 'unknown_identifier'
  | 'type_mismatch'
  | 'budget_exceeded'
  | 'bad_regex'
  | 'too_long';

/**
 * An expression that does not parse, or fails while it is evaluated. It is a ValidationError (so the server
 * answers 400 and `code` stays `validation_failed`); `reason` says what went wrong and `position` is the
 * offset in the source where it did, when known.
 *
 * @example
 * try { evaluateExpression('a +', {}); } catch (error) {
 *   if (error instanceof ExpressionError && error.reason === 'syntax') console.log(error.position);
 * }
 */
export class ExpressionError extends ValidationError {
  readonly reason: ExpressionErrorCode;
  readonly position: number | undefined;

  constructor(
    reason: ExpressionErrorCode,
    message: string,
    options: { position?: number; path?: (string | number)[]; cause?: unknown } = {},
  ) {
    const where = options.position === undefined ? '' : ` (at ${options.position})`;
    const issue: FieldIssue = { path: options.path ?? ['expression'], message: `${message}${where}` };
    super([issue], { cause: options.cause });
    this.name = 'ExpressionError';
    this.reason = reason;
    this.position = options.position;
  }

  /** True for an ExpressionError, optionally of the given reason. */
  static is(error: unknown, reason?: ExpressionErrorCode): error is ExpressionError {
    return error instanceof ExpressionError && (reason === undefined || error.reason === reason);
  }
}
