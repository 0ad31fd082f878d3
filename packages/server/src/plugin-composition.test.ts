import { mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Message } from '@kaiwa/core';
import { createSqliteStore } from '@kaiwa/store-kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPluginFolder } from '../../plugins/src/test-support/build-plugin.js';
import { startTestServer, type TestServer } from './test-support.js';

/*
 * Plugins composed into the server: the example Hello plugin (examples/plugin-hello, bundled with the SDK as its
 * own build does) installed in KAIWA_PLUGIN_DIR runs in the sandboxed process runtime as its bot user
 * `plugin-hello`; a member runs `/hello` in a room over REST and the plugin's answer is a message there; admins
 * see and stop it (audited); the server without KAIWA_PLUGIN_DIR never loads the plugin host.
 */

const HELLO = fileURLToPath(new URL('../../../examples/plugin-hello', import.meta.url));

let pluginDirectory = '';
let test: TestServer;

beforeAll(async () => {
  pluginDirectory = await mkdtemp(join(tmpdir(), 'kaiwa-plugins-'));
  const built = await buildPluginFolder(HELLO);
  await rename(built, join(pluginDirectory, 'hello'));
  test = await startTestServer({ plugins: { directory: pluginDirectory, acceptUnisolatedNetwork: false } });
}, 60_000);

afterAll(async () => {
  await test?.close();
  if (pluginDirectory) await rm(pluginDirectory, { recursive: true, force: true });
});

