import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, type BrowserTestServer, startBrowserTestServer } from './browser-test-server.js';
import { chromiumSkipReason } from './chromium.js';

/*
 * The web chat in a real browser against a real server: first sign-in of the admin with the forced password
 * change, accounts made in the UI, two people chatting in one room (messages, typing, a thread, a reaction,
 * an edit, a delete, a file, a direct message with its unread count), then one of them offline while the
 * other keeps changing things, and back: everything arrives once, and the message sent offline too.
 */

const WAIT_MS = 10_000;

const skipReason = chromiumSkipReason;

if (skipReason) {
  console.info(`web UI browser test skipped: ${skipReason}`);
  describe.skip('web chat in a browser', () => {
    it('is skipped', () => {});
  });
} else {
  describe('web chat in a browser', () => {
    let app: BrowserTestServer;

    beforeAll(async () => {
      app = await startBrowserTestServer({ name: 'chat', consoleErrors: true });
    });
    afterEach((context) => app.screenshotFailures(context));
    afterAll(() => app?.close());

    /** A page at `url`, which may be on another server than `app.server`. */
    async function newPage(
      url: string,
      viewport = { width: 1280, height: 800 },
    ): Promise<{ context: BrowserContext; page: Page }> {
      const page = await app.newPage({ viewport, acceptDownloads: true });
      await page.goto(url);
      return { context: page.context(), page };
    }

    async function changePassword(page: Page, current: string, next: string): Promise<void> {
      await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
      await page.getByLabel('Current password').fill(current);
      await page.getByLabel('New password', { exact: true }).fill(next);
      await page.getByLabel('Repeat new password').fill(next);
      await page.getByRole('button', { name: 'Change password' }).click();
      await page.getByRole('navigation', { name: 'Rooms' }).waitFor();
    }

    async function createAccount(page: Page, username: string, displayName: string): Promise<string> {
      const dialog = page.getByRole('dialog', { name: 'People' });
      await dialog.getByLabel('Username').fill(username);
      await dialog.getByLabel('Display name').fill(displayName);
      await dialog.getByRole('button', { name: 'Create account' }).click();
      const secret = dialog.getByRole('status').getByLabel(`One-time password for ${username}`);
      await secret.waitFor();
      return (await secret.textContent())?.trim() ?? '';
    }

    const timeline = (page: Page) => page.getByRole('log', { name: /^Messages in/ });
    const threadPanel = (page: Page) => page.getByRole('complementary', { name: /Thread/ });

    /** The message whose text is exactly `text` (an edit mark aside). */
    function message(scope: Locator, text: string): Locator {
      const escaped = text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      return scope.locator('li.message:not(.pending)').filter({
        has: scope.page().locator('.message-text', { hasText: new RegExp(`^${escaped}( \\(edited\\))?$`) }),
      });
    }

    async function send(page: Page, label: RegExp | string, text: string): Promise<void> {
      const box = page.getByRole('textbox', { name: label });
      await box.fill(text);
      await box.press('Enter');
    }

    async function messageTexts(page: Page): Promise<string[]> {
      return timeline(page)
        .locator('li.message:not(.pending) .message-text, li.message .tombstone')
        .allTextContents();
    }

    // app.server keeps accounts (the default); the nickname server is started by its own test.
    describe('with accounts', () => {
      it('lets two people chat, and one catch up after being offline', { timeout: 60_000 }, async () => {
        const started = Date.now();
        const adminPassword = app.server.firstAdmin?.password;
        expect(adminPassword, 'the first start made an admin with a one-time password').toBeTruthy();

        // ------------------------------------------------ the admin's first sign-in and two accounts
        const admin = await newPage(app.baseUrl);
        await app.signIn(admin.page, 'admin', adminPassword!);
        await changePassword(admin.page, adminPassword!, 'admin password 2026!');
        await admin.page.getByRole('button', { name: 'People' }).click();
        const alicePassword = await createAccount(admin.page, 'alice', 'Alice');
        const bobPassword = await createAccount(admin.page, 'bob', 'Bob');
        expect(alicePassword).not.toBe(bobPassword);
        await admin.context.close();

        // ------------------------------------------------ Alice and Bob sign in for the first time
        const alice = await newPage(app.baseUrl);
        const bob = await newPage(app.baseUrl);
        await app.signIn(alice.page, 'alice', alicePassword);
        await app.signIn(bob.page, 'bob', bobPassword);
        await changePassword(alice.page, alicePassword, 'alice password 2026!');
        await changePassword(bob.page, bobPassword, 'bob password 2026!');

        // Alice makes a channel, Bob finds it and joins.
        await alice.page.getByRole('button', { name: 'New room' }).click();
        const createDialog = alice.page.getByRole('dialog', { name: 'Create a room' });
        await createDialog.getByLabel('Name').fill('team');
        await createDialog.getByLabel('Topic').fill('Everything about the launch');
        await createDialog.getByRole('button', { name: 'Create room' }).click();
        await alice.page.getByRole('heading', { name: 'team', level: 1 }).waitFor();

        await bob.page
          .getByRole('navigation', { name: 'Rooms' })
          .getByRole('button', { name: 'Browse channels' })
          .click();
        await bob.page
          .getByRole('dialog', { name: 'Browse channels' })
          .getByRole('button', { name: 'Join #team' })
          .click();
        await bob.page.getByRole('heading', { name: 'team', level: 1 }).waitFor();

        // ------------------------------------------------ messages both ways, typing
        await send(alice.page, 'Message #team', 'Hello Bob');
        await message(timeline(bob.page), 'Hello Bob').waitFor();
        await bob.page.getByRole('textbox', { name: 'Message #team' }).fill('Hi Alice');
        await alice.page.getByText('Bob is typing…').waitFor();
        await bob.page.getByRole('textbox', { name: 'Message #team' }).press('Enter');
        await message(timeline(alice.page), 'Hi Alice').waitFor();
        await alice.page.getByText('Bob is typing…').waitFor({ state: 'hidden' });

        // ------------------------------------------------ a thread reply
        const hello = message(timeline(bob.page), 'Hello Bob');
        await hello.hover();
        await hello.getByRole('button', { name: 'Reply in thread' }).click();
        await send(bob.page, 'Reply in thread', 'Thread reply from Bob');
        await message(threadPanel(bob.page), 'Thread reply from Bob').waitFor();
        await message(timeline(alice.page), 'Hello Bob').getByRole('button', { name: '1 reply' }).click();
        await message(threadPanel(alice.page), 'Thread reply from Bob').waitFor();
        await alice.page.getByRole('button', { name: 'Close thread' }).click();
        await bob.page.getByRole('button', { name: 'Close thread' }).click();

        // ------------------------------------------------ a reaction, an edit, a delete
        const hiOnAlice = message(timeline(alice.page), 'Hi Alice');
        await hiOnAlice.hover();
        await hiOnAlice.getByRole('button', { name: 'Add reaction' }).click();
        await alice.page.getByRole('button', { name: 'React with 👍' }).click();
        await message(timeline(bob.page), 'Hi Alice')
          .getByRole('button', { name: /^👍 1: Alice/ })
          .waitFor();

        const helloOnAlice = message(timeline(alice.page), 'Hello Bob');
        await helloOnAlice.hover();
        await helloOnAlice.getByRole('button', { name: 'Edit message' }).click();
        await alice.page
          .getByRole('textbox', { name: 'Edit message' })
          .fill('Hello Bob, welcome to the team');
        await alice.page.getByRole('textbox', { name: 'Edit message' }).press('Enter');
        await message(timeline(bob.page), 'Hello Bob, welcome to the team').getByText('(edited)').waitFor();

        await send(bob.page, 'Message #team', 'Oops, wrong room');
        const oops = message(timeline(bob.page), 'Oops, wrong room');
        await message(timeline(alice.page), 'Oops, wrong room').waitFor();
        await oops.hover();
        await oops.getByRole('button', { name: 'Delete message' }).click();
        await oops.getByRole('button', { name: 'Delete', exact: true }).click();
        await timeline(alice.page).getByText('This message was deleted.').waitFor();

        // ------------------------------------------------ a file
        await alice.page.locator('input[type="file"]').setInputFiles({
          name: 'notes.txt',
          mimeType: 'text/plain',
          buffer: Buffer.from('launch checklist\n'),
        });
        await alice.page.getByRole('list', { name: 'Files to send' }).getByText('notes.txt').waitFor();
        await send(alice.page, 'Message #team', 'Here are my notes');
        const fileLink = message(timeline(bob.page), 'Here are my notes').getByRole('link', {
          name: /notes\.txt/,
        });
        await fileLink.waitFor();
        const [download] = await Promise.all([bob.page.waitForEvent('download'), fileLink.click()]);
        expect(download.suggestedFilename()).toBe('notes.txt');
        expect(readFileSync((await download.path())!, 'utf8')).toBe('launch checklist\n');

        // ------------------------------------------------ a direct message and its unread count
        await bob.page.getByRole('button', { name: 'New direct message' }).click();
        await bob.page
          .getByRole('dialog', { name: 'New direct message' })
          .getByRole('button', { name: /Alice/ })
          .click();
        await bob.page.getByRole('heading', { name: 'Alice', level: 1 }).waitFor();
        await send(bob.page, 'Message Alice', 'Psst, Alice');
        const directLink = alice.page
          .getByRole('navigation', { name: 'Rooms' })
          .getByRole('link', { name: /Bob/ });
        // Unread while Alice looks at #team: the link says so (its badge reads "1", announced as "1 unread").
        await alice.page
          .getByRole('navigation', { name: 'Rooms' })
          .getByRole('link', { name: 'Bob (online), 1 unread' })
          .waitFor();
        expect(await directLink.locator('.badge').textContent()).toBe('1');
        await directLink.click();
        await message(timeline(alice.page), 'Psst, Alice').waitFor();
        await directLink.locator('.badge').waitFor({ state: 'detached' });
        // The read marker reached the server.
        const aliceUser = await app.server.engine.getUserByUsername('alice');
        await expect
          .poll(async () => Object.values(await app.server.engine.unreadCounts(aliceUser.id)), {
            timeout: WAIT_MS,
          })
          .toEqual([0, 0]);
        await alice.page
          .getByRole('navigation', { name: 'Rooms' })
          .getByRole('link', { name: /team/ })
          .click();
        await bob.page.getByRole('navigation', { name: 'Rooms' }).getByRole('link', { name: /team/ }).click();
        await message(timeline(alice.page), 'Here are my notes').waitFor();

        // ------------------------------------------------ Alice goes offline; Bob keeps going
        await alice.page.evaluate(() => {
          (globalThis as Record<string, unknown>).kaiwaE2eMarker = 'same page';
        });
        const connection = alice.page.locator('.connection');
        expect(await connection.getAttribute('data-sessions')).toBe('1');
        await alice.context.setOffline(true);
        await connection.getByText(/Offline/).waitFor();

        // Sent while offline: shown as pending, delivered on reconnection.
        await send(alice.page, 'Message #team', 'Written on the train');
        await timeline(alice.page).locator('li.message.pending').getByText('Sending…').waitFor();

        for (let n = 1; n <= 5; n += 1) await send(bob.page, 'Message #team', `While you were away ${n}`);
        await message(timeline(bob.page), 'While you were away 5').waitFor();
        const second = message(timeline(bob.page), 'While you were away 2');
        await second.hover();
        await second.getByRole('button', { name: 'Edit message' }).click();
        await bob.page
          .getByRole('textbox', { name: 'Edit message' })
          .fill('While you were away 2, corrected');
        await bob.page.getByRole('textbox', { name: 'Edit message' }).press('Enter');
        await message(timeline(bob.page), 'While you were away 2, corrected').waitFor();
        const third = message(timeline(bob.page), 'While you were away 3');
        await third.hover();
        await third.getByRole('button', { name: 'Delete message' }).click();
        await third.getByRole('button', { name: 'Delete', exact: true }).click();
        await timeline(bob.page).getByText('This message was deleted.').nth(1).waitFor();
        const fourth = message(timeline(bob.page), 'While you were away 4');
        await fourth.hover();
        await fourth.getByRole('button', { name: 'Add reaction' }).click();
        await bob.page.getByRole('button', { name: 'React with 🎉' }).click();
        await fourth.getByRole('button', { name: /^🎉 1/ }).waitFor();

        // Nothing of it reached Alice.
        expect(await message(timeline(alice.page), 'While you were away 1').count()).toBe(0);

        // ------------------------------------------------ back online: resumed, not reloaded
        await alice.context.setOffline(false);
        await alice.page.locator('.connection[data-sessions="2"]').getByText('Connected').waitFor();
        await message(timeline(alice.page), 'While you were away 5').waitFor();
        await message(timeline(alice.page), 'While you were away 2, corrected')
          .getByText('(edited)')
          .waitFor();
        await message(timeline(alice.page), 'While you were away 4')
          .getByRole('button', { name: /^🎉 1: Bob/ })
          .waitFor();
        await message(timeline(bob.page), 'Written on the train').waitFor();
        await timeline(alice.page).locator('li.message.pending').waitFor({ state: 'detached' });
        expect(await alice.page.evaluate(() => (globalThis as Record<string, unknown>).kaiwaE2eMarker)).toBe(
          'same page',
        );

        const expected = [
          'Hello Bob, welcome to the team (edited)',
          'Hi Alice',
          'This message was deleted.',
          'Here are my notes',
          'Written on the train',
          'While you were away 1',
          'While you were away 2, corrected (edited)',
          'This message was deleted.',
          'While you were away 4',
          'While you were away 5',
        ];
        // Both see the same messages, each once. ("Written on the train" was stored when Alice came back,
        // after Bob's messages, but Alice's own screen shows it where she wrote it until she reloads.)
        const sorted = (texts: string[]) => [...texts].sort();
        await expect
          .poll(async () => sorted(await messageTexts(alice.page)), { timeout: WAIT_MS })
          .toEqual(sorted(expected));
        await expect
          .poll(async () => sorted(await messageTexts(bob.page)), { timeout: WAIT_MS })
          .toEqual(sorted(expected));
        expect(await message(timeline(alice.page), 'Written on the train').count()).toBe(1);
        expect(await message(timeline(alice.page), 'While you were away 1').count()).toBe(1);

        // The server agrees: the offline message was stored exactly once.
        const session = await app.server.accounts.login('alice', 'alice password 2026!');
        const rooms = await app.server.engine.listRooms(session.user.id);
        const team = rooms.find((summary) => summary.room.name === 'team')!;
        const history = await app.server.engine.history(session.user.id, {
          roomId: team.room.id,
          limit: 100,
        });
        expect(history.messages.filter((each) => each.text === 'Written on the train')).toHaveLength(1);
        expect(history.messages.filter((each) => each.threadRootId === null)).toHaveLength(expected.length);

        // ------------------------------------------------ a picture of it, with the thread open
        await message(timeline(alice.page), 'Hello Bob, welcome to the team')
          .getByRole('button', { name: '1 reply' })
          .click();
        await message(threadPanel(alice.page), 'Thread reply from Bob').waitFor();
        await alice.page.mouse.move(0, 0);
        await alice.page.screenshot({ path: join(ARTIFACTS, 'chat.png') });

        // The same chat in a phone-sized window.
        const narrow = await newPage(app.baseUrl, { width: 390, height: 760 });
        await app.signIn(narrow.page, 'bob', 'bob password 2026!');
        await message(timeline(narrow.page), 'While you were away 5').waitFor();
        await narrow.page.screenshot({ path: join(ARTIFACTS, 'chat-narrow.png') });
        await narrow.page.getByRole('button', { name: 'Rooms', exact: true }).click();
        await narrow.page
          .getByRole('navigation', { name: 'Rooms' })
          .getByRole('link', { name: 'Alice' })
          .click();
        await message(timeline(narrow.page), 'Psst, Alice').waitFor();

        expect(app.pageErrors).toEqual([]);
        expect(Date.now() - started).toBeLessThan(60_000);
        expect(existsSync(join(ARTIFACTS, 'chat.png'))).toBe(true);
      });

      it('scrolls back through history, opens rooms by address and signs out', {
        timeout: 30_000,
      }, async () => {
        const { user } = await app.server.accounts.createAccount({
          username: 'dana',
          role: 'member',
          password: 'dana password 2026!',
        });
        const room = await app.server.engine.createRoom(user.id, { kind: 'channel', name: 'archive' });
        for (let n = 1; n <= 130; n += 1) {
          await app.server.engine.sendMessage(user.id, { roomId: room.id, text: `Archived ${n}` });
        }
        await app.server.engine.createRoom(user.id, { kind: 'channel', name: 'aaa-first' });

        // An address of a room survives the sign-in.
        const { page } = await newPage(`${app.baseUrl}/rooms/${room.id}`);
        await app.signIn(page, 'dana', 'dana password 2026!');
        await page.getByRole('heading', { name: 'archive', level: 1 }).waitFor();
        await message(timeline(page), 'Archived 130').waitFor();
        expect(await message(timeline(page), 'Archived 1').count()).toBe(0);

        // Scrolled to the top, older pages come until the start of the room.
        const scroller = page.locator('.main .message-scroller');
        await expect
          .poll(
            async () => {
              await scroller.evaluate((element) => {
                element.scrollTop = 0;
              });
              return page.getByText('This is the start of').isVisible();
            },
            { timeout: WAIT_MS },
          )
          .toBe(true);
        const texts = await timeline(page).locator('.message-text').allTextContents();
        expect(texts).toEqual(Array.from({ length: 130 }, (_, index) => `Archived ${index + 1}`));

        // A reload of a room's address shows that room again.
        await page.reload();
        await page.getByRole('heading', { name: 'archive', level: 1 }).waitFor();

        await page.getByRole('button', { name: 'Sign out' }).click();
        await page.getByRole('heading', { name: 'Sign in' }).waitFor();
        await page.reload();
        await page.getByRole('heading', { name: 'Sign in' }).waitFor();
        expect(app.pageErrors).toEqual([]);
      });
    });

    describe('without accounts', () => {
      it('signs in with a nickname', { timeout: 30_000 }, async () => {
        const nicknames = await app.startServer({ KAIWA_ACCOUNTS: 'false' });
        const { page } = await newPage(nicknames.baseUrl);
        await page.getByRole('heading', { name: 'Pick a nickname' }).waitFor();
        await page.getByLabel('Nickname').fill('Mika');
        await page.getByRole('button', { name: 'Start chatting' }).click();
        await page.getByRole('navigation', { name: 'Rooms' }).waitFor();
        await page.getByRole('main').getByRole('button', { name: 'Create a room' }).click();
        const dialog = page.getByRole('dialog', { name: 'Create a room' });
        await dialog.getByLabel('Name').fill('lobby');
        await dialog.getByRole('button', { name: 'Create room' }).click();
        await send(page, 'Message #lobby', 'Hi from Mika');
        await message(timeline(page), 'Hi from Mika').locator('.author', { hasText: 'Mika' }).waitFor();
        expect(app.pageErrors).toEqual([]);
      });
    });
  });
}
