import { mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPluginFolder } from '../../plugins/src/test-support/build-plugin.js';
import {
  type PodmanService,
  requirePodman,
  startPodmanService,
} from '../../plugins/src/test-support/podman-service.js';
import { startTestServer, type TestServer } from './test-support.js';

/*
 * A plugin whose manifest says `runtime: container`, in the server: with an engine (podman on a private socket,
 * KAIWA_PLUGIN_CONTAINER_SOCKET) it runs in a container and answers `/hello` in a room; without one it does not
 * start, the server starts regardless, and admins see why.
 */

const HELLO = fileURLToPath(new URL('../../../examples/plugin-hello', import.meta.url));

async function pluginDirectoryWithContainerHello(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'kaiwa-plugins-'));
  await rename(await buildPluginFolder(HELLO, { runtime: 'container' }), join(directory, 'hello'));
  return directory;
}

describe('a container plugin in the server without a container engine', () => {
  let directory = '';
  let test: TestServer;
  beforeAll(async () => {
    directory = await pluginDirectoryWithContainerHello();
    test = await startTestServer({
      plugins: {
        directory,
        acceptUnisolatedNetwork: false,
        containerSocket: join(directory, 'no-engine.sock'),
      },
    });
  }, 60_000);
  afterAll(async () => {
    await test?.close();
    if (directory) await rm(directory, { recursive: true, force: true });
  });

  it('is not started, and admins see why', async () => {
    const admin = await test.signedIn('admin');
    const listed = (await test.call('GET', '/api/v1/plugins', { token: admin.token })).json();
    expect(listed.plugins).toEqual([
      {
        id: 'hello',
        version: '1.0.0',
        state: 'failed',
        botUsername: 'plugin-hello',
        lastProblem: {
          type: 'start-failed',
          detail: expect.stringMatching(/container engine at .*no-engine\.sock does not answer/),
          at: expect.any(String),
        },
      },
    ]);
    const started = await test.call('POST', '/api/v1/plugins/hello/start', { token: admin.token });
    expect(started.statusCode).toBeGreaterThanOrEqual(400);
    expect(started.body).toContain('no-engine.sock');
  });
});

describe.runIf(requirePodman('container plugins in the server'))('a container plugin in the server', () => {
  let directory = '';
  let podman: PodmanService;
  let test: TestServer;
  beforeAll(async () => {
    [directory, podman] = await Promise.all([pluginDirectoryWithContainerHello(), startPodmanService()]);
    test = await startTestServer({
      plugins: { directory, acceptUnisolatedNetwork: false, containerSocket: podman.socketPath },
    });
  }, 120_000);
  afterAll(async () => {
    await test?.close();
    await podman?.stop();
    if (directory) await rm(directory, { recursive: true, force: true });
  });

  it('runs in a container and answers a slash command in a room', async () => {
    const { token } = await test.signedIn('member');
    const room = (
      await test.call('POST', '/api/v1/rooms', { token, body: { kind: 'channel', name: 'container-lab' } })
    ).json();
    const ran = await test.call('POST', `/api/v1/rooms/${room.id}/commands`, {
      token,
      body: { command: 'hello', args: 'Ada' },
    });
    expect(ran.statusCode, ran.body).toBe(200);
    expect(ran.json().reply).toBe('Hello, Ada!');
  });
});
