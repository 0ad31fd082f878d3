import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { KaiwaRestClient } from '@kaiwa/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, type BrowserTestServer, startBrowserTestServer } from './browser-test-server.js';
import { chromiumSkipReason } from './chromium.js';

// Functions passed to evaluate run in the browser; this test program has no DOM types, so what they touch
// is typed loosely here.
// biome-ignore lint/suspicious/noExplicitAny: typed by the page, not by this program.
type InPage = any;

/*
 * Workflows and the assistant in a real browser, on a server without an assistant model: an admin writes a
 * workflow in the editor (a problem is listed with its line while typing, then the fixed definition saves),
 * starts it by hand, and its message shows up posted by the workflow bot ("BOT", "started by @ada"); a
 * workflow on a schedule offers no Start; writing to @assistant says that no model is configured. The editor
 * at desktop and phone sizes goes to test-artifacts/ for a person to look at.
 */

const PASSWORD = 'correct horse battery staple';

if (chromiumSkipReason) {
  console.info(`workflows browser test skipped: ${chromiumSkipReason}`);
  describe.skip('workflows in a browser', () => {
    it('is skipped', () => {});
  });
} else {
  describe('workflows in a browser', () => {
    let app: BrowserTestServer;

    beforeAll(async () => {
      app = await startBrowserTestServer({ name: 'workflows', password: PASSWORD });
    });
    afterEach((context) => app.screenshotFailures(context));
    afterAll(() => app?.close());

    const definition = (roomId: string, stepType: string) =>
      [
        'id: announce-deploy',
        'name: Announce deploy',
        'trigger: { type: manual }',
        'steps:',
        '  - id: tell',
        `    type: ${stepType}`,
        '    input:',
        `      roomId: "${roomId}"`,
        '      text: "Deploy finished for {{ run.workflowId }}"',
        '',
      ].join('\n');

    it('defines a workflow in the editor, starts it, and shows its message as the bot’s', {
      timeout: 120_000,
    }, async () => {
      await app.server.accounts.createAccount({
        username: 'ada',
        displayName: 'Ada',
        role: 'admin',
        password: PASSWORD,
      });
      const ada = new KaiwaRestClient({ baseUrl: app.baseUrl });
      await ada.login('ada', PASSWORD);
      const ops = await ada.createRoom({ kind: 'channel', name: 'ops', topic: '' });
      await ada.request('POST', '/workflows', {
        id: 'nightly-report',
        name: 'Nightly report',
        trigger: { type: 'cron', schedule: '0 3 * * *' },
        steps: [{ id: 'tell', type: 'notify', input: { roomId: ops.id, text: 'Nightly' } }],
      });

      const page = await app.open({
        viewport: { width: 1280, height: 800 },
        path: `/rooms/${ops.id}`,
        signInAs: 'ada',
      });
      await page.getByRole('heading', { name: 'ops', level: 1 }).waitFor();

      // A scheduled workflow says what starts it and offers no Start.
      await page.getByRole('button', { name: 'Workflows' }).click();
      const list = page.getByRole('dialog', { name: 'Workflows' });
      await list.getByText('On a schedule: 0 3 * * *').waitFor();
      expect(await list.getByRole('button', { name: 'Start Nightly report' }).count()).toBe(0);

      // The editor starts from the example (this room filled in), which is valid.
      await list.getByRole('button', { name: 'New workflow' }).click();
      const editor = page.getByRole('dialog', { name: 'New workflow' });
      const source = editor.getByRole('textbox', { name: 'Definition (YAML or JSON)' });
      expect(await source.inputValue()).toContain(`roomId: "${ops.id}"`);
      await editor.getByText('The definition is valid.').waitFor();

      // Tab indents instead of leaving the field.
      await source.fill('id: x');
      await source.press('End');
      await source.press('Tab');
      expect(await source.inputValue()).toBe('id: x  ');
      expect(await source.evaluate((field: InPage) => field.selectionStart)).toBe(7);

      // A problem shows while typing, with its path and line; Save waits for a valid definition.
      await source.fill(definition(ops.id, 'notif'));
      await source.press('End');
      await source.pressSequentially('\n');
      await editor.getByText('line 6 · steps[0].type: unknown step type "notif"').waitFor();
      expect(await editor.getByRole('button', { name: 'Save new version' }).isDisabled()).toBe(true);
      await page.screenshot({ path: join(ARTIFACTS, 'workflow-editor-desktop.png') });

      await source.fill(definition(ops.id, 'notify'));
      await editor.getByText('The definition is valid.').waitFor();
      await editor.getByRole('button', { name: 'Save new version' }).click();

      // Back in the list: the new workflow can be started by hand.
      await list.getByText('announce-deploy · v1 · Started by hand').waitFor();
      await list.getByRole('button', { name: 'Start Announce deploy' }).click();
      await list.getByRole('heading', { name: /Announce deploy\s+Succeeded/ }).waitFor();
      await page.keyboard.press('Escape');
      await list.waitFor({ state: 'hidden' });

      // The message is the workflow bot's, naming who started the run.
      const posted = page.locator('li.message', { hasText: 'Deploy finished for announce-deploy' });
      await posted.waitFor();
      await expect.poll(() => posted.locator('.author').textContent()).toBe('Workflows');
      await posted.locator('.bot-badge', { hasText: 'BOT' }).waitFor();
      await posted.getByText('started by @ada').waitFor();
      await page.mouse.move(0, 0);
      await page.screenshot({ path: join(ARTIFACTS, 'workflow-bot-message.png') });

      // Without an assistant model, writing to @assistant says so before anything is sent.
      const composer = page.getByRole('textbox', { name: 'Message #ops' });
      await composer.pressSequentially('@assistant what broke?');
      await page.getByRole('status').filter({ hasText: 'No assistant model is configured' }).waitFor();
      await composer.fill('all good');
      expect(await page.locator('.assistant-notice').count()).toBe(0);

      // A direct room with the assistant's user (left from when a model was set) says so all the time.
      const { user: assistantUser } = await app.server.accounts.createAccount({
        username: 'assistant',
        displayName: 'Assistant',
        role: 'bot',
      });
      const direct = await ada.openDirectRoom(assistantUser.id);
      await page.goto(`${app.baseUrl}/rooms/${direct.id}`);
      await page.getByRole('status').filter({ hasText: '@assistant will not answer here' }).waitFor();
      await page.goto(`${app.baseUrl}/rooms/${ops.id}`);
      await page.getByRole('heading', { name: 'ops', level: 1 }).waitFor();
      expect(await page.locator('.assistant-notice').count()).toBe(0);

      // The editor on a phone, with a problem listed.
      const phone = await app.open({
        viewport: { width: 390, height: 844 },
        path: `/rooms/${ops.id}`,
        signInAs: 'ada',
      });
      await phone.getByRole('button', { name: /^Rooms/ }).click();
      await phone.getByRole('button', { name: 'Workflows' }).click();
      await phone
        .getByRole('dialog', { name: 'Workflows' })
        .getByRole('button', { name: 'Edit Announce deploy' })
        .click();
      const phoneEditor = phone.getByRole('dialog', { name: 'Edit workflow' });
      const phoneSource = phoneEditor.getByRole('textbox', { name: 'Definition (YAML or JSON)' });
      expect(await phoneSource.inputValue()).toContain('"id": "announce-deploy"');
      await phoneSource.fill((await phoneSource.inputValue()).replace('"notify"', '"notfy"'));
      await phoneEditor.getByText(/unknown step type "notfy"/).waitFor();
      await phone.screenshot({ path: join(ARTIFACTS, 'workflow-editor-phone.png') });

      expect(app.pageErrors).toEqual([]);
      expect(existsSync(join(ARTIFACTS, 'workflow-editor-desktop.png'))).toBe(true);
    });
  });
}
