import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, type BrowserTestServer, startBrowserTestServer } from './browser-test-server.js';
import { chromiumSkipReason } from './chromium.js';

/*
 * A long room in a real browser: the reader scrolls up with the mouse wheel through 600 messages, older pages
 * loading as they go, and is never pulled back to the bottom nor held in place; a message arriving meanwhile
 * does not move what is being read. (It caught a windowed timeline that pinned the view after one wheel turn.)
 */

const PASSWORD = 'correct horse battery staple';
const MESSAGES = 600;

// The page's own globals, inside page.evaluate; typed by the page, not by this program.
// biome-ignore lint/suspicious/noExplicitAny: typed by the page, not by this program.
type InPage = any;
declare const document: InPage;

if (chromiumSkipReason) {
  console.info(`long room browser test skipped: ${chromiumSkipReason}`);
  describe.skip('a long room in a browser', () => {
    it('is skipped', () => {});
  });
} else {
  describe('a long room in a browser', () => {
    let app: BrowserTestServer;
    /** The long room and its messages, oldest first (seeded by the first test). */
    let roomId = '';
    const sent: { id: string }[] = [];

    beforeAll(async () => {
      app = await startBrowserTestServer({ name: 'long-room', password: PASSWORD });
    });
    afterEach((context) => app.screenshotFailures(context));
    afterAll(() => app?.close());

    /** The scroller's distance from the bottom and the index of the first message in view. */
    function view(page: Page) {
      return page.evaluate(() => {
        const scroller = document.querySelector('.room .message-scroller');
        const top = scroller.getBoundingClientRect().top;
        let first = -1;
        for (const row of document.querySelectorAll('.room li.message')) {
          if (row.getBoundingClientRect().bottom <= top) continue;
          const match = /Line (\d+) of the long room/.exec(row.textContent ?? '');
          if (match) first = Number(match[1]);
          break;
        }
        return {
          fromBottom: scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight,
          first,
        };
      });
    }

    it('scrolls back through a windowed timeline without being pulled to the bottom', {
      timeout: 180_000,
    }, async () => {
      const { engine, accounts } = app.server;
      await accounts.createAccount({
        username: 'ada',
        displayName: 'Ada',
        role: 'member',
        password: PASSWORD,
      });
      await accounts.createAccount({
        username: 'bob',
        displayName: 'Bob',
        role: 'member',
        password: PASSWORD,
      });
      const ada = await engine.getUserByUsername('ada');
      const bob = await engine.getUserByUsername('bob');
      const room = await engine.createRoom(ada.id, { kind: 'channel', name: 'long-room' });
      roomId = room.id;
      await engine.joinRoom(bob.id, room.id);
      for (let index = 0; index < MESSAGES; index += 1) {
        sent[index] = await engine.sendMessage(index % 2 === 0 ? ada.id : bob.id, {
          roomId: room.id,
          text: `Line ${index} of the long room${index % 7 === 0 ? ': a longer line that wraps onto a second row in a narrow window, to vary the heights' : ''}`,
        });
      }

      const page = await app.open({
        viewport: { width: 1100, height: 760 },
        path: `/rooms/${room.id}`,
        signInAs: 'ada',
      });
      await page.getByText(`Line ${MESSAGES - 1} of the long room`).waitFor();
      const scroller = page.locator('.room .message-scroller');
      await scroller.hover();

      let previous = (await view(page)).first;
      for (let step = 0; step < 120 && previous > 20; step += 1) {
        await page.mouse.wheel(0, -700);
        // The wheel scrolls a moment later (later still on a busy machine): wait for the view to move, then
        // let it settle for whatever would pull it back.
        const movedBy = Date.now() + 3_000;
        while ((await view(page)).first === previous && Date.now() < movedBy) await page.waitForTimeout(20);
        await page.waitForTimeout(60);
        const now = await view(page);
        // Never pulled back down: the reader is well away from the bottom and never further down than before.
        expect(now.fromBottom, `step ${step}`).toBeGreaterThan(300);
        expect(now.first, `step ${step}`).toBeLessThanOrEqual(previous + 1);
        previous = now.first;
      }
      expect(previous).toBeLessThanOrEqual(20);
      // Windowed: the rows near the view are in the page, not every message loaded.
      const rendered = await page.locator('.room li.message').count();
      expect(rendered).toBeGreaterThan(5);
      expect(rendered).toBeLessThan(MESSAGES / 2);
      await page.screenshot({ path: join(ARTIFACTS, 'long-room-scrolled-back-desktop.png') });

      // A message arriving while the reader is up in history leaves the view where it is.
      const before = await view(page);
      await engine.sendMessage(bob.id, { roomId: room.id, text: 'A new message at the bottom' });
      await page.getByRole('button', { name: /New messages/ }).waitFor();
      const after = await view(page);
      expect(after.first).toBe(before.first);
      expect(after.fromBottom).toBeGreaterThan(300);
      expect(app.pageErrors).toEqual([]);
    });

    it('opens a permalink deep in the long room at its message, and scrolls on from there', {
      timeout: 90_000,
    }, async () => {
      const target = sent[300];
      if (!target) throw new Error('the first test seeds the room');
      const page = await app.open({
        viewport: { width: 1100, height: 760 },
        path: `/rooms/${roomId}?message=${target.id}`,
        signInAs: 'bob',
      });
      // Shown in the middle of the view and highlighted, in a timeline of more rows than are rendered.
      const row = page.locator(`.room [data-message-id="${target.id}"][data-jumped]`);
      await row.waitFor();
      const inView = () =>
        page.evaluate((id) => {
          const scroller = document.querySelector('.room .message-scroller').getBoundingClientRect();
          const box = document.querySelector(`.room [data-message-id="${id}"]`)?.getBoundingClientRect();
          return box !== undefined && box.bottom > scroller.top && box.top < scroller.bottom;
        }, target.id);
      await expect.poll(inView).toBe(true);
      expect(await page.locator('.room li.message').count()).toBeLessThan(MESSAGES / 2);
      // The wheel moves on from it, down towards the present, without being pulled back to it.
      const start = await view(page);
      await page.locator('.room .message-scroller').hover();
      for (let turn = 0; turn < 3; turn += 1) await page.mouse.wheel(0, 700);
      await expect
        .poll(async () => (await view(page)).first, { timeout: 10_000 })
        .toBeGreaterThan(start.first + 10);

      // On a phone: the same permalink, then a fling up through history (the rows follow the view).
      const phone = await app.open({
        viewport: { width: 390, height: 844 },
        hasTouch: true,
        isMobile: true,
        deviceScaleFactor: 2,
        path: `/rooms/${roomId}?message=${target.id}`,
        signInAs: 'bob',
      });
      await phone.locator(`.room [data-message-id="${target.id}"][data-jumped]`).waitFor();
      await phone.screenshot({ path: join(ARTIFACTS, 'long-room-permalink-phone.png') });
      for (let fling = 0; fling < 6; fling += 1) {
        await phone.locator('.room .message-scroller').evaluate((element) => element.scrollBy(0, -1500));
        await phone.waitForTimeout(150);
        // Some message is in view once the fling settles: the window never leaves the reader on a spacer.
        await expect
          .poll(() =>
            phone.evaluate(() => {
              const box = document.querySelector('.room .message-scroller').getBoundingClientRect();
              return [...document.querySelectorAll('.room li.message')].some((row: InPage) => {
                const rect = row.getBoundingClientRect();
                return rect.bottom > box.top && rect.top < box.bottom;
              });
            }),
          )
          .toBe(true);
      }
      await phone.screenshot({ path: join(ARTIFACTS, 'long-room-flung-phone.png') });
      expect(app.pageErrors).toEqual([]);
    });
  });
}
