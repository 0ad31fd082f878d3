import { defineStepType, signWebhook } from '@kaiwa/workflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startTestServer, type TestServer } from '../test-support.js';

const SECRET = 'test-webhook-secret-0123456789abcdef';

// Stand-ins for real steps: one that echoes its input, one that waits until it is cancelled.
const echoStep = defineStepType({
  type: 'test.echo',
  description: 'returns its input',
  input: z.object({ value: z.unknown() }),
  run: async (input) => input,
});
const waitStep = defineStepType({
  type: 'test.wait',
  description: 'waits until aborted',
  input: z.object({}),
  run: (_input, context) =>
    new Promise((_resolve, reject) => {
      context.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
    }),
});

const echoDefinition = {
  id: 'echo',
  name: 'Echo',
  trigger: { type: 'webhook' },
  steps: [
    { id: 'first', type: 'test.echo', input: { value: '{{ trigger }}' } },
    { id: 'second', type: 'test.echo', input: { value: 'got {{ string(steps.first.value) }}' } },
    {
      id: 'never',
      type: 'test.echo',
      when: 'string(steps.first.value) == "no such thing"',
      input: { value: 1 },
    },
  ],
};

const waitYaml = `
id: wait
name: Wait
steps:
  - id: hold
    type: test.wait
`;

let test: TestServer;
let admin: { token: string; id: string };
let alice: { token: string; id: string };
let bob: { token: string; id: string };
let guest: { token: string };

beforeAll(async () => {
  test = await startTestServer(
    { workflows: { directory: undefined, webhookSecrets: { echo: SECRET }, webhookToleranceSeconds: 300 } },
    { workflowSteps: [echoStep, waitStep] },
  );
  const signIn = async (role: 'admin' | 'member' | 'guest') => {
    const { user, token } = await test.signedIn(role);
    return { token, id: user.id };
  };
  admin = await signIn('admin');
  alice = await signIn('member');
  bob = await signIn('member');
  guest = await signIn('guest');
  const defined = await test.call('POST', '/api/v1/workflows', { token: admin.token, body: echoDefinition });
  expect(defined.statusCode, defined.body).toBe(201);
});

afterAll(async () => {
  await test?.close();
});

describe('workflow definitions', () => {
  it('lets admins define workflows from JSON and YAML, each define a new version', async () => {
    const yaml = await test.server.app.inject({
      method: 'POST',
      url: '/api/v1/workflows',
      headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/yaml' },
      payload: waitYaml,
    });
    expect(yaml.statusCode, yaml.body).toBe(201);
    expect(yaml.json()).toMatchObject({ id: 'wait', version: 1, name: 'Wait', createdBy: admin.id });
    const again = await test.call('POST', '/api/v1/workflows', {
      token: admin.token,
      body: { ...echoDefinition, name: 'Echo again' },
    });
    expect(again.json()).toMatchObject({ id: 'echo', version: 2, name: 'Echo again' });
  });

  it('refuses members, and reports every problem of a bad definition with its path', async () => {
    const member = await test.call('POST', '/api/v1/workflows', { token: alice.token, body: echoDefinition });
    expect(member.statusCode).toBe(403);
    const bad = await test.call('POST', '/api/v1/workflows', {
      token: admin.token,
      body: {
        id: 'bad',
        name: 'Bad',
        steps: [
          { id: 'a', type: 'no.such.type' },
          { id: 'b', type: 'test.echo', input: { value: '{{ steps.zzz.x }}' }, when: 'steps.a.x ==' },
        ],
      },
    });
    expect(bad.statusCode).toBe(400);
    const error = bad.json().error;
    expect(error.code).toBe('validation_failed');
    const paths = (error.details.issues as { path: string[] }[]).map((issue) => issue.path.join('.'));
    expect(paths.some((path) => path.includes('type'))).toBe(true);
    expect(paths.some((path) => path.includes('input'))).toBe(true);
    expect(paths.some((path) => path.includes('when'))).toBe(true);
    const yaml = await test.server.app.inject({
      method: 'POST',
      url: '/api/v1/workflows',
      headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/yaml' },
      payload: 'id: [unclosed',
    });
    expect(yaml.statusCode).toBe(400);
    expect(yaml.json().error.details.issues[0].path).toEqual(['definition']);
  });

  it('lists and shows workflows to members, not guests', async () => {
    const list = await test.call('GET', '/api/v1/workflows', { token: alice.token });
    expect(list.statusCode).toBe(200);
    expect(list.json().workflows.map((workflow: { id: string }) => workflow.id)).toEqual(
      expect.arrayContaining(['echo', 'wait']),
    );
    const one = await test.call('GET', '/api/v1/workflows/echo?version=1', { token: alice.token });
    expect(one.json()).toMatchObject({ id: 'echo', version: 1, name: 'Echo' });
    expect((await test.call('GET', '/api/v1/workflows/nope', { token: alice.token })).statusCode).toBe(404);
    expect((await test.call('GET', '/api/v1/workflows/Bad%20Id', { token: alice.token })).statusCode).toBe(
      400,
    );
    expect((await test.call('GET', '/api/v1/workflows', { token: guest.token })).statusCode).toBe(403);
    expect((await test.call('GET', '/api/v1/workflows')).statusCode).toBe(401);
  });
});

