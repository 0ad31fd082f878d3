import { join } from 'node:path';
import { KaiwaApiError, KaiwaRestClient } from '@kaiwa/client';
import type { UserRole } from '@kaiwa/protocol';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, type BrowserTestServer, startBrowserTestServer } from './browser-test-server.js';
import { chromiumSkipReason } from './chromium.js';

/*
 * Rooms and people in a real browser against a real server: a room owner renames a group, sets its topic,
 * invites Bob, makes him a moderator, removes Carol and archives it; Bob mutes it and asks for mentions only
 * on a phone; a guest invited into the room sees it without the controls guests may not use; an admin changes
 * a role, resets a password (the user must choose a new one at the next sign-in) and deactivates an account;
 * a member changes their display name and password (the server's complaints shown by the field). Screenshots
 * go to test-artifacts/ for a person to look at.
 */

const PASSWORD = 'correct horse battery';

if (chromiumSkipReason) {
  console.info(`rooms and people browser test skipped: ${chromiumSkipReason}`);
  describe.skip('rooms and people in a browser', () => {
    it('is skipped', () => {});
  });
} else {
  describe('rooms and people in a browser', () => {
    let app: BrowserTestServer;
    const ids = new Map<string, string>();

    beforeAll(async () => {
      app = await startBrowserTestServer({
        name: 'rooms-people',
        // Nine people sign in from one address within a minute.
        env: { KAIWA_LOGIN_RATE_LIMIT: '100' },
        password: PASSWORD,
      });
      const people: [string, string, UserRole][] = [
        ['ada', 'Ada Admin', 'admin'],
        ['olive', 'Olive Owner', 'member'],
        ['bob', 'Bob Builder', 'member'],
        ['carol', 'Carol Chen', 'member'],
        ['gus', 'Gus Guest', 'guest'],
        ['dave', 'Dave Doe', 'member'],
        ['frank', 'Frank Forgetful', 'member'],
        ['gina', 'Gina Gone', 'member'],
        ['eve', 'Eve Evans', 'member'],
      ];
      for (const [username, displayName, role] of people) {
        const { user } = await app.server.accounts.createAccount({
          username,
          displayName,
          role,
          password: PASSWORD,
        });
        ids.set(username, user.id);
      }
    });
    afterEach((context) => app.screenshotFailures(context));
    afterAll(() => app?.close());

    async function signedIn(username: string, viewport = { width: 1280, height: 800 }): Promise<Page> {
      const page = await app.open({ viewport, signInAs: username });
      // On a phone the room list is a closed drawer: wait for it in the page, not on screen.
      await page.locator('#sidebar').waitFor({ state: 'attached' });
      return page;
    }

    async function rest(username: string, password = PASSWORD): Promise<KaiwaRestClient> {
      const client = new KaiwaRestClient({ baseUrl: app.baseUrl });
      await client.login(username, password);
      return client;
    }

    const id = (username: string) => ids.get(username)!;
    const details = (page: Page) => page.getByRole('complementary', { name: /^Details/ });

    it('lets an owner run a room and a member choose how it reaches them', { timeout: 90_000 }, async () => {
      const oliveApi = await rest('olive');
      const room = await oliveApi.createRoom({
        kind: 'group',
        name: 'planning',
        memberIds: [id('carol'), id('gus')],
      });

      // ------------------------------------------------ the owner renames, sets the topic, invites, promotes, removes
      const olive = await signedIn('olive');
      await olive.getByRole('heading', { name: 'planning', level: 1 }).waitFor();
      await olive.getByRole('button', { name: 'Room details' }).click();
      const panel = details(olive);
      await panel.getByRole('button', { name: 'Edit name' }).click();
      await panel.getByLabel('Name', { exact: true }).fill('launch plans');
      await panel.getByRole('button', { name: 'Save name' }).click();
      // The server's complaint is shown under the field it names.
      await expect.poll(() => panel.locator('.field-error').textContent()).toMatch(/letters, digits/);
      await panel.getByLabel('Name', { exact: true }).fill('launch');
      await panel.getByRole('button', { name: 'Save name' }).click();
      await olive.getByRole('heading', { name: 'launch', level: 1 }).waitFor();

      await panel.getByRole('button', { name: 'Edit topic' }).click();
      await panel.getByLabel('Topic', { exact: true }).fill('Ship it in March');
      await panel.getByRole('button', { name: 'Save topic' }).click();
      await panel.getByText('Ship it in March').waitFor();

      await panel.getByRole('button', { name: 'Add people' }).click();
      await panel.getByLabel('Find people to add').fill('bob');
      await panel.getByRole('button', { name: 'Add Bob Builder' }).click();
      await panel.getByLabel('Role of Bob Builder').waitFor();
      await panel.getByRole('button', { name: 'Done adding' }).click();
      await panel.getByLabel('Role of Bob Builder').selectOption('moderator');

      await panel.getByRole('button', { name: 'Remove Carol Chen' }).click();
      await panel.getByRole('button', { name: 'Remove Carol Chen' }).click();
      await panel.getByText('Carol Chen', { exact: true }).waitFor({ state: 'detached' });
      await expect
        .poll(() => panel.getByRole('heading', { name: /^Members/ }).textContent())
        .toBe('Members (3)');

      const members = (await oliveApi.listMembers(room.id)).members;
      expect(members.find((member) => member.userId === id('bob'))?.role).toBe('moderator');
      expect(members.some((member) => member.userId === id('carol'))).toBe(false);
      await olive.screenshot({ path: join(ARTIFACTS, 'room-details-desktop.png') });

      // ------------------------------------------------ Bob, on a phone, mutes it and asks for mentions only
      const bob = await signedIn('bob', { width: 390, height: 844 });
      await bob.getByRole('heading', { name: 'launch', level: 1 }).waitFor();
      await bob.getByRole('button', { name: 'Room details' }).click();
      const bobPanel = details(bob);
      await bobPanel.getByLabel(/Mute this room/).check();
      await bobPanel.getByLabel('Notify me about').selectOption('mentions');
      await expect.poll(() => bobPanel.getByLabel('Notify me about').isEnabled()).toBe(true);
      // A moderator manages the room but does not hand out roles.
      await bobPanel.getByRole('button', { name: 'Edit topic' }).waitFor();
      expect(await bobPanel.getByLabel('Role of Olive Owner').count()).toBe(0);
      await bob.screenshot({ path: join(ARTIFACTS, 'room-details-phone.png') });
      const bobApi = await rest('bob');
      await expect
        .poll(async () => {
          const view = await bobApi.setRoomPreferences(room.id, {});
          return `${view.membership.muted} ${view.preferences.notify}`;
        })
        .toBe('true mentions');
      await bobPanel.getByRole('button', { name: 'Close room details' }).click();
      await bobPanel.waitFor({ state: 'detached' });

      // ------------------------------------------------ the guest sees the room, without controls it may not use
      const gus = await signedIn('gus');
      await gus.getByRole('heading', { name: 'launch', level: 1 }).waitFor();
      const rooms = gus.getByRole('navigation', { name: 'Rooms' });
      expect(await rooms.getByRole('button', { name: 'New room' }).count()).toBe(0);
      expect(await rooms.getByRole('button', { name: 'Browse channels' }).count()).toBe(0);
      expect(await rooms.getByRole('button', { name: 'New direct message' }).count()).toBe(0);
      await gus.getByRole('button', { name: 'Room details' }).click();
      const gusPanel = details(gus);
      await gusPanel.getByRole('button', { name: 'Leave room' }).waitFor();
      for (const control of ['Add people', 'Edit name', 'Edit topic', 'Archive room', 'Remove Bob Builder']) {
        expect(await gusPanel.getByRole('button', { name: control }).count(), control).toBe(0);
      }

      // ------------------------------------------------ the owner archives the room
      await panel.getByRole('button', { name: 'Archive room' }).click();
      await panel.getByRole('button', { name: 'Archive', exact: true }).click();
      await panel.getByText(/This room is archived/).waitFor();
      await panel.getByRole('button', { name: 'Unarchive room' }).waitFor();
      expect(await panel.getByRole('button', { name: 'Edit topic' }).count()).toBe(0);
      expect((await oliveApi.getRoom(room.id)).archived).toBe(true);
      expect(app.pageErrors).toEqual([]);
    });

    it('lets an admin manage accounts and everyone their own profile', { timeout: 90_000 }, async () => {
      // ------------------------------------------------ the admin changes a role, resets a password, deactivates
      const ada = await signedIn('ada');
      await ada.getByRole('button', { name: 'People' }).click();
      const people = ada.getByRole('dialog', { name: 'People' });
      await people.getByLabel('Role of Dave Doe').selectOption('moderator');
      await expect.poll(async () => (await app.server.engine.getUser(id('dave'))).role).toBe('moderator');

      await people.getByRole('button', { name: 'Reset password of Frank Forgetful' }).click();
      await people.getByRole('button', { name: 'Reset password', exact: true }).click();
      const secret = people.getByLabel('One-time password for frank');
      await secret.waitFor();
      const oneTimePassword = (await secret.textContent())?.trim() ?? '';
      expect(oneTimePassword.length).toBeGreaterThan(8);

      await people.getByRole('button', { name: 'Deactivate Gina Gone' }).click();
      await people.getByRole('button', { name: 'Deactivate', exact: true }).click();
      await people.getByRole('button', { name: 'Reactivate Gina Gone' }).waitFor();
      await people.getByText('Deactivated', { exact: true }).waitFor();
      await ada.screenshot({ path: join(ARTIFACTS, 'admin-people-desktop.png') });
      const refused = await rest('gina').catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(KaiwaApiError);

      // Frank signs in with the one-time password and must choose his own.
      const frank = await app.open({ viewport: { width: 1280, height: 800 } });
      await app.signIn(frank, 'frank', oneTimePassword);
      await frank.getByRole('heading', { name: 'Choose a new password' }).waitFor();

      // ------------------------------------------------ Eve changes her name and password
      const eve = await signedIn('eve');
      await eve.getByRole('button', { name: 'Your profile: Eve Evans' }).click();
      const profile = eve.getByRole('dialog', { name: 'Your profile' });
      await profile.getByLabel('Display name').fill('Eve Online');
      await profile.getByRole('button', { name: 'Save name' }).click();
      await profile.getByText('Saved.').waitFor();
      await eve.getByRole('button', { name: 'Your profile: Eve Online' }).waitFor();

      await profile.getByLabel('Current password').fill('not my password');
      await profile.getByLabel('New password', { exact: true }).fill('a brand new secret');
      await profile.getByLabel('Repeat new password').fill('a brand new secret');
      await profile.getByRole('button', { name: 'Change password' }).click();
      await expect
        .poll(() => profile.getByLabel('Current password').getAttribute('aria-invalid'))
        .toBe('true');
      expect(await profile.locator('.field-error').textContent()).toBe('Is wrong');

      await profile.getByLabel('Current password').fill(PASSWORD);
      await profile.getByLabel('New password', { exact: true }).fill('short');
      await profile.getByLabel('Repeat new password').fill('short');
      await profile.getByRole('button', { name: 'Change password' }).click();
      await expect
        .poll(() => profile.getByLabel('New password', { exact: true }).getAttribute('aria-invalid'))
        .toBe('true');
      expect(await profile.locator('.field-error').textContent()).toMatch(/at least 10 characters/);

      await profile.getByLabel('New password', { exact: true }).fill('a brand new secret');
      await profile.getByLabel('Repeat new password').fill('a brand new secret');
      await profile.getByRole('button', { name: 'Change password' }).click();
      await profile.getByText(/Password changed/).waitFor();
      await rest('eve', 'a brand new secret');
      expect((await app.server.engine.getUser(id('eve'))).displayName).toBe('Eve Online');
      expect(app.pageErrors).toEqual([]);
    });
  });
}
