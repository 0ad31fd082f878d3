import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oneTimePasswordIn, startTestServer, TEST_PASSWORD, type TestServer } from '../test-support.js';

describe('accounts over HTTP', () => {
  let test: TestServer;
  beforeAll(async () => {
    test = await startTestServer();
  });
  afterAll(() => test.close());

  describe('first start', () => {
    let adminPassword: string;
    let adminToken: string;

    it('creates admin with a random one-time password, announced once', async () => {
      expect(test.announcements).toHaveLength(1);
      adminPassword = oneTimePasswordIn(test.announcements[0]!);
      expect(adminPassword).toMatch(/^[A-Za-z0-9]{20}$/);
      expect(test.server.firstAdmin).toEqual({ username: 'admin', password: adminPassword });
      const admin = await test.server.engine.getUserByUsername('admin');
      expect(admin).toMatchObject({ role: 'admin', forcePasswordChange: true });
    });

    it('does not create another admin on the next start against the same store', async () => {
      const again = await startTestServer({}, { store: test.server.store });
      try {
        expect(again.announcements).toEqual([]);
        expect(again.server.firstAdmin).toBeUndefined();
      } finally {
        await again.close();
      }
    });

    it('forces a password change: everything but change-password, logout and me answers 403', async () => {
      const login = await test.call('POST', '/api/v1/auth/login', {
        body: { username: 'admin', password: adminPassword },
      });
      expect(login.statusCode).toBe(200);
      adminToken = login.json().accessToken;
      expect(login.json().user.forcePasswordChange).toBe(true);

      for (const [method, url] of [
        ['GET', '/api/v1/rooms'],
        ['GET', '/api/v1/users'],
        ['POST', '/api/v1/rooms'],
        ['GET', '/api/v1/projects'],
      ] as const) {
        const denied = await test.call(method, url, {
          token: adminToken,
          body: method === 'POST' ? {} : undefined,
        });
        expect(denied.statusCode, `${method} ${url}`).toBe(403);
        expect(denied.json().error.code).toBe('password_change_required');
      }
      const me = await test.call('GET', '/api/v1/auth/me', { token: adminToken });
      expect(me.statusCode).toBe(200);
      expect(me.json().username).toBe('admin');
      // The realtime module gets no user for this token until the password is changed.
      expect(await test.server.accounts.authenticate(adminToken)).toBeUndefined();
    });

    it('refuses a new password that breaks the policy, naming the field', async () => {
      for (const newPassword of ['short', 'admin', 'nimda', 'aaaaaaaaaaaa']) {
        const response = await test.call('POST', '/api/v1/auth/change-password', {
          token: adminToken,
          body: { currentPassword: adminPassword, newPassword },
        });
        expect(response.statusCode, newPassword).toBe(400);
        expect(response.json().error.details.issues[0].path).toEqual(['newPassword']);
      }
      const wrongCurrent = await test.call('POST', '/api/v1/auth/change-password', {
        token: adminToken,
        body: { currentPassword: 'not the password', newPassword: 'a much better password' },
      });
      expect(wrongCurrent.statusCode).toBe(403);
    });

    it('works normally once the password is changed', async () => {
      const changed = await test.call('POST', '/api/v1/auth/change-password', {
        token: adminToken,
        body: { currentPassword: adminPassword, newPassword: 'a much better password' },
      });
      expect(changed.statusCode).toBe(200);
      expect(changed.json().user.forcePasswordChange).toBe(false);
      const token = changed.json().accessToken;
      const rooms = await test.call('GET', '/api/v1/rooms', { token });
      expect(rooms.statusCode).toBe(200);
      expect(rooms.json()).toEqual({ rooms: [] });
      const oldPassword = await test.call('POST', '/api/v1/auth/login', {
        body: { username: 'admin', password: adminPassword },
      });
      expect(oldPassword.statusCode).toBe(401);
      expect(oldPassword.json().error.code).toBe('invalid_credentials');
    });
  });

  describe('sessions', () => {
    it('rotates refresh tokens and revokes the whole family when a spent one comes back', async () => {
      const { session } = await test.signedIn('member');
      const first = await test.call('POST', '/api/v1/auth/refresh', {
        body: { refreshToken: session.refreshToken },
      });
      expect(first.statusCode).toBe(200);
      const rotated = first.json();
      expect(rotated.refreshToken).not.toBe(session.refreshToken);
      expect(rotated.user.id).toBe(session.user.id);

      const reused = await test.call('POST', '/api/v1/auth/refresh', {
        body: { refreshToken: session.refreshToken },
      });
      expect(reused.statusCode).toBe(401);
      expect(reused.json().error.code).toBe('refresh_token_reused');
      // The thief's reuse also ends the legitimate holder's newer token.
      const afterReuse = await test.call('POST', '/api/v1/auth/refresh', {
        body: { refreshToken: rotated.refreshToken },
      });
      expect(afterReuse.statusCode).toBe(401);
      expect(afterReuse.json().error.code).toBe('refresh_token_reused');
    });

    it('refuses unknown refresh tokens and invalid access tokens', async () => {
      const unknown = await test.call('POST', '/api/v1/auth/refresh', {
        body: { refreshToken: 'kaiwa_rt_nope' },
      });
      expect(unknown.statusCode).toBe(401);
      expect(unknown.json().error.code).toBe('invalid_refresh_token');
      const { token } = await test.signedIn('member');
      const tampered = `${token.slice(0, -2)}xx`;
      const response = await test.call('GET', '/api/v1/rooms', { token: tampered });
      expect(response.statusCode).toBe(401);
      expect(response.json().error.code).toBe('invalid_token');
      expect(response.headers['www-authenticate']).toContain('invalid_token');
      const none = await test.call('GET', '/api/v1/rooms');
      expect(none.statusCode).toBe(401);
      expect(none.json().error.code).toBe('unauthorized');
    });

    it('logs out one session, or all of them', async () => {
      const { user, session, token } = await test.signedIn('member');
      const second = await test.server.accounts.login(user.username, TEST_PASSWORD);
      const logout = await test.call('POST', '/api/v1/auth/logout', {
        body: { refreshToken: session.refreshToken },
      });
      expect(logout.statusCode).toBe(204);
      expect(logout.body).toBe('');
      expect(
        (await test.call('POST', '/api/v1/auth/refresh', { body: { refreshToken: session.refreshToken } }))
          .statusCode,
      ).toBe(401);
      // The other session lives on until signing out everywhere.
      const other = await test.call('POST', '/api/v1/auth/refresh', {
        body: { refreshToken: second.refreshToken },
      });
      expect(other.statusCode).toBe(200);
      // The signed-out session's access token fails at once, not when it expires.
      expect((await test.call('GET', '/api/v1/auth/me', { token })).statusCode).toBe(401);
      const otherToken = other.json().accessToken as string;
      expect((await test.call('GET', '/api/v1/auth/me', { token: otherToken })).statusCode).toBe(200);
      // An access token alone signs out its own session.
      const third = await test.server.accounts.login(user.username, TEST_PASSWORD);
      expect((await test.call('POST', '/api/v1/auth/logout', { token: third.accessToken })).statusCode).toBe(
        204,
      );
      expect((await test.call('GET', '/api/v1/auth/me', { token: third.accessToken })).statusCode).toBe(401);
      expect((await test.call('GET', '/api/v1/auth/me', { token: otherToken })).statusCode).toBe(200);
      const everywhere = await test.call('POST', '/api/v1/auth/logout', {
        token: otherToken,
        body: { allSessions: true },
      });
      expect(everywhere.statusCode).toBe(204);
      expect((await test.call('GET', '/api/v1/auth/me', { token: otherToken })).statusCode).toBe(401);
      expect(
        (
          await test.call('POST', '/api/v1/auth/refresh', {
            body: { refreshToken: other.json().refreshToken },
          })
        ).statusCode,
      ).toBe(401);
    });

    it('revokes every refresh token when the password changes', async () => {
      const { user, session, token } = await test.signedIn('member');
      const other = await test.server.accounts.login(user.username, TEST_PASSWORD);
      const changed = await test.call('POST', '/api/v1/auth/change-password', {
        token,
        body: { currentPassword: TEST_PASSWORD, newPassword: 'another fine password' },
      });
      expect(changed.statusCode).toBe(200);
      for (const refreshToken of [session.refreshToken, other.refreshToken]) {
        expect((await test.call('POST', '/api/v1/auth/refresh', { body: { refreshToken } })).statusCode).toBe(
          401,
        );
      }
      const fresh = await test.call('POST', '/api/v1/auth/refresh', {
        body: { refreshToken: changed.json().refreshToken },
      });
      expect(fresh.statusCode).toBe(200);
    });

    it('answers the same 401 for an unknown user and a wrong password', async () => {
      const unknown = await test.call('POST', '/api/v1/auth/login', {
        body: { username: 'nobody-here', password: TEST_PASSWORD },
      });
      const { user } = await test.signedIn('member');
      const wrong = await test.call('POST', '/api/v1/auth/login', {
        body: { username: user.username, password: 'wrong password!' },
      });
      expect(unknown.statusCode).toBe(401);
      expect(wrong.statusCode).toBe(401);
      expect(unknown.json()).toEqual(wrong.json());
    });
  });

  describe('bots and API keys', () => {
    it('lets an admin create a bot and a key shown once; the bot calls with Bearer or X-Api-Key', async () => {
      const { token: adminToken } = await test.signedIn('admin');
      const created = await test.call('POST', '/api/v1/users', {
        token: adminToken,
        body: { username: 'helper-bot', displayName: 'Helper', role: 'bot' },
      });
      expect(created.statusCode).toBe(201);
      expect(created.json().oneTimePassword).toBeUndefined();
      const bot = created.json().user;

      const keyResponse = await test.call('POST', `/api/v1/users/${bot.id}/api-keys`, {
        token: adminToken,
        body: { name: 'ci' },
      });
      expect(keyResponse.statusCode).toBe(201);
      const { key, apiKey } = keyResponse.json();
      expect(key).toMatch(/^kaiwa_bot_/);
      expect(apiKey).not.toHaveProperty('keyHash');

      const viaBearer = await test.call('GET', '/api/v1/auth/me', { token: key });
      expect(viaBearer.statusCode).toBe(200);
      expect(viaBearer.json().id).toBe(bot.id);
      const viaHeader = await test.call('POST', '/api/v1/rooms', {
        headers: { 'x-api-key': key },
        body: { kind: 'channel', name: 'bot-room' },
      });
      expect(viaHeader.statusCode).toBe(201);
      expect(await test.server.accounts.authenticate(key)).toMatchObject({
        user: { id: bot.id },
        kind: 'api_key',
      });

      const listed = await test.call('GET', `/api/v1/users/${bot.id}/api-keys`, { token: adminToken });
      expect(listed.json().apiKeys).toHaveLength(1);
      expect(JSON.stringify(listed.json())).not.toContain(key);

      const revoked = await test.call('DELETE', `/api/v1/users/${bot.id}/api-keys/${apiKey.id}`, {
        token: adminToken,
      });
      expect(revoked.statusCode).toBe(204);
      expect((await test.call('GET', '/api/v1/auth/me', { token: key })).statusCode).toBe(401);
    });

    it('keeps bots away from passwords and keys away from people', async () => {
      const { token: adminToken } = await test.signedIn('admin');
      const { user: member } = await test.signedIn('member');
      const forPerson = await test.call('POST', `/api/v1/users/${member.id}/api-keys`, {
        token: adminToken,
        body: { name: 'nope' },
      });
      expect(forPerson.statusCode).toBe(403);
      const botWithPassword = await test.call('POST', '/api/v1/users', {
        token: adminToken,
        body: { username: 'bad-bot', role: 'bot', password: TEST_PASSWORD },
      });
      expect(botWithPassword.statusCode).toBe(400);
      expect(botWithPassword.json().error.details.issues[0].path).toEqual(['password']);
      expect(await test.server.store.users.findByUsername('bad-bot')).toBeUndefined();
    });
  });

  describe('roles', () => {
    it('keeps user management for admins: guests and members get 403 and nothing is written', async () => {
      const { token: guestToken } = await test.signedIn('guest');
      const { token: memberToken, user: member } = await test.signedIn('member');
      const { token: moderatorToken } = await test.signedIn('moderator');
      for (const token of [guestToken, memberToken, moderatorToken]) {
        const create = await test.call('POST', '/api/v1/users', {
          token,
          body: { username: 'sneaky', role: 'admin' },
        });
        expect(create.statusCode).toBe(403);
        expect(create.json().error.code).toBe('forbidden');
        const reset = await test.call('POST', `/api/v1/users/${member.id}/reset-password`, { token });
        expect(reset.statusCode).toBe(403);
      }
      expect(await test.server.store.users.findByUsername('sneaky')).toBeUndefined();
      const guestList = await test.call('GET', '/api/v1/users', { token: guestToken });
      expect(guestList.statusCode).toBe(403);
      const promote = await test.call('PATCH', `/api/v1/users/${member.id}`, {
        token: memberToken,
        body: { role: 'admin' },
      });
      expect(promote.statusCode).toBe(403);
      expect((await test.server.engine.getUser(member.id)).role).toBe('member');
    });

    it('lets an admin create people with one-time passwords and reset them', async () => {
      const { token: adminToken } = await test.signedIn('admin');
      const created = await test.call('POST', '/api/v1/users', {
        token: adminToken,
        body: { username: 'newcomer', displayName: '新人' },
      });
      expect(created.statusCode).toBe(201);
      const { user, oneTimePassword } = created.json();
      expect(user).toMatchObject({ role: 'member', forcePasswordChange: true, displayName: '新人' });
      const login = await test.call('POST', '/api/v1/auth/login', {
        body: { username: 'newcomer', password: oneTimePassword },
      });
      expect(login.statusCode).toBe(200);
      const reset = await test.call('POST', `/api/v1/users/${user.id}/reset-password`, { token: adminToken });
      expect(reset.statusCode).toBe(200);
      expect(reset.json().oneTimePassword).not.toBe(oneTimePassword);
      expect(
        (
          await test.call('POST', '/api/v1/auth/refresh', {
            body: { refreshToken: login.json().refreshToken },
          })
        ).statusCode,
      ).toBe(401);
    });

    it('lets members change their own display name but not clear a forced password change', async () => {
      const { token, user } = await test.signedIn('member');
      const renamed = await test.call('PATCH', `/api/v1/users/${user.id}`, {
        token,
        body: { displayName: 'Renamed' },
      });
      expect(renamed.statusCode).toBe(200);
      expect(renamed.json().displayName).toBe('Renamed');
      const sneaky = await test.call('PATCH', `/api/v1/users/${user.id}`, {
        token,
        body: { forcePasswordChange: false },
      });
      expect(sneaky.statusCode).toBe(403);
    });
  });
});

