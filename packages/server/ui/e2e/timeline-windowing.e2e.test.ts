import { join } from 'node:path';
import { KaiwaRestClient } from '@kaiwa/client';
import { SYSTEM_ACTOR } from '@kaiwa/core';
import type { Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { seriousViolations } from './axe.js';
import { ARTIFACTS, type BrowserTestServer, startBrowserTestServer } from './browser-test-server.js';
import { chromiumSkipReason } from './chromium.js';

/*
 * The windowed timeline beyond the room's own list: a thread of 2,000 replies keeps only the replies near the
 * view in the page (and still scrolls back to its first reply), and an image finishing loading in a row above
 * the view does not move what the reader is reading (the browser's own scroll anchoring is off there). And the
 * rows' controls follow the server's rights for the room (Retry on a failed transcript for its moderators).
 */

const PASSWORD = 'correct horse battery staple';
const REPLIES = 2_000;
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true, deviceScaleFactor: 2 };

// The page's own globals, inside page.evaluate; typed by the page, not by this program.
// biome-ignore lint/suspicious/noExplicitAny: typed by the page, not by this program.
type InPage = any;
declare const document: InPage;

/**
 * Scrolls a list by `by` pixels as a reader would: the mouse wheel on a desktop; on a phone a finger's
 * touchmove (which is what lets a list that follows the bottom go) and the scroll it makes.
 */
async function readerScroll(page: Page, scroller: Locator, phone: boolean, by: number): Promise<void> {
  if (!phone) {
    await scroller.hover();
    await page.mouse.wheel(0, by);
    return;
  }
  await scroller.evaluate((element: InPage, pixels: number) => {
    element.dispatchEvent(new Event('touchmove'));
    element.scrollBy(0, pixels);
  }, by);
}

