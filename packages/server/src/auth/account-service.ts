import { createHash } from 'node:crypto';
import {
  type ApiKeyRecord,
  type ChatEngine,
  type ChatStore,
  ConflictError,
  createId,
  ForbiddenError,
  NotFoundError,
  type SessionRevocation,
  type User,
  UsernameSchema,
  type UserRole,
  ValidationError,
} from '@kaiwa/core';
import { HttpError, unauthorized } from '../http/http-error.js';
import {
  checkPasswordPolicy,
  generateOneTimePassword,
  hashPassword,
  verifyDecoyPassword,
  verifyPassword,
} from './passwords.js';
import type { SessionRevocations } from './session-revocations.js';
import {
  type AccessTokens,
  generateApiKey,
  generateRefreshToken,
  hashToken,
  looksLikeApiKey,
} from './tokens.js';

/** What a sign-in, a refresh or a password change hands the client. */
export interface Session {
  tokenType: 'Bearer';
  accessToken: string;
  /** Seconds until the access token expires. */
  expiresIn: number;
  accessTokenExpiresAt: string;
  refreshToken: string;
  refreshTokenExpiresAt: string;
  user: User;
}

/** How a request proved who it is. */
export type CredentialKind = 'access_token' | 'api_key';

/** Who a credential belongs to, and what ends it. */
export interface ResolvedCredential {
  user: User;
  kind: CredentialKind;
  /** Access tokens: the session they belong to. */
  sessionId?: string;
  /** Access tokens: when they expire. */
  expiresAt?: Date;
  /** API keys: the key's id. */
  apiKeyId?: string;
}

export interface AccountServiceOptions {
  engine: ChatEngine;
  /** Credentials (password hashes, refresh tokens, API keys) and the user rows sign-in reads. */
  store: Pick<ChatStore, 'users' | 'accounts'>;
  accessTokens: AccessTokens;
  /**
   * Sessions that ended, checked on every access token. Pass the same set to the engine's
   * `onSessionsRevoked`; the service keeps it fed from the bus and the store (`start`).
   */
  revocations: SessionRevocations;
  refreshTokenTtlSeconds: number;
  anonymousRole?: 'member' | 'guest';
  clock?: () => Date;
}

/** An API key's last use is written at most this often. */
const API_KEY_TOUCH_INTERVAL_MS = 60_000;

/**
 * Accounts on top of the chat engine: passwords (argon2id), access and refresh tokens with rotation and
 * reuse detection, bot API keys, the first admin, and nickname sign-in for local use. Secrets are only ever
 * stored hashed, through core's AccountRepository.
 */
export class AccountService {
  readonly #engine: ChatEngine;
  readonly #accessTokens: AccessTokens;
  readonly #refreshTokenTtlMs: number;
  readonly #anonymousRole: 'member' | 'guest';
  readonly #clock: () => Date;
  /** When each API key was last recorded as used, so a busy bot does not write on every request. */
  readonly #apiKeyTouches = new Map<string, number>();
  readonly #revocations: SessionRevocations;
  readonly #store: Pick<ChatStore, 'users' | 'accounts'>;
  readonly #onRevocation = (event: { payload: SessionRevocation }) => this.#revocations.apply(event.payload);

  constructor(options: AccountServiceOptions) {
    this.#engine = options.engine;
    this.#store = options.store;
    this.#accessTokens = options.accessTokens;
    this.#revocations = options.revocations;
    // Revocations made on other instances.
    this.#engine.events.on('user.sessions_revoked', this.#onRevocation);
    this.#refreshTokenTtlMs = options.refreshTokenTtlSeconds * 1000;
    this.#anonymousRole = options.anonymousRole ?? 'member';
    this.#clock = options.clock ?? (() => new Date());
  }

  /** Loads the sessions that ended within an access token's lifetime and keeps the set in step. */
  async start(): Promise<void> {
    await this.#revocations.start(this.#store.accounts);
  }

