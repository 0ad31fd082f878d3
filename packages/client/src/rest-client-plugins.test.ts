import { rmSync } from 'node:fs';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KaiwaServer } from '@kaiwa/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPluginFolder } from '../../plugins/src/test-support/build-plugin.js';
import { KaiwaApiError, KaiwaRestClient } from './rest-client.js';
import { startClientTestServer } from './test-support/client-test-server.js';

/*
 * The plugin calls against a real reference server whose KAIWA_PLUGIN_DIR holds the example Hello plugin (run in
 * its sandboxed process): the commands are listed, `/hello` runs in a room and its answer is a message there.
 */

const PASSWORD = 'correct horse battery staple';
const HELLO = fileURLToPath(new URL('../../../examples/plugin-hello', import.meta.url));

describe('KaiwaRestClient plugin calls against a reference server', () => {
  let running: { server: KaiwaServer; baseUrl: string; folder: string };
  let pluginDirectory = '';
  let rest: KaiwaRestClient;
  let admin: KaiwaRestClient;

  beforeAll(async () => {
    pluginDirectory = await mkdtemp(join(tmpdir(), 'kaiwa-client-plugins-'));
    await rename(await buildPluginFolder(HELLO), join(pluginDirectory, 'hello'));
    running = await startClientTestServer(
      'plugins',
      {},
      { plugins: { directory: pluginDirectory, acceptUnisolatedNetwork: false } },
    );
    await running.server.accounts.createAccount({ username: 'ada', role: 'member', password: PASSWORD });
    await running.server.accounts.createAccount({ username: 'root', role: 'admin', password: PASSWORD });
    rest = new KaiwaRestClient({ baseUrl: running.baseUrl });
    await rest.login('ada', PASSWORD);
    admin = new KaiwaRestClient({ baseUrl: running.baseUrl });
    await admin.login('root', PASSWORD);
  }, 60_000);

  afterAll(async () => {
    await running?.server.close();
    if (running) rmSync(running.folder, { recursive: true, force: true });
    if (pluginDirectory) await rm(pluginDirectory, { recursive: true, force: true });
  });

  it('lists the commands and runs one: the answer is a message in the room', async () => {
    expect((await rest.listCommands()).commands.map((command) => command.name)).toEqual(['hello']);
    const room = await rest.createRoom({ kind: 'channel', name: 'hello-lab', topic: '' });
    const ran = await rest.runCommand(room.id, 'hello', 'Ada');
    expect(ran.reply).toBe('Hello, Ada!');
    const { messages } = await rest.messagePage(room.id);
    expect(messages.find((message) => message.id === ran.messageId)?.text).toBe('Hello, Ada!');
    const missing = await rest.runCommand(room.id, 'nope').catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(KaiwaApiError);
    expect((missing as KaiwaApiError).status).toBe(404);
  });

  it('lets admins list, stop and start plugins; members may not', async () => {
    const { plugins } = await admin.listPlugins();
    expect(plugins).toEqual([
      expect.objectContaining({
        id: 'hello',
        state: 'running',
        botUsername: 'plugin-hello',
        lastProblem: null,
      }),
    ]);
    expect((await admin.setPluginRunning('hello', false)).state).toBe('stopped');
    expect((await rest.listCommands()).commands).toEqual([]);
    expect((await admin.setPluginRunning('hello', true)).state).toBe('running');
    expect((await rest.listCommands()).commands.map((command) => command.name)).toEqual(['hello']);
    const refused = await rest.listPlugins().catch((error: unknown) => error);
    expect((refused as KaiwaApiError).status).toBe(403);
    const unknown = await admin.setPluginRunning('nope', true).catch((error: unknown) => error);
    expect((unknown as KaiwaApiError).status).toBe(404);
  });

  it('lets admins read and save a plugin’s settings and read its job runs; members may not', async () => {
    const settings = await admin.pluginSettings('hello');
    expect(settings.definitions).toEqual([
      {
        key: 'greeting',
        type: 'string',
        title: 'Greeting',
        description: 'The word the plugin greets with',
        required: false,
        default: 'Hello',
        maxLength: 40,
        secret: false,
      },
    ]);
    expect(settings.values).toEqual({ greeting: 'Hello' });
    const saved = await admin.savePluginSettings('hello', { greeting: 'Hej' });
    expect(saved).toMatchObject({
      values: { greeting: 'Hej' },
      state: 'running',
      updatedAt: expect.any(String),
    });
    const room = await rest.createRoom({ kind: 'channel', name: 'settings-lab', topic: '' });
    expect((await rest.runCommand(room.id, 'hello', 'Ada')).reply).toBe('Hej, Ada!');
    const bad = await admin
      .savePluginSettings('hello', { greeting: 'x'.repeat(41) })
      .catch((error: unknown) => error);
    expect(bad).toBeInstanceOf(KaiwaApiError);
    expect((bad as KaiwaApiError).status).toBe(400);
    expect((bad as KaiwaApiError).code).toBe('invalid_settings');
    expect((bad as KaiwaApiError).details).toMatchObject({
      issues: [{ path: ['greeting'], message: 'at most 40 characters' }],
    });
    await admin.savePluginSettings('hello', {});
    expect((await admin.pluginSettings('hello')).values).toEqual({ greeting: 'Hello' });

    expect(await admin.pluginJobRuns('hello', { job: 'daily-tally', limit: 5 })).toEqual({ runs: [] });
    const refused = await rest.pluginSettings('hello').catch((error: unknown) => error);
    expect((refused as KaiwaApiError).status).toBe(403);
    const refusedRuns = await rest.pluginJobRuns('hello').catch((error: unknown) => error);
    expect((refusedRuns as KaiwaApiError).status).toBe(403);
  });
});
