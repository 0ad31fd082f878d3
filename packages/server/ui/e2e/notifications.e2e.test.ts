import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/passwords.js';
import { ARTIFACTS, type BrowserTestServer, startBrowserTestServer } from './browser-test-server.js';
import { chromiumSkipReason } from './chromium.js';

/*
 * Notifications in a real browser: Alice reads #alpha while Bob mentions her in #bravo, writes in #bravo
 * without a mention, writes to her directly and mentions everyone in a muted room. The room list shows
 * mention badges apart from plain unread counts, the tab title counts what asks for her, and desktop
 * notifications go out by each room's level (none for a channel message without a mention, none from a muted
 * room, none for what is replayed after a reconnect). Clicking one opens its room, which clears its badge.
 * Headless Chromium shows no notifications, so an init script stands in for `Notification` and records them.
 */

const WAIT_MS = 10_000;
const PASSWORD = 'alice password 2026!';

/** Replaces `Notification` with one that records what would be shown; permission starts as given. */
const recordNotifications = (permission: 'granted' | 'default') => `(() => {
  const shown = [];
  let permission = ${JSON.stringify(permission)};
  class RecordedNotification {
    constructor(title, options = {}) {
      this.title = title;
      this.body = options.body;
      this.onclick = null;
      shown.push(this);
    }
    close() {}
    static get permission() { return permission; }
    static requestPermission() { permission = 'granted'; return Promise.resolve(permission); }
  }
  window.Notification = RecordedNotification;
  window.__notifications = shown;
})();`;

type Shown = { title: string; body: string };
const shown = (page: Page) =>
  page.evaluate<Shown[]>('window.__notifications.map(({ title, body }) => ({ title, body }))');