describe('workflow runs', () => {
  it('starts a run for a member and shows its step timeline', async () => {
    const started = await test.call('POST', '/api/v1/workflows/echo/runs', {
      token: alice.token,
      body: { trigger: { amount: 42 } },
    });
    expect(started.statusCode, started.body).toBe(202);
    const run = started.json();
    expect(run).toMatchObject({ workflowId: 'echo', actorId: alice.id });
    expect(run.claimedBy).toBeUndefined();
    await test.server.workflows.engine.waitForRun(run.id, { timeoutMs: 5_000 });
    const details = await test.call('GET', `/api/v1/workflow-runs/${run.id}`, { token: alice.token });
    expect(details.statusCode).toBe(200);
    const body = details.json();
    expect(body.run.status).toBe('succeeded');
    expect(body.steps.map((step: { stepId: string; status: string }) => [step.stepId, step.status])).toEqual([
      ['first', 'succeeded'],
      ['second', 'succeeded'],
      ['never', 'skipped'],
    ]);
    expect(body.steps[0]).toMatchObject({ attempts: 1, output: { value: { amount: 42 } } });
    expect(body.steps[1].output).toEqual({
      value: `got {"amount":42,"type":"manual","userId":"${alice.id}"}`,
    });
    expect(body.steps[0].startedAt).not.toBeNull();
  });

  it('shows members only their own runs; admins see all', async () => {
    const bobs = await test.call('POST', '/api/v1/workflows/echo/runs', { token: bob.token });
    const bobRun = bobs.json();
    await test.server.workflows.engine.waitForRun(bobRun.id, { timeoutMs: 5_000 });
    const aliceList = await test.call('GET', '/api/v1/workflows/echo/runs', { token: alice.token });
    expect(aliceList.json().runs.every((run: { actorId: string }) => run.actorId === alice.id)).toBe(true);
    expect(aliceList.json().runs.length).toBeGreaterThan(0);
    expect(
      (await test.call('GET', `/api/v1/workflow-runs/${bobRun.id}`, { token: alice.token })).statusCode,
    ).toBe(404);
    const all = await test.call('GET', '/api/v1/workflow-runs?workflowId=echo&status=succeeded', {
      token: admin.token,
    });
    const actors = new Set(all.json().runs.map((run: { actorId: string }) => run.actorId));
    expect(actors.has(alice.id) && actors.has(bob.id)).toBe(true);
    const limited = await test.call('GET', '/api/v1/workflow-runs?limit=1', { token: admin.token });
    expect(limited.json().runs).toHaveLength(1);
    const bad = await test.call('GET', '/api/v1/workflow-runs?status=done', { token: admin.token });
    expect(bad.statusCode).toBe(400);
    expect(JSON.stringify(bad.json().error.details)).toContain('status');
  });

  it('cancels a run for the member who started it', async () => {
    const started = (await test.call('POST', '/api/v1/workflows/wait/runs', { token: alice.token })).json();
    const stranger = await test.call('POST', `/api/v1/workflow-runs/${started.id}/cancel`, {
      token: bob.token,
    });
    expect(stranger.statusCode).toBe(404);
    const cancelled = await test.call('POST', `/api/v1/workflow-runs/${started.id}/cancel`, {
      token: alice.token,
    });
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    expect(cancelled.json().status).toBe('cancelled');
    const details = (
      await test.call('GET', `/api/v1/workflow-runs/${started.id}`, { token: alice.token })
    ).json();
    expect(details.steps[0].status).toBe('cancelled');
  });

  it('answers 404 for unknown workflows and runs, 400 for malformed ids', async () => {
    expect((await test.call('POST', '/api/v1/workflows/nope/runs', { token: alice.token })).statusCode).toBe(
      404,
    );
    const unknownRun = '01JAAAAAAAAAAAAAAAAAAAAAAA';
    expect(
      (await test.call('GET', `/api/v1/workflow-runs/${unknownRun}`, { token: alice.token })).statusCode,
    ).toBe(404);
    const malformed = await test.call('GET', '/api/v1/workflow-runs/not-an-id', { token: alice.token });
    expect(malformed.statusCode).toBe(400);
    expect(JSON.stringify(malformed.json().error)).toContain('runId');
    expect((await test.call('POST', '/api/v1/workflows/echo/runs', { token: guest.token })).statusCode).toBe(
      403,
    );
  });
});

