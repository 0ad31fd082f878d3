import { join } from 'node:path';
import { KaiwaRestClient } from '@kaiwa/client';
import type { Message } from '@kaiwa/protocol';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type TestServer as ModelServer,
  startTestServer as startModelServer,
} from '../../../llm/src/test-support/start-test-server.js';
import { startOpenAIEmbeddingsServer } from '../../src/test-support/openai-embeddings-server.js';
import { ARTIFACTS, type BrowserTestServer, startBrowserTestServer } from './browser-test-server.js';
import { chromiumSkipReason } from './chromium.js';

// Functions passed to page.evaluate run in the browser; this test program has no DOM types, so the
// browser globals they use are declared loosely here.
// biome-ignore lint/suspicious/noExplicitAny: typed by the page, not by this program.
type InPage = any;
declare const document: InPage;

/*
 * Knowledge in a real browser: the server's KAIWA_EMBEDDINGS points at an OpenAI-compatible embeddings
 * server this test starts (the hashed n-gram test embedding). A room owner turns the room's messages into
 * knowledge in the room details and sees the index done; another member types `/ask where is the backup
 * key?`, which opens the search in its Ask mode instead of sending, sees the passage, and lands on the
 * message deep in the room's history. The assistant (the LLM test server's citing model) answers a question
 * with a "Sources:" list whose links open the message in place. Screenshots at desktop and phone sizes go to
 * test-artifacts/.
 */

const PASSWORD = 'correct horse battery staple';
const KEY_TEXT = 'The backup key is kept in the red safe next to the server rack; the code is with Ada.';