if (chromiumSkipReason) {
  console.info(`timeline windowing browser test skipped: ${chromiumSkipReason}`);
  describe.skip('windowed threads and scroll anchoring in a browser', () => {
    it('is skipped', () => {});
  });
} else {
  describe('windowed threads and scroll anchoring in a browser', () => {
    let app: BrowserTestServer;

    beforeAll(async () => {
      app = await startBrowserTestServer({ name: 'timeline-windowing', password: PASSWORD });
      for (const [username, displayName] of [
        ['ada', 'Ada'],
        ['bob', 'Bob'],
      ] as const) {
        await app.server.accounts.createAccount({
          username,
          displayName,
          role: 'member',
          password: PASSWORD,
        });
      }
    });
    afterEach((context) => app.screenshotFailures(context));
    afterAll(() => app?.close());

    /** The thread's windowed list: "start-end/count" of its rows. */
    const threadWindow = (page: Page) =>
      page.locator('.thread-panel ol.message-list[data-window]').getAttribute('data-window');

    /** Opens the thread and loads every reply with "Load earlier replies". */
    async function openWholeThread(page: Page): Promise<void> {
      await page
        .getByRole('button', { name: /2,?000 replies/ })
        .first()
        .click();
      const thread = page.locator('.thread-panel');
      await thread.getByText(`Reply ${REPLIES - 1} in the long thread`).waitFor();
      const everyReply = new RegExp(`/${REPLIES}$`);
      const earlier = thread.getByRole('button', { name: 'Load earlier replies' });
      for (let attempt = 0; attempt < REPLIES / 50 + 10; attempt += 1) {
        const before = await threadWindow(page);
        if (everyReply.test(before ?? '')) break;
        // The button is away while a page loads (on a busy machine it can go between two looks): click it when
        // it is there, then wait for the page it brings.
        const clicked = await earlier.click({ timeout: 5_000 }).then(
          () => true,
          () => false,
        );
        if (clicked) await expect.poll(() => threadWindow(page), { timeout: 15_000 }).not.toBe(before);
      }
      await expect.poll(() => threadWindow(page), { timeout: 15_000 }).toMatch(everyReply);
    }

    it('keeps a thread of 2,000 replies small in the page, and scrolls back to its first reply', {
      timeout: 300_000,
    }, async () => {
      const { engine } = app.server;
      const ada = await engine.getUserByUsername('ada');
      const bob = await engine.getUserByUsername('bob');
      const room = await engine.createRoom(ada.id, { kind: 'channel', name: 'long-thread' });
      await engine.joinRoom(bob.id, room.id);
      const root = await engine.sendMessage(ada.id, { roomId: room.id, text: 'The long thread starts here' });
      for (let index = 0; index < REPLIES; index += 1) {
        await engine.sendMessage(index % 2 === 0 ? bob.id : ada.id, {
          roomId: room.id,
          threadRootId: root.id,
          text: `Reply ${index} in the long thread${index % 9 === 0 ? ', with a longer line that wraps onto a second row in a narrow panel' : ''}`,
        });
      }

      for (const [size, options] of [
        ['desktop', { viewport: DESKTOP }],
        ['phone', PHONE],
      ] as const) {
        const page = await app.open({ ...options, path: `/rooms/${room.id}`, signInAs: 'ada' });
        await page.getByText('The long thread starts here').first().waitFor();
        await openWholeThread(page);
        const thread = page.locator('.thread-panel');
        // Every reply is loaded, a few dozen are in the page: the rest are two spacers.
        const rendered = await thread.locator('li.message').count();
        expect(rendered, size).toBeGreaterThan(5);
        expect(rendered, size).toBeLessThan(150);
        const elements = await thread.evaluate((element: InPage) => element.querySelectorAll('*').length);
        expect(elements, size).toBeLessThan(6_000);

        // Up to the first reply: the rows follow the view (the scroll goes up in steps, as a reader's would).
        const scroller = thread.locator('.message-scroller');
        const first = thread.getByText('Reply 0 in the long thread', { exact: false });
        for (let step = 0; step < 300 && (await first.count()) === 0; step += 1) {
          await readerScroll(page, scroller, size === 'phone', -2_000);
          await page.waitForTimeout(40);
        }
        await readerScroll(page, scroller, size === 'phone', -2_000);
        await first.waitFor();
        await expect.poll(() => thread.locator('li.message').count()).toBeLessThan(150);
        if (size === 'desktop') await page.mouse.move(0, 0);
        await page.screenshot({ path: join(ARTIFACTS, `thread-windowed-${size}.png`) });
        expect(await seriousViolations(page), size).toEqual([]);
      }
      expect(app.pageErrors).toEqual([]);
    });

    it('keeps the rows in view in place when an image above them finishes loading', {
      timeout: 180_000,
    }, async () => {
      const rest = new KaiwaRestClient({ baseUrl: app.baseUrl });
      await rest.login('ada', PASSWORD);
      const { engine } = app.server;
      const ada = await engine.getUserByUsername('ada');
      const room = await engine.createRoom(ada.id, { kind: 'channel', name: 'photos-above' });
      for (let index = 0; index < 260; index += 1) {
        await engine.sendMessage(ada.id, { roomId: room.id, text: `Before ${index}` });
      }
      // A picture 320 × 420 (shown 240 px high, 100 px while it loads): a page's screenshot will do.
      const blank = await app.newPage({ viewport: { width: 320, height: 420 } });
      await blank.setContent('<body style="margin:0;background:linear-gradient(#6a9,#fc6)"></body>');
      const picture = await blank.screenshot();
      const file = await rest.upload(room.id, new Blob([picture], { type: 'image/png' }), 'above.png');
      await engine.sendMessage(ada.id, {
        roomId: room.id,
        text: 'The picture above',
        attachmentIds: [file.id],
      });
      for (let index = 0; index < 40; index += 1) {
        await engine.sendMessage(ada.id, { roomId: room.id, text: `After ${index}` });
      }

      for (const [size, options] of [
        ['desktop', { viewport: DESKTOP }],
        ['phone', PHONE],
      ] as const) {
        // The picture's bytes wait until the test lets them through (no service worker in between).
        let release: () => void = () => {};
        const released = new Promise<void>((resolve) => {
          release = resolve;
        });
        const page = await app.newPage({ ...options, serviceWorkers: 'block' });
        await page.route(
          (url) => url.pathname.includes(`/files/${file.id}`),
          async (route) => {
            await released;
            await route.continue();
          },
        );
        await page.goto(`${app.baseUrl}/rooms/${room.id}`);
        await app.signIn(page, 'ada');
        await page.getByText('After 39').waitFor();
        const scroller = page.locator('.room .message-scroller');
        const phone = size === 'phone';
        const pictureRow = page.locator('.room li.message', { hasText: 'The picture above' });

        /** Where the picture's row is, from the view's top (null while it is not rendered). */
        const rowTop = () =>
          page.evaluate(() => {
            const view = document.querySelector('.room .message-scroller').getBoundingClientRect();
            const row = [...document.querySelectorAll('.room li.message')].find((each: InPage) =>
              each.textContent.includes('The picture above'),
            );
            return row ? row.getBoundingClientRect().bottom - view.top : null;
          });
        // The reader scrolls up with the wheel until the picture is in view, then down until it is just above.
        for (let turn = 0; turn < 40; turn += 1) {
          const top = await rowTop();
          if (top !== null && top > 0) break;
          await readerScroll(page, scroller, phone, -300);
          await page.waitForTimeout(80);
        }
        await pictureRow.waitFor();
        const below = ((await rowTop()) ?? 0) + 120;
        await readerScroll(page, scroller, phone, below);
        await expect.poll(async () => (await rowTop()) ?? 0).toBeLessThan(-50);
        await page.waitForTimeout(300);
        await expect(pictureRow.locator('.image-placeholder').count()).resolves.toBe(1);

        /** The first text row in view and its top from the view's top. */
        const reading = () =>
          page.evaluate(() => {
            const view = document.querySelector('.room .message-scroller').getBoundingClientRect();
            for (const row of document.querySelectorAll('.room li.message')) {
              const box = row.getBoundingClientRect();
              if (box.bottom <= view.top) continue;
              return { text: row.querySelector('.message-text')?.textContent ?? '', top: box.top - view.top };
            }
            return null;
          });
        const before = await reading();
        expect(before?.text, size).toMatch(/^After \d+$/);

        release();
        await pictureRow.locator('img').waitFor({ state: 'attached' });
        // Loaded (lazily: it may wait until it is near the view), or at least swapped for the image.
        await page
          .waitForFunction(
            () => {
              const image = [...document.querySelectorAll('.room li.message img')].find(
                (each: InPage) => each.alt === 'above.png',
              );
              return image?.complete && image.naturalHeight > 0;
            },
            undefined,
            { timeout: 3_000 },
          )
          .catch(() => undefined);
        await page.waitForTimeout(300);
        const after = await reading();
        expect(after?.text, size).toBe(before?.text);
        expect(Math.abs((after?.top ?? 0) - (before?.top ?? 0)), size).toBeLessThan(2);

        // Scrolled back up to it, the picture is there at its full size.
        await readerScroll(page, scroller, phone, -400);
        await expect
          .poll(() =>
            pictureRow.locator('img').evaluate((image: InPage) => image.getBoundingClientRect().height),
          )
          .toBeGreaterThan(150);
        if (!phone) await page.mouse.move(0, 0);
        await page.screenshot({ path: join(ARTIFACTS, `timeline-image-above-${size}.png`) });
        expect(await seriousViolations(page), size).toEqual([]);
      }
      expect(app.pageErrors).toEqual([]);
    });

    it("offers Retry on a failed transcript as the server's rights for the room say, and follows them", {
      timeout: 120_000,
    }, async () => {
      const { engine, accounts } = app.server;
      await accounts.createAccount({
        username: 'cho',
        displayName: 'Cho',
        role: 'member',
        password: PASSWORD,
      });
      const ada = await engine.getUserByUsername('ada');
      const bob = await engine.getUserByUsername('bob');
      const cho = await engine.getUserByUsername('cho');
      const room = await engine.createRoom(ada.id, {
        kind: 'group',
        name: 'voice-notes',
        memberIds: [bob.id, cho.id],
      });
      // Bob's voice message (a short silent WAV) whose transcription failed.
      const rest = new KaiwaRestClient({ baseUrl: app.baseUrl });
      await rest.login('bob', PASSWORD);
      const file = await rest.upload(room.id, new Blob([silentWav()], { type: 'audio/wav' }), 'note.wav');
      const voice = await engine.sendMessage(bob.id, {
        roomId: room.id,
        text: '🎤 voice message',
        attachmentIds: [file.id],
      });
      await engine.recordTranscript(SYSTEM_ACTOR, voice.id, { status: 'failed', error: 'no speech found' });

      for (const [size, options] of [
        ['desktop', { viewport: DESKTOP }],
        ['phone', PHONE],
      ] as const) {
        await engine.setMemberRole(ada.id, room.id, cho.id, 'member');
        const page = await app.open({ ...options, path: `/rooms/${room.id}`, signInAs: 'cho' });
        const failure = page.locator('.voice-transcript.failed');
        await failure.getByText('No transcript: no speech found').waitFor();
        const retry = failure.getByRole('button', { name: 'Retry transcription' });
        // A plain member of a group may not ask again for someone else's message; made a moderator, Cho may,
        // as soon as the server says so (no reload); and no longer once the role is taken back.
        await expect(retry.count()).resolves.toBe(0);
        await engine.setMemberRole(ada.id, room.id, cho.id, 'moderator');
        await retry.waitFor();
        if (size === 'desktop') await page.mouse.move(0, 0);
        await page.screenshot({ path: join(ARTIFACTS, `voice-retry-moderator-${size}.png`) });
        expect(await seriousViolations(page), size).toEqual([]);
        await engine.setMemberRole(ada.id, room.id, cho.id, 'member');
        await retry.waitFor({ state: 'detached' });
      }
      expect(app.pageErrors).toEqual([]);
    });
  });
}

/** A tenth of a second of silence as a 16-bit mono WAV at 8 kHz. */
function silentWav(): Uint8Array {
  const samples = 800;
  const bytes = new Uint8Array(44 + samples * 2);
  const view = new DataView(bytes.buffer);
  const ascii = (at: number, text: string) => {
    for (let index = 0; index < text.length; index += 1) bytes[at + index] = text.charCodeAt(index);
  };
  ascii(0, 'RIFF');
  view.setUint32(4, 36 + samples * 2, true);
  ascii(8, 'WAVEfmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, 8_000, true);
  view.setUint32(28, 16_000, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  ascii(36, 'data');
  view.setUint32(40, samples * 2, true);
  return bytes;
}