if (chromiumSkipReason) {
  console.info(`notifications browser test skipped: ${chromiumSkipReason}`);
  describe.skip('notifications in a browser', () => {
    it('is skipped', () => {});
  });
} else {
  describe('notifications in a browser', () => {
    let app: BrowserTestServer;

    beforeAll(async () => {
      app = await startBrowserTestServer({ name: 'notifications', password: PASSWORD });
    });
    afterEach((context) => app.screenshotFailures(context));
    afterAll(() => app?.close());

    async function signedIn(
      viewport: { width: number; height: number },
      permission: 'granted' | 'default',
    ): Promise<{ context: BrowserContext; page: Page; subscribed: (roomId: string) => Promise<void> }> {
      const page = await app.newPage({
        viewport,
        ...(permission === 'granted' ? { permissions: ['notifications'] } : {}),
      });
      const context = page.context();
      await context.addInitScript({ content: recordNotifications(permission) });
      // Rooms whose live subscription the server has confirmed: only events after it notify, so a test that
      // sends right after the page opens waits for it (a busy machine can take a while to subscribe).
      const subscribedRooms = new Set<string>();
      page.on('websocket', (socket) =>
        socket.on('framereceived', ({ payload }) => {
          if (typeof payload !== 'string') return;
          const parsed: unknown = JSON.parse(payload);
          for (const frame of Array.isArray(parsed) ? parsed : [parsed]) {
            const { type, roomId } = frame as { type?: string; roomId?: string };
            if (type === 'subscribed' && roomId) subscribedRooms.add(roomId);
          }
        }),
      );
      const subscribed = (roomId: string) =>
        expect.poll(() => subscribedRooms.has(roomId), { timeout: WAIT_MS }).toBe(true);
      await page.goto(app.baseUrl);
      await app.signIn(page, 'alice');
      await page
        .getByRole('navigation', { name: 'Rooms', includeHidden: true })
        .waitFor({ state: 'attached' });
      return { context, page, subscribed };
    }

    it('badges, counts in the title and notifies by each room’s level', { timeout: 90_000 }, async () => {
      const engine = app.server.engine;
      const passwordHash = await hashPassword(PASSWORD);
      const alice = await engine.createUser({ username: 'alice', displayName: 'Alice' }, { passwordHash });
      const bob = await engine.createUser({ username: 'bob', displayName: 'Bob' }, { passwordHash });
      const room = (name: string) =>
        engine.createRoom(bob.id, { kind: 'channel', name, memberIds: [alice.id] });
      const alpha = await room('alpha');
      const bravo = await room('bravo');
      const zulu = await room('zulu');
      const direct = await engine.openDirectRoom(bob.id, alice.id);
      const send = (roomId: string, text: string) => engine.sendMessage(bob.id, { roomId, text });
      await send(alpha.id, '@alice welcome to alpha, the release notes are yours');
      await send(alpha.id, 'Everyone else: the build is green');
      await engine.setRoomPreferences(alice.id, zulu.id, { muted: true });
      await send(zulu.id, 'Lunch orders go here');

      // ------------------------------------------------ Alice reads #alpha
      const { context, page, subscribed } = await signedIn({ width: 1280, height: 800 }, 'granted');
      const rooms = page.getByRole('navigation', { name: 'Rooms' });
      await page.getByRole('heading', { name: 'alpha', level: 1 }).waitFor();
      const log = page.getByRole('log', { name: /^Messages in/ });
      await log.locator('li.message.mentions-me', { hasText: 'welcome to alpha' }).waitFor();
      expect(await log.locator('li.message.mentions-me').count()).toBe(1);
      // A muted room is dimmed, without a badge for what is unread there.
      const zuluLink = rooms.getByRole('link', { name: 'zulu, muted' });
      await expect(zuluLink.getAttribute('class')).resolves.toContain('muted-room');
      expect(await zuluLink.locator('.badge').count()).toBe(0);
      await expect.poll(() => page.title()).toBe('alpha · Kaiwa');

      // ------------------------------------------------ a mention elsewhere: badge, title, notification
      for (const room of [alpha, bravo, zulu, direct]) await subscribed(room.id);
      await send(bravo.id, '@alice hi, can you review the launch post?');
      const bravoLink = rooms.getByRole('link', { name: /^bravo/ });
      await rooms.getByRole('link', { name: 'bravo, 1 unread, 1 mention' }).waitFor();
      await expect(bravoLink.locator('.mention-badge').textContent()).resolves.toBe('@1');
      await expect.poll(() => page.title()).toBe('(1) alpha · Kaiwa');
      await expect
        .poll(() => shown(page))
        .toEqual([{ title: 'Bob in #bravo', body: '@alice hi, can you review the launch post?' }]);

      // A channel message without a mention: counted as unread, no notification (channels: mentions only).
      await send(bravo.id, 'Also, the launch moved to Thursday');
      await rooms.getByRole('link', { name: 'bravo, 2 unread, 1 mention' }).waitFor();
      // A direct message: notified, and counted in the title.
      await send(direct.id, 'Do you have a minute?');
      await rooms.getByRole('link', { name: /^Bob( \(\w+\))?, 1 unread$/ }).waitFor();
      await expect.poll(() => page.title()).toBe('(2) alpha · Kaiwa');
      // @room in a muted room: its mention counts and shows, but a muted room never notifies.
      await send(zulu.id, '@room standup in five minutes');
      await rooms.getByRole('link', { name: 'zulu, 1 mention, muted' }).waitFor();
      await expect.poll(() => page.title()).toBe('(3) alpha · Kaiwa');
      await expect
        .poll(() => shown(page))
        .toEqual([
          { title: 'Bob in #bravo', body: '@alice hi, can you review the launch post?' },
          { title: 'Bob', body: 'Do you have a minute?' },
        ]);

      // ------------------------------------------------ favourites from the room list
      await bravoLink.hover();
      await rooms.getByRole('button', { name: 'Add bravo to favourites' }).click();
      const favourites = rooms.getByRole('region', { name: 'Favourites' });
      await favourites.getByRole('link', { name: /^bravo/ }).waitFor();
      await page.mouse.move(900, 400);
      await page.waitForTimeout(300);
      await page.screenshot({ path: join(ARTIFACTS, 'notifications-desktop.png') });

      // ------------------------------------------------ what is replayed after a reconnect notifies nobody
      await context.setOffline(true);
      await page.locator('.connection-waiting').waitFor();
      await send(bravo.id, '@alice while you were away');
      await context.setOffline(false);
      await page.locator('.connection[data-sessions="2"]').getByText('Connected').waitFor();
      await rooms.getByRole('link', { name: 'bravo, 3 unread, 2 mentions' }).waitFor();
      await expect.poll(() => page.title()).toBe('(4) alpha · Kaiwa');
      expect(await shown(page)).toHaveLength(2);

      // ------------------------------------------------ a click on the notification opens its room
      await page.evaluate('window.__notifications[0].onclick()');
      await page.getByRole('heading', { name: 'bravo', level: 1 }).waitFor();
      await log.locator('li.message.mentions-me', { hasText: 'can you review' }).waitFor();
      await rooms.getByRole('link', { name: 'bravo', exact: true }).waitFor();
      expect(await bravoLink.locator('.badge').count()).toBe(0);
      await expect.poll(() => page.title()).toBe('(2) bravo · Kaiwa');
      await rooms.getByRole('link', { name: /^Bob/ }).click();
      await page.getByRole('heading', { name: 'Bob', level: 1 }).waitFor();
      await expect.poll(() => page.title()).toBe('(1) Bob · Kaiwa');
      await rooms.getByRole('link', { name: /^zulu/ }).click();
      await expect.poll(() => page.title()).toBe('zulu · Kaiwa');

      // ------------------------------------------------ on a phone, the first mention offers notifications
      const phone = await signedIn({ width: 390, height: 844 }, 'default');
      await phone.page.getByRole('heading', { name: 'alpha', level: 1 }).waitFor();
      await phone.subscribed(bravo.id);
      await send(bravo.id, '@alice one more thing about Thursday');
      const prompt = phone.page.getByRole('status').filter({ hasText: 'Bob mentioned you in #bravo' });
      // Longer than the page default: on a busy machine the first mention's round trip took over 10 s once.
      await prompt.waitFor({ timeout: 20_000 });
      expect(await shown(phone.page)).toEqual([]);
      await phone.page.waitForTimeout(300);
      await phone.page.screenshot({ path: join(ARTIFACTS, 'notifications-phone.png') });
      await phone.page.getByRole('button', { name: /^Rooms/ }).click();
      await phone.page.waitForTimeout(300);
      await phone.page.screenshot({ path: join(ARTIFACTS, 'notifications-phone-rooms.png') });
      await phone.page.keyboard.press('Escape');
      await prompt.getByRole('button', { name: 'Turn on notifications' }).click();
      await prompt.waitFor({ state: 'detached' });
      await expect(
        phone.page
          .getByRole('button', { name: 'Desktop notifications', includeHidden: true })
          .getAttribute('aria-pressed'),
      ).resolves.toBe('true');
      await send(bravo.id, '@alice and now you hear about it');
      await expect
        .poll(() => shown(phone.page))
        .toEqual([{ title: 'Bob in #bravo', body: '@alice and now you hear about it' }]);

      expect(app.pageErrors).toEqual([]);
    });
  });
}
