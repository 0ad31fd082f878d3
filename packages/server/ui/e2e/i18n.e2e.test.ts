import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, type BrowserTestServer, startBrowserTestServer } from './browser-test-server.js';
import { chromiumSkipReason } from './chromium.js';

// Functions passed to page.evaluate run in the browser; this test program has no DOM types, so the
// browser globals they use are declared loosely here.
// biome-ignore lint/suspicious/noExplicitAny: typed by the page, not by this program.
type InPage = any;
declare const document: InPage;
declare const window: InPage;
declare const localStorage: InPage;

/*
 * The UI's languages in a real browser: a browser set to Japanese gets the sign-in screen and the chat in
 * Japanese; switching to Deutsch in the profile dialog turns the UI German at once, and the choice holds after
 * a reload. Screenshots (test-artifacts/i18n-ja-desktop.png, i18n-de-phone.png) are for a person to check that
 * nothing overflows: German words are long, Japanese glyphs must stay legible.
 */

const PASSWORD = 'correct horse battery';
const PHONE = { width: 390, height: 844 };

if (chromiumSkipReason) {
  console.info(`i18n browser test skipped: ${chromiumSkipReason}`);
  describe.skip('languages in a browser', () => {
    it('is skipped', () => {});
  });
} else {
  describe('languages in a browser', () => {
    let app: BrowserTestServer;

    beforeAll(async () => {
      app = await startBrowserTestServer({ name: 'i18n', password: PASSWORD });
      const { server } = app;
      const hana = await server.accounts.createAccount({
        username: 'hana',
        displayName: '佐藤 花',
        role: 'admin',
        password: PASSWORD,
      });
      const jonas = await server.accounts.createAccount({
        username: 'jonas',
        displayName: 'Jonas Schäfer',
        role: 'member',
        password: PASSWORD,
      });
      const room = await server.engine.createRoom(hana.user.id, {
        kind: 'channel',
        name: 'general',
        topic: '全体連絡 / Allgemeines',
      });
      await server.engine.joinRoom(jonas.user.id, room.id);
      await server.engine.sendMessage(hana.user.id, { roomId: room.id, text: '明日の会議は10時からです。' });
      await server.engine.sendMessage(jonas.user.id, { roomId: room.id, text: 'Alles klar, bis morgen!' });
      await server.engine.openDirectRoom(hana.user.id, jonas.user.id);
    });
    afterEach((context) => app.screenshotFailures(context));
    afterAll(() => app?.close());

    /** No page wider than the window: nothing pushes the layout sideways. */
    async function expectNoSidewaysOverflow(page: Page): Promise<void> {
      const widths = await page.evaluate(() => ({
        page: document.documentElement.scrollWidth,
        window: window.innerWidth,
      }));
      expect(widths.page).toBeLessThanOrEqual(widths.window);
    }

    it('speaks Japanese to a Japanese browser, from the sign-in on', { timeout: 60_000 }, async () => {
      const page = await app.open({ locale: 'ja-JP', viewport: { width: 1280, height: 800 } });
      await page.getByRole('heading', { name: 'サインイン' }).waitFor();
      expect(await page.locator('html').getAttribute('lang')).toBe('ja');
      await page.getByLabel('ユーザー名').fill('hana');
      await page.getByLabel('パスワード', { exact: true }).fill(PASSWORD);
      await page.getByRole('button', { name: 'サインイン' }).click();

      const sidebar = page.getByRole('navigation', { name: 'ルーム' });
      await sidebar.getByRole('heading', { name: 'チャンネル' }).waitFor();
      await sidebar.getByRole('heading', { name: 'ダイレクトメッセージ' }).waitFor();
      await sidebar.getByRole('button', { name: 'チャンネルを探す' }).waitFor();
      await page.getByText('明日の会議は10時からです。').waitFor();
      await page.locator('.connection-label', { hasText: '接続済み' }).waitFor();
      // Dates follow the language too: the day divider is Japanese.
      await page.getByText('今日').first().waitFor();

      // The room view: the header counts members, the composer says where the message goes.
      await page.locator('.member-count', { hasText: 'メンバー 2 人' }).waitFor();
      const composer = page.getByRole('textbox', { name: '#general にメッセージ' });
      expect(await composer.getAttribute('placeholder')).toBe('#general にメッセージ');
      await page.getByRole('log', { name: 'general のメッセージ' }).waitFor();

      // The room's details: headings, the member list and the roles in Japanese.
      await page.getByRole('button', { name: 'ルームの詳細' }).click();
      await page.getByRole('heading', { name: 'メンバー (2)' }).waitFor();
      await page.getByRole('heading', { name: 'あなたの設定' }).waitFor();
      await page.getByText('オーナー', { exact: true }).first().waitFor();
      await expectNoSidewaysOverflow(page);
      await page.screenshot({ path: join(ARTIFACTS, 'i18n-ja-details.png') });
      await page.getByRole('button', { name: 'ルームの詳細を閉じる' }).click();

      await page.getByRole('button', { name: 'メッセージを検索' }).click();
      await page.getByRole('status').filter({ hasText: '日本語でも検索できます' }).waitFor();
      await page.keyboard.press('Escape');

      await expectNoSidewaysOverflow(page);
      await page.screenshot({ path: join(ARTIFACTS, 'i18n-ja-desktop.png') });
      await page.context().close();
    });

    it('switches to German in the profile at once and keeps it after a reload', {
      timeout: 60_000,
    }, async () => {
      const page = await app.open({ locale: 'ja-JP', viewport: PHONE });
      await page.getByLabel('ユーザー名').fill('hana');
      await page.getByLabel('パスワード', { exact: true }).fill(PASSWORD);
      await page.getByRole('button', { name: 'サインイン' }).click();

      await page.getByRole('textbox', { name: '#general にメッセージ' }).waitFor();
      await page.locator('.connection-label', { hasText: '接続済み' }).waitFor();
      await expectNoSidewaysOverflow(page);
      await page.screenshot({ path: join(ARTIFACTS, 'i18n-ja-phone.png') });

      // A second tab of the same browser, still in Japanese: it follows the switch made in the first.
      const otherTab = await page.context().newPage();
      await otherTab.goto(page.url());
      await otherTab.locator('html[lang="ja"]').waitFor({ state: 'attached' });

      // On a phone the room list is a drawer behind the menu button.
      await page.getByRole('button', { name: 'ルーム', exact: true }).click();
      await page.locator('.me-button').click();
      const japanese = page.getByRole('dialog', { name: 'プロフィール' });
      await japanese.getByRole('combobox', { name: '言語' }).selectOption('de');

      // At once, without a reload: the dialog and the page behind it.
      const german = page.getByRole('dialog', { name: 'Ihr Profil' });
      await german.getByRole('heading', { name: 'Sprache' }).waitFor();
      await german.getByRole('button', { name: 'Überall abmelden' }).waitFor();
      expect(await page.locator('html').getAttribute('lang')).toBe('de');
      await page.screenshot({ path: join(ARTIFACTS, 'i18n-de-phone-profile.png') });
      await otherTab.locator('html[lang="de"]').waitFor({ state: 'attached' });
      await otherTab.getByRole('textbox', { name: 'Nachricht an #general' }).waitFor();
      await otherTab.close();
      await german.getByRole('button', { name: 'Schließen' }).click();

      await page.reload();
      await page.getByRole('button', { name: 'Räume', exact: true }).click();
      const sidebar = page.getByRole('navigation', { name: 'Räume' });
      await sidebar.getByRole('heading', { name: 'Kanäle' }).waitFor();
      await sidebar.getByRole('heading', { name: 'Direktnachrichten' }).waitFor();
      await sidebar.getByRole('button', { name: 'Kanäle durchsuchen' }).waitFor();
      await sidebar.getByRole('button', { name: 'Neue Direktnachricht' }).waitFor();
      expect(await page.locator('html').getAttribute('lang')).toBe('de');
      expect(await page.evaluate(() => localStorage.getItem('kaiwa.language'))).toBe('de');

      // The drawer slides in: the picture once it is all there.
      await expect.poll(async () => (await sidebar.boundingBox())?.x).toBe(0);
      await expectNoSidewaysOverflow(page);
      await page.screenshot({ path: join(ARTIFACTS, 'i18n-de-phone-drawer.png') });

      await page.keyboard.press('Escape');
      await expect
        .poll(async () => {
          const box = await page.locator('#sidebar').boundingBox();
          return box ? box.x + box.width : 0;
        })
        .toBeLessThanOrEqual(0);
      await page.getByRole('button', { name: 'Nachrichten durchsuchen' }).waitFor();
      await page.getByRole('textbox', { name: 'Nachricht an #general' }).waitFor();
      await expectNoSidewaysOverflow(page);
      await page.screenshot({ path: join(ARTIFACTS, 'i18n-de-phone.png') });

      // The room's details, with the longest German labels of the room view.
      await page.getByRole('button', { name: 'Raumdetails' }).click();
      await page.getByRole('heading', { name: 'Mitglieder (2)' }).waitFor();
      await page.getByText('Diesen Raum stummschalten').waitFor();
      await expectNoSidewaysOverflow(page);
      await page.screenshot({ path: join(ARTIFACTS, 'i18n-de-phone-details.png') });
      await page.getByRole('button', { name: 'Raumdetails schließen' }).click();

      // The longest German strings of the chat shell: offline, the badge and the bar under the top bar.
      await page.context().setOffline(true);
      await page.getByText('Sie sind offline.').waitFor();
      await expectNoSidewaysOverflow(page);
      await page.screenshot({ path: join(ARTIFACTS, 'i18n-de-phone-offline.png') });
      await page.context().setOffline(false);
      await page.context().close();
    });

    it('keeps English for an English browser', { timeout: 30_000 }, async () => {
      const page = await app.open({ locale: 'en-US', viewport: { width: 1280, height: 800 } });
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      expect(await page.locator('html').getAttribute('lang')).toBe('en');
      await page.context().close();
    });
  });
}