describe('workflow webhook', () => {
  const hook = (payload: string, headers: Record<string, string>, workflowId = 'echo') =>
    test.server.app.inject({
      method: 'POST',
      url: `/api/v1/hooks/workflows/${workflowId}`,
      headers: { 'content-type': 'application/json', ...headers },
      payload,
    });
  const signed = async (body: string, timestamp = Math.floor(Date.now() / 1000)) => ({
    'x-kaiwa-timestamp': String(timestamp),
    'x-kaiwa-signature': `sha256=${await signWebhook({ secret: SECRET, timestamp, body })}`,
  });

  it('starts a run from a signed delivery, without a user, over the exact raw body', async () => {
    // Spacing that JSON parsing would lose: the signature covers the bytes.
    const body = '{ "invoice":  7 }';
    const answer = await hook(body, await signed(body));
    expect(answer.statusCode, answer.body).toBe(202);
    const { runId } = answer.json();
    const { run, steps } = await test.server.workflows.engine.waitForRun(runId, { timeoutMs: 5_000 });
    expect(run.status).toBe('succeeded');
    expect(run.trigger).toMatchObject({ type: 'webhook', body: { invoice: 7 } });
    expect(steps[0]?.output).toMatchObject({ value: { type: 'webhook', body: { invoice: 7 } } });
  });

  it('refuses a replayed delivery with 409', async () => {
    const body = '{"n":1}';
    const headers = await signed(body);
    expect((await hook(body, headers)).statusCode).toBe(202);
    const replay = await hook(body, headers);
    expect(replay.statusCode).toBe(409);
    expect(replay.json().error.code).toBe('conflict');
    const withId = { ...(await signed('{"n":2}')), 'x-kaiwa-delivery': 'delivery-1' };
    expect((await hook('{"n":2}', withId)).statusCode).toBe(202);
    expect((await hook('{"n":2}', withId)).statusCode).toBe(409);
    // A captured request replayed with a new delivery header, or without it, is still a replay.
    expect((await hook('{"n":2}', { ...withId, 'x-kaiwa-delivery': 'delivery-2' })).statusCode).toBe(409);
    const { 'x-kaiwa-delivery': _dropped, ...withoutId } = withId;
    expect((await hook('{"n":2}', withoutId)).statusCode).toBe(409);
  });

  it('recognises a signed delivery id, so a retry with a new timestamp starts nothing twice', async () => {
    const body = '{"order":77}';
    const signedDelivery = async (timestamp: number) => ({
      'x-kaiwa-timestamp': String(timestamp),
      'x-kaiwa-delivery': 'order-77',
      'x-kaiwa-signature': await signWebhook({ secret: SECRET, timestamp, body, deliveryId: 'order-77' }),
    });
    const now = Math.floor(Date.now() / 1000);
    expect((await hook(body, await signedDelivery(now))).statusCode).toBe(202);
    expect((await hook(body, await signedDelivery(now + 1))).statusCode).toBe(409);
  });

  it('marks runs started by hand as manual, whatever trigger the caller sends', async () => {
    const forged = await test.call('POST', '/api/v1/workflows/echo/runs', {
      token: alice.token,
      body: { trigger: { type: 'webhook', deliveryId: 'sig:forged', body: { amount: 1 } } },
    });
    expect(forged.statusCode, forged.body).toBe(202);
    const { run } = await test.server.workflows.engine.waitForRun(forged.json().id, { timeoutMs: 5_000 });
    expect(run.trigger).toEqual({ type: 'manual', userId: alice.id, body: { amount: 1 } });
  });

  it('refuses bad and stale signatures with 401, and unknown hooks with 404', async () => {
    const body = '{"n":3}';
    const tampered = await hook('{"n":4}', await signed(body));
    expect(tampered.statusCode).toBe(401);
    expect(tampered.json().error.code).toBe('bad_signature');
    const stale = await hook(body, await signed(body, Math.floor(Date.now() / 1000) - 3_600));
    expect(stale.statusCode).toBe(401);
    expect(stale.json().error.code).toBe('stale_signature');
    const garbage = await hook(body, { 'x-kaiwa-timestamp': 'soon', 'x-kaiwa-signature': 'xyz' });
    expect(garbage.statusCode).toBe(401);
    const missing = await hook(body, {});
    expect(missing.statusCode).toBe(400);
    expect(JSON.stringify(missing.json().error)).toContain('x-kaiwa-timestamp');
    // `wait` has no webhook trigger (and no secret); unknown workflows neither.
    expect((await hook(body, await signed(body), 'wait')).statusCode).toBe(404);
    expect((await hook(body, await signed(body), 'nope')).statusCode).toBe(404);
  });

  it('is documented in the OpenAPI document', async () => {
    const document = (await test.call('GET', '/api/docs/json')).json();
    for (const path of [
      '/api/v1/workflows',
      '/api/v1/workflows/validate',
      '/api/v1/workflows/{workflowId}',
      '/api/v1/workflows/{workflowId}/runs',
      '/api/v1/workflow-runs',
      '/api/v1/workflow-runs/{runId}',
      '/api/v1/workflow-runs/{runId}/cancel',
      '/api/v1/hooks/workflows/{workflowId}',
    ]) {
      expect(document.paths[path], path).toBeDefined();
    }
    expect(document.paths['/api/v1/hooks/workflows/{workflowId}'].post.security).toEqual([]);
    // This server has no assistant model: clients are told, so they can say so.
    expect((await test.call('GET', '/api/v1/server')).json()).toMatchObject({ assistantEnabled: false });
  });
});

