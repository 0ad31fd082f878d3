import { createHash, randomBytes } from 'node:crypto';
import { ULID_PATTERN } from '@kaiwa/core';
import { errors, jwtVerify, SignJWT } from 'jose';

const ISSUER = 'kaiwa';
const AUDIENCE = 'kaiwa-api';

/** Prefix of bot API keys, so they are told apart from access tokens (and found by secret scanners). */
export const API_KEY_PREFIX = 'kaiwa_bot_';
/** Prefix of refresh tokens. */
export const REFRESH_TOKEN_PREFIX = 'kaiwa_rt_';

/** SHA-256 hex of a token; refresh tokens and API keys are stored only this way. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A new refresh token: 256 random bits. */
export function generateRefreshToken(): string {
  return `${REFRESH_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** A new bot API key: 256 random bits. */
export function generateApiKey(): string {
  return `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export function looksLikeApiKey(token: string): boolean {
  return token.startsWith(API_KEY_PREFIX);
}

/** What a valid access token says. */
export interface VerifiedAccessToken {
  userId: string;
  /** The session (refresh-token family) it was issued for; revoking the session revokes the token. */
  sessionId: string;
  expiresAt: Date;
}

/**
 * Signs and checks access tokens: HS256 JWTs with `sub` = user id, `sid` = the session (refresh-token
 * family) they belong to, a short lifetime, and fixed issuer and audience so tokens made for something else
 * are refused. Tokens without `sid` (made before sessions were revocable) are refused too; clients refresh.
 *
 * @example
 * const tokens = new AccessTokens(secret, 900);
 * const { token } = await tokens.sign(user.id, sessionId);
 * const verified = await tokens.verify(token); // undefined when invalid or expired
 */
export class AccessTokens {
  readonly #secret: Uint8Array;
  readonly ttlSeconds: number;

  constructor(secret: Uint8Array, ttlSeconds: number) {
    this.#secret = secret;
    this.ttlSeconds = ttlSeconds;
  }

  async sign(
    userId: string,
    sessionId: string,
    now = new Date(),
  ): Promise<{ token: string; expiresAt: Date }> {
    const issuedAt = Math.floor(now.getTime() / 1000);
    const expiresAt = new Date((issuedAt + this.ttlSeconds) * 1000);
    const token = await new SignJWT({ sid: sessionId })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(userId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + this.ttlSeconds)
      .setJti(randomBytes(9).toString('base64url'))
      .sign(this.#secret);
    return { token, expiresAt };
  }

  /** What a valid, unexpired token says; undefined for anything else. */
  async verify(token: string): Promise<VerifiedAccessToken | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.#secret, {
        algorithms: ['HS256'],
        issuer: ISSUER,
        audience: AUDIENCE,
        requiredClaims: ['sub', 'exp', 'iat', 'sid'],
      });
      const { sub, sid, exp } = payload;
      if (typeof sub !== 'string' || !ULID_PATTERN.test(sub)) return undefined;
      if (typeof sid !== 'string' || !ULID_PATTERN.test(sid) || typeof exp !== 'number') return undefined;
      return { userId: sub, sessionId: sid, expiresAt: new Date(exp * 1000) };
    } catch (error) {
      if (error instanceof errors.JOSEError) return undefined;
      throw error;
    }
  }
}