describe('plugins in the server', () => {
  it('runs a plugin’s slash command in a room: its answer is posted there by the plugin’s bot user', async () => {
    const { token, user } = await test.signedIn('member');
    const commands = (await test.call('GET', '/api/v1/commands', { token })).json();
    expect(commands.commands).toEqual([
      { name: 'hello', description: 'Says hello to you, or to whoever you name', pluginId: 'hello' },
    ]);
    const room = (
      await test.call('POST', '/api/v1/rooms', { token, body: { kind: 'channel', name: 'plugin-lab' } })
    ).json();
    const ran = await test.call('POST', `/api/v1/rooms/${room.id}/commands`, {
      token,
      body: { command: 'hello', args: 'Ada' },
    });
    expect(ran.statusCode, ran.body).toBe(200);
    expect(ran.json().reply).toBe('Hello, Ada!');
    const page = await test.server.engine.history(user.id, { roomId: room.id });
    const posted = page.messages.find((message: Message) => message.id === ran.json().messageId);
    expect(posted?.text).toBe('Hello, Ada!');
    const author = await test.server.engine.getUser(posted?.authorId ?? '');
    expect(author).toMatchObject({ username: 'plugin-hello', role: 'bot' });

    const unknown = await test.call('POST', `/api/v1/rooms/${room.id}/commands`, {
      token,
      body: { command: 'nope', args: '' },
    });
    expect(unknown.statusCode).toBe(404);
    const invalid = await test.call('POST', `/api/v1/rooms/${room.id}/commands`, {
      token,
      body: { command: '/Hello!', args: '' },
    });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.body).toContain('command');
  });

  it('runs a command typed as a message, once, as its author', async () => {
    const { token, user } = await test.signedIn('member');
    const room = (
      await test.call('POST', '/api/v1/rooms', { token, body: { kind: 'channel', name: 'typed-commands' } })
    ).json();
    const sent = await test.call('POST', `/api/v1/rooms/${room.id}/messages`, {
      token,
      body: { text: '/hello Grace' },
    });
    expect(sent.statusCode, sent.body).toBe(201);
    const answers = async () =>
      (await test.server.engine.history(user.id, { roomId: room.id })).messages.filter(
        (message: Message) => message.text === 'Hello, Grace!',
      );
    const until = Date.now() + 10_000;
    while ((await answers()).length === 0 && Date.now() < until)
      await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await answers()).toHaveLength(1);
    // Text that merely starts with a slash, or names no plugin command, is a message like any other.
    await test.call('POST', `/api/v1/rooms/${room.id}/messages`, { token, body: { text: '/nope Grace' } });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await answers()).toHaveLength(1);
  });

  it('runs a plugin’s workflow step in a workflow, its output used by the next step', async () => {
    const admin = await test.signedIn('admin');
    const room = (
      await test.call('POST', '/api/v1/rooms', {
        token: admin.token,
        body: { kind: 'channel', name: 'greetings' },
      })
    ).json();
    const defined = await test.call('POST', '/api/v1/workflows', {
      token: admin.token,
      body: {
        id: 'greet-ada',
        name: 'Greet Ada',
        trigger: { type: 'manual' },
        steps: [
          { id: 'greet', type: 'hello.greet', input: { name: 'Ada' } },
          { id: 'tell', type: 'notify', input: { roomId: room.id, text: '{{ steps.greet.greeting }}' } },
        ],
      },
    });
    expect(defined.statusCode, defined.body).toBe(201);
    const started = await test.call('POST', '/api/v1/workflows/greet-ada/runs', {
      token: admin.token,
      body: {},
    });
    expect(started.statusCode, started.body).toBeLessThan(300);
    const until = Date.now() + 10_000;
    let texts: string[] = [];
    while (Date.now() < until) {
      texts = (await test.server.engine.history(admin.user.id, { roomId: room.id })).messages.map(
        (message: Message) => message.text,
      );
      if (texts.includes('Hello, Ada!')) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(texts).toContain('Hello, Ada!');
  });

  it('refuses a command in a room the caller does not belong to', async () => {
    const owner = await test.signedIn('member');
    const stranger = await test.signedIn('member');
    const group = (
      await test.call('POST', '/api/v1/rooms', {
        token: owner.token,
        body: { kind: 'group', name: 'closed-lab' },
      })
    ).json();
    const refused = await test.call('POST', `/api/v1/rooms/${group.id}/commands`, {
      token: stranger.token,
      body: { command: 'hello', args: '' },
    });
    expect(refused.statusCode).toBe(404);
  });

  it('lets admins see and stop plugins, audited; a stopped plugin’s command answers 404', async () => {
    const member = await test.signedIn('member');
    expect((await test.call('GET', '/api/v1/plugins', { token: member.token })).statusCode).toBe(403);
    const admin = await test.signedIn('admin');
    const listed = (await test.call('GET', '/api/v1/plugins', { token: admin.token })).json();
    expect(listed.plugins).toEqual([
      { id: 'hello', version: '1.0.0', state: 'running', botUsername: 'plugin-hello', lastProblem: null },
    ]);
    const stopped = await test.call('POST', '/api/v1/plugins/hello/stop', { token: admin.token });
    expect(stopped.statusCode, stopped.body).toBe(200);
    expect(stopped.json().state).toBe('stopped');
    const room = (
      await test.call('POST', '/api/v1/rooms', {
        token: member.token,
        body: { kind: 'channel', name: 'after-stop' },
      })
    ).json();
    const ran = await test.call('POST', `/api/v1/rooms/${room.id}/commands`, {
      token: member.token,
      body: { command: 'hello', args: '' },
    });
    expect(ran.statusCode).toBe(404);
    const started = await test.call('POST', '/api/v1/plugins/hello/start', { token: admin.token });
    expect(started.json().state).toBe('running');
    const audit = (await test.call('GET', '/api/v1/admin/audit?limit=20', { token: admin.token })).json();
    const actions = (audit.entries as { action: string }[]).map((entry) => entry.action);
    expect(actions).toEqual(expect.arrayContaining(['plugin.stopped', 'plugin.started']));
  });

  it('shows admins the job runs the instances recorded in the database, latest first, by job', async () => {
    const databaseDirectory = await mkdtemp(join(tmpdir(), 'kaiwa-plugin-jobs-'));
    const databaseUrl = join(databaseDirectory, 'kaiwa.sqlite');
    try {
      // Two runs an instance recorded earlier: one failed, one still running.
      const store = await createSqliteStore({ filename: databaseUrl });
      try {
        await store.migrate();
        const slot = (scheduledAt: string) => ({ pluginId: 'hello', job: 'daily-tally', scheduledAt });
        const claim = { instanceId: 'kaiwa-a', claimedAt: '2026-12-06T00:00:00.100Z' };
        await store.pluginJobRuns.claim(slot('2026-12-06T00:00:00.000Z'), claim);
        await store.pluginJobRuns.finish(slot('2026-12-06T00:00:00.000Z'), {
          status: 'failed',
          finishedAt: '2026-12-06T00:00:01.000Z',
          durationMs: 900,
          reason: 'the tally service did not answer',
        });
        await store.pluginJobRuns.claim(slot('2026-12-07T00:00:00.000Z'), {
          ...claim,
          claimedAt: '2026-12-07T00:00:00.100Z',
        });
      } finally {
        await store.close();
      }
      const server = await startTestServer({
        databaseUrl,
        plugins: { directory: pluginDirectory, acceptUnisolatedNetwork: false },
      });
      try {
        const admin = await server.signedIn('admin');
        const listed = await server.call('GET', '/api/v1/plugins/hello/jobs?job=daily-tally&limit=10', {
          token: admin.token,
        });
        expect(listed.statusCode, listed.body).toBe(200);
        expect(listed.json().runs).toEqual([
          expect.objectContaining({
            scheduledAt: '2026-12-07T00:00:00.000Z',
            status: 'running',
            finishedAt: null,
          }),
          expect.objectContaining({
            scheduledAt: '2026-12-06T00:00:00.000Z',
            status: 'failed',
            instanceId: 'kaiwa-a',
            durationMs: 900,
            reason: 'the tally service did not answer',
          }),
        ]);
        const otherJob = await server.call('GET', '/api/v1/plugins/hello/jobs?job=nightly', {
          token: admin.token,
        });
        expect(otherJob.json().runs).toEqual([]);
        const unknown = await server.call('GET', '/api/v1/plugins/nope/jobs', { token: admin.token });
        expect(unknown.statusCode).toBe(404);
        const badLimit = await server.call('GET', '/api/v1/plugins/hello/jobs?limit=0', {
          token: admin.token,
        });
        expect(badLimit.statusCode).toBe(400);
        expect(badLimit.body).toContain('limit');
        const member = await server.signedIn('member');
        const refused = await server.call('GET', '/api/v1/plugins/hello/jobs', { token: member.token });
        expect(refused.statusCode).toBe(403);
      } finally {
        await server.close();
      }
    } finally {
      await rm(databaseDirectory, { recursive: true, force: true });
    }
  });

  it('keeps a plugin’s stored data in the database: it survives a restart', async () => {
    const databaseDirectory = await mkdtemp(join(tmpdir(), 'kaiwa-plugin-storage-'));
    const databaseUrl = join(databaseDirectory, 'kaiwa.sqlite');
    try {
      // The Hello plugin counts its greetings in its storage; two servers, one after the other, on one file.
      for (const name of ['Ada', 'Grace']) {
        const server = await startTestServer({
          databaseUrl,
          plugins: { directory: pluginDirectory, acceptUnisolatedNetwork: false },
        });
        try {
          const { token } = await server.signedIn('member');
          const room = (
            await server.call('POST', '/api/v1/rooms', {
              token,
              body: { kind: 'channel', name: `counted-${name.toLowerCase()}` },
            })
          ).json();
          const ran = await server.call('POST', `/api/v1/rooms/${room.id}/commands`, {
            token,
            body: { command: 'hello', args: name },
          });
          expect(ran.statusCode, ran.body).toBe(200);
        } finally {
          await server.close();
        }
      }
      const store = await createSqliteStore({ filename: databaseUrl });
      try {
        expect(await store.pluginKeyValues.get('hello', 'greeted')).toBe(2);
        expect(await store.pluginKeyValues.usage('hello')).toBe('greeted'.length + 1);
      } finally {
        await store.close();
      }
    } finally {
      await rm(databaseDirectory, { recursive: true, force: true });
    }
  }, 60_000);
});
