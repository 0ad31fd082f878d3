import type { User, UserRole } from '@kaiwa/core';
import type { FastifyRequest } from 'fastify';
import type { AccountService, CredentialKind } from '../auth/account-service.js';
import type { RateLimitVerdict, UserLimitedAction, UserRateLimiter } from '../limits/user-rate-limits.js';
import type { ApiInstance } from '../routes/route-context.js';
import type { AccessDeclaration } from '../security/route-access.js';
import { HttpError, passwordChangeRequired, roleForbidden, unauthorized } from './http-error.js';

/**
 * Who may call a route, set in its `config`:
 * - `auth`: `user` (the default under /api/v1) needs a valid credential; `optional` takes one if valid;
 *   `public` ignores credentials.
 * - `roles`: only these user roles.
 * - `duringPasswordChange`: still allowed while the user must change their password (change-password,
 *   logout, me); everything else then answers 403 `password_change_required`.
 * - `access`: what each kind of caller gets; not enforced here, but checked by the security suite and
 *   published in the OpenAPI document as `x-kaiwa-access` (security/route-access.ts).
 */
export interface RouteAccess {
  auth?: 'user' | 'optional' | 'public';
  roles?: readonly UserRole[];
  duringPasswordChange?: boolean;
  access?: AccessDeclaration;
  /**
   * Counts each call against the caller's per-user limit for this action (across sockets, REST and, on
   * Redis, instances); over it answers 429 `rate_limited` with `Retry-After`.
   */
  userRateLimit?: UserLimitedAction;
}

declare module 'fastify' {
  interface FastifyContextConfig extends RouteAccess {}
  interface FastifyRequest {
    /** The signed-in user, or null on public routes and anonymous calls. */
    user: User | null;
    /** How the user proved who they are. */
    credential: CredentialKind | null;
    /** The session of the caller's access token; null for API keys and anonymous calls. */
    sessionId: string | null;
  }
}

/** The bearer token or API key a request carries: `Authorization: Bearer …` or `X-Api-Key: …`. */
export function credentialOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match) return match[1];
  }
  const apiKey = request.headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey.trim().length > 0) return apiKey.trim();
  return undefined;
}

/** The signed-in user of a route that requires one. */
export function requireUser(request: FastifyRequest): User {
  if (!request.user) throw unauthorized();
  return request.user;
}

/**
 * Adds the authentication hook to `scope` (the /api/v1 plugin): it resolves the caller, then enforces the
 * route's {@link RouteAccess}. It runs on `onRequest`, before the body is read, so a caller who may not call
 * a route learns nothing from validation answers and cannot make the server parse a large body.
 */
export function installAuthentication(
  scope: ApiInstance,
  accounts: AccountService,
  userLimits?: UserRateLimiter,
): void {
  scope.decorateRequest('user', null);
  scope.decorateRequest('credential', null);
  scope.decorateRequest('sessionId', null);
  scope.addHook('onRequest', async (request, reply) => {
    const access: RouteAccess = request.routeOptions.config ?? {};
    const mode = access.auth ?? 'user';
    if (mode === 'public') return;
    const token = credentialOf(request);
    if (token) {
      const resolved = await accounts.resolveCredential(token);
      if (resolved) {
        request.user = resolved.user;
        request.credential = resolved.kind;
        request.sessionId = resolved.sessionId ?? null;
      } else if (mode === 'user') {
        reply.header('www-authenticate', 'Bearer error="invalid_token"');
        throw unauthorized('the access token or API key is invalid or expired', 'invalid_token');
      }
    }
    const user = request.user;
    if (!user) {
      if (mode === 'optional') return;
      reply.header('www-authenticate', 'Bearer');
      throw unauthorized();
    }
    if (user.forcePasswordChange && !access.duringPasswordChange) throw passwordChangeRequired();
    if (access.roles && !access.roles.includes(user.role)) {
      throw roleForbidden(`${request.method} ${request.routeOptions.url ?? request.url}`, access.roles);
    }
    if (access.userRateLimit && userLimits) {
      const verdict = await userLimits.consume(user.id, access.userRateLimit);
      if (!verdict.allowed) {
        reply.header('retry-after', String(Math.ceil(verdict.retryAfterMs / 1000)));
        throw tooManyForUser(verdict);
      }
    }
  });
}

/** Throws 403 unless the caller is an admin or the user `userId` themselves. */
export function requireSelfOrAdmin(user: User, userId: string, action: string): void {
  if (user.id !== userId && user.role !== 'admin') {
    throw new HttpError(403, 'forbidden', `${action}: only admins act for other users`);
  }
}

/** 429 for a user over a per-user limit, saying which and when to retry. */
function tooManyForUser(verdict: Extract<RateLimitVerdict, { allowed: false }>): HttpError {
  const { action, limit, retryAfterMs } = verdict;
  return new HttpError(
    429,
    'rate_limited',
    `too many ${action}: at most ${limit.points} per ${limit.durationSeconds} s; try again in ${Math.ceil(retryAfterMs / 1000)} s`,
    { action, retryAfterMs, limit: limit.points, windowSeconds: limit.durationSeconds },
  );
}
