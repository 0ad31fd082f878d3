import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, type BrowserTestServer, startBrowserTestServer } from './browser-test-server.js';
import { chromiumSkipReason } from './chromium.js';

/*
 * The kept view (ui/src/kept-view.ts): a room reopened in this browser shows what was last seen of it at
 * once, before the app has its own rows, then the app's live rows replace it — with what changed meanwhile.
 * It is kept per person and room, refused by nothing in the page's CSP, out of reach of clicks and screen
 * readers, and deleted at sign-out.
 */

const PASSWORD = 'kept view password 2026!';
const DESKTOP = { viewport: { width: 1280, height: 800 } };
const KEY = 'kaiwa.keptView';

/** Installed before the page's scripts: the kept view's closed shadow root, for the test to look into. */
const TAKE_SHADOW_ROOTS = `(() => {
  window.__keptRoots = [];
  const attachShadow = Element.prototype.attachShadow;
  Element.prototype.attachShadow = function (init) {
    const shadow = attachShadow.call(this, init);
    window.__keptRoots.push(shadow);
    return shadow;
  };
})()`;

/** What the kept view shows now: its host's flags and the message texts in it that are in view. */
const KEPT_NOW = `(() => {
  const host = document.getElementById('kaiwa-kept-view');
  const shadow = window.__keptRoots.find((root) => root.host === host);
  if (!host || !shadow) return null;
  const scroller = shadow.querySelector('.room .message-scroller');
  const view = scroller.getBoundingClientRect();
  const inView = [...shadow.querySelectorAll('[data-message-id] .message-text')]
    .filter((text) => {
      const box = text.getBoundingClientRect();
      return box.height > 0 && box.top >= view.top - 1 && box.bottom <= view.bottom + 1;
    })
    .map((text) => text.textContent);
  const bold = [...shadow.querySelectorAll('.message-text strong')].map((strong) => strong.textContent);
  return { inert: host.inert, ariaHidden: host.getAttribute('aria-hidden'), inView, bold };
})()`;

interface KeptNow {
  inert: boolean;
  ariaHidden: string | null;
  inView: string[];
  bold: string[];
}

const skipReason = chromiumSkipReason;

if (skipReason) {
  console.info(`kept view browser test skipped: ${skipReason}`);
  describe.skip('web chat: the kept view', () => {
    it('is skipped', () => {});
  });
} else {
  describe('web chat: the kept view', () => {
    let app: BrowserTestServer;

    beforeAll(async () => {
      app = await startBrowserTestServer({ name: 'kept-view', password: PASSWORD, consoleErrors: true });
    });
    afterEach((context) => app.screenshotFailures(context));
    afterAll(() => app?.close());

    it('shows a reopened room as last seen at once, then the live rows; forgets it at sign-out', {
      timeout: 60_000,
    }, async () => {
      const { server } = app;
      const ada = await server.accounts.createAccount({
        username: 'ada',
        displayName: 'Ada',
        role: 'member',
        password: PASSWORD,
      });
      const team = await server.engine.createRoom(ada.user.id, { kind: 'channel', name: 'team' });
      const other = await server.engine.createRoom(ada.user.id, { kind: 'channel', name: 'other' });
      await server.engine.sendMessage(ada.user.id, { roomId: other.id, text: 'In the other room' });
      for (let n = 1; n <= 40; n += 1) {
        await server.engine.sendMessage(ada.user.id, {
          roomId: team.id,
          text: n === 40 ? `**Kept** line ${n} 会議 🎉` : `Kept line ${n}`,
        });
      }

      const page = await app.newPage(DESKTOP);
      await page.context().addInitScript(TAKE_SHADOW_ROOTS);
      await page.goto(`${app.baseUrl}/rooms/${team.id}`);
      await app.signIn(page, 'ada');
      const timeline = page.getByRole('log', { name: /^Messages in/ });
      await timeline.getByText('Kept line 39').waitFor();
      // Kept a second after the page last changed, in idle time.
      await expect
        .poll(
          () => page.evaluate<string | null>(`JSON.parse(localStorage.getItem('${KEY}') ?? 'null')?.roomId`),
          {
            timeout: 15_000,
          },
        )
        .toBe(team.id);

      // The room's messages held back: what shows on the reload is the kept view, not the app's rows.
      let release = () => {};
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      await page.route(/\/api\/v1\/rooms\/[^/]+\/messages/, async (route) => {
        await held;
        await route.continue();
      });
      await page.reload();
      await expect
        .poll(() => page.evaluate<KeptNow | null>(KEPT_NOW).then((kept) => kept?.inView.at(-1)), {
          timeout: 15_000,
        })
        .toBe('Kept line 40 会議 🎉');
      const kept = (await page.evaluate<KeptNow | null>(KEPT_NOW))!;
      expect(kept.inert).toBe(true);
      expect(kept.ariaHidden).toBe('true');
      // The rows that filled the view, newest last, in order; the markdown as the app rendered it.
      expect(kept.inView.length).toBeGreaterThan(5);
      expect(kept.inView.slice(-3)).toEqual(['Kept line 38', 'Kept line 39', 'Kept line 40 会議 🎉']);
      expect(kept.bold).toEqual(['Kept']);
      // Nothing of it is in reach of the document's queries (nor of the tests' locators).
      expect(await page.locator('[data-message-id]').count()).toBe(0);
      await page.screenshot({ path: join(ARTIFACTS, 'kept-view-desktop.png') });

      // Sent while the page was away: the live rows have it once they come, and the kept view is gone.
      await server.engine.sendMessage(ada.user.id, { roomId: team.id, text: 'Sent while away' });
      release();
      await timeline.getByText('Sent while away').waitFor();
      await expect
        .poll(() => page.evaluate<boolean>(`document.getElementById('kaiwa-kept-view') === null`), {
          timeout: 15_000,
        })
        .toBe(true);
      await page.unroute(/\/api\/v1\/rooms\/[^/]+\/messages/);

      // Another room's address: nothing kept of it is shown.
      await page.goto(`${app.baseUrl}/rooms/${other.id}`);
      await timeline.getByText('In the other room').waitFor();
      expect(await page.evaluate<number>(`window.__keptRoots.length`)).toBe(0);

      // The app started at `/` (as the installed app is) opens the room shown last: its kept view shows there.
      await expect
        .poll(
          () => page.evaluate<string | null>(`JSON.parse(localStorage.getItem('${KEY}') ?? 'null')?.roomId`),
          {
            timeout: 15_000,
          },
        )
        .toBe(other.id);
      let releaseAgain = () => {};
      const heldAgain = new Promise<void>((resolve) => {
        releaseAgain = resolve;
      });
      await page.route(/\/api\/v1\/rooms\/[^/]+\/messages/, async (route) => {
        await heldAgain;
        await route.continue();
      });
      await page.goto(`${app.baseUrl}/`);
      await expect
        .poll(() => page.evaluate<KeptNow | null>(KEPT_NOW).then((kept) => kept?.inView.at(-1)), {
          timeout: 15_000,
        })
        .toBe('In the other room');
      releaseAgain();
      await timeline.getByText('In the other room').waitFor();
      await expect
        .poll(() => page.evaluate<boolean>(`document.getElementById('kaiwa-kept-view') === null`), {
          timeout: 15_000,
        })
        .toBe(true);
      await page.unroute(/\/api\/v1\/rooms\/[^/]+\/messages/);

      // Signing out deletes it.
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      expect(await page.evaluate<string | null>(`localStorage.getItem('${KEY}')`)).toBeNull();
      expect(app.pageErrors).toEqual([]);
    });
  });
}
