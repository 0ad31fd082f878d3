/*
 * Credentials and sessions, kept apart from users so that a user row never carries a secret. Only hashes are
 * stored: argon2id/scrypt hashes of passwords, SHA-256 hashes of refresh tokens and API keys (they are long
 * random strings, so a fast hash is enough and allows lookup by hash).
 */

export interface RefreshTokenRecord {
  id: string;
  userId: string;
  /** SHA-256 hex of the token the client holds. */
  tokenHash: string;
  /** Tokens rotated from one sign-in share a family; reuse of a rotated token revokes the family. */
  familyId: string;
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
}

export interface ApiKeyRecord {
  id: string;
  userId: string;
  name: string;
  /** SHA-256 hex of the key. */
  keyHash: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface AccountRepository {
  /** Sets or replaces the user's password hash. */
  setPasswordHash(userId: string, passwordHash: string, updatedAt: string): Promise<void>;
  getPasswordHash(userId: string): Promise<string | undefined>;

  insertRefreshToken(token: RefreshTokenRecord): Promise<void>;
  findRefreshToken(tokenHash: string): Promise<RefreshTokenRecord | undefined>;
  /** Revokes one token; returns false when it was already revoked or does not exist. */
  revokeRefreshToken(id: string, at: string): Promise<boolean>;
  revokeRefreshTokenFamily(familyId: string, at: string): Promise<void>;
  /**
   * Signs the user out everywhere (logout of all sessions, password change).
   * @returns the families (sessions) that were live and are now revoked.
   */
  revokeRefreshTokensOfUser(userId: string, at: string): Promise<string[]>;
  /**
   * Families (sessions) ended at or after `since`: one of their tokens was revoked then and none is live.
   * The server rebuilds its in-memory set of revoked sessions from this at start.
   */
  listRevokedSessions(since: string): Promise<string[]>;

  insertApiKey(key: ApiKeyRecord): Promise<void>;
  findApiKey(keyHash: string): Promise<ApiKeyRecord | undefined>;
  listApiKeys(userId: string): Promise<ApiKeyRecord[]>;
  touchApiKey(id: string, at: string): Promise<void>;
  revokeApiKey(id: string, at: string): Promise<void>;
}
