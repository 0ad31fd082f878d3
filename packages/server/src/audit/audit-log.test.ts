import { createHash } from 'node:crypto';
import { AUDIT_GENESIS_HASH, type AuditEntry } from '@kaiwa/core';
import { defineStepType } from '@kaiwa/workflow';
import canonicalize from 'canonicalize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startTestServer, TEST_PASSWORD, type TestServer } from '../test-support.js';
import { auditEntryHash, canonicalAuditEntry } from './audit-chain.js';
import { sanitizeAuditDetails } from './audit-log.js';

describe('the audit chain', () => {
  const input = {
    id: '01JDQ0000000000000000000AA',
    at: '2026-11-25T09:00:00.000Z',
    actorId: null,
    action: 'auth.login' as const,
    targetType: 'user',
    targetId: null,
    outcome: 'failure' as const,
    requestId: 'req-1',
    remoteAddress: '203.0.113.7',
    details: { username: 'アリス', z: 1, a: [true, null] },
  };

  it('hashes the previous hash and the RFC 8785 JSON of the entry, its seq included', () => {
    const canonical = canonicalAuditEntry(input, 1);
    // Keys sorted, no spaces: what any JCS implementation produces.
    expect(canonical).toBe(
      '{"action":"auth.login","actorId":null,"at":"2026-11-25T09:00:00.000Z",' +
        '"details":{"a":[true,null],"username":"アリス","z":1},"id":"01JDQ0000000000000000000AA",' +
        '"outcome":"failure","remoteAddress":"203.0.113.7","requestId":"req-1","seq":1,' +
        '"target":{"id":null,"type":"user"}}',
    );
    expect(auditEntryHash(input, 1, AUDIT_GENESIS_HASH)).toBe(
      createHash('sha256').update(`${AUDIT_GENESIS_HASH}${canonical}`).digest('hex'),
    );
    expect(auditEntryHash(input, 2, AUDIT_GENESIS_HASH)).not.toBe(
      auditEntryHash(input, 1, AUDIT_GENESIS_HASH),
    );
    expect(canonicalize({ b: 1, a: 2 })).toBe('{"a":2,"b":1}');
  });

  it('keeps secrets and long or broken strings out of the details', () => {
    expect(
      sanitizeAuditDetails({
        username: 'alice',
        password: 'hunter2',
        newPassword: 'x',
        refreshToken: 't',
        apiKey: 'k',
        nested: { secret: 's', ok: 'yes' },
        long: 'x'.repeat(500),
        broken: 'a\uD800b',
        gone: undefined,
      }),
    ).toEqual({
      username: 'alice',
      nested: { ok: 'yes' },
      long: `${'x'.repeat(199)}…`,
      broken: 'a\uFFFDb',
    });
  });
});