describe('checking a definition without saving it', () => {
  const check = (token: string, payload: string) =>
    test.server.app.inject({
      method: 'POST',
      url: '/api/v1/workflows/validate',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/yaml' },
      payload,
    });

  it('lists every problem with its path and line, stores nothing, and is for admins only', async () => {
    const text = [
      'id: checked',
      'name: Checked',
      'steps:',
      '  - id: a',
      '    type: no.such.type',
      '  - id: b',
      '    type: test.echo',
      '    when: "steps.a.x =="',
    ].join('\n');
    const answer = await check(admin.token, text);
    expect(answer.statusCode, answer.body).toBe(200);
    expect(answer.json().ok).toBe(false);
    expect(answer.json().issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'steps[0].type', line: 5 }),
        expect.objectContaining({ path: 'steps[1].when', line: 8 }),
      ]),
    );
    expect((await test.call('GET', '/api/v1/workflows/checked', { token: admin.token })).statusCode).toBe(
      404,
    );
    const fine = await check(admin.token, 'id: checked\nname: Checked\nsteps: [{ id: a, type: test.echo }]');
    expect(fine.json()).toEqual({ ok: true, issues: [] });
    const broken = (await check(admin.token, 'id: [unclosed')).json();
    expect(broken.ok).toBe(false);
    expect(broken.issues[0]).toMatchObject({ path: 'definition', line: 1 });
    expect((await check(alice.token, 'id: x')).statusCode).toBe(403);
  });
});