describe('sign-up', () => {
  it('is off by default and, when on, creates a member and signs in', async () => {
    const closed = await startTestServer();
    const open = await startTestServer({ allowSignup: true });
    try {
      const body = { username: 'joiner', password: TEST_PASSWORD };
      expect((await closed.call('POST', '/api/v1/auth/signup', { body })).statusCode).toBe(404);
      const signup = await open.call('POST', '/api/v1/auth/signup', { body });
      expect(signup.statusCode).toBe(201);
      expect(signup.json().user).toMatchObject({
        username: 'joiner',
        role: 'member',
        forcePasswordChange: false,
      });
      const taken = await open.call('POST', '/api/v1/auth/signup', { body });
      expect(taken.statusCode).toBe(409);
      expect(taken.json().error.details.field).toBe('username');
      const weak = await open.call('POST', '/api/v1/auth/signup', {
        body: { username: 'weakling', password: 'weakling' },
      });
      expect(weak.statusCode).toBe(400);
      expect(weak.json().error.details.issues[0].path).toEqual(['password']);
      expect(await open.server.store.users.findByUsername('weakling')).toBeUndefined();
    } finally {
      await closed.close();
      await open.close();
    }
  });
});

describe('accounts off (local use)', () => {
  let test: TestServer;
  beforeAll(async () => {
    test = await startTestServer({ accountsEnabled: false });
  });
  afterAll(() => test.close());

  it('creates no admin and offers nickname sign-in instead of passwords', async () => {
    expect(test.announcements).toEqual([]);
    expect((await test.call('GET', '/api/v1/server')).json()).toMatchObject({ accountsEnabled: false });
    expect(
      (await test.call('POST', '/api/v1/auth/login', { body: { username: 'a', password: 'b' } })).statusCode,
    ).toBe(404);
    const taro = await test.call('POST', '/api/v1/auth/anonymous', { body: { nickname: '山田太郎' } });
    expect(taro.statusCode).toBe(200);
    expect(taro.json().user).toMatchObject({ displayName: '山田太郎', role: 'member' });
    const again = await test.call('POST', '/api/v1/auth/anonymous', { body: { nickname: '山田太郎' } });
    expect(again.json().user.id).toBe(taro.json().user.id);
    const alice = await test.call('POST', '/api/v1/auth/anonymous', { body: { nickname: 'Alice' } });
    expect(alice.json().user.username).toBe('alice');
    const rooms = await test.call('POST', '/api/v1/rooms', {
      token: alice.json().accessToken,
      body: { kind: 'channel', name: 'local' },
    });
    expect(rooms.statusCode).toBe(201);
    const refreshed = await test.call('POST', '/api/v1/auth/refresh', {
      body: { refreshToken: alice.json().refreshToken },
    });
    expect(refreshed.statusCode).toBe(200);
  });

  it('never hands out a nickname that belongs to a real account', async () => {
    await test.server.accounts.createAccount({ username: 'boss', role: 'admin', password: TEST_PASSWORD });
    const response = await test.call('POST', '/api/v1/auth/anonymous', { body: { nickname: 'Boss' } });
    expect(response.statusCode).toBe(409);
  });
});
