import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PluginError } from './errors.js';
import { PluginHost } from './plugin-host.js';
import { createProcessRuntime } from './process-runtime.js';
import { buildPluginFolder } from './test-support/build-plugin.js';
import { createFakePorts } from './test-support/fake-ports.js';

/*
 * New settings for a plugin that runs (a real child process): the host checks them against the manifest's
 * schema, restarts the plugin, and the plugin sees them in `initialize` and in `settings.get`.
 */

const fixture = fileURLToPath(new URL('./test-fixtures/settings', import.meta.url));
const caller = { userId: 'user-1', username: 'root', role: 'admin' };

describe('PluginHost.configure', () => {
  let folder: string;
  let host: PluginHost;
  const seen = async () => {
    const answer = await host.serveHttp({
      pluginId: 'tuned',
      method: 'GET',
      path: '/settings',
      query: {},
      headers: {},
      caller,
    });
    return JSON.parse(answer.body ?? '') as {
      initial: Record<string, unknown>;
      current: Record<string, unknown>;
    };
  };

  beforeAll(async () => {
    folder = await buildPluginFolder(fixture);
    host = new PluginHost({
      ports: createFakePorts([]).ports,
      runtime: createProcessRuntime({ acceptUnisolatedNetwork: true }),
      engineVersion: '0.1.0',
    });
    await host.add(folder, { greeting: 'Hi' });
    await host.start('tuned');
  });

  afterAll(async () => {
    await host.stopAll();
    await rm(folder, { recursive: true, force: true });
  });

  it('starts the plugin with its settings, defaults filled in', async () => {
    const defaults = { greeting: 'Hi', tone: 'friendly', repeat: 1, shout: false };
    expect(await seen()).toEqual({ initial: defaults, current: defaults });
  });

  it('restarts a running plugin with new settings: initialize and settings.get see them', async () => {
    const settings = await host.configure('tuned', {
      greeting: 'Ahoy',
      tone: 'pirate',
      repeat: 3,
      shout: true,
    });
    expect(settings).toEqual({ greeting: 'Ahoy', tone: 'pirate', repeat: 3, shout: true });
    expect(host.list()).toEqual([{ id: 'tuned', state: 'running', version: '1.2.0' }]);
    expect(await seen()).toEqual({ initial: settings, current: settings });
  });

  it('refuses bad values naming every key, and changes nothing', async () => {
    const error = await host
      .configure('tuned', { greeting: '', repeat: 9, tone: 'grumpy', shout: 'yes', colour: 'red' })
      .catch((caught: unknown) => caught);
    expect(PluginError.isInstance(error)).toBe(true);
    expect((error as PluginError).code).toBe('invalid_settings');
    expect((error as PluginError).issues.map((issue) => issue.path.join('.')).sort()).toEqual([
      'colour',
      'greeting',
      'repeat',
      'shout',
      'tone',
    ]);
    expect((await seen()).current).toMatchObject({ greeting: 'Ahoy', repeat: 3 });
  });

  it('gives a stopped plugin its settings at its next start, without starting it', async () => {
    await host.stop('tuned');
    await host.configure('tuned', { greeting: 'Later', ratio: 0.5 });
    expect(host.list()[0]?.state).toBe('stopped');
    await host.start('tuned');
    expect((await seen()).initial).toEqual({
      greeting: 'Later',
      tone: 'friendly',
      repeat: 1,
      ratio: 0.5,
      shout: false,
    });
    await expect(host.configure('nope', {})).rejects.toMatchObject({ code: 'not_found' });
  });
});
