import { join } from 'node:path';
import { KaiwaRestClient } from '@kaiwa/client';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, type BrowserTestServer, startBrowserTestServer } from './browser-test-server.js';
import { chromiumSkipReason } from './chromium.js';

/*
 * Projects and tickets in a real browser: the Projects entry of the sidebar, a new project, tickets made in
 * the dialog (priority, assignee, an overdue date, labels), a card dragged to another column, another moved
 * with its status menu (the keyboard and touch way), a move the server refuses put back, the filters, a
 * ticket made from a chat message with a link back to it, the project's files, and the board at desktop and
 * phone sizes (screenshots in test-artifacts/ for a person to look at).
 */

const PASSWORD = 'correct horse battery staple';

if (chromiumSkipReason) {
  console.info(`projects browser test skipped: ${chromiumSkipReason}`);
  describe.skip('projects and tickets in a browser', () => {
    it('is skipped', () => {});
  });
} else {
  describe('projects and tickets in a browser', () => {
    let app: BrowserTestServer;

    beforeAll(async () => {
      app = await startBrowserTestServer({ name: 'projects', password: PASSWORD });
    });
    afterEach((context) => app.screenshotFailures(context));
    afterAll(() => app?.close());

    async function member(username: string, displayName: string): Promise<KaiwaRestClient> {
      await app.server.accounts.createAccount({ username, displayName, role: 'member', password: PASSWORD });
      const rest = new KaiwaRestClient({ baseUrl: app.baseUrl });
      await rest.login(username, PASSWORD);
      return rest;
    }

    const column = (page: Page, status: string) => page.locator(`.board-column[data-status="${status}"]`);
    const card = (page: Page, title: string) => page.locator('.ticket-card', { hasText: title });

    it('runs a project board: tickets, drag, status menu, filters, a ticket from a message', {
      timeout: 120_000,
    }, async () => {
      const ada = await member('ada', 'Ada Lovelace');
      const grace = await member('grace', 'Grace Hopper');
      const planning = await ada.createRoom({ kind: 'channel', name: 'planning', topic: '' });
      const report = await ada.sendMessage(planning.id, {
        text: 'Login fails on **Safari** when the cookie banner is open\nSeen on iOS 18 too.',
      });

      const page = await app.open({ viewport: { width: 1280, height: 800 }, signInAs: 'ada' });
      await page.getByRole('heading', { name: 'planning', level: 1 }).waitFor();

      // The projects screen from the sidebar; nothing there yet.
      await page.getByRole('link', { name: 'Projects' }).click();
      await page.getByRole('heading', { name: 'Projects', level: 1 }).waitFor();
      expect(new URL(page.url()).pathname).toBe('/projects');
      await page.getByText('No projects yet.').waitFor();

      // A new project opens its (empty) board.
      await page.getByRole('button', { name: 'New project' }).click();
      const projectDialog = page.getByRole('dialog', { name: 'New project' });
      await projectDialog.getByLabel('Name').fill('Website relaunch');
      await projectDialog.getByLabel('Description').fill('The new site, live before the spring fair.');
      await projectDialog.getByRole('button', { name: 'Create project' }).click();
      await page.getByRole('heading', { name: 'Website relaunch', level: 1 }).waitFor();
      const projectId = new URL(page.url()).pathname.split('/')[2]!;
      expect(projectId).toMatch(/^[0-9A-Za-z]+$/);
      await expect.poll(() => column(page, 'open').locator('.column-empty').count()).toBe(1);

      // Two tickets from the dialog: one urgent, assigned, overdue and labelled; one plain.
      await page.getByRole('button', { name: 'New ticket' }).click();
      let dialog = page.getByRole('dialog', { name: 'New ticket' });
      await dialog.getByLabel('Title').fill('Design the landing page');
      await dialog.getByLabel('Description').fill('Hero, **pricing** and a footer.');
      await dialog.getByRole('button', { name: 'Preview' }).click();
      await dialog.locator('.markdown-preview strong', { hasText: 'pricing' }).waitFor();
      await dialog.getByLabel('Priority').selectOption('urgent');
      await dialog.getByLabel('Assignee').selectOption({ label: 'Grace Hopper (@grace)' });
      await dialog.getByLabel('Due date').fill('2026-01-15');
      await dialog.getByLabel('Labels').fill('design, web, design');
      await dialog.getByRole('button', { name: 'Create ticket' }).click();
      await card(page, 'Design the landing page').waitFor();

      await page.getByRole('button', { name: 'New ticket' }).click();
      dialog = page.getByRole('dialog', { name: 'New ticket' });
      await dialog.getByLabel('Title').fill('Write the launch post');
      await dialog.getByRole('button', { name: 'Create ticket' }).click();
      await card(page, 'Write the launch post').waitFor();

      const designed = card(page, 'Design the landing page');
      await expect.poll(() => designed.locator('.priority-badge').textContent()).toBe('Urgent');
      await expect.poll(() => designed.locator('.ticket-due.overdue').textContent()).toMatch(/^Overdue/);
      await expect.poll(() => designed.locator('.ticket-label').allTextContents()).toEqual(['design', 'web']);
      await expect.poll(() => designed.getByText('Assigned to Grace Hopper').count()).toBe(1);
      // Urgent before medium in a column.
      await expect
        .poll(() => column(page, 'open').locator('.ticket-title').allTextContents())
        .toEqual(['Design the landing page', 'Write the launch post']);

      // Drag a card into "In progress": shown there, and stored.
      await designed.dragTo(column(page, 'in_progress'));
      await column(page, 'in_progress')
        .locator('.ticket-card', { hasText: 'Design the landing page' })
        .waitFor();
      await expect
        .poll(
          async () =>
            (await ada.listTickets({ projectId })).tickets.find((t) => t.title.startsWith('Design'))?.status,
        )
        .toBe('in_progress');

      // The keyboard and touch way: the card's status menu.
      const status = page.getByLabel('Status of Write the launch post');
      await status.focus();
      await status.selectOption('blocked');
      await column(page, 'blocked').locator('.ticket-card', { hasText: 'Write the launch post' }).waitFor();
      await expect
        .poll(
          async () =>
            (await ada.listTickets({ projectId })).tickets.find((t) => t.title.startsWith('Write'))?.status,
        )
        .toBe('blocked');

      // A move the server refuses goes back where it was, with the reason shown.
      await page.route(/\/api\/v1\/tickets\/[0-9A-Za-z]+$/, (route) =>
        route.request().method() === 'PATCH'
          ? route.fulfill({
              status: 503,
              contentType: 'application/json',
              body: JSON.stringify({ error: { code: 'unavailable', message: 'try again later' } }),
            })
          : route.continue(),
      );
      await page.getByLabel('Status of Write the launch post').selectOption('closed');
      await page.getByRole('alert').filter({ hasText: 'Could not move “Write the launch post”' }).waitFor();
      await column(page, 'blocked').locator('.ticket-card', { hasText: 'Write the launch post' }).waitFor();
      expect(await column(page, 'closed').locator('.ticket-card').count()).toBe(0);
      await page.unroute(/\/api\/v1\/tickets\/[0-9A-Za-z]+$/);
      await page.locator('.projects-header').getByRole('button', { name: 'Dismiss' }).click();

      // Filters: Grace's tickets only, then urgent ones, then everything again.
      await page.locator('.board-filters').getByLabel('Assignee').selectOption({ label: 'Grace Hopper' });
      await expect.poll(() => page.locator('.ticket-card').count()).toBe(1);
      await page.locator('.board-filters').getByLabel('Assignee').selectOption('all');
      await page.locator('.board-filters').getByLabel('Priority').selectOption('medium');
      await expect
        .poll(() => page.locator('.ticket-title').allTextContents())
        .toEqual(['Write the launch post']);
      await page.locator('.board-filters').getByLabel('Priority').selectOption('all');
      await expect.poll(() => page.locator('.ticket-card').count()).toBe(2);

      // A ticket from a chat message: drafted from it, with the way back to it.
      await page.getByRole('link', { name: /^planning/ }).click();
      const message = page.locator(`[data-message-id="${report.id}"]`);
      await message.hover();
      await message.getByRole('button', { name: 'Create ticket' }).click();
      dialog = page.getByRole('dialog', { name: 'New ticket' });
      await expect
        .poll(() => dialog.getByLabel('Title').inputValue())
        .toBe('Login fails on Safari when the cookie banner is open');
      expect(await dialog.getByLabel('Description').inputValue()).toContain(
        `/rooms/${planning.id}?message=${report.id}`,
      );
      await dialog.getByLabel('Priority').selectOption('high');
      await page.screenshot({ path: join(ARTIFACTS, 'projects-ticket-from-message.png') });
      await dialog.getByRole('button', { name: 'Create ticket' }).click();
      await page
        .getByRole('dialog', { name: 'Ticket created' })
        .getByRole('link', { name: 'Open the board' })
        .click();
      await page.getByRole('heading', { name: 'Website relaunch', level: 1 }).waitFor();
      const fromChat = column(page, 'open').locator('.ticket-card', { hasText: 'Login fails on Safari' });
      await fromChat.waitFor();
      await fromChat.getByRole('button', { name: /Login fails on Safari/ }).click();
      dialog = page.getByRole('dialog', { name: 'Edit ticket' });
      await dialog.getByRole('button', { name: 'Preview' }).click();
      const back = dialog.getByRole('link', { name: 'in the chat' });
      expect(await back.getAttribute('href')).toContain(`/rooms/${planning.id}?message=${report.id}`);
      await dialog.getByRole('button', { name: 'Cancel' }).click();

      // The project's files: one uploaded over the API, listed with a download.
      await ada.uploadFile({
        projectId,
        file: new Blob(['brief'], { type: 'text/plain' }),
        name: 'brief.txt',
      });
      await page.getByRole('tab', { name: 'Files' }).click();
      await page.getByRole('link', { name: 'Download brief.txt' }).waitFor();
      await page.getByRole('tab', { name: 'Board' }).click();
      await card(page, 'Login fails on Safari').waitFor();

      // The list counts the tickets.
      await page.getByRole('link', { name: '← Projects' }).click();
      await page.getByText('3 open · 3 tickets').waitFor();
      await page.screenshot({ path: join(ARTIFACTS, 'projects-list-desktop.png') });
      await page.getByRole('link', { name: 'Website relaunch' }).click();
      await card(page, 'Login fails on Safari').waitFor();

      await page.waitForTimeout(200);
      await page.screenshot({ path: join(ARTIFACTS, 'projects-board-desktop.png') });

      // A phone: the board scrolls sideways inside the screen, the page itself does not.
      const phone = await app.open({ viewport: { width: 390, height: 844 }, signInAs: 'ada' });
      await phone.getByRole('heading', { name: 'planning', level: 1 }).waitFor();
      await phone.goto(`${app.baseUrl}/projects/${projectId}`);
      await phone.getByRole('heading', { name: 'Website relaunch', level: 1 }).waitFor();
      await card(phone, 'Login fails on Safari').waitFor();
      expect(await phone.evaluate<boolean>('document.documentElement.scrollWidth <= window.innerWidth')).toBe(
        true,
      );
      await phone.waitForTimeout(200);
      await phone.screenshot({ path: join(ARTIFACTS, 'projects-board-phone.png') });
      await phone
        .getByLabel('Status of Login fails on Safari when the cookie banner is open')
        .selectOption('done');
      await column(phone, 'done').locator('.ticket-card', { hasText: 'Login fails on Safari' }).waitFor();

      // The desktop board follows live: the phone's move, and a ticket Grace files over the API.
      await column(page, 'done').locator('.ticket-card', { hasText: 'Login fails on Safari' }).waitFor();
      await grace.createTicket({ projectId, title: 'Check the footer links' });
      await column(page, 'open').locator('.ticket-card', { hasText: 'Check the footer links' }).waitFor();
      // And so does the list's count.
      await page.getByRole('link', { name: '← Projects' }).click();
      await page.getByText('3 open · 4 tickets').waitFor();
      await grace.createTicket({ projectId, title: 'Compress the hero image' });
      await page.getByText('4 open · 5 tickets').waitFor();

      expect(app.pageErrors).toEqual([]);
    });
  });
}
