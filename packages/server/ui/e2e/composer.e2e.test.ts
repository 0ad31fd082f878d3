import { join } from 'node:path';
import { KaiwaRestClient } from '@kaiwa/client';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { writeTextPdf } from '../../../workflow-steps/src/test-support/test-documents.js';
import { ARTIFACTS, type BrowserTestServer, startBrowserTestServer } from './browser-test-server.js';
import { chromiumSkipReason } from './chromium.js';

// Functions passed to page.evaluate run in the browser; this test program has no DOM types, so the
// browser globals they use are declared loosely here.
// biome-ignore lint/suspicious/noExplicitAny: typed by the page, not by this program.
type InPage = any;
declare const document: InPage;
declare const DataTransfer: InPage;
declare const ClipboardEvent: InPage;
declare const DragEvent: InPage;

/*
 * The composer and media in a real browser: @-completion inserting a mention, `:tada` completion, `#` and
 * `/` lists, the emoji picker's search giving a reaction, up-arrow editing one's last message, an image
 * pasted from the clipboard and a file dropped on the room (both uploaded), and the lightbox. Screenshots
 * at desktop and phone sizes go to test-artifacts/ for a person to look at.
 */

const PASSWORD = 'correct horse battery staple';

if (chromiumSkipReason) {
  console.info(`composer browser test skipped: ${chromiumSkipReason}`);
  describe.skip('composer and media in a browser', () => {
    it('is skipped', () => {});
  });
} else {
  describe('composer and media in a browser', () => {
    let app: BrowserTestServer;

    beforeAll(async () => {
      app = await startBrowserTestServer({ name: 'composer', password: PASSWORD, consoleErrors: true });
    });
    afterEach((context) => app.screenshotFailures(context));
    afterAll(() => app?.close());

    async function member(username: string, displayName: string): Promise<KaiwaRestClient> {
      await app.server.accounts.createAccount({ username, displayName, role: 'member', password: PASSWORD });
      const rest = new KaiwaRestClient({ baseUrl: app.baseUrl });
      await rest.login(username, PASSWORD);
      return rest;
    }

    const timeline = (page: Page) => page.getByRole('log', { name: /^Messages in/ });
    const messageWith = (page: Page, text: string | RegExp) =>
      timeline(page).locator('li.message:not(.pending)').filter({ hasText: text });

    it('completes, picks emoji, edits, uploads by paste and drop, shows images large', {
      timeout: 120_000,
    }, async () => {
      const ada = await member('ada', 'Ada Lovelace');
      const grace = await member('grace', 'Grace Hopper');
      await member('alan', 'Alan Turing');
      const launch = await ada.createRoom({ kind: 'channel', name: 'launch', topic: 'Shipping v2' });
      await ada.createRoom({ kind: 'channel', name: 'design', topic: 'Pixels and words' });
      await grace.joinRoom(launch.id);
      await grace.sendMessage(launch.id, { text: 'Morning! Build 42 is on staging.' });

      const page = await app.open({
        viewport: { width: 1280, height: 800 },
        path: `/rooms/${launch.id}`,
        signInAs: 'ada',
      });
      await page.getByRole('heading', { name: 'launch', level: 1 }).waitFor();
      const box = page.getByRole('textbox', { name: 'Message #launch' });

      // ------------------------------------------------ @ completes people, Enter inserts the mention
      await box.click();
      await box.pressSequentially('Hi @gr');
      const people = page.getByRole('listbox', { name: 'People' });
      await people.getByRole('option', { name: /Grace Hopper/ }).waitFor();
      await expect.poll(() => box.getAttribute('aria-activedescendant')).toBeTruthy();
      await page.screenshot({ path: join(ARTIFACTS, 'composer-desktop.png') });
      await box.press('Enter');
      await expect.poll(() => box.inputValue()).toBe('Hi @grace ');
      await box.pressSequentially('is it out?');
      await box.press('Enter');
      const mention = messageWith(page, 'is it out?');
      await mention.locator('.mention', { hasText: '@Grace Hopper' }).waitFor();

      // ------------------------------------------------ # rooms and / commands, Escape closes
      await box.pressSequentially('see #des');
      await page
        .getByRole('listbox', { name: 'Rooms' })
        .getByRole('option', { name: /#design/ })
        .waitFor();
      await box.press('Escape');
      await page.getByRole('listbox', { name: 'Rooms' }).waitFor({ state: 'detached' });
      await box.fill('');
      await box.pressSequentially('/shr');
      await page
        .getByRole('listbox', { name: 'Commands' })
        .getByRole('option', { name: /\/shrug/ })
        .click();
      await expect.poll(() => box.inputValue()).toBe('¯\\_(ツ)_/¯ ');
      await box.fill('');

      // ------------------------------------------------ :tada completes to the emoji itself
      await box.pressSequentially('Shipped :tad');
      await page
        .getByRole('listbox', { name: 'Emoji' })
        .getByRole('option', { name: /:tada:/ })
        .waitFor();
      await box.press('Tab');
      await expect.poll(() => box.inputValue()).toBe('Shipped 🎉 ');
      await box.press('Enter');
      const shipped = messageWith(page, 'Shipped 🎉');
      await shipped.waitFor();

      // ------------------------------------------------ the picker: categories, search, a reaction
      await shipped.hover();
      await shipped.getByRole('button', { name: 'Add reaction' }).click();
      const picker = page.getByRole('dialog', { name: 'Pick a reaction' });
      await picker.getByRole('heading', { name: 'smileys & emotion' }).waitFor();
      await page.screenshot({ path: join(ARTIFACTS, 'emoji-picker-desktop.png') });
      await picker.getByRole('searchbox', { name: 'Search emoji' }).fill('rocket');
      await picker.getByRole('button', { name: 'rocket', exact: true }).click();
      await picker.waitFor({ state: 'hidden' });
      await shipped.getByRole('button', { name: /^🚀 1/ }).waitFor();

      // ------------------------------------------------ a skin tone, chosen once, applies to the emoji that take one
      await shipped.hover();
      await shipped.getByRole('button', { name: 'Add reaction' }).click();
      await picker.getByRole('button', { name: 'Skin tone: Default' }).click();
      await picker
        .getByRole('radiogroup', { name: 'Skin tone' })
        .getByRole('radio', { name: 'Medium', exact: true })
        .click();
      await picker.getByRole('searchbox', { name: 'Search emoji' }).fill('wave');
      await page.screenshot({ path: join(ARTIFACTS, 'emoji-picker-skin-tone-desktop.png') });
      await picker.getByRole('button', { name: 'waving hand', exact: true }).click();
      await picker.waitFor({ state: 'hidden' });
      await shipped.getByRole('button', { name: /^👋🏽 1/ }).waitFor();
      expect(await page.evaluate("localStorage.getItem('kaiwa.emojiSkinTone')")).toBe('3');

      // ------------------------------------------------ up-arrow in the empty composer edits the last message
      await box.click();
      await box.press('ArrowUp');
      // The message's text is in the edit field now, so the field is found in the timeline.
      const edit = timeline(page).getByRole('textbox', { name: 'Edit message' });
      await edit.waitFor();
      expect((await edit.inputValue()).trim()).toBe('Shipped 🎉');
      await edit.fill('Shipped 🎉 today');
      await edit.press('Enter');
      await messageWith(page, 'Shipped 🎉 today (edited)').waitFor();

      // ------------------------------------------------ in a thread, up-arrow edits one's last reply there
      await messageWith(page, 'Shipped 🎉 today').hover();
      await messageWith(page, 'Shipped 🎉 today').getByRole('button', { name: 'Reply in thread' }).click();
      const thread = page.getByRole('complementary', { name: /Thread/ });
      const threadBox = thread.getByRole('textbox', { name: 'Reply in thread' });
      await threadBox.fill('Release notes follow');
      await threadBox.press('Enter');
      const reply = thread.locator('li.message:not(.pending)').filter({ hasText: 'Release notes follow' });
      await reply.waitFor();
      await threadBox.press('ArrowUp');
      const replyEdit = thread.getByRole('textbox', { name: 'Edit message' });
      await replyEdit.waitFor();
      expect((await replyEdit.inputValue()).trim()).toBe('Release notes follow');
      await replyEdit.fill('Release notes follow tomorrow');
      await replyEdit.press('Enter');
      await thread
        .locator('li.message:not(.pending)')
        .filter({ hasText: 'Release notes follow tomorrow (edited)' })
        .waitFor();
      await page.getByRole('button', { name: 'Close thread' }).click();

      // ------------------------------------------------ an image pasted from the clipboard is uploaded
      const png = (await page.screenshot({ clip: { x: 0, y: 0, width: 480, height: 300 } })).toString(
        'base64',
      );
      await box.click();
      await page.evaluate(
        ({ data, name }) => {
          const bytes = Uint8Array.from(atob(data), (character) => character.charCodeAt(0));
          const transfer = new DataTransfer();
          transfer.items.add(new File([bytes], name, { type: 'image/png' }));
          const field = document.querySelector('.room .composer-input');
          field?.dispatchEvent(
            new ClipboardEvent('paste', { clipboardData: transfer, bubbles: true, cancelable: true }),
          );
        },
        { data: png, name: 'pasted.png' },
      );
      await page.getByRole('list', { name: 'Files to send' }).getByText('pasted.png').waitFor();
      await box.press('Enter');

      // ------------------------------------------------ a file dropped on the room shows the drop zone, then uploads
      await page.evaluate(() => {
        const room = document.querySelector('.room');
        const transfer = new DataTransfer();
        transfer.items.add(new File(['line one\nline two\n'], 'notes.txt', { type: 'text/plain' }));
        room?.dispatchEvent(new DragEvent('dragenter', { dataTransfer: transfer, bubbles: true }));
      });
      await page.locator('.room.dragging-files').waitFor();
      await page.evaluate(() => {
        const room = document.querySelector('.room');
        const transfer = new DataTransfer();
        transfer.items.add(new File(['line one\nline two\n'], 'notes.txt', { type: 'text/plain' }));
        room?.dispatchEvent(
          new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }),
        );
      });
      await page.locator('.room.dragging-files').waitFor({ state: 'detached' });
      await page.getByRole('list', { name: 'Files to send' }).getByText('notes.txt').waitFor();
      await box.press('Enter');

      // ------------------------------------------------ the lightbox: the image large, Escape closes it
      const image = timeline(page).getByRole('link', { name: /View pasted\.png/ });
      await image.click();
      const lightbox = page.getByRole('dialog', { name: 'pasted.png' });
      await lightbox.getByRole('img', { name: 'pasted.png' }).waitFor();
      await lightbox.getByRole('button', { name: 'Download' }).waitFor();
      await page.screenshot({ path: join(ARTIFACTS, 'lightbox-desktop.png') });
      await page.keyboard.press('Escape');
      await lightbox.waitFor({ state: 'hidden' });

      // A text file's first lines in the same box.
      await timeline(page).getByRole('button', { name: 'Preview notes.txt' }).click();
      const preview = page.getByRole('dialog', { name: 'notes.txt' });
      await preview.getByText('line two').waitFor();
      await preview.getByRole('button', { name: 'Close' }).click();
      await preview.waitFor({ state: 'hidden' });

      // A PDF page by page, as the server renders it.
      const pdf = await grace.upload(
        launch.id,
        new Blob([writeTextPdf([['Release checklist'], ['Page two: sign-off']])], {
          type: 'application/pdf',
        }),
        'checklist.pdf',
      );
      await grace.sendMessage(launch.id, { text: 'The checklist', attachmentIds: [pdf.id] });
      await timeline(page).getByRole('button', { name: 'Preview checklist.pdf' }).click();
      const pdfPreview = page.getByRole('dialog', { name: 'checklist.pdf' });
      await pdfPreview
        .getByRole('img', { name: 'Page 1 of 2 of checklist.pdf' })
        .waitFor({ timeout: 60_000 });
      await pdfPreview.getByText('Page 1 of 2', { exact: true }).waitFor();
      await page.screenshot({ path: join(ARTIFACTS, 'lightbox-pdf-desktop.png') });
      await pdfPreview.getByRole('button', { name: 'Next page' }).click();
      await pdfPreview
        .getByRole('img', { name: 'Page 2 of 2 of checklist.pdf' })
        .waitFor({ timeout: 60_000 });
      expect(await pdfPreview.getByRole('button', { name: 'Next page' }).isDisabled()).toBe(true);
      await pdfPreview.getByRole('button', { name: 'Close' }).click();
      await pdfPreview.waitFor({ state: 'hidden' });

      // ------------------------------------------------ a phone: the completion list above the composer
      const phone = await app.open({
        viewport: { width: 390, height: 844 },
        path: `/rooms/${launch.id}`,
        signInAs: 'ada',
      });
      const phoneBox = phone.getByRole('textbox', { name: 'Message #launch' });
      await phoneBox.click();
      await phoneBox.pressSequentially('@a');
      await phone.getByRole('listbox', { name: 'People' }).getByRole('option').first().waitFor();
      await phone.screenshot({ path: join(ARTIFACTS, 'composer-phone.png') });

      // The composer's emoji button: a bottom sheet on a phone; Enter in the search inserts the first match.
      await phoneBox.fill('Party ');
      await phone.getByRole('button', { name: 'Insert emoji' }).click();
      const sheet = phone.getByRole('dialog', { name: 'Insert an emoji' });
      await sheet.getByRole('heading', { name: 'smileys & emotion' }).waitFor();
      await phone.screenshot({ path: join(ARTIFACTS, 'emoji-picker-phone.png') });
      await sheet.getByRole('searchbox', { name: 'Search emoji' }).fill('tada');
      await sheet.getByRole('searchbox', { name: 'Search emoji' }).press('Enter');
      await sheet.waitFor({ state: 'hidden' });
      await expect.poll(() => phoneBox.inputValue()).toBe('Party 🎉');

      expect(app.pageErrors).toEqual([]);
    });
  });
}
