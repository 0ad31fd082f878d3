import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, type BrowserTestServer, startBrowserTestServer } from './browser-test-server.js';
import { chromiumSkipReason } from './chromium.js';

/*
 * The web chat as an installable app: the manifest is served and complete, the service worker registers and
 * controls the page after a reload, and with the network gone a reload still shows the app and the last room's
 * messages (read-only, with the offline banner). Signing out deletes what was kept of the API.
 */

const PASSWORD = 'pwa password 2026!';
const PHONE = { viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true, deviceScaleFactor: 2 };

/** The browser globals of the code evaluated in the page (the root tsconfig has no DOM library). */
declare const navigator: {
  serviceWorker: { ready: Promise<unknown>; controller: { scriptURL: string } | null };
};
declare const caches: {
  has(name: string): Promise<boolean>;
  open(name: string): Promise<{ keys(): Promise<unknown[]> }>;
};

const skipReason = chromiumSkipReason;

if (skipReason) {
  console.info(`installable app browser test skipped: ${skipReason}`);
  describe.skip('web chat as an installable app', () => {
    it('is skipped', () => {});
  });
} else {
  describe('web chat as an installable app', () => {
    let app: BrowserTestServer;

    beforeAll(async () => {
      app = await startBrowserTestServer({ name: 'pwa', password: PASSWORD, consoleErrors: true });
    });
    afterEach((context) => app.screenshotFailures(context));
    afterAll(() => app?.close());

    it('serves a complete manifest and the service worker fresh', async () => {
      const page = await app.open(PHONE);
      const href = await page.locator('link[rel="manifest"]').getAttribute('href');
      expect(href).toBe('/manifest.webmanifest');
      expect(await page.locator('meta[name="theme-color"]').getAttribute('content')).toMatch(
        /^#[0-9a-f]{6}$/i,
      );

      const manifestResponse = await page.request.get(`${app.baseUrl}${href}`);
      expect(manifestResponse.headers()['content-type']).toContain('application/manifest+json');
      const manifest = await manifestResponse.json();
      expect(manifest).toMatchObject({
        name: 'Kaiwa 会話',
        short_name: 'Kaiwa',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        theme_color: expect.stringMatching(/^#[0-9a-f]{6}$/i),
        background_color: expect.stringMatching(/^#[0-9a-f]{6}$/i),
      });
      expect(manifest.icons.length).toBeGreaterThan(0);
      for (const icon of manifest.icons as { src: string; type: string; sizes: string }[]) {
        const response = await page.request.get(`${app.baseUrl}${icon.src}`);
        expect(response.status(), icon.src).toBe(200);
        expect(response.headers()['content-type']).toContain(icon.type);
      }

      const worker = await page.request.get(`${app.baseUrl}/sw.js`);
      expect(worker.status()).toBe(200);
      expect(worker.headers()['content-type']).toContain('javascript');
      expect(worker.headers()['cache-control']).toBe('no-cache');
      expect(worker.headers()['content-security-policy']).toContain("worker-src 'self'");

      // Chromium's own parse of the manifest finds nothing wrong. (Its installability check answers only
      // "in-incognito" in a test browser's fresh context, so it cannot tell more here.)
      const cdp = await page.context().newCDPSession(page);
      const parsed = (await cdp.send('Page.getAppManifest')) as {
        url: string;
        errors: { message: string }[];
      };
      expect(parsed.url).toBe(`${app.baseUrl}/manifest.webmanifest`);
      expect(parsed.errors.map((error) => error.message)).toEqual([]);
      expect(app.pageErrors).toEqual([]);
    });

    it('controls the page, shows the last room offline, and forgets it at sign-out', {
      timeout: 45_000,
    }, async () => {
      const { server } = app;
      const alice = await server.accounts.createAccount({
        username: 'alice',
        displayName: 'Alice',
        role: 'member',
        password: PASSWORD,
      });
      const team = await server.engine.createRoom(alice.user.id, { kind: 'channel', name: 'team' });
      for (let n = 1; n <= 5; n += 1) {
        await server.engine.sendMessage(alice.user.id, { roomId: team.id, text: `Kept for the train ${n}` });
      }

      const page = await app.open({ ...PHONE, signInAs: 'alice' });
      const timeline = page.getByRole('log', { name: /^Messages in/ });
      await timeline.getByText('Kept for the train 5').waitFor();

      // Registered at load; it takes over this page (clients.claim) and, after a reload, controls it from the start.
      await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
      await page.reload();
      await timeline.getByText('Kept for the train 5').waitFor();
      expect(await page.evaluate(() => navigator.serviceWorker.controller?.scriptURL)).toBe(
        `${app.baseUrl}/sw.js`,
      );

      // No network: the app shell and the room's messages come from the cache.
      await page.context().setOffline(true);
      await page.reload();
      await page.getByRole('heading', { name: 'team', level: 1 }).waitFor();
      await timeline.getByText('Kept for the train 1').waitFor();
      await timeline.getByText('Kept for the train 5').waitFor();
      await page.locator('.offline-bar').waitFor();
      await page
        .locator('.connection')
        .getByText(/Offline/)
        .waitFor();
      await page.screenshot({ path: join(ARTIFACTS, 'offline-phone.png') });

      // Back online, signing out deletes the API answers kept for offline reading.
      await page.context().setOffline(false);
      await page.locator('.connection').getByText('Connected').waitFor();
      expect(await page.evaluate(() => caches.has('kaiwa-data'))).toBe(true);
      await page.getByRole('button', { name: /^Rooms/ }).click();
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      await expect
        .poll(() =>
          page.evaluate(async () =>
            (await caches.has('kaiwa-data')) ? (await (await caches.open('kaiwa-data')).keys()).length : 0,
          ),
        )
        .toBe(0);
      expect(app.pageErrors).toEqual([]);
    });
  });
}
