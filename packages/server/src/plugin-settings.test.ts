import { mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSqliteStore } from '@kaiwa/store-kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPluginFolder } from '../../plugins/src/test-support/build-plugin.js';
import { startTestServer, type TestServer } from './test-support.js';

/*
 * Plugin settings in the server, with a real plugin process: the `tuned` fixture declares settings of every
 * kind (text, enum, integer, number, boolean, secret) and answers `GET /plugins/tuned/settings` with what
 * `initialize` gave it and what `settings.get` says now. Admins read the schema and values, save new ones (the
 * plugin is restarted and answers with them), get a 400 naming each bad field, and the settings survive a
 * restart of the server on one SQLite file; members are refused.
 */

const TUNED = fileURLToPath(new URL('../../plugins/src/test-fixtures/settings', import.meta.url));
const TOKEN = 'tok-3f9a-very-secret';

let pluginDirectory = '';
let databaseDirectory = '';
let databaseUrl = '';
let test: TestServer;
let admin: { token: string; user: { id: string } };

const start = () =>
  startTestServer({ databaseUrl, plugins: { directory: pluginDirectory, acceptUnisolatedNetwork: false } });

/** What the running plugin says it got: in `initialize`, and from `settings.get` now. */
async function pluginSees(server: TestServer, token: string) {
  const answer = await server.call('GET', '/plugins/tuned/settings', { token });
  expect(answer.statusCode, answer.body).toBe(200);
  return answer.json() as { initial: Record<string, unknown>; current: Record<string, unknown> };
}

beforeAll(async () => {
  pluginDirectory = await mkdtemp(join(tmpdir(), 'kaiwa-plugin-settings-'));
  await rename(await buildPluginFolder(TUNED), join(pluginDirectory, 'tuned'));
  databaseDirectory = await mkdtemp(join(tmpdir(), 'kaiwa-plugin-settings-db-'));
  databaseUrl = join(databaseDirectory, 'kaiwa.sqlite');
  test = await start();
  admin = await test.signedIn('admin');
}, 60_000);

afterAll(async () => {
  await test?.close();
  if (pluginDirectory) await rm(pluginDirectory, { recursive: true, force: true });
  if (databaseDirectory) await rm(databaseDirectory, { recursive: true, force: true });
});