describe('messages a run posts', () => {
  it('are authored by the workflow bot, name the run and its starter, and go only where the starter may post', async () => {
    const { engine } = test.server;
    const room = await engine.createRoom(alice.id, { name: `wf-${Date.now()}`, kind: 'channel' });
    const definition = {
      id: 'announce',
      name: 'Announce',
      steps: [{ id: 'tell', type: 'notify', input: { roomId: '{{ trigger.roomId }}', text: 'Deployed' } }],
    };
    expect(
      (await test.call('POST', '/api/v1/workflows', { token: admin.token, body: definition })).statusCode,
    ).toBe(201);
    const start = async (token: string) => {
      const started = await test.call('POST', '/api/v1/workflows/announce/runs', {
        token,
        body: { trigger: { roomId: room.id } },
      });
      expect(started.statusCode, started.body).toBe(202);
      return test.server.workflows.engine.waitForRun(started.json().id, { timeoutMs: 5_000 });
    };

    const run = await start(alice.token);
    expect(run.run.status).toBe('succeeded');
    const messageId = (run.steps[0]!.output as { messageId: string }).messageId;
    const message = await engine.getMessage(alice.id, messageId);
    const author = await engine.getUser(message.authorId);
    expect(author).toMatchObject({ username: 'workflow', displayName: 'Workflows', role: 'bot' });
    expect(message.metadata.workflow).toEqual({
      workflowId: 'announce',
      runId: run.run.id,
      startedBy: alice.id,
    });

    // Bob is not in the room: his run may not post there, bot or not.
    const refused = await start(bob.token);
    expect(refused.run.status).toBe('failed');
    expect(JSON.stringify(refused.steps[0]!.error)).toMatch(/join the room first/);
    const { messages } = await engine.history(alice.id, { roomId: room.id });
    expect(messages.filter((each) => each.text === 'Deployed')).toHaveLength(1);
  });

  it('are posted as the starter where the bot cannot come in: a direct conversation', async () => {
    const { engine } = test.server;
    const direct = await engine.openDirectRoom(alice.id, bob.id);
    const started = await test.call('POST', '/api/v1/workflows/announce/runs', {
      token: alice.token,
      body: { trigger: { roomId: direct.id } },
    });
    const run = await test.server.workflows.engine.waitForRun(started.json().id, { timeoutMs: 5_000 });
    expect(run.run.status).toBe('succeeded');
    const message = await engine.getMessage(
      alice.id,
      (run.steps[0]!.output as { messageId: string }).messageId,
    );
    expect(message.authorId).toBe(alice.id);
    expect(message.metadata.workflow).toEqual({
      workflowId: 'announce',
      runId: run.run.id,
      startedBy: alice.id,
    });
    expect(
      await engine.findMembership(alice.id, direct.id, (await engine.getUserByUsername('workflow')).id),
    ).toBeUndefined();
  });
});
