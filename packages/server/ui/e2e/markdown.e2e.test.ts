import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, type BrowserTestServer, startBrowserTestServer } from './browser-test-server.js';
import { chromiumSkipReason } from './chromium.js';

/*
 * Markdown in a real browser: a message with emphasis, a highlighted code block, a link, a mention, a
 * shortcode, Japanese and a script tag renders as elements (the script as text, never run), an emoji-only
 * message renders large, and screenshots at desktop and phone sizes go to test-artifacts/ for a person to look at.
 */

const PASSWORD = 'admin password 2026!';

const MESSAGE = [
  '**Launch** plan for #design, _final_ ~~draft~~ :tada:',
  '```ts',
  'const answer: number = 42; // the answer',
  'export function greet(name: string) { return "hi " + name; }',
  '```',
  '> Quoted: see [the docs](https://example.com/docs) and ask @admin.',
  '',
  '- [x] write `parseMessage`',
  '- [ ] ship it',
  '',
  '<script>alert(1)</script> <img src=x onerror="alert(2)">',
  '会議は明日の**10時**からです。よろしくお願いします 🙏',
].join('\n');

if (chromiumSkipReason) {
  console.info(`markdown browser test skipped: ${chromiumSkipReason}`);
  describe.skip('markdown in a browser', () => {
    it('is skipped', () => {});
  });
} else {
  describe('markdown in a browser', () => {
    let app: BrowserTestServer;
    const alerts: string[] = [];

    beforeAll(async () => {
      app = await startBrowserTestServer({
        name: 'markdown',
        // The default rooms as a fresh install has them.
        env: { KAIWA_DEFAULT_CHANNELS: undefined },
        password: PASSWORD,
      });
    });
    afterEach((context) => app.screenshotFailures(context));
    afterAll(() => app?.close());

    /** A page at `url`; an alert, which no message may cause, is recorded and dismissed. */
    async function open(viewport: { width: number; height: number }, url = app.baseUrl): Promise<Page> {
      const page = await app.newPage({ viewport });
      page.on('dialog', (dialog) => {
        alerts.push(dialog.message());
        void dialog.dismiss();
      });
      await page.goto(url);
      return page;
    }

    it('renders a message as markdown, never running its HTML', { timeout: 60_000 }, async () => {
      const first = app.server.firstAdmin?.password;
      expect(first, 'the first start made an admin with a one-time password').toBeTruthy();
      const page = await open({ width: 1280, height: 800 });
      await app.signIn(page, 'admin', first!);
      await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
      await page.getByLabel('Current password').fill(first!);
      await page.getByLabel('New password', { exact: true }).fill(PASSWORD);
      await page.getByLabel('Repeat new password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Change password' }).click();

      for (const [name, topic] of [
        ['design', 'Where the pixels live'],
        ['team', 'Everything about the launch'],
      ]) {
        await page.getByRole('button', { name: 'New room' }).click();
        const dialog = page.getByRole('dialog', { name: 'Create a room' });
        await dialog.getByLabel('Name').fill(name!);
        await dialog.getByLabel('Topic').fill(topic!);
        await dialog.getByRole('button', { name: 'Create room' }).click();
        await page.getByRole('heading', { name, level: 1 }).waitFor();
      }

      const box = page.getByRole('textbox', { name: 'Message #team' });
      await box.fill(MESSAGE);
      await box.press('Enter');
      await box.fill(':tada: :rocket:');
      await box.press('Enter');

      const log = page.getByRole('log', { name: /^Messages in/ });
      const sent = log.locator('li.message:not(.pending)').filter({ hasText: 'Launch' });
      await sent.waitFor();
      const text = sent.locator('.message-text');
      await expect(text.locator('strong').first().textContent()).resolves.toBe('Launch');
      await expect(text.locator('em').textContent()).resolves.toBe('final');
      await expect(text.locator('del').textContent()).resolves.toBe('draft');
      await expect(text.textContent()).resolves.toContain('🎉');

      const code = text.locator('.md-code pre code.shj-lang-ts');
      await expect(code.textContent()).resolves.toContain('const answer: number = 42;');
      expect(await code.locator('span.shj-syn-kwd').count()).toBeGreaterThan(1);
      await expect(text.locator('.md-code-language').textContent()).resolves.toBe('ts');
      await expect(text.getByRole('button', { name: 'Copy ts code' }).isVisible()).resolves.toBe(true);

      const link = text.getByRole('link', { name: 'the docs' });
      await expect(link.getAttribute('href')).resolves.toBe('https://example.com/docs');
      await expect(link.getAttribute('target')).resolves.toBe('_blank');
      await expect(link.getAttribute('rel')).resolves.toBe('noopener noreferrer nofollow');
      await expect(text.locator('.mention').first().getAttribute('title')).resolves.toBe('@admin');
      await expect(text.locator('.md-room-link').getAttribute('href')).resolves.toMatch(/^\/rooms\/\w+$/);
      expect(await text.locator('input[type="checkbox"][disabled]').count()).toBe(2);

      // The HTML is shown as text: no element made from it, no script run, no alert.
      await expect(text.textContent()).resolves.toContain('<script>alert(1)</script>');
      await expect(text.textContent()).resolves.toContain('<img src=x onerror="alert(2)">');
      expect(await text.locator('script, img').count()).toBe(0);
      await expect(text.textContent()).resolves.toContain('会議は明日の10時からです。');
      await expect(text.locator('strong', { hasText: '10時' }).count()).resolves.toBe(1);

      const emoji = log.locator('li.message:not(.pending) .markdown.emoji-only');
      await emoji.waitFor();
      await expect(emoji.textContent()).resolves.toBe('🎉 🚀');
      // Evaluated in the page (this file is type-checked without the DOM library).
      const size = await page.evaluate<number>(
        "parseFloat(getComputedStyle(document.querySelector('.markdown.emoji-only')).fontSize)",
      );
      expect(size).toBeGreaterThanOrEqual(28);

      await page.waitForTimeout(300);
      await page.screenshot({ path: join(ARTIFACTS, 'markdown-desktop.png') });
      const roomUrl = page.url();

      const phone = await open({ width: 390, height: 844 }, roomUrl);
      await app.signIn(phone, 'admin');
      await phone.locator('li.message .md-code').first().waitFor();
      await phone.waitForTimeout(300);
      await phone.screenshot({ path: join(ARTIFACTS, 'markdown-phone.png') });
      // Nothing wider than the phone: code scrolls inside its block.
      const overflow = await phone.evaluate<number>('document.documentElement.scrollWidth - innerWidth');
      expect(overflow).toBeLessThanOrEqual(0);

      // A room link opens the room inside the app.
      await text.locator('.md-room-link').click();
      await page.getByRole('heading', { name: 'design', level: 1 }).waitFor();

      expect(alerts).toEqual([]);
      expect(app.pageErrors).toEqual([]);
    });
  });
}