describe('the audit log on the server', () => {
  let test: TestServer;
  let admin: Awaited<ReturnType<TestServer['signedIn']>>;

  beforeAll(async () => {
    const echo = defineStepType({
      type: 'test.echo',
      description: 'returns its input',
      input: z.object({ value: z.unknown() }),
      run: async (input) => input,
    });
    test = await startTestServer({}, { workflowSteps: [echo] });
    admin = await test.signedIn('admin');
  });
  afterAll(async () => {
    await test?.close();
  });

  async function entries(query = ''): Promise<AuditEntry[] & { target?: unknown }[]> {
    const response = await test.call('GET', `/api/v1/admin/audit${query}`, { token: admin.token });
    expect(response.statusCode, response.body).toBe(200);
    return response.json().entries;
  }

  it('records sign-ins that work and fail, with the username tried and never the password', async () => {
    const ok = await test.call('POST', '/api/v1/auth/login', {
      body: { username: admin.user.username, password: TEST_PASSWORD },
      headers: { 'x-request-id': 'login-ok-1' },
    });
    expect(ok.statusCode).toBe(200);
    const bad = await test.call('POST', '/api/v1/auth/login', {
      body: { username: 'nobody-here', password: 'wrong password, long enough' },
      headers: { 'x-request-id': 'login-bad-1' },
    });
    expect(bad.statusCode).toBe(401);

    const logins = await entries('?action=auth.login&limit=2');
    expect(logins.map((entry) => entry.requestId)).toEqual(['login-bad-1', 'login-ok-1']);
    const [failed, succeeded] = logins as unknown as Array<Record<string, unknown>>;
    expect(failed).toMatchObject({
      action: 'auth.login',
      outcome: 'denied',
      actorId: null,
      remoteAddress: '127.0.0.1',
      target: { type: 'user', id: null },
      details: { username: 'nobody-here', error: 'invalid_credentials' },
    });
    expect(succeeded).toMatchObject({
      outcome: 'success',
      actorId: admin.user.id,
      target: { type: 'user', id: admin.user.id },
      details: { username: admin.user.username },
    });
    expect(JSON.stringify(logins)).not.toContain('wrong password');
    expect(JSON.stringify(logins)).not.toContain(TEST_PASSWORD);
  });

  it('records user creation, role changes, password resets and API keys, filterable by actor and target', async () => {
    const created = await test.call('POST', '/api/v1/users', {
      token: admin.token,
      body: { username: 'audited-bot', role: 'bot' },
    });
    expect(created.statusCode).toBe(201);
    const botId = created.json().user.id as string;
    const person = await test.call('POST', '/api/v1/users', {
      token: admin.token,
      body: { username: 'audited-person', role: 'member' },
    });
    const personId = person.json().user.id as string;
    expect(
      (
        await test.call('PATCH', `/api/v1/users/${personId}`, {
          token: admin.token,
          body: { role: 'moderator' },
        })
      ).statusCode,
    ).toBe(200);
    const reset = await test.call('POST', `/api/v1/users/${personId}/reset-password`, { token: admin.token });
    expect(reset.statusCode).toBe(200);
    const key = await test.call('POST', `/api/v1/users/${botId}/api-keys`, {
      token: admin.token,
      body: { name: 'ci' },
    });
    const keyId = key.json().apiKey.id as string;
    expect(
      (await test.call('DELETE', `/api/v1/users/${botId}/api-keys/${keyId}`, { token: admin.token }))
        .statusCode,
    ).toBe(204);

    const aboutPerson = await entries(`?targetType=user&targetId=${personId}`);
    expect(aboutPerson.map((entry) => entry.action)).toEqual([
      'user.password_reset',
      'user.role_changed',
      'user.created',
    ]);
    expect(aboutPerson[1]?.details).toEqual({ role: 'moderator' });
    const keys = await entries(`?action=api_key.created,api_key.revoked&actorId=${admin.user.id}`);
    expect(
      keys.map((entry) => [entry.action, (entry as unknown as { target: { id: string } }).target.id]),
    ).toEqual([
      ['api_key.revoked', keyId],
      ['api_key.created', keyId],
    ]);
    // The one-time password and the key itself are in the answers, never in the log.
    const everything = JSON.stringify(await entries('?limit=200'));
    expect(everything).not.toContain(reset.json().oneTimePassword);
    expect(everything).not.toContain(key.json().key);
  });

  it('records refused admin calls and workflow definitions', async () => {
    const member = await test.signedIn('member');
    const refused = await test.call('POST', '/api/v1/users', {
      token: member.token,
      body: { username: 'not-allowed', role: 'member' },
    });
    expect(refused.statusCode).toBe(403);
    const defined = await test.call('POST', '/api/v1/workflows', {
      token: admin.token,
      body: {
        id: 'audited-flow',
        name: 'Audited',
        steps: [{ id: 'a', type: 'test.echo', input: { value: 1 } }],
      },
    });
    expect(defined.statusCode, defined.body).toBe(201);
    const broken = await test.call('POST', '/api/v1/workflows', {
      token: admin.token,
      body: { id: 'broken-flow', name: 'Broken', steps: [{ id: 'a', type: 'no.such.step', input: {} }] },
    });
    expect(broken.statusCode).toBe(400);

    // The refusal happens before any handler: the generic admin entry, written once the answer is sent.
    await expect
      .poll(async () => (await entries(`?action=admin.action&actorId=${member.user.id}`)).length)
      .toBe(1);
    const [denied] = await entries(`?action=admin.action&actorId=${member.user.id}`);
    expect(denied).toMatchObject({
      outcome: 'denied',
      details: { route: 'POST /api/v1/users', status: 403 },
    });
    const [failed, workflow] = await entries('?action=workflow.defined');
    expect(workflow).toMatchObject({
      actorId: admin.user.id,
      outcome: 'success',
      target: { type: 'workflow', id: 'audited-flow' },
      details: { version: 1, name: 'Audited' },
    });
    expect(failed).toMatchObject({ outcome: 'failure', details: { error: 'validation_failed' } });
  });

  it('pages newest first with a cursor, validates its query, and is for admins only', async () => {
    const first = await test.call('GET', '/api/v1/admin/audit?limit=2', { token: admin.token });
    const page = first.json();
    expect(page.entries).toHaveLength(2);
    expect(page.entries[0].seq).toBeGreaterThan(page.entries[1].seq);
    const second = await test.call('GET', `/api/v1/admin/audit?limit=2&cursor=${page.nextCursor}`, {
      token: admin.token,
    });
    expect(second.json().entries[0].seq).toBe(page.entries[1].seq - 1);

    const all = await entries('?limit=200');
    const last = await test.call('GET', `/api/v1/admin/audit?limit=200&cursor=${all.at(-1)?.seq}`, {
      token: admin.token,
    });
    expect(last.json()).toEqual({ entries: [], nextCursor: null });

    const bad = await test.call('GET', '/api/v1/admin/audit?action=auth.nonsense&since=yesterday', {
      token: admin.token,
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('action');
    const member = await test.signedIn('member');
    expect((await test.call('GET', '/api/v1/admin/audit', { token: member.token })).statusCode).toBe(403);
    expect((await test.call('GET', '/api/v1/admin/audit')).statusCode).toBe(401);
  });

  it('keeps one intact chain over everything recorded', async () => {
    const report = await test.server.audit.verify();
    expect(report).toMatchObject({ ok: true });
    const all = await entries('?limit=200');
    expect(report.ok && report.entries).toBe(all.length);
    expect(all.at(-1)?.previousHash).toBe(AUDIT_GENESIS_HASH);
  });
});
