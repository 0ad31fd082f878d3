import { rmSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KaiwaServer } from '@kaiwa/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPluginFolder } from '../../plugins/src/test-support/build-plugin.js';
import { packPluginFolder } from '../../plugins/src/test-support/pack-plugin.js';
import { KaiwaApiError, KaiwaRestClient } from './rest-client.js';
import { startClientTestServer } from './test-support/client-test-server.js';

/*
 * The plugin lifecycle calls against a real reference server: a tarball packed from the lifecycle test plugin is
 * installed, upgraded (its migration runs) and uninstalled through the client; members are refused.
 */

const PASSWORD = 'correct horse battery staple';
const LIFECYCLE = fileURLToPath(new URL('../../plugins/src/test-fixtures/lifecycle', import.meta.url));

describe('KaiwaRestClient plugin lifecycle calls against a reference server', () => {
  let running: { server: KaiwaServer; baseUrl: string; folder: string };
  let workspace = '';
  let built = '';
  let admin: KaiwaRestClient;
  let member: KaiwaRestClient;

  const tarballOf = async (version: string) => {
    const folder = await mkdtemp(join(workspace, `v${version}-`));
    await cp(built, folder, { recursive: true });
    const file = join(folder, 'kaiwa-plugin.json');
    await writeFile(file, JSON.stringify({ ...JSON.parse(await readFile(file, 'utf8')), version }));
    const packed = await packPluginFolder(folder);
    return { file: new Blob([packed.bytes]), sha256: packed.sha256 };
  };

  beforeAll(async () => {
    workspace = await mkdtemp(join(tmpdir(), 'kaiwa-client-lifecycle-'));
    built = await buildPluginFolder(LIFECYCLE);
    await cp(built, join(workspace, 'built'), { recursive: true });
    built = join(workspace, 'built');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(workspace, 'plugins'));
    running = await startClientTestServer(
      'plugin-lifecycle',
      {},
      { plugins: { directory: join(workspace, 'plugins'), acceptUnisolatedNetwork: false } },
    );
    await running.server.accounts.createAccount({ username: 'ada', role: 'member', password: PASSWORD });
    await running.server.accounts.createAccount({ username: 'root', role: 'admin', password: PASSWORD });
    member = new KaiwaRestClient({ baseUrl: running.baseUrl });
    await member.login('ada', PASSWORD);
    admin = new KaiwaRestClient({ baseUrl: running.baseUrl });
    await admin.login('root', PASSWORD);
  }, 60_000);

  afterAll(async () => {
    await running?.server.close();
    if (running) rmSync(running.folder, { recursive: true, force: true });
    if (workspace) await rm(workspace, { recursive: true, force: true });
  });

  it('installs, upgrades and uninstalls a plugin; members may not', async () => {
    const first = await tarballOf('1.0.0');
    const refused = await member.installPlugin(first).catch((error: unknown) => error);
    expect((refused as KaiwaApiError).status).toBe(403);
    const installed = await admin.installPlugin(first);
    expect(installed).toMatchObject({
      id: 'lifecycle',
      version: '1.0.0',
      state: 'running',
      installation: { enabled: true, sha256: first.sha256 },
    });
    const wrong = await admin
      .installPlugin({ ...first, sha256: '0'.repeat(64) })
      .catch((error: unknown) => error);
    expect(wrong).toBeInstanceOf(KaiwaApiError);
    expect((wrong as KaiwaApiError).code).toBe('checksum_mismatch');

    const upgraded = await admin.upgradePlugin('lifecycle', await tarballOf('1.1.0'));
    expect(upgraded).toMatchObject({
      version: '1.1.0',
      fromVersion: '1.0.0',
      toVersion: '1.1.0',
      migrated: true,
    });
    const room = await admin.createRoom({ kind: 'channel', name: 'lifecycle-lab', topic: '' });
    expect((await admin.runCommand(room.id, 'whoami')).reply).toBe(
      'lifecycle 1.1.0; migrations: ["1.0.0->1.1.0"]',
    );

    expect(await admin.uninstallPlugin('lifecycle')).toEqual({
      id: 'lifecycle',
      version: '1.1.0',
      keptData: false,
    });
    expect((await admin.listPlugins()).plugins).toEqual([]);
    const gone = await admin
      .uninstallPlugin('lifecycle', { keepData: true })
      .catch((error: unknown) => error);
    expect((gone as KaiwaApiError).status).toBe(404);
  }, 60_000);
});
