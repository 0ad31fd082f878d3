/**
 * An error the HTTP layer raises itself (authentication, rate limits, uploads), with the status and the
 * machine-readable code the error handler answers with. Domain errors come from core as KaiwaErrors.
 */
export class HttpError extends Error {
  readonly statusCode: number;
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;

  constructor(statusCode: number, code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'HttpError';
    this.statusCode = statusCode;
    this.code = code;
    this.details = details;
  }
}

/** No credentials, or credentials that are not valid (anymore). */
export function unauthorized(message = 'sign in first', code = 'unauthorized'): HttpError {
  return new HttpError(401, code, message);
}

/** The user must choose a new password before doing anything else. */
export function passwordChangeRequired(): HttpError {
  return new HttpError(
    403,
    'password_change_required',
    'choose a new password first: POST /api/v1/auth/change-password',
  );
}

/** The route is not for the caller's role. */
export function roleForbidden(action: string, roles: readonly string[]): HttpError {
  return new HttpError(403, 'forbidden', `${action}: only for ${roles.join(', ')}`);
}
