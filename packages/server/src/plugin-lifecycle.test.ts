import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSqliteStore } from '@kaiwa/store-kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPluginFolder } from '../../plugins/src/test-support/build-plugin.js';
import {
  craftTarball,
  type PluginTarball,
  packPluginFolder,
} from '../../plugins/src/test-support/pack-plugin.js';
import { multipartBody, startTestServer, type TestServer } from './test-support.js';

/*
 * The plugin lifecycle over REST with real plugin processes (the process runtime) and real tarballs packed from
 * the lifecycle test plugin: install (checksum, hostile entries, bad manifests, duplicates), upgrade with its
 * migration hook and rollbacks, uninstall with and without data, the audit log, and an admin's stop kept in
 * the database across a restart on one SQLite file.
 */

const LIFECYCLE = fileURLToPath(new URL('../../plugins/src/test-fixtures/lifecycle', import.meta.url));

let built = '';
let workspace = '';
let pluginDirectory = '';
let databaseUrl = '';
let test: TestServer;
let admin: { token: string; user: { id: string } };
let roomId = '';

/** The lifecycle plugin at a version, behaving as `mode` says (see its plugin.mjs), as a tarball. */
async function variant(
  version: string,
  mode = 'ok',
  options: { versionStep?: boolean } = {},
): Promise<PluginTarball> {
  const folder = await mkdtemp(join(workspace, `variant-${version}-`));
  await cp(built, folder, { recursive: true });
  const manifestFile = join(folder, 'kaiwa-plugin.json');
  const manifest = JSON.parse(await readFile(manifestFile, 'utf8'));
  manifest.version = version;
  manifest.settings.mode.default = mode;
  if (options.versionStep) {
    manifest.capabilities.workflowSteps = [
      { type: 'lifecycle.version', description: 'Answers the running version' },
    ];
  }
  await writeFile(manifestFile, JSON.stringify(manifest));
  return packPluginFolder(folder);
}

function upload(url: string, tarball: PluginTarball, sha256 = tarball.sha256) {
  const { payload, headers } = multipartBody(
    { sha256 },
    { name: 'plugin.tgz', content: tarball.bytes, type: 'application/gzip' },
  );
  return test.call('POST', url, { token: admin.token, body: payload, headers });
}

function defineVersionWorkflow() {
  return test.call('POST', '/api/v1/workflows', {
    token: admin.token,
    body: {
      id: 'plugin-version',
      name: 'Plugin version',
      trigger: { type: 'manual' },
      steps: [{ id: 'version', type: 'lifecycle.version', input: {} }],
    },
  });
}

async function whoami(): Promise<string> {
  const ran = await test.call('POST', `/api/v1/rooms/${roomId}/commands`, {
    token: admin.token,
    body: { command: 'whoami', args: '' },
  });
  expect(ran.statusCode, ran.body).toBe(200);
  return ran.json().reply;
}

async function auditActions(): Promise<
  { action: string; outcome: string; details: Record<string, unknown> }[]
> {
  const page = await test.call('GET', '/api/v1/admin/audit?limit=100', { token: admin.token });
  return page.json().entries;
}

async function start(): Promise<void> {
  test = await startTestServer({
    databaseUrl,
    plugins: { directory: pluginDirectory, acceptUnisolatedNetwork: false },
  });
  admin = await test.signedIn('admin');
  roomId = (
    await test.call('POST', '/api/v1/rooms', {
      token: admin.token,
      body: { kind: 'channel', name: `lifecycle-${Date.now()}` },
    })
  ).json().id;
}

beforeAll(async () => {
  workspace = await mkdtemp(join(tmpdir(), 'kaiwa-lifecycle-'));
  pluginDirectory = join(workspace, 'plugins');
  databaseUrl = join(workspace, 'kaiwa.sqlite');
  await cp(await buildPluginFolder(LIFECYCLE), join(workspace, 'built'), { recursive: true });
  built = join(workspace, 'built');
  const { mkdir } = await import('node:fs/promises');
  await mkdir(pluginDirectory);
  await start();
}, 60_000);

