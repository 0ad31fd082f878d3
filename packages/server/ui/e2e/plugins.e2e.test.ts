import { cp, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSqliteStore } from '@kaiwa/store-kysely';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildPluginFolder } from '../../../plugins/src/test-support/build-plugin.js';
import { type PluginTarball, packPluginFolder } from '../../../plugins/src/test-support/pack-plugin.js';
import { seriousViolations } from './axe.js';
import { ARTIFACTS, type BrowserTestServer, startBrowserTestServer } from './browser-test-server.js';
import { chromiumSkipReason } from './chromium.js';

/*
 * The admins' plugins screen in a real browser: the server's KAIWA_PLUGIN_DIR holds the example Hello plugin
 * (its sandboxed process). An admin sees it running with its bot user, stops it (the composer's `/hello`
 * completion goes away), starts it again; a member has no plugins button at all. The `tuned` fixture plugin has
 * settings of every kind: an admin edits them in the form rendered from its schema (the running plugin then
 * answers with them), sees the browser's check and the server's complaint under the fields they concern, and
 * reads the plugin's job runs (recorded in the database beforehand), by keyboard too, at phone size as well.
 * The lifecycle test plugin, packed into real tarballs: an admin installs it from the screen (a wrong checksum
 * is refused, with the server's issue listed), sees an upgrade rolled back (stage, reason, the version that runs
 * again), upgrades it, and uninstalls it keeping its data.
 * Screenshots at desktop and phone sizes go to test-artifacts/; axe-core finds nothing serious or critical.
 */

const PASSWORD = 'correct horse battery staple';
const HELLO = fileURLToPath(new URL('../../../../examples/plugin-hello', import.meta.url));
const TUNED = fileURLToPath(new URL('../../../plugins/src/test-fixtures/settings', import.meta.url));
const LIFECYCLE = fileURLToPath(new URL('../../../plugins/src/test-fixtures/lifecycle', import.meta.url));