  stop(): void {
    this.#revocations.stop();
    this.#engine.events.off('user.sessions_revoked', this.#onRevocation);
  }

  // ---------------------------------------------------------------- first start

  /**
   * On a server without users: creates `admin` with a random one-time password that must be changed at the
   * first sign-in. Returns the password (to show once), or undefined when users exist already.
   */
  async bootstrapFirstAdmin(username = 'admin'): Promise<{ username: string; password: string } | undefined> {
    // "No admin yet", not "no users": bot users (the assistant, the bridge) may be made before this runs.
    if ((await this.#store.users.list({ role: 'admin', limit: 1 })).length > 0) return undefined;
    try {
      const { password } = await this.createAccount({
        username,
        displayName: 'Administrator',
        role: 'admin',
      });
      return { username, password: password! };
    } catch (error) {
      // Another instance starting on the same database made it first.
      if (error instanceof ConflictError) return undefined;
      throw error;
    }
  }

  // ---------------------------------------------------------------- accounts

  /**
   * Creates a user with a password: the given one (checked against the policy) or a generated one-time
   * password that must be changed at first sign-in. Bots get no password; they use API keys.
   */
  async createAccount(input: {
    username: string;
    displayName?: string | undefined;
    role: UserRole;
    password?: string | undefined;
  }): Promise<{ user: User; password: string | undefined }> {
    const username = input.username.trim().toLowerCase();
    const isBot = input.role === 'bot';
    if (isBot && input.password !== undefined) {
      throw ValidationError.field('password', 'bots sign in with API keys, not passwords');
    }
    if (input.password !== undefined) checkPasswordPolicy(input.password, username, 'password');
    const oneTime = !isBot && input.password === undefined;
    const password = isBot ? undefined : (input.password ?? generateOneTimePassword());
    const passwordHash = password === undefined ? undefined : await hashPassword(password);
    // The user and the password hash are written in one transaction.
    const user = await this.#engine.createUser(
      { username, displayName: input.displayName, role: input.role, forcePasswordChange: oneTime },
      passwordHash === undefined ? {} : { passwordHash },
    );
    return { user, password: oneTime ? password : undefined };
  }

  /**
   * Replaces a user's password with a one-time password, forces a change at next sign-in and signs the user
   * out everywhere. `actorId` is the admin doing it (absent from the command line).
   */
  async resetPassword(userId: string, actorId?: string): Promise<{ user: User; password: string }> {
    const target = await this.#engine.getUser(userId);
    if (target.role === 'bot')
      throw new ForbiddenError('reset password', 'bots have API keys, not passwords');
    if (actorId) {
      const actor = await this.#engine.getUser(actorId);
      if (actor.role !== 'admin') throw new ForbiddenError('reset password', 'only admins reset passwords');
    }
    const password = generateOneTimePassword();
    const user = await this.#engine.setPassword(target.id, await hashPassword(password), {
      forceChange: true,
    });
    return { user, password };
  }

  // ---------------------------------------------------------------- sessions

  /** @throws HttpError 401 `invalid_credentials` for an unknown user or a wrong password, alike. */
  async login(usernameInput: string, password: string): Promise<Session> {
    const user = await this.#store.users.findByUsername(usernameInput.trim().toLowerCase());
    const passwordHash = user ? await this.#store.accounts.getPasswordHash(user.id) : undefined;
    if (!user || !passwordHash) {
      await verifyDecoyPassword(password);
      throw invalidCredentials();
    }
    if (!(await verifyPassword(passwordHash, password))) throw invalidCredentials();
    // Said only to someone who knows the password.
    if (user.deactivatedAt) throw accountDeactivated();
    return this.#issueSession(user, createId());
  }

  /**
   * Trades a refresh token for a new pair. The old token is spent; presenting a spent token again means it
   * was stolen (or the client is confused), so its whole family is revoked and both holders must sign in.
   */
  async refresh(refreshToken: string): Promise<Session> {
    const record = await this.#store.accounts.findRefreshToken(hashToken(refreshToken));
    if (!record) throw unauthorized('unknown refresh token', 'invalid_refresh_token');
    const now = this.#now();
    if (record.revokedAt !== null) {
      await this.#endSessions(record.userId, record.familyId, now, 'refresh_token_reused');
      throw unauthorized(
        'this refresh token was already used; every session it belongs to is signed out',
        'refresh_token_reused',
      );
    }
    if (Date.parse(record.expiresAt) <= this.#clock().getTime()) {
      throw unauthorized('the refresh token expired; sign in again', 'invalid_refresh_token');
    }
    // Only one of two racing refreshes with the same token wins; the loser counts as reuse.
    if (!(await this.#store.accounts.revokeRefreshToken(record.id, now))) {
      await this.#endSessions(record.userId, record.familyId, now, 'refresh_token_reused');
      throw unauthorized('this refresh token was already used', 'refresh_token_reused');
    }
    const user = await this.#store.users.findById(record.userId);
    if (!user) throw unauthorized('the account is gone', 'invalid_refresh_token');
    if (user.deactivatedAt) throw accountDeactivated();
    return this.#issueSession(user, record.familyId);
  }

  /**
   * Signs out: ends the session the refresh token belongs to and the one the caller's access token
   * (`sessionId`) belongs to, or every session of `userId` with `allSessions`. The ended sessions' access
   * tokens fail from the next request and their sockets close, on every instance. Unknown tokens are
   * ignored, so logging out twice is fine.
   */
  async logout(options: {
    refreshToken?: string | undefined;
    userId?: string | undefined;
    sessionId?: string | undefined;
    allSessions?: boolean;
  }) {
    const now = this.#now();
    if (options.allSessions && options.userId) {
      const sessionIds = await this.#store.accounts.revokeRefreshTokensOfUser(options.userId, now);
      await this.#engine.announceSessionsRevoked({
        userId: options.userId,
        sessionIds: [...new Set([...sessionIds, ...(options.sessionId ? [options.sessionId] : [])])],
        apiKeyIds: [],
        allSessions: true,
        reason: 'logout',
        at: now,
      });
      return;
    }
    const ended = new Set<string>();
    let userId = options.userId;
    if (options.refreshToken) {
      const record = await this.#store.accounts.findRefreshToken(hashToken(options.refreshToken));
      if (record && (!options.userId || record.userId === options.userId)) {
        await this.#store.accounts.revokeRefreshTokenFamily(record.familyId, now);
        ended.add(record.familyId);
        userId = record.userId;
      }
    }
    if (options.sessionId && options.userId) {
      await this.#store.accounts.revokeRefreshTokenFamily(options.sessionId, now);
      ended.add(options.sessionId);
    }
    if (ended.size > 0 && userId) {
      await this.#engine.announceSessionsRevoked({
        userId,
        sessionIds: [...ended],
        apiKeyIds: [],
        allSessions: false,
        reason: 'logout',
        at: now,
      });
    }
  }

  /**
   * Changes the caller's password, clears a forced change, signs out every other session and returns a new
   * one for the caller.
   */
  async changePassword(user: User, currentPassword: string, newPassword: string): Promise<Session> {
    if (user.role === 'bot') throw new ForbiddenError('change password', 'bots have API keys, not passwords');
    const passwordHash = await this.#store.accounts.getPasswordHash(user.id);
    if (!passwordHash) throw new ForbiddenError('change password', 'this account has no password');
    if (!(await verifyPassword(passwordHash, currentPassword))) {
      throw new HttpError(403, 'invalid_credentials', 'the current password is wrong', {
        issues: [{ path: ['currentPassword'], message: 'is wrong' }],
      });
    }
    checkPasswordPolicy(newPassword, user.username);
    if (newPassword === currentPassword) {
      throw ValidationError.field('newPassword', 'must differ from the current password');
    }
    const updated = await this.#engine.setPassword(user.id, await hashPassword(newPassword), {
      forceChange: false,
    });
    return this.#issueSession(updated, createId());
  }

  /** Creates a member account with a chosen password and signs it in (self-service sign-up). */
  async signup(input: {
    username: string;
    password: string;
    displayName?: string | undefined;
  }): Promise<Session> {
    const { user } = await this.createAccount({ ...input, role: 'member' });
    return this.#issueSession(user, createId());
  }

  /**
   * Accounts off (local use): signs in under a nickname. The same nickname comes back to the same user;
   * a name that belongs to a real account (one with a password or API keys, or a staff role) is refused.
   */
  async signInAnonymously(nickname: string): Promise<Session> {
    const displayName = nickname.trim();
    const username = usernameForNickname(displayName);
    const existing = await this.#store.users.findByUsername(username);
    if (existing) {
      if (existing.deactivatedAt) throw accountDeactivated();
      const isAccount =
        (existing.role !== 'member' && existing.role !== 'guest') ||
        (await this.#store.accounts.getPasswordHash(existing.id)) !== undefined ||
        (await this.#store.accounts.listApiKeys(existing.id)).length > 0;
      if (isAccount) throw new ConflictError('this nickname belongs to an account; pick another', 'nickname');
      return this.#issueSession(existing, createId());
    }
    try {
      const user = await this.#engine.createUser({ username, displayName, role: this.#anonymousRole });
      return this.#issueSession(user, createId());
    } catch (error) {
      // Two tabs signed in with the same new nickname at once: take the user the other one made.
      const raced =
        error instanceof ConflictError ? await this.#store.users.findByUsername(username) : undefined;
      if (raced) return this.#issueSession(raced, createId());
      throw error;
    }
  }

  // ---------------------------------------------------------------- credentials

  /**
   * The user behind an access token or a bot API key, and which it was; undefined when neither is valid.
   * API keys only work for users who are still bots.
   */
  async resolveCredential(token: string): Promise<ResolvedCredential | undefined> {
    if (looksLikeApiKey(token)) {
      const key = await this.#store.accounts.findApiKey(hashToken(token));
      if (!key || key.revokedAt !== null) return undefined;
      const user = await this.#store.users.findById(key.userId);
      if (user?.role !== 'bot' || user.deactivatedAt) return undefined;
      await this.#touchApiKey(key);
      return { user, kind: 'api_key', apiKeyId: key.id };
    }
    const verified = await this.#accessTokens.verify(token);
    // The revocation set is in memory: no read beyond the user row every request needs anyway.
    if (!verified || this.#revocations.isRevoked(verified.sessionId)) return undefined;
    const user = await this.#store.users.findById(verified.userId);
    if (!user || user.deactivatedAt) return undefined;
    return {
      user,
      kind: 'access_token',
      sessionId: verified.sessionId,
      expiresAt: verified.expiresAt,
    };
  }

  /**
   * For the realtime module: who is behind an access token or API key, or undefined when the credential is
   * invalid or the user still has to change their password.
   */
  async authenticate(token: string): Promise<ResolvedCredential | undefined> {
    const resolved = await this.resolveCredential(token);
    if (!resolved || resolved.user.forcePasswordChange) return undefined;
    return resolved;
  }

  // ---------------------------------------------------------------- API keys

  /** Makes an API key for a bot; the key itself is returned only here. */
  async createApiKey(botId: string, name: string): Promise<{ apiKey: ApiKeyRecord; key: string }> {
    const bot = await this.#engine.getUser(botId);
    if (bot.role !== 'bot') throw new ForbiddenError('create API key', 'API keys are for bot accounts');
    const key = generateApiKey();
    const apiKey: ApiKeyRecord = {
      id: createId(),
      userId: bot.id,
      name,
      keyHash: hashToken(key),
      createdAt: this.#now(),
      lastUsedAt: null,
      revokedAt: null,
    };
    await this.#store.accounts.insertApiKey(apiKey);
    return { apiKey, key };
  }

  async listApiKeys(userId: string): Promise<ApiKeyRecord[]> {
    const user = await this.#engine.getUser(userId);
    return this.#store.accounts.listApiKeys(user.id);
  }

  /** @throws NotFoundError when the user has no such key. */
  async revokeApiKey(userId: string, apiKeyId: string): Promise<ApiKeyRecord> {
    const key = (await this.listApiKeys(userId)).find((candidate) => candidate.id === apiKeyId);
    if (!key) throw new NotFoundError('API key', apiKeyId);
    const at = this.#now();
    await this.#store.accounts.revokeApiKey(key.id, at);
    this.#apiKeyTouches.delete(key.id);
    await this.#engine.announceSessionsRevoked({
      userId: key.userId,
      sessionIds: [],
      apiKeyIds: [key.id],
      allSessions: false,
      reason: 'api_key_revoked',
      at,
    });
    return { ...key, revokedAt: key.revokedAt ?? at };
  }

  // ---------------------------------------------------------------- internals

  /** Revokes a refresh-token family (a session) and announces it. */
  async #endSessions(
    userId: string,
    familyId: string,
    at: string,
    reason: SessionRevocation['reason'],
  ): Promise<void> {
    await this.#store.accounts.revokeRefreshTokenFamily(familyId, at);
    await this.#engine.announceSessionsRevoked({
      userId,
      sessionIds: [familyId],
      apiKeyIds: [],
      allSessions: false,
      reason,
      at,
    });
  }

  async #issueSession(user: User, familyId: string): Promise<Session> {
    const now = this.#clock();
    const access = await this.#accessTokens.sign(user.id, familyId, now);
    const refreshToken = generateRefreshToken();
    const refreshTokenExpiresAt = new Date(now.getTime() + this.#refreshTokenTtlMs).toISOString();
    await this.#store.accounts.insertRefreshToken({
      id: createId(),
      userId: user.id,
      tokenHash: hashToken(refreshToken),
      familyId,
      createdAt: now.toISOString(),
      expiresAt: refreshTokenExpiresAt,
      revokedAt: null,
    });
    return {
      tokenType: 'Bearer',
      accessToken: access.token,
      expiresIn: this.#accessTokens.ttlSeconds,
      accessTokenExpiresAt: access.expiresAt.toISOString(),
      refreshToken,
      refreshTokenExpiresAt,
      user,
    };
  }

  async #touchApiKey(key: ApiKeyRecord): Promise<void> {
    const now = this.#clock().getTime();
    const last = this.#apiKeyTouches.get(key.id) ?? (key.lastUsedAt ? Date.parse(key.lastUsedAt) : 0);
    if (now - last < API_KEY_TOUCH_INTERVAL_MS) return;
    this.#apiKeyTouches.set(key.id, now);
    await this.#store.accounts.touchApiKey(key.id, new Date(now).toISOString());
  }

  #now(): string {
    return this.#clock().toISOString();
  }
}

function accountDeactivated(): HttpError {
  return new HttpError(403, 'account_deactivated', 'this account is deactivated; an admin can reactivate it');
}

function invalidCredentials(): HttpError {
  return new HttpError(401, 'invalid_credentials', 'wrong username or password');
}

/**
 * The username a nickname signs in as: the nickname folded to lower-case ASCII when that leaves a valid
 * username, otherwise `user-` and a short hash, so `山田` always maps to the same user.
 */
export function usernameForNickname(nickname: string): string {
  const folded = nickname
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .replace(/[-.]+$/, '')
    .slice(0, 32);
  if (UsernameSchema.safeParse(folded).success && folded.replace(/[^a-z0-9]/g, '').length >= 2) return folded;
  return `user-${createHash('sha256').update(nickname, 'utf8').digest('hex').slice(0, 10)}`;
}
