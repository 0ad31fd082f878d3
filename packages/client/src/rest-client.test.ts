import type { Session } from '@kaiwa/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { KaiwaApiError, KaiwaRestClient } from './rest-client.js';

/** A storage whose items the tests can look at. */
class MemoryStorage {
  readonly items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
}

function session(token: string, accessTtlMs = 600_000): Session {
  const now = Date.now();
  return {
    tokenType: 'Bearer',
    accessToken: `access-${token}`,
    expiresIn: accessTtlMs / 1000,
    accessTokenExpiresAt: new Date(now + accessTtlMs).toISOString(),
    refreshToken: `refresh-${token}`,
    refreshTokenExpiresAt: new Date(now + 86_400_000).toISOString(),
    user: {
      id: '01JAAAAAAAAAAAAAAAAAAAAAME',
      username: 'me',
      displayName: 'Me',
      role: 'member',
      forcePasswordChange: false,
      createdAt: new Date(now).toISOString(),
      updatedAt: new Date(now).toISOString(),
    },
  };
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

interface Call {
  url: string;
  method: string;
  authorization: string | undefined;
  body: unknown;
}

/** A fake server: `respond` answers each call, and every call is recorded. */
function fakeFetch(respond: (call: Call) => Response | Promise<Response>): Call[] {
  const calls: Call[] = [];
  vi.stubGlobal('fetch', async (url: string, init: RequestInit = {}) => {
    const headers = (init.headers ?? {}) as Record<string, string>;
    const call: Call = {
      url,
      method: init.method ?? 'GET',
      authorization: headers.authorization,
      body: typeof init.body === 'string' ? JSON.parse(init.body) : undefined,
    };
    calls.push(call);
    return respond(call);
  });
  return calls;
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('KaiwaRestClient', () => {
  it('sends the access token and keeps the session in storage', async () => {
    const storage = new MemoryStorage();
    const calls = fakeFetch(() => json(200, { ok: true }));
    const api = new KaiwaRestClient({ storage });
    api.setSession(session('a'));
    expect(await api.request('GET', '/rooms')).toEqual({ ok: true });
    expect(calls[0]).toMatchObject({ url: '/api/v1/rooms', authorization: 'Bearer access-a' });
    expect(new KaiwaRestClient({ storage }).session?.refreshToken).toBe('refresh-a');
  });

  it('refreshes once for many refused requests, then tries each again', async () => {
    const calls = fakeFetch((call) => {
      if (call.url.endsWith('/auth/refresh')) return json(200, session('b'));
      if (call.authorization === 'Bearer access-a') {
        return json(401, { error: { code: 'invalid_token', message: 'expired' } });
      }
      return json(200, { ok: true });
    });
    const api = new KaiwaRestClient({ storage: new MemoryStorage() });
    api.setSession(session('a'));
    const results = await Promise.all([api.request('GET', '/rooms'), api.request('GET', '/users')]);
    expect(results).toEqual([{ ok: true }, { ok: true }]);
    const refreshes = calls.filter((call) => call.url.endsWith('/auth/refresh'));
    expect(refreshes).toHaveLength(1);
    expect(refreshes[0]?.body).toEqual({ refreshToken: 'refresh-a' });
    expect(api.session?.accessToken).toBe('access-b');
  });

  it('lets a refresh during a password change wait for the new session, not spend the revoked token', async () => {
    let answer: (response: Response) => void = () => {};
    const calls = fakeFetch((call) => {
      if (call.url.endsWith('/auth/change-password'))
        return new Promise<Response>((resolve) => (answer = resolve));
      return json(401, { error: { code: 'refresh_token_reused', message: 'revoked' } });
    });
    const api = new KaiwaRestClient({ storage: new MemoryStorage() });
    api.setSession(session('a'));
    const changed = api.changePassword('old password', 'new password 2026');
    await Promise.resolve();
    // The server ended the old session: the socket asks for a refresh before the answer arrives.
    const refreshed = api.refresh();
    answer(json(200, session('b')));
    expect((await refreshed).accessToken).toBe('access-b');
    expect((await changed).accessToken).toBe('access-b');
    expect(api.session?.refreshToken).toBe('refresh-b');
    expect(calls.some((call) => call.url.endsWith('/auth/refresh'))).toBe(false);
  });

  it('refreshes ahead of time when the access token is about to run out', async () => {
    const calls = fakeFetch((call) =>
      call.url.endsWith('/auth/refresh') ? json(200, session('b')) : json(200, { ok: true }),
    );
    const api = new KaiwaRestClient({ storage: new MemoryStorage() });
    api.setSession(session('a', 5_000));
    await api.request('GET', '/rooms');
    expect(calls.map((call) => call.url)).toEqual(['/api/v1/auth/refresh', '/api/v1/rooms']);
    expect(calls[1]?.authorization).toBe('Bearer access-b');
  });

  it('ends the session when the refresh token is refused', async () => {
    fakeFetch(() => json(401, { error: { code: 'refresh_token_reused', message: 'reused' } }));
    const storage = new MemoryStorage();
    const api = new KaiwaRestClient({ storage });
    api.setSession(session('a', 1_000));
    const reasons: (string | undefined)[] = [];
    api.onSession((next, reason) => reasons.push(next ? 'session' : reason));
    await expect(api.request('GET', '/rooms')).rejects.toBeInstanceOf(KaiwaApiError);
    expect(api.session).toBeNull();
    expect(reasons).toEqual(['expired']);
    expect(storage.items.size).toBe(0);
  });

  it('notices that the password must be changed', async () => {
    fakeFetch(() => json(403, { error: { code: 'password_change_required', message: 'change it' } }));
    const api = new KaiwaRestClient({ storage: new MemoryStorage() });
    api.setSession(session('a'));
    const error = await api.request('GET', '/rooms').catch((caught: unknown) => caught);
    expect(error).toMatchObject({ status: 403, code: 'password_change_required' });
    expect(api.user?.forcePasswordChange).toBe(true);
  });

  it('explains validation failures by their first field', () => {
    const error = new KaiwaApiError(400, 'validation_failed', 'invalid', {
      issues: [{ path: ['newPassword'], message: 'must be at least 10 characters' }],
    });
    expect(error.explanation).toBe('newPassword: must be at least 10 characters');
  });

  it('calls the given fetch on the given server, with typed methods and query strings', async () => {
    const calls: { url: string; method: string; body: unknown }[] = [];
    const rest = new KaiwaRestClient({
      baseUrl: 'https://chat.example.com/',
      storage: new MemoryStorage(),
      fetch: async (url, init = {}) => {
        calls.push({
          url,
          method: init.method ?? 'GET',
          body: typeof init.body === 'string' ? JSON.parse(init.body) : undefined,
        });
        return json(200, { messages: [], hasMore: false });
      },
    });
    rest.setSession(session('a'));
    await rest.messagePage('room 1', { before: 'm1', limit: 20 });
    await rest.setMemberRole('r1', 'u1', 'moderator');
    await rest.search({ query: 'hello world', roomId: 'r1' });
    expect(calls).toEqual([
      {
        url: 'https://chat.example.com/api/v1/rooms/room%201/messages?before=m1&limit=20',
        method: 'GET',
        body: undefined,
      },
      {
        url: 'https://chat.example.com/api/v1/rooms/r1/members/u1',
        method: 'PATCH',
        body: { role: 'moderator' },
      },
      {
        url: 'https://chat.example.com/api/v1/search?query=hello%20world&roomId=r1',
        method: 'GET',
        body: undefined,
      },
    ]);
    expect(rest.fileContentUrl('f1', true)).toBe(
      'https://chat.example.com/api/v1/files/f1/content?download=true',
    );
  });

  it('keeps the session in memory when there is no page storage', () => {
    const rest = new KaiwaRestClient({ fetch: async () => json(200, {}) });
    rest.setSession(session('a'));
    expect(rest.storage.getItem('kaiwa.session')).toContain('refresh-a');
  });

  it('reports an unreachable server as a retryable network error', async () => {
    const rest = new KaiwaRestClient({
      fetch: async () => {
        throw new TypeError('fetch failed');
      },
    });
    const error = await rest.serverInfo().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KaiwaApiError);
    expect(error).toMatchObject({ status: 0, code: 'network', isRetryable: true });
  });

  it('reaches the voice routes: info, speech as audio, transcript retry, room language', async () => {
    const calls = fakeFetch((call) => {
      if (call.url.endsWith('/speech')) {
        return (call.body as { text: string }).text === 'off'
          ? json(404, { error: { code: 'speech_off', message: 'reading aloud is off' } })
          : new Response(new Uint8Array([82, 73, 70, 70]), { headers: { 'content-type': 'audio/wav' } });
      }
      return json(call.method === 'POST' ? 202 : 200, { language: 'ja' });
    });
    const rest = new KaiwaRestClient();
    rest.setSession(session('a'));
    await rest.voiceInfo();
    const audio = await rest.speech({ text: 'hello', language: 'en' });
    expect(audio.type).toBe('audio/wav');
    expect(new Uint8Array(await audio.arrayBuffer())).toEqual(new Uint8Array([82, 73, 70, 70]));
    await expect(rest.speech({ text: 'off' })).rejects.toMatchObject({ status: 404, code: 'speech_off' });
    await rest.retryTranscript('m 1');
    expect(await rest.roomVoiceSettings('r1')).toEqual({ language: 'ja' });
    await rest.setRoomVoiceSettings('r1', { language: 'ja' });
    expect(calls.map(({ method, url, body, authorization }) => [method, url, body, authorization])).toEqual([
      ['GET', '/api/v1/voice', undefined, 'Bearer access-a'],
      ['POST', '/api/v1/speech', { text: 'hello', language: 'en' }, 'Bearer access-a'],
      ['POST', '/api/v1/speech', { text: 'off' }, 'Bearer access-a'],
      ['POST', '/api/v1/messages/m%201/transcript', undefined, 'Bearer access-a'],
      ['GET', '/api/v1/rooms/r1/voice', undefined, 'Bearer access-a'],
      ['PUT', '/api/v1/rooms/r1/voice', { language: 'ja' }, 'Bearer access-a'],
    ]);
  });
});
