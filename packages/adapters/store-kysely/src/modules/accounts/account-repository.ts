import type { AccountRepository, ApiKeyRecord, RefreshTokenRecord } from '@kaiwa/core';
import type { Selectable } from 'kysely';
import type { ApiKeysTable, RefreshTokensTable } from '../../database.js';
import { asConflictError } from '../../unique-violations.js';
import type { RepositoryContext } from '../repository-context.js';

function toRefreshToken(row: Selectable<RefreshTokensTable>): RefreshTokenRecord {
  return {
    id: row.id,
    userId: row.user_id,
    tokenHash: row.token_hash,
    familyId: row.family_id,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
  };
}

function toApiKey(row: Selectable<ApiKeysTable>): ApiKeyRecord {
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    keyHash: row.key_hash,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}

export class KyselyAccountRepository implements AccountRepository {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  async setPasswordHash(userId: string, passwordHash: string, updatedAt: string): Promise<void> {
    const { db, adapter } = this.#context;
    await adapter.upsert(db, {
      table: 'user_passwords',
      row: { user_id: userId, password_hash: passwordHash, updated_at: updatedAt },
      key: ['user_id'],
      change: { password_hash: passwordHash, updated_at: updatedAt },
    });
  }

  async getPasswordHash(userId: string): Promise<string | undefined> {
    const row = await this.#context.db
      .selectFrom('user_passwords')
      .select('password_hash')
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return row?.password_hash;
  }

  async insertRefreshToken(token: RefreshTokenRecord): Promise<void> {
    try {
      await this.#context.db
        .insertInto('refresh_tokens')
        .values({
          id: token.id,
          user_id: token.userId,
          token_hash: token.tokenHash,
          family_id: token.familyId,
          created_at: token.createdAt,
          expires_at: token.expiresAt,
          revoked_at: token.revokedAt,
        })
        .execute();
    } catch (error) {
      throw asConflictError(error, 'refresh_tokens');
    }
  }

  async findRefreshToken(tokenHash: string): Promise<RefreshTokenRecord | undefined> {
    const row = await this.#context.db
      .selectFrom('refresh_tokens')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst();
    return row && toRefreshToken(row);
  }

  async revokeRefreshToken(id: string, at: string): Promise<boolean> {
    // Only a live token changes, so the row count says whether this call revoked it (also under
    // mysql2's FOUND_ROWS, which counts matched rather than changed rows).
    const result = await this.#context.db
      .updateTable('refresh_tokens')
      .set({ revoked_at: at })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async revokeRefreshTokenFamily(familyId: string, at: string): Promise<void> {
    await this.#context.db
      .updateTable('refresh_tokens')
      .set({ revoked_at: at })
      .where('family_id', '=', familyId)
      .where('revoked_at', 'is', null)
      .execute();
  }

  async revokeRefreshTokensOfUser(userId: string, at: string): Promise<string[]> {
    const { db } = this.#context;
    const live = await db
      .selectFrom('refresh_tokens')
      .select('family_id')
      .distinct()
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .execute();
    await db
      .updateTable('refresh_tokens')
      .set({ revoked_at: at })
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .execute();
    return live.map((row) => row.family_id);
  }

  async listRevokedSessions(since: string): Promise<string[]> {
    // A family is ended when none of its tokens is live; rotation alone leaves the newest one live.
    const rows = await this.#context.db
      .selectFrom('refresh_tokens as revoked')
      .select('revoked.family_id')
      .distinct()
      .where('revoked.revoked_at', '>=', since)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('refresh_tokens as live')
              .select('live.id')
              .whereRef('live.family_id', '=', 'revoked.family_id')
              .where('live.revoked_at', 'is', null),
          ),
        ),
      )
      .execute();
    return rows.map((row) => row.family_id);
  }

  async insertApiKey(key: ApiKeyRecord): Promise<void> {
    try {
      await this.#context.db
        .insertInto('api_keys')
        .values({
          id: key.id,
          user_id: key.userId,
          name: key.name,
          key_hash: key.keyHash,
          created_at: key.createdAt,
          last_used_at: key.lastUsedAt,
          revoked_at: key.revokedAt,
        })
        .execute();
    } catch (error) {
      throw asConflictError(error, 'api_keys');
    }
  }

  async findApiKey(keyHash: string): Promise<ApiKeyRecord | undefined> {
    const row = await this.#context.db
      .selectFrom('api_keys')
      .selectAll()
      .where('key_hash', '=', keyHash)
      .executeTakeFirst();
    return row && toApiKey(row);
  }

  async listApiKeys(userId: string): Promise<ApiKeyRecord[]> {
    const rows = await this.#context.db
      .selectFrom('api_keys')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('id')
      .execute();
    return rows.map(toApiKey);
  }

  async touchApiKey(id: string, at: string): Promise<void> {
    await this.#context.db.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', id).execute();
  }

  async revokeApiKey(id: string, at: string): Promise<void> {
    // The first revocation time stands.
    await this.#context.db
      .updateTable('api_keys')
      .set({ revoked_at: at })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .execute();
  }
}