/** The built lifecycle plugin at a version, behaving as `mode` says (see its plugin.mjs), packed. */
async function lifecycleTarball(built: string, version: string, mode = 'ok'): Promise<PluginTarball> {
  const folder = await mkdtemp(join(tmpdir(), `kaiwa-lifecycle-${version}-`));
  await cp(built, folder, { recursive: true });
  const manifestFile = join(folder, 'kaiwa-plugin.json');
  const manifest = JSON.parse(await readFile(manifestFile, 'utf8'));
  manifest.version = version;
  manifest.settings.mode.default = mode;
  await writeFile(manifestFile, JSON.stringify(manifest));
  try {
    return await packPluginFolder(folder);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

/** Runs of the `tuned` plugin's job as instances recorded them: one done, one failed, one still running. */
async function recordJobRuns(databaseUrl: string): Promise<void> {
  const store = await createSqliteStore({ filename: databaseUrl });
  try {
    await store.migrate();
    const slot = (day: number) => ({
      pluginId: 'tuned',
      job: 'digest',
      scheduledAt: new Date(Date.UTC(2026, 11, day, 9)).toISOString(),
    });
    const claim = (day: number) => ({
      instanceId: `kaiwa-${day % 2 === 0 ? 'a' : 'b'}:4242:9f1c2e7a`,
      claimedAt: new Date(Date.UTC(2026, 11, day, 9, 0, 0, 20)).toISOString(),
    });
    const finishedAt = (day: number, ms: number) =>
      new Date(Date.UTC(2026, 11, day, 9, 0, 0, 20 + ms)).toISOString();
    await store.pluginJobRuns.claim(slot(4), claim(4));
    await store.pluginJobRuns.finish(slot(4), {
      status: 'done',
      finishedAt: finishedAt(4, 84),
      durationMs: 84,
    });
    await store.pluginJobRuns.claim(slot(5), claim(5));
    await store.pluginJobRuns.finish(slot(5), {
      status: 'failed',
      finishedAt: finishedAt(5, 2000),
      durationMs: 2000,
      reason: 'plugin "tuned" did not answer "jobs.run" within 2000 ms',
    });
    await store.pluginJobRuns.claim(slot(6), claim(6));
  } finally {
    await store.close();
  }
}

if (chromiumSkipReason) {
  console.info(`plugins browser test skipped: ${chromiumSkipReason}`);
  describe.skip('plugins in a browser', () => {
    it('is skipped', () => {});
  });
} else {
  describe('plugins in a browser', () => {
    let app: BrowserTestServer;
    let pluginDirectory = '';
    let databaseDirectory = '';

    beforeAll(async () => {
      pluginDirectory = await mkdtemp(join(tmpdir(), 'kaiwa-plugins-e2e-'));
      await rename(await buildPluginFolder(HELLO), join(pluginDirectory, 'hello'));
      await rename(await buildPluginFolder(TUNED), join(pluginDirectory, 'tuned'));
      databaseDirectory = await mkdtemp(join(tmpdir(), 'kaiwa-plugins-e2e-db-'));
      const databaseUrl = join(databaseDirectory, 'kaiwa.sqlite');
      await recordJobRuns(databaseUrl);
      app = await startBrowserTestServer({
        name: 'plugins',
        password: PASSWORD,
        consoleErrors: true,
        env: { KAIWA_PLUGIN_DIR: pluginDirectory, KAIWA_DATABASE_URL: databaseUrl },
      });
      await app.server.accounts.createAccount({
        username: 'root',
        displayName: 'Root',
        role: 'admin',
        password: PASSWORD,
      });
    }, 60_000);
    afterEach((context) => app.screenshotFailures(context));
    afterAll(async () => {
      await app?.close();
      if (pluginDirectory) await rm(pluginDirectory, { recursive: true, force: true });
      if (databaseDirectory) await rm(databaseDirectory, { recursive: true, force: true });
    });

    it('lets an admin stop and start a plugin; members see no plugins button', {
      timeout: 90_000,
    }, async () => {
      await app.server.accounts.createAccount({ username: 'ada', role: 'member', password: PASSWORD });

      const page = await app.open({ viewport: { width: 1280, height: 800 }, signInAs: 'root' });
      await page.getByRole('button', { name: 'Plugins' }).click();
      const dialog = page.getByRole('dialog', { name: 'Plugins' });
      const row = dialog.locator('.plugin-row', { hasText: 'hello' });
      await row.locator('.plugin-state', { hasText: 'Running' }).waitFor();
      await row.getByText('acts as @plugin-hello').waitFor();
      await page.screenshot({ path: join(ARTIFACTS, 'plugins-desktop.png') });

      await row.getByRole('button', { name: 'Stop hello' }).click();
      await row.locator('.plugin-state', { hasText: 'Stopped' }).waitFor();
      await row.getByRole('button', { name: 'Start hello' }).click();
      await row.locator('.plugin-state', { hasText: 'Running' }).waitFor();
      await row.getByRole('button', { name: 'Stop hello' }).waitFor();
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'hidden' });

      const phone = await app.open({ viewport: { width: 390, height: 844 }, signInAs: 'root' });
      await phone.getByRole('button', { name: /^Rooms/ }).click();
      await phone.getByRole('button', { name: 'Plugins' }).click();
      await phone
        .getByRole('dialog', { name: 'Plugins' })
        .locator('.plugin-row', { hasText: 'hello' })
        .locator('.plugin-state', { hasText: 'Running' })
        .waitFor();
      expect(await phone.evaluate<boolean>('document.documentElement.scrollWidth <= window.innerWidth')).toBe(
        true,
      );
      await phone.screenshot({ path: join(ARTIFACTS, 'plugins-phone.png') });

      const member = await app.open({ viewport: { width: 1280, height: 800 }, signInAs: 'ada' });
      await member.getByRole('button', { name: 'Sign out' }).waitFor();
      expect(await member.getByRole('button', { name: 'Plugins' }).count()).toBe(0);
      expect(app.pageErrors).toEqual([]);
    });

    it('lets an admin edit a plugin’s settings and read its job runs, at desktop and phone size', {
      timeout: 120_000,
    }, async () => {
      const { accessToken } = await app.server.accounts.login('root', PASSWORD);
      const pluginSees = async () => {
        const answer = await fetch(`${app.baseUrl}/plugins/tuned/settings`, {
          headers: { authorization: `Bearer ${accessToken}` },
        });
        expect(answer.status).toBe(200);
        return ((await answer.json()) as { current: Record<string, unknown> }).current;
      };

      const page = await app.open({ viewport: { width: 1280, height: 800 }, signInAs: 'root' });
      await page.getByRole('button', { name: 'Plugins' }).click();
      const dialog = page.getByRole('dialog', { name: 'Plugins' });
      const row = dialog.locator('.plugin-row', { hasText: 'tuned' });
      await row.locator('.plugin-state', { hasText: 'Running' }).waitFor();
      const opener = row.getByRole('button', { name: 'Settings of tuned' });
      expect(await opener.getAttribute('aria-expanded')).toBe('false');
      await opener.click();
      expect(await opener.getAttribute('aria-expanded')).toBe('true');
      const form = row.locator('form');
      const greeting = form.getByLabel('Greeting');
      await greeting.waitFor();
      // Rendered from the schema: labels, help, defaults, bounds; a choice, a switch, a masked secret.
      expect(await greeting.inputValue()).toBe('Hello');
      await form.getByText('The word the plugin greets with').waitFor();
      await form.getByText('Leave empty for the default, Hello.').waitFor();
      expect(await form.getByLabel('Tone').evaluate((element) => element.tagName)).toBe('SELECT');
      await form.getByText('From 1 to 5.').waitFor();
      const shout = form.getByRole('switch', { name: 'Shout' });
      expect(await shout.isChecked()).toBe(false);
      expect(await form.getByLabel('API token').getAttribute('type')).toBe('password');
      const save = form.getByRole('button', { name: 'Save settings' });
      expect(await save.isDisabled()).toBe(true);

      // By keyboard: type, choose, switch, save.
      await greeting.fill('Ahoy');
      await greeting.press('Tab');
      await form.getByLabel('Tone').selectOption('pirate');
      await form.getByLabel('Repeat').fill('3');
      await shout.focus();
      await page.keyboard.press('Space');
      expect(await shout.isChecked()).toBe(true);
      await form.getByLabel('API token').fill('tok-3f9a');
      expect(await save.isDisabled()).toBe(false);
      await save.focus();
      await page.keyboard.press('Enter');
      await form.getByText('Saved. The plugin was restarted with the new settings.').waitFor();
      expect(await save.isDisabled()).toBe(true);
      expect(await pluginSees()).toEqual({
        greeting: 'Ahoy',
        tone: 'pirate',
        repeat: 3,
        shout: true,
        apiToken: 'tok-3f9a',
      });
      await form.getByText('A value is saved and stays hidden. Leave empty to keep it.').waitFor();
      expect(await form.getByLabel('API token').inputValue()).toBe('');

      // The browser's own check, then the server's complaint, each under its field.
      await form.getByLabel('Ratio').fill('lots');
      await save.click();
      await form.getByText('Enter a number.').waitFor();
      expect(await form.getByLabel('Ratio').getAttribute('aria-invalid')).toBe('true');
      expect(await page.evaluate<string | null>("document.activeElement?.getAttribute('name') ?? null")).toBe(
        'ratio',
      );
      await form.getByLabel('Ratio').fill('0.5');
      await form.getByLabel('Repeat').fill('9');
      await save.click();
      const repeatError = form.locator('.field-error', { hasText: 'At most 5' });
      await repeatError.waitFor();
      expect(await form.getByLabel('Repeat').getAttribute('aria-invalid')).toBe('true');
      expect(await form.getByLabel('Repeat').getAttribute('aria-describedby')).toContain(
        (await repeatError.getAttribute('id')) ?? 'missing',
      );
      await form.getByText('Check the marked fields.').waitFor();
      expect((await pluginSees()).repeat).toBe(3);
      await page.screenshot({ path: join(ARTIFACTS, 'plugin-settings-desktop.png'), fullPage: true });
      expect(await seriousViolations(page)).toEqual([]);

      // Job runs, latest first.
      await row.getByRole('button', { name: 'Job runs of tuned' }).click();
      const runs = row.getByRole('table');
      await runs.waitFor();
      const rows = runs.locator('tbody tr');
      expect(await rows.count()).toBe(3);
      expect(await rows.nth(0).textContent()).toContain('Running');
      expect(await rows.nth(1).textContent()).toContain('did not answer "jobs.run" within 2000 ms');
      expect(await rows.nth(1).textContent()).toContain('2.0 s');
      expect(await rows.nth(2).textContent()).toContain('84 ms');
      expect(await rows.nth(2).textContent()).toContain('kaiwa-a:4242:9f1c2e7a');
      await page.screenshot({ path: join(ARTIFACTS, 'plugin-job-runs-desktop.png'), fullPage: true });
      expect(await seriousViolations(page)).toEqual([]);
      // A plugin without runs says so.
      const hello = dialog.locator('.plugin-row', { hasText: 'hello' });
      await hello.getByRole('button', { name: 'Job runs of hello' }).click();
      await hello.getByText('No scheduled job of this plugin has run yet.').waitFor();

      // At phone size: the form and the runs fit the width.
      const phone = await app.open({ viewport: { width: 390, height: 844 }, signInAs: 'root' });
      await phone.getByRole('button', { name: /^Rooms/ }).click();
      await phone.getByRole('button', { name: 'Plugins' }).click();
      const phoneRow = phone
        .getByRole('dialog', { name: 'Plugins' })
        .locator('.plugin-row', { hasText: 'tuned' });
      await phoneRow.getByRole('button', { name: 'Settings of tuned' }).click();
      expect(await phoneRow.getByLabel('Greeting').inputValue()).toBe('Ahoy');
      const fits = () => phone.evaluate<boolean>('document.documentElement.scrollWidth <= window.innerWidth');
      expect(await fits()).toBe(true);
      await phone.screenshot({ path: join(ARTIFACTS, 'plugin-settings-phone.png'), fullPage: true });
      await phoneRow.getByRole('button', { name: 'Job runs of tuned' }).click();
      await phoneRow.getByRole('table').waitFor();
      await phoneRow.getByText('did not answer "jobs.run" within 2000 ms').scrollIntoViewIfNeeded();
      expect(await fits()).toBe(true);
      await phone.screenshot({ path: join(ARTIFACTS, 'plugin-job-runs-phone.png') });
      expect(await seriousViolations(phone)).toEqual([]);
      expect(app.pageErrors).toEqual([]);
    });

    it('lets an admin install a plugin from a tarball, upgrade it (after a rollback) and uninstall it', {
      timeout: 180_000,
    }, async () => {
      const built = await buildPluginFolder(LIFECYCLE);
      const first = await lifecycleTarball(built, '1.0.0');
      const broken = await lifecycleTarball(built, '2.0.0', 'fail-migrate');
      const next = await lifecycleTarball(built, '1.1.0');
      const fits = (page: Page) =>
        page.evaluate<boolean>('document.documentElement.scrollWidth <= window.innerWidth');

      const page = await app.open({ viewport: { width: 1280, height: 800 }, signInAs: 'root' });
      await page.getByRole('button', { name: 'Plugins' }).click();
      const dialog = page.getByRole('dialog', { name: 'Plugins' });
      await dialog.locator('.plugin-row', { hasText: 'hello' }).waitFor();

      // By keyboard: the Install plugin button opens the form; the file field comes next.
      const opener = dialog.getByRole('button', { name: 'Install plugin' });
      expect(await opener.getAttribute('aria-expanded')).toBe('false');
      await opener.focus();
      await page.keyboard.press('Enter');
      expect(await opener.getAttribute('aria-expanded')).toBe('true');
      const install = dialog.getByRole('region', { name: 'Install a plugin' });
      await install.getByText('sha256sum plugin.tgz').waitFor();
      await page.keyboard.press('Tab');
      expect(await page.evaluate<string | null>("document.activeElement?.getAttribute('name') ?? null")).toBe(
        'file',
      );

      // Nothing chosen: the form says what is missing, under each field.
      await install.getByRole('button', { name: 'Install', exact: true }).click();
      await install.getByText('Choose the plugin file.').waitFor();
      await install.getByText('Paste the 64 hexadecimal digits of the SHA-256 checksum.').waitFor();

      // A checksum that is not the file's: the browser says so, the server refuses it and names the issue.
      await install.getByLabel('Plugin file (.tgz or .tar)').setInputFiles(first.file);
      const checksum = install.getByLabel('SHA-256 checksum');
      await checksum.fill(broken.sha256);
      await install.getByText(`Does not match the chosen file, whose SHA-256 is ${first.sha256}.`).waitFor();
      await install.getByRole('button', { name: 'Install', exact: true }).click();
      const refusal = install.getByRole('alert');
      await refusal.getByText('The SHA-256 checksum does not match the file; nothing was changed.').waitFor();
      await refusal.getByText(`sha256: the tarball's SHA-256 is ${first.sha256}`).waitFor();
      expect(await checksum.getAttribute('aria-invalid')).toBe('true');
      expect(await dialog.locator('.plugin-row', { hasText: 'lifecycle' }).count()).toBe(0);
      await refusal.scrollIntoViewIfNeeded();
      await page.screenshot({ path: join(ARTIFACTS, 'plugin-install-refused-desktop.png') });
      expect(await seriousViolations(page)).toEqual([]);

      // The right one, pasted as sha256sum prints it: it matches, and the plugin is installed and runs.
      await checksum.fill(`${first.sha256}  plugin.tgz`);
      await install.getByText('Matches the chosen file.').waitFor();
      expect(await refusal.count()).toBe(0);
      await page.screenshot({ path: join(ARTIFACTS, 'plugin-install-desktop.png'), fullPage: true });
      await checksum.press('Enter');
      await dialog.getByText('Installed lifecycle 1.0.0.').waitFor();
      expect(await install.count()).toBe(0);
      const row = dialog.locator('.plugin-row', { hasText: 'lifecycle' });
      await row.locator('.plugin-state', { hasText: 'Running' }).waitFor();
      await row.getByText('acts as @plugin-lifecycle').waitFor();

      // An upgrade whose migration fails is rolled back: stage, reason and the version running again.
      await row.getByRole('button', { name: 'Upgrade lifecycle' }).click();
      const upgrade = row.getByRole('region', { name: 'Upgrade lifecycle' });
      await upgrade.getByLabel('Plugin file (.tgz or .tar)').setInputFiles(broken.file);
      await upgrade.getByLabel('SHA-256 checksum').fill(broken.sha256);
      await upgrade.getByText('Matches the chosen file.').waitFor();
      await upgrade.getByRole('button', { name: 'Upgrade', exact: true }).click();
      const rollback = upgrade.getByRole('alert');
      await rollback.getByText('The upgrade was rolled back.').waitFor({ timeout: 30_000 });
      await rollback
        .getByText(/^Version 2\.0\.0 failed at its data migration: .*cannot migrate from 1\.0\.0/)
        .waitFor();
      await rollback.getByText('Version 1.0.0 was put back and runs again.').waitFor();
      await row.locator('.plugin-state', { hasText: 'Running' }).waitFor();
      expect(await row.locator('.plugin-name').textContent()).toContain('1.0.0');
      await rollback.scrollIntoViewIfNeeded();
      await page.screenshot({
        path: join(ARTIFACTS, 'plugin-upgrade-rolled-back-desktop.png'),
        fullPage: true,
      });
      expect(await seriousViolations(page)).toEqual([]);

      // A good upgrade: its migration ran; the row shows the new version.
      await upgrade.getByLabel('Plugin file (.tgz or .tar)').setInputFiles(next.file);
      await upgrade.getByLabel('SHA-256 checksum').fill(next.sha256);
      await upgrade.getByRole('button', { name: 'Upgrade', exact: true }).click();
      await row.getByText('Upgraded lifecycle from 1.0.0 to 1.1.0; its data migration ran.').waitFor({
        timeout: 30_000,
      });
      await row.locator('.plugin-name', { hasText: '1.1.0' }).waitFor();
      expect(await page.evaluate<string | null>('document.activeElement?.textContent ?? null')).toBe(
        'Upgrade',
      );

      // Uninstall asks first, says what goes, and keeps the data unless unticked.
      await row.getByRole('button', { name: 'Uninstall lifecycle' }).click();
      const uninstall = row.getByRole('region', { name: 'Uninstall lifecycle?' });
      await uninstall.getByText('deactivates its bot user @plugin-lifecycle').waitFor();
      const keep = uninstall.getByLabel('Keep its data');
      expect(await keep.isChecked()).toBe(true);
      await uninstall.getByText('Its stored data and job runs stay in the database').waitFor();
      await keep.uncheck();
      await uninstall.getByText('Its stored data and job runs are deleted as well.').waitFor();
      await keep.check();
      await page.screenshot({ path: join(ARTIFACTS, 'plugin-uninstall-desktop.png'), fullPage: true });
      expect(await seriousViolations(page)).toEqual([]);
      const sent = page.waitForRequest((request) => request.method() === 'DELETE');
      await uninstall.getByRole('button', { name: 'Uninstall lifecycle' }).click();
      expect((await sent).url()).toContain('/plugins/lifecycle?keepData=true');
      await dialog.getByText('Uninstalled lifecycle; its data was kept.').waitFor();
      await row.waitFor({ state: 'detached' });
      await expect
        .poll(() => page.evaluate<string | null>('document.activeElement?.textContent ?? null'))
        .toBe('Uninstalled lifecycle; its data was kept.');

      // At phone size: the install form with a refusal, and the uninstall question, fit the width.
      const phone = await app.open({ viewport: { width: 390, height: 844 }, signInAs: 'root' });
      await phone.getByRole('button', { name: /^Rooms/ }).click();
      await phone.getByRole('button', { name: 'Plugins' }).click();
      const phoneDialog = phone.getByRole('dialog', { name: 'Plugins' });
      await phoneDialog.getByRole('button', { name: 'Install plugin' }).click();
      const phoneInstall = phoneDialog.getByRole('region', { name: 'Install a plugin' });
      await phoneInstall.getByLabel('Plugin file (.tgz or .tar)').setInputFiles(next.file);
      await phoneInstall.getByLabel('SHA-256 checksum').fill(first.sha256);
      await phoneInstall.getByRole('button', { name: 'Install', exact: true }).click();
      await phoneInstall.getByText(`sha256: the tarball's SHA-256 is ${next.sha256}`).waitFor();
      expect(await fits(phone)).toBe(true);
      await phoneInstall.getByRole('button', { name: 'Install', exact: true }).scrollIntoViewIfNeeded();
      await phone.screenshot({ path: join(ARTIFACTS, 'plugin-install-phone.png') });
      expect(await seriousViolations(phone)).toEqual([]);
      await phoneInstall.getByRole('button', { name: 'Cancel' }).click();
      const phoneHello = phoneDialog.locator('.plugin-row', { hasText: 'hello' });
      await phoneHello.getByRole('button', { name: 'Uninstall hello' }).click();
      await phoneHello.getByLabel('Keep its data').waitFor();
      expect(await fits(phone)).toBe(true);
      await phoneHello.getByRole('region', { name: 'Uninstall hello?' }).scrollIntoViewIfNeeded();
      await phone.screenshot({ path: join(ARTIFACTS, 'plugin-uninstall-phone.png') });
      expect(await seriousViolations(phone)).toEqual([]);
      await phoneHello.getByRole('button', { name: 'Cancel' }).click();
      await phoneHello.locator('.plugin-state', { hasText: 'Running' }).waitFor();
      expect(app.pageErrors).toEqual([]);
    });
  });
}