describe('plugin settings', () => {
  it('shows admins the settings schema and the defaults the plugin runs with', async () => {
    const answer = await test.call('GET', '/api/v1/plugins/tuned/settings', { token: admin.token });
    expect(answer.statusCode, answer.body).toBe(200);
    const view = answer.json();
    expect(view).toMatchObject({
      pluginId: 'tuned',
      values: { greeting: 'Hello', tone: 'friendly', repeat: 1, shout: false },
      secretsSet: [],
      updatedAt: null,
      updatedBy: null,
      state: 'running',
    });
    expect(view.definitions.map((definition: { key: string }) => definition.key)).toEqual([
      'greeting',
      'tone',
      'repeat',
      'ratio',
      'shout',
      'apiToken',
    ]);
    expect(view.definitions[0]).toEqual({
      key: 'greeting',
      type: 'string',
      title: 'Greeting',
      description: 'The word the plugin greets with',
      required: false,
      default: 'Hello',
      minLength: 1,
      maxLength: 40,
      secret: false,
    });
    expect(view.definitions[1]).toMatchObject({ key: 'tone', enum: ['friendly', 'formal', 'pirate'] });
    expect(view.definitions[2]).toMatchObject({ type: 'integer', minimum: 1, maximum: 5, default: 1 });
    expect(view.definitions[5]).toMatchObject({ key: 'apiToken', secret: true });
    expect(await pluginSees(test, admin.token)).toEqual({ initial: view.values, current: view.values });
  });

  it('saves new settings, restarts the plugin with them, and audits the keys that changed', async () => {
    const saved = await test.call('PUT', '/api/v1/plugins/tuned/settings', {
      token: admin.token,
      body: {
        values: { greeting: 'Ahoy', tone: 'pirate', repeat: 3, ratio: 0.25, shout: true, apiToken: TOKEN },
      },
    });
    expect(saved.statusCode, saved.body).toBe(200);
    expect(saved.json()).toMatchObject({
      values: { greeting: 'Ahoy', tone: 'pirate', repeat: 3, ratio: 0.25, shout: true },
      secretsSet: ['apiToken'],
      updatedBy: admin.user.id,
      state: 'running',
    });
    // The secret is never answered.
    expect(saved.body).not.toContain(TOKEN);
    // The restart is no problem to report.
    const listed = await test.call('GET', '/api/v1/plugins', { token: admin.token });
    expect(listed.json().plugins).toEqual([expect.objectContaining({ id: 'tuned', lastProblem: null })]);
    const sees = await pluginSees(test, admin.token);
    const expected = {
      greeting: 'Ahoy',
      tone: 'pirate',
      repeat: 3,
      ratio: 0.25,
      shout: true,
      apiToken: TOKEN,
    };
    expect(sees).toEqual({ initial: expected, current: expected });

    const read = await test.call('GET', '/api/v1/plugins/tuned/settings', { token: admin.token });
    expect(read.json().values).toEqual({
      greeting: 'Ahoy',
      tone: 'pirate',
      repeat: 3,
      ratio: 0.25,
      shout: true,
    });
    expect(read.body).not.toContain(TOKEN);

    const audit = await test.call('GET', '/api/v1/admin/audit?limit=20', { token: admin.token });
    const entry = (audit.json().entries as { action: string; details: Record<string, unknown> }[]).find(
      (each) => each.action === 'plugin.configured',
    );
    expect(entry).toMatchObject({
      target: { type: 'plugin', id: 'tuned' },
      outcome: 'success',
      details: { changed: ['apiToken', 'greeting', 'ratio', 'repeat', 'shout', 'tone'], state: 'running' },
    });
    expect(audit.body).not.toContain(TOKEN);
  });

  it('keeps a secret left out of a save; a setting left out gets its default again', async () => {
    const saved = await test.call('PUT', '/api/v1/plugins/tuned/settings', {
      token: admin.token,
      body: { values: { greeting: 'Moin', tone: 'formal', repeat: 2, shout: false } },
    });
    expect(saved.statusCode, saved.body).toBe(200);
    expect(saved.json().secretsSet).toEqual(['apiToken']);
    expect((await pluginSees(test, admin.token)).current).toEqual({
      greeting: 'Moin',
      tone: 'formal',
      repeat: 2,
      shout: false,
      apiToken: TOKEN,
    });
  });

  it('refuses bad values with a 400 naming each field, saving nothing', async () => {
    const refused = await test.call('PUT', '/api/v1/plugins/tuned/settings', {
      token: admin.token,
      body: { values: { greeting: '', tone: 'grumpy', repeat: 9, shout: 'yes', colour: 'red' } },
    });
    expect(refused.statusCode, refused.body).toBe(400);
    const error = refused.json().error;
    expect(error.code).toBe('invalid_settings');
    const fields = (error.details.issues as { path: string[]; message: string }[]).map(
      (issue) => issue.path[0],
    );
    expect(fields.sort()).toEqual(['colour', 'greeting', 'repeat', 'shout', 'tone']);
    expect(error.details.issues).toContainEqual({ path: ['repeat'], message: 'at most 5' });
    expect(error.message).toContain('repeat');
    const notJson = await test.call('PUT', '/api/v1/plugins/tuned/settings', {
      token: admin.token,
      body: { values: { greeting: { nested: true } } },
    });
    expect(notJson.statusCode).toBe(400);
    expect(notJson.body).toContain('greeting');
    expect((await pluginSees(test, admin.token)).current).toMatchObject({ greeting: 'Moin', repeat: 2 });
    const audit = await test.call('GET', '/api/v1/admin/audit?limit=5', { token: admin.token });
    const refusals = (audit.json().entries as { action: string }[]).filter(
      (entry) => entry.action === 'plugin.configured',
    );
    expect(refusals[0]).toMatchObject({ outcome: 'failure', details: { error: 'invalid_settings' } });
  });

  it('gives a stopped plugin its settings at its next start, without starting it', async () => {
    await test.call('POST', '/api/v1/plugins/tuned/stop', { token: admin.token });
    const saved = await test.call('PUT', '/api/v1/plugins/tuned/settings', {
      token: admin.token,
      body: { values: { greeting: 'Servus' } },
    });
    expect(saved.statusCode, saved.body).toBe(200);
    expect(saved.json().state).toBe('stopped');
    await test.call('POST', '/api/v1/plugins/tuned/start', { token: admin.token });
    expect((await pluginSees(test, admin.token)).initial).toMatchObject({ greeting: 'Servus', repeat: 1 });
  });

  it('refuses members (403) and answers 404 for a plugin that is not installed', async () => {
    const member = await test.signedIn('member');
    const read = await test.call('GET', '/api/v1/plugins/tuned/settings', { token: member.token });
    expect(read.statusCode).toBe(403);
    const write = await test.call('PUT', '/api/v1/plugins/tuned/settings', {
      token: member.token,
      body: { values: { greeting: 'Pwned' } },
    });
    expect(write.statusCode).toBe(403);
    expect((await pluginSees(test, admin.token)).current).toMatchObject({ greeting: 'Servus' });
    expect((await test.call('GET', '/api/v1/plugins/nope/settings', { token: admin.token })).statusCode).toBe(
      404,
    );
    const unknown = await test.call('PUT', '/api/v1/plugins/nope/settings', {
      token: admin.token,
      body: { values: {} },
    });
    expect(unknown.statusCode).toBe(404);
  });

  it('keeps the settings in the database: a restarted server starts the plugin with them', async () => {
    await test.close();
    const store = await createSqliteStore({ filename: databaseUrl });
    try {
      expect(await store.pluginSettings.get('tuned')).toMatchObject({
        values: { greeting: 'Servus', apiToken: TOKEN },
        updatedBy: admin.user.id,
      });
    } finally {
      await store.close();
    }
    test = await start();
    const again = await test.signedIn('admin');
    expect((await pluginSees(test, again.token)).initial).toEqual({
      greeting: 'Servus',
      tone: 'friendly',
      repeat: 1,
      shout: false,
      apiToken: TOKEN,
    });
    const read = await test.call('GET', '/api/v1/plugins/tuned/settings', { token: again.token });
    expect(read.json()).toMatchObject({ values: { greeting: 'Servus' }, updatedBy: admin.user.id });
  }, 60_000);
});
