import { mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildPluginFolder } from '../../../plugins/src/test-support/build-plugin.js';
import { ARTIFACTS, type BrowserTestServer, startBrowserTestServer } from './browser-test-server.js';
import { chromiumSkipReason } from './chromium.js';

/*
 * The admins' plugins screen in a real browser: the server's KAIWA_PLUGIN_DIR holds the example Hello plugin
 * (its sandboxed process). An admin sees it running with its bot user, stops it (the composer's `/hello`
 * completion goes away), starts it again; a member has no plugins button at all. Screenshots at desktop and
 * phone sizes go to test-artifacts/.
 */

const PASSWORD = 'correct horse battery staple';
const HELLO = fileURLToPath(new URL('../../../../examples/plugin-hello', import.meta.url));

if (chromiumSkipReason) {
  console.info(`plugins browser test skipped: ${chromiumSkipReason}`);
  describe.skip('plugins in a browser', () => {
    it('is skipped', () => {});
  });
} else {
  describe('plugins in a browser', () => {
    let app: BrowserTestServer;
    let pluginDirectory = '';

    beforeAll(async () => {
      pluginDirectory = await mkdtemp(join(tmpdir(), 'kaiwa-plugins-e2e-'));
      await rename(await buildPluginFolder(HELLO), join(pluginDirectory, 'hello'));
      app = await startBrowserTestServer({
        name: 'plugins',
        password: PASSWORD,
        consoleErrors: true,
        env: { KAIWA_PLUGIN_DIR: pluginDirectory },
      });
    }, 60_000);
    afterEach((context) => app.screenshotFailures(context));
    afterAll(async () => {
      await app?.close();
      if (pluginDirectory) await rm(pluginDirectory, { recursive: true, force: true });
    });

    it('lets an admin stop and start a plugin; members see no plugins button', {
      timeout: 90_000,
    }, async () => {
      await app.server.accounts.createAccount({
        username: 'root',
        displayName: 'Root',
        role: 'admin',
        password: PASSWORD,
      });
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
  });
}