if (chromiumSkipReason) {
  console.info(`knowledge browser test skipped: ${chromiumSkipReason}`);
  describe.skip('knowledge in a browser', () => {
    it('is skipped', () => {});
  });
} else {
  describe('knowledge in a browser', () => {
    let embeddings: Awaited<ReturnType<typeof startOpenAIEmbeddingsServer>>;
    let modelServer: ModelServer;
    let app: BrowserTestServer;

    beforeAll(async () => {
      embeddings = await startOpenAIEmbeddingsServer();
      modelServer = await startModelServer();
      app = await startBrowserTestServer({
        name: 'knowledge',
        env: {
          KAIWA_EMBEDDINGS: embeddings.url,
          KAIWA_EMBEDDING_MODEL: 'hashed-ngrams',
          KAIWA_LLM_BASE_URL: modelServer.baseURL,
          KAIWA_LLM_MODEL: 'cite',
        },
        password: PASSWORD,
        timeout: 15_000,
        consoleErrors: true,
      });
    });
    afterEach((context) => app.screenshotFailures(context));
    afterAll(async () => {
      await app?.close();
      await modelServer?.stop();
      await new Promise((resolve) => embeddings?.server.close(resolve));
    });

    async function member(username: string, displayName: string): Promise<KaiwaRestClient> {
      await app.server.accounts.createAccount({ username, displayName, role: 'member', password: PASSWORD });
      const rest = new KaiwaRestClient({ baseUrl: app.baseUrl });
      await rest.login(username, PASSWORD);
      return rest;
    }

    /** Opens the room details and waits for the knowledge section. */
    async function knowledgeSection(page: Page) {
      await page.getByRole('button', { name: 'Room details' }).click();
      const section = page.getByRole('region', { name: 'Knowledge' });
      await section.waitFor();
      return section;
    }

    const noOverflow = (page: Page) =>
      page.evaluate<number>('document.documentElement.scrollWidth - innerWidth');

    it('turns a room into knowledge, asks it with /ask and opens the passage', {
      timeout: 120_000,
    }, async () => {
      const ada = await member('ada', 'Ada Lovelace');
      const grace = await member('grace', 'Grace Hopper');
      const ops = await ada.createRoom({ kind: 'channel', name: 'ops', topic: 'Servers and backups' });
      await grace.joinRoom(ops.id);
      await ada.sendMessage(ops.id, { text: 'Lunch on Friday is at noon in the big meeting room.' });
      const key: Message = await ada.sendMessage(ops.id, { text: KEY_TEXT });
      // Enough after it that the key message is usually not on the first page the room loads.
      for (let index = 0; index < 150; index += 1) {
        const author = index % 2 === 0 ? grace : ada;
        await author.sendMessage(ops.id, {
          text: `Deploy ${index}: the pipeline is green, nothing to report.`,
        });
      }

      // The owner: the Knowledge section with its two switches, off; messages on; indexed.
      const owner = await app.open({
        viewport: { width: 1280, height: 800 },
        path: `/rooms/${ops.id}`,
        signInAs: 'ada',
      });
      await owner.getByRole('heading', { name: 'ops', level: 1 }).waitFor();
      const section = await knowledgeSection(owner);
      const messages = section.getByRole('switch', { name: /^Messages and threads/ });
      const documents = section.getByRole('switch', { name: /^Documents/ });
      expect(await messages.isChecked()).toBe(false);
      expect(await documents.isChecked()).toBe(false);
      await messages.check();
      await section
        .getByRole('status')
        .filter({ hasText: /^Indexed: 152 messages\.$/ })
        .waitFor({ timeout: 30_000 });
      expect(await messages.isChecked()).toBe(true);
      expect((await ada.roomKnowledge(ops.id)).indexing?.state).toBe('done');
      await owner.mouse.move(0, 0);
      await owner.screenshot({ path: join(ARTIFACTS, 'knowledge-settings-desktop.png') });

      // Another member reads the settings, cannot change them.
      const page = await app.open({
        viewport: { width: 1280, height: 800 },
        path: `/rooms/${ops.id}`,
        signInAs: 'grace',
      });
      await page.getByRole('heading', { name: 'ops', level: 1 }).waitFor();
      const readOnly = await knowledgeSection(page);
      await readOnly.getByText('Messages and threads: on').waitFor();
      await readOnly.getByText('Documents: off').waitFor();
      expect(await readOnly.getByRole('switch').count()).toBe(0);
      await page.getByRole('button', { name: 'Close room details' }).click();

      // `/ask` in the message box opens the search in Ask mode with the question; nothing is sent.
      const box = page.getByRole('textbox', { name: 'Message #ops' });
      await box.fill('/ask where is the backup key?');
      await box.press('Enter');
      const dialog = page.getByRole('dialog', { name: 'Ask a question' });
      await dialog.waitFor();
      const question = dialog.getByRole('combobox', { name: 'Ask a question' });
      expect(await question.inputValue()).toBe('where is the backup key?');
      expect(await dialog.getByRole('button', { name: 'Ask', pressed: true }).count()).toBe(1);
      expect(await box.inputValue()).toBe('');
      const passage = dialog.getByRole('option').first();
      await passage.waitFor();
      await expect(passage.textContent()).resolves.toContain('red safe');
      await expect(passage.locator('.search-result-room').textContent()).resolves.toBe('#ops');
      await dialog
        .getByRole('status')
        .filter({ hasText: /passages?$/ })
        .waitFor();
      await page.screenshot({ path: join(ARTIFACTS, 'knowledge-ask-desktop.png') });
      const sent = await grace.messagePage(ops.id, { limit: 5 });
      expect(sent.messages.some((message) => message.text.includes('/ask'))).toBe(false);

      // Keyboard: the first passage is active, Enter opens it: the message is shown and highlighted.
      expect(await dialog.getByRole('option', { selected: true }).textContent()).toContain('red safe');
      await question.press('Enter');
      await dialog.waitFor({ state: 'detached' });
      const keyMessage = page.locator(`.room [data-message-id="${key.id}"][data-jumped]`);
      await keyMessage.waitFor();
      expect(await keyMessage.textContent()).toContain('red safe');
      // Focus went back to the message box.
      expect(await box.evaluate((element) => element === document.activeElement)).toBe(true);

      // The switch between the modes, by keyboard, from the search button; a click on a passage opens it too.
      await page.getByRole('button', { name: 'Search messages' }).click();
      const search = page.getByRole('dialog', { name: 'Search messages' });
      await search.getByRole('button', { name: 'Ask', pressed: false }).click();
      const asked = page.getByRole('dialog', { name: 'Ask a question' });
      await asked.getByRole('combobox', { name: 'Ask a question' }).fill('red safe code');
      await asked.getByRole('combobox', { name: 'Ask a question' }).press('Enter');
      await asked.getByRole('option').filter({ hasText: 'red safe' }).first().click();
      await asked.waitFor({ state: 'detached' });
      await page.locator(`.room [data-message-id="${key.id}"][data-jumped]`).waitFor();

      // The assistant answers from the room's knowledge, citing [1], with its sources as links that open in place.
      await grace.sendMessage(ops.id, { text: '@assistant where is the backup key?' });
      const answer = page
        .locator('.room li.message')
        .filter({ has: page.locator('a.md-app-link') })
        .last();
      await answer.waitFor({ timeout: 30_000 });
      const source = answer.locator('a.md-app-link').first();
      await expect(answer.textContent()).resolves.toContain('Sources:');
      const href = (await source.getAttribute('href')) ?? '';
      expect(href).toMatch(new RegExp(`^/rooms/${ops.id}\\?message=[0-9A-Z]{26}$`));
      await answer.scrollIntoViewIfNeeded();
      await page.mouse.move(0, 0);
      await page.screenshot({ path: join(ARTIFACTS, 'knowledge-assistant-desktop.png') });
      await source.click();
      const cited = href.split('message=')[1];
      await page.locator(`.room [data-message-id="${cited}"][data-jumped]`).waitFor();

      // A phone: the owner's settings and the member's question fit the screen.
      const ownerPhone = await app.open({
        viewport: { width: 390, height: 844 },
        hasTouch: true,
        isMobile: true,
        path: `/rooms/${ops.id}`,
        signInAs: 'ada',
      });
      await ownerPhone.getByRole('heading', { name: 'ops', level: 1 }).waitFor();
      const phoneSection = await knowledgeSection(ownerPhone);
      await phoneSection.scrollIntoViewIfNeeded();
      await phoneSection
        .getByRole('status')
        .filter({ hasText: /^Indexed:/ })
        .waitFor();
      await ownerPhone.screenshot({ path: join(ARTIFACTS, 'knowledge-settings-phone.png') });
      expect(await noOverflow(ownerPhone)).toBeLessThanOrEqual(0);

      const phone = await app.open({
        viewport: { width: 390, height: 844 },
        hasTouch: true,
        isMobile: true,
        path: `/rooms/${ops.id}`,
        signInAs: 'grace',
      });
      await phone.getByRole('heading', { name: 'ops', level: 1 }).waitFor();
      const phoneBox = phone.getByRole('textbox', { name: 'Message #ops' });
      await phoneBox.fill('/ask where is the backup key?');
      await phone.getByRole('button', { name: 'Send', exact: true }).tap();
      const phoneDialog = phone.getByRole('dialog', { name: 'Ask a question' });
      await phoneDialog.getByRole('option').filter({ hasText: 'red safe' }).first().waitFor();
      await phone.screenshot({ path: join(ARTIFACTS, 'knowledge-ask-phone.png') });
      expect(await noOverflow(phone)).toBeLessThanOrEqual(0);
      await phoneDialog.getByRole('option').filter({ hasText: 'red safe' }).first().tap();
      await phone.locator(`.room [data-message-id="${key.id}"][data-jumped]`).waitFor();

      expect(app.pageErrors).toEqual([]);
    });
  });
}