afterAll(async () => {
  await test?.close();
  if (workspace) await rm(workspace, { recursive: true, force: true });
});

describe('plugin lifecycle over REST', () => {
  it('installs a plugin from a tarball: started as its bot user, its command answers, audited', async () => {
    const tarball = await variant('1.0.0');
    const installed = await upload('/api/v1/plugins', tarball, tarball.sha256.toUpperCase());
    expect(installed.statusCode, installed.body).toBe(201);
    expect(installed.json()).toMatchObject({
      id: 'lifecycle',
      version: '1.0.0',
      state: 'running',
      botUsername: 'plugin-lifecycle',
      installation: { enabled: true, sha256: tarball.sha256 },
    });
    expect(await whoami()).toBe('lifecycle 1.0.0; migrations: []');
    expect((await readdir(pluginDirectory)).toSorted()).toEqual(['lifecycle']);
    const entry = (await auditActions()).find((candidate) => candidate.action === 'plugin.installed');
    expect(entry).toMatchObject({
      outcome: 'success',
      details: { sha256: tarball.sha256, version: '1.0.0' },
    });
    const member = await test.signedIn('member');
    const refused = await test.call('POST', '/api/v1/plugins', { token: member.token });
    expect(refused.statusCode).toBe(403);
  });

  it('refuses a wrong checksum, hostile entries, a bad manifest naming every problem, and a second install', async () => {
    const good = await variant('1.0.0');
    const mismatch = await upload('/api/v1/plugins', good, 'f'.repeat(64));
    expect(mismatch.statusCode).toBe(400);
    expect(mismatch.json().error.code).toBe('checksum_mismatch');

    const missing = await test.call('POST', '/api/v1/plugins', {
      token: admin.token,
      ...(() => {
        const { payload, headers } = multipartBody({}, { name: 'plugin.tgz', content: good.bytes });
        return { body: payload, headers };
      })(),
    });
    expect(missing.statusCode).toBe(400);
    expect(missing.body).toContain('sha256');

    const manifest = await readFile(join(built, 'kaiwa-plugin.json'), 'utf8');
    const hostile = await craftTarball([
      { path: 'kaiwa-plugin.json', body: manifest.replace('"lifecycle"', '"hostile"') },
      { path: 'plugin.mjs', body: 'export {};' },
      { path: '../../escaped.mjs', body: 'owned' },
      { path: 'passwd', type: 'SymbolicLink', linkpath: '/etc/passwd' },
    ]);
    const traversal = await upload('/api/v1/plugins', hostile);
    expect(traversal.statusCode).toBe(400);
    expect(traversal.json().error).toMatchObject({
      code: 'invalid_package',
      details: {
        issues: [
          { path: ['../../escaped.mjs'], message: expect.stringContaining('..') },
          { path: ['passwd'], message: expect.stringContaining('link') },
        ],
      },
    });

    const bad = await craftTarball([
      {
        path: 'package/kaiwa-plugin.json',
        body: JSON.stringify({
          id: 'Not-Valid',
          version: 'latest',
          engines: { kaiwa: '^0.1.0' },
          entry: 'plugin.mjs',
          runtime: 'vm',
          capabilities: { slashCommands: [{ name: 'Bad Name' }] },
        }),
      },
      { path: 'package/plugin.mjs', body: 'export {};' },
    ]);
    const invalid = await upload('/api/v1/plugins', bad);
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json().error.code).toBe('invalid_manifest');
    const named = (invalid.json().error.details.issues as { path: (string | number)[] }[]).map((issue) =>
      issue.path.join('.'),
    );
    expect(named.toSorted()).toEqual(['capabilities.slashCommands.0.name', 'id', 'runtime', 'version']);

    const again = await upload('/api/v1/plugins', good);
    expect(again.statusCode).toBe(409);
    expect(again.json().error).toMatchObject({
      code: 'already_installed',
      details: { pluginId: 'lifecycle', upgrade: '/api/v1/plugins/lifecycle/upgrade' },
    });
    // Nothing of the refused uploads stayed behind: no staging folder, no other plugin.
    expect(await readdir(pluginDirectory)).toEqual(['lifecycle']);
    expect(await whoami()).toBe('lifecycle 1.0.0; migrations: []');
  });

  it('rolls back an upgrade that fails its health check or its migration: the old version answers again', async () => {
    const hanging = await upload(
      '/api/v1/plugins/lifecycle/upgrade',
      await variant('1.1.0', 'hang-after-migrate'),
    );
    expect(hanging.statusCode, hanging.body).toBe(422);
    expect(hanging.json().error).toMatchObject({
      code: 'upgrade_rolled_back',
      details: { stage: 'health', failedVersion: '1.1.0', restoredVersion: '1.0.0' },
    });
    // What the rolled-back version's migration wrote is undone.
    expect(await whoami()).toBe('lifecycle 1.0.0; migrations: []');

    const failing = await upload('/api/v1/plugins/lifecycle/upgrade', await variant('1.2.0', 'fail-migrate'));
    expect(failing.statusCode, failing.body).toBe(422);
    expect(failing.json().error.details).toMatchObject({
      stage: 'migrate',
      reason: expect.stringContaining('cannot migrate from 1.0.0'),
    });
    const crashing = await upload('/api/v1/plugins/lifecycle/upgrade', await variant('1.3.0', 'fail-start'));
    expect(crashing.json().error.details).toMatchObject({ stage: 'start' });
    expect(await whoami()).toBe('lifecycle 1.0.0; migrations: []');

    const same = await upload('/api/v1/plugins/lifecycle/upgrade', await variant('1.0.0'));
    expect(same.statusCode).toBe(409);
    expect(same.json().error.code).toBe('not_an_upgrade');
    const unknown = await upload('/api/v1/plugins/nope/upgrade', await variant('9.0.0'));
    expect(unknown.statusCode).toBe(404);

    const rollbacks = (await auditActions()).filter((entry) => entry.action === 'plugin.rolled_back');
    expect(rollbacks.map((entry) => entry.details.stage)).toEqual(['start', 'migrate', 'health']);
    const upgrades = (await auditActions()).filter((entry) => entry.action === 'plugin.upgraded');
    expect(upgrades.every((entry) => entry.outcome === 'failure')).toBe(true);
    // The old folder is back where it was; nothing of the failed versions stayed.
    expect(await readdir(pluginDirectory)).toEqual(['lifecycle']);
  }, 60_000);

  it('upgrades: the new version runs its migration once and answers; the old folder is kept as a backup', async () => {
    // Version 2.0.0 brings a workflow step type: workflows may use it at once, without a restart.
    const before = await defineVersionWorkflow();
    expect(before.statusCode, before.body).toBe(400);
    const upgraded = await upload(
      '/api/v1/plugins/lifecycle/upgrade',
      await variant('2.0.0', 'ok', { versionStep: true }),
    );
    expect(upgraded.statusCode, upgraded.body).toBe(200);
    expect(upgraded.json()).toMatchObject({
      id: 'lifecycle',
      version: '2.0.0',
      state: 'running',
      fromVersion: '1.0.0',
      toVersion: '2.0.0',
      migrated: true,
    });
    expect(await whoami()).toBe('lifecycle 2.0.0; migrations: ["1.0.0->2.0.0"]');
    // The old version's stop was asked for: admins see no problem.
    const listed = (await test.call('GET', '/api/v1/plugins', { token: admin.token })).json();
    expect(listed.plugins).toEqual([expect.objectContaining({ id: 'lifecycle', lastProblem: null })]);
    const backup = JSON.parse(
      await readFile(join(pluginDirectory, '.backup-lifecycle', 'kaiwa-plugin.json'), 'utf8'),
    );
    expect(backup.version).toBe('1.0.0');
    const entry = (await auditActions()).find((candidate) => candidate.action === 'plugin.upgraded');
    expect(entry).toMatchObject({
      outcome: 'success',
      details: { fromVersion: '1.0.0', toVersion: '2.0.0' },
    });
    const defined = await defineVersionWorkflow();
    expect(defined.statusCode, defined.body).toBe(201);
    const started = await test.call('POST', '/api/v1/workflows/plugin-version/runs', {
      token: admin.token,
      body: {},
    });
    expect(started.statusCode, started.body).toBeLessThan(300);
    const { steps } = await test.server.workflows.engine.waitForRun(started.json().id, {
      timeoutMs: 10_000,
    });
    expect(steps[0]).toMatchObject({ status: 'succeeded', output: { version: '2.0.0' } });
  }, 30_000);

  it('keeps an admin’s stop across a restart on one SQLite file, and a start too', async () => {
    const stopped = await test.call('POST', '/api/v1/plugins/lifecycle/stop', { token: admin.token });
    expect(stopped.json().state).toBe('stopped');
    await test.close();
    await start();
    const listed = (await test.call('GET', '/api/v1/plugins', { token: admin.token })).json();
    expect(listed.plugins).toEqual([
      expect.objectContaining({ id: 'lifecycle', version: '2.0.0', state: 'stopped' }),
    ]);
    const started = await test.call('POST', '/api/v1/plugins/lifecycle/start', { token: admin.token });
    expect(started.json().state).toBe('running');
    const store = await createSqliteStore({ filename: databaseUrl });
    try {
      expect(await store.pluginInstallations.get('lifecycle')).toMatchObject({
        version: '2.0.0',
        enabled: true,
      });
    } finally {
      await store.close();
    }
    expect(await whoami()).toContain('lifecycle 2.0.0');
  }, 60_000);

  it('uninstalls keeping its data, installs again with it, then uninstalls with its data', async () => {
    const kept = await test.call('DELETE', '/api/v1/plugins/lifecycle?keepData=true', { token: admin.token });
    expect(kept.statusCode, kept.body).toBe(200);
    expect(kept.json()).toEqual({ id: 'lifecycle', version: '2.0.0', keptData: true });
    expect(await readdir(pluginDirectory)).toEqual([]);
    expect((await test.call('GET', '/api/v1/plugins', { token: admin.token })).json().plugins).toEqual([]);
    const bot = await test.server.engine.getUserByUsername('plugin-lifecycle');
    expect(bot.deactivatedAt).toBeTruthy();
    const gone = await test.call('POST', `/api/v1/rooms/${roomId}/commands`, {
      token: admin.token,
      body: { command: 'whoami', args: '' },
    });
    expect(gone.statusCode).toBe(404);

    const reinstalled = await upload('/api/v1/plugins', await variant('2.0.0'));
    expect(reinstalled.statusCode, reinstalled.body).toBe(201);
    expect(await whoami()).toBe('lifecycle 2.0.0; migrations: ["1.0.0->2.0.0"]');
    expect((await test.server.engine.getUserByUsername('plugin-lifecycle')).deactivatedAt).toBeFalsy();

    const saving = await createSqliteStore({ filename: databaseUrl });
    try {
      await saving.pluginSettings.put(
        'lifecycle',
        {},
        { updatedAt: new Date().toISOString(), updatedBy: null },
      );
    } finally {
      await saving.close();
    }
    const removed = await test.call('DELETE', '/api/v1/plugins/lifecycle', { token: admin.token });
    expect(removed.json()).toEqual({ id: 'lifecycle', version: '2.0.0', keptData: false });
    const store = await createSqliteStore({ filename: databaseUrl });
    try {
      expect(await store.pluginKeyValues.list('lifecycle')).toEqual([]);
      expect(await store.pluginSettings.get('lifecycle')).toBeUndefined();
      expect(await store.pluginInstallations.get('lifecycle')).toBeUndefined();
    } finally {
      await store.close();
    }
    const again = await test.call('DELETE', '/api/v1/plugins/lifecycle', { token: admin.token });
    expect(again.statusCode).toBe(404);
    const uninstalls = (await auditActions()).filter((entry) => entry.action === 'plugin.uninstalled');
    expect(uninstalls.map((entry) => [entry.outcome, entry.details.keepData])).toEqual([
      ['failure', false],
      ['success', false],
      ['success', true],
    ]);
  }, 60_000);
});
