import { randomBytes } from 'node:crypto';
import { describe, expect } from 'vitest';
import { createId } from '../../ids.js';
import type { AccountStorage, ChatStorage } from '../../ports/chat-store.js';
import { conflictField, now, type RepositorySuite } from './support.js';

/** The tests of {@link accountRepositoryTests}, by the key `skipTests` takes. */
export type AccountRepositoryTest = 'accounts-passwords' | 'accounts-refresh-tokens' | 'accounts-api-keys';

/** Password hashes, refresh tokens (one by one, per family, per user) and API keys. */
export function accountRepositoryTests(
  suite: RepositorySuite<AccountRepositoryTest, ChatStorage & AccountStorage>,
): void {
  const { store, test, newUser } = suite;

  describe('accounts', () => {
    test('accounts-passwords', 'sets and replaces password hashes', async () => {
      const alice = await newUser();
      expect(await store.accounts.getPasswordHash(alice.id)).toBeUndefined();
      await store.accounts.setPasswordHash(alice.id, '$argon2id$v=19$first', now());
      await store.accounts.setPasswordHash(alice.id, '$argon2id$v=19$second', now());
      expect(await store.accounts.getPasswordHash(alice.id)).toBe('$argon2id$v=19$second');
    });

    test(
      'accounts-refresh-tokens',
      'keeps refresh tokens and revokes them one by one, per family and per user',
      async () => {
        const alice = await newUser();
        const familyId = createId();
        const token = (overrides: Partial<Parameters<typeof store.accounts.insertRefreshToken>[0]> = {}) => ({
          id: createId(),
          userId: alice.id,
          tokenHash: randomBytes(32).toString('hex'),
          familyId,
          createdAt: now(),
          expiresAt: '2027-01-01T00:00:00.000Z',
          revokedAt: null,
          ...overrides,
        });
        const first = token();
        const second = token();
        const elsewhere = token({ familyId: createId() });
        for (const entry of [first, second, elsewhere]) await store.accounts.insertRefreshToken(entry);
        expect(await store.accounts.findRefreshToken(first.tokenHash)).toEqual(first);
        expect(await store.accounts.findRefreshToken('f'.repeat(64))).toBeUndefined();
        expect(
          await conflictField(store.accounts.insertRefreshToken(token({ tokenHash: first.tokenHash }))),
        ).toBe('tokenHash');

        const at = now();
        expect(await store.accounts.revokeRefreshToken(first.id, at)).toBe(true);
        expect(await store.accounts.revokeRefreshToken(first.id, now())).toBe(false);
        expect(await store.accounts.revokeRefreshToken(createId(), now())).toBe(false);
        expect((await store.accounts.findRefreshToken(first.tokenHash))?.revokedAt).toBe(at);

        await store.accounts.revokeRefreshTokenFamily(familyId, now());
        expect((await store.accounts.findRefreshToken(second.tokenHash))?.revokedAt).not.toBeNull();
        expect((await store.accounts.findRefreshToken(first.tokenHash))?.revokedAt).toBe(at);
        expect((await store.accounts.findRefreshToken(elsewhere.tokenHash))?.revokedAt).toBeNull();
        const start = first.createdAt;
        // A family with a rotated (revoked) token and a live one is not ended.
        expect(await store.accounts.listRevokedSessions(start)).toEqual([familyId]);
        expect(await store.accounts.revokeRefreshTokensOfUser(alice.id, now())).toEqual([elsewhere.familyId]);
        expect(await store.accounts.revokeRefreshTokensOfUser(alice.id, now())).toEqual([]);
        expect((await store.accounts.findRefreshToken(elsewhere.tokenHash))?.revokedAt).not.toBeNull();
        expect((await store.accounts.listRevokedSessions(start)).sort()).toEqual(
          [familyId, elsewhere.familyId].sort(),
        );
        expect(await store.accounts.listRevokedSessions('2999-01-01T00:00:00.000Z')).toEqual([]);
      },
    );

    test('accounts-api-keys', 'keeps API keys, lists, touches and revokes them', async () => {
      const alice = await newUser();
      const key = (name: string) => ({
        id: createId(),
        userId: alice.id,
        name,
        keyHash: randomBytes(32).toString('hex'),
        createdAt: now(),
        lastUsedAt: null,
        revokedAt: null,
      });
      const ci = key('CI ボット');
      const laptop = key('laptop');
      await store.accounts.insertApiKey(ci);
      await store.accounts.insertApiKey(laptop);
      expect(await conflictField(store.accounts.insertApiKey({ ...key('copy'), keyHash: ci.keyHash }))).toBe(
        'keyHash',
      );
      expect(await store.accounts.findApiKey(ci.keyHash)).toEqual(ci);
      expect(await store.accounts.listApiKeys(alice.id)).toEqual([ci, laptop]);
      const usedAt = now();
      await store.accounts.touchApiKey(ci.id, usedAt);
      const revokedAt = now();
      await store.accounts.revokeApiKey(ci.id, revokedAt);
      await store.accounts.revokeApiKey(ci.id, '2030-01-01T00:00:00.000Z');
      expect(await store.accounts.findApiKey(ci.keyHash)).toEqual({ ...ci, lastUsedAt: usedAt, revokedAt });
    });
  });
}
