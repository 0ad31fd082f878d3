import { join } from 'node:path';
import axeCore from 'axe-core';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, type BrowserTestServer, startBrowserTestServer } from './browser-test-server.js';
import { chromiumSkipReason } from './chromium.js';

/*
 * axe-core on every main screen of the web chat, at desktop and phone sizes: sign-in, the forced password change,
 * a room with messages, a thread, the room details, search, the Ctrl+K switcher, people, profile and workflows.
 * A `serious` or `critical` violation fails the test (its rule and the elements are printed). On the phone (touch),
 * the tap targets of the header, the room list, the message actions and the composer are at least 44 px, and
 * the keyboard reaches the main actions with a visible focus ring.
 */

/** axe-core's own script, to evaluate in the page. */
const AXE_SOURCE = axeCore.source;
const PASSWORD = 'a11y password 2026!';
const DESKTOP = { viewport: { width: 1280, height: 800 } };
const PHONE = { viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true, deviceScaleFactor: 2 };

/** The few browser globals of the code evaluated in the page (the root tsconfig has no DOM library). */
interface PageElement {
  readonly tagName: string;
  readonly textContent: string | null;
  readonly classList: Iterable<string>;
  getAttribute(name: string): string | null;
  getBoundingClientRect(): { width: number; height: number };
  closest(selector: string): PageElement | null;
  matches(selector: string): boolean;
  querySelectorAll(selector: string): Iterable<PageElement>;
}
declare const document: {
  readonly activeElement: PageElement | null;
  readonly body: PageElement;
  querySelectorAll(selector: string): Iterable<PageElement>;
};
declare function getComputedStyle(element: unknown): {
  visibility: string;
  opacity: string;
  outlineStyle: string;
  outlineWidth: string;
  boxShadow: string;
};

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[]; failureSummary?: string }[];
}

/** Runs axe in the page (evaluated, so the page's CSP does not apply) and returns the serious and critical ones. */
async function audit(page: Page, screen: string, findings: string[]): Promise<void> {
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run: (context: unknown) => Promise<unknown> } }).axe;
    const result = (await axe.run(document)) as { violations: Violation[] };
    return result.violations.map(({ id, impact, help, nodes }) => ({
      id,
      impact,
      help,
      nodes: nodes.map(({ target, failureSummary }) => ({ target, failureSummary })),
    }));
  });
  for (const violation of violations) {
    if (violation.impact !== 'serious' && violation.impact !== 'critical') continue;
    const targets = violation.nodes.map((node) => node.target.join(' ')).join(', ');
    findings.push(`${screen}: ${violation.id} (${violation.impact}) ${violation.help} — ${targets}`);
  }
}

/** Visible interactive elements smaller than 44 × 44 px, as "selector WxH" (text links inside messages aside). */
async function smallTapTargets(page: Page, scope: string): Promise<string[]> {
  return page.evaluate((scopeSelector) => {
    const selector =
      'button, a[href], input:not([type="hidden"]), select, textarea, summary, [role="button"], [role="option"], [tabindex]:not([tabindex="-1"])';
    const found: string[] = [];
    for (const root of document.querySelectorAll(scopeSelector)) {
      for (const element of root.querySelectorAll(selector)) {
        // Text links in a message are exempt (WCAG 2.5.5); a visually hidden input is not what is tapped.
        // A check box inside its label is tapped through the label.
        if (element.closest('.markdown, .message-text') || element.matches('.visually-hidden, label input')) {
          continue;
        }
        const box = element.getBoundingClientRect();
        const style = getComputedStyle(element);
        if (box.width === 0 || box.height === 0 || style.visibility === 'hidden' || style.opacity === '0') {
          continue;
        }
        if (box.width >= 44 && box.height >= 44) continue;
        const name =
          element.getAttribute('aria-label') ??
          element.textContent?.trim().slice(0, 30) ??
          element.tagName.toLowerCase();
        found.push(
          `${element.tagName.toLowerCase()}.${[...element.classList].join('.')} "${name}" ${Math.round(box.width)}×${Math.round(box.height)}`,
        );
      }
    }
    return found;
  }, scope);
}

const skipReason = chromiumSkipReason;

if (skipReason) {
  console.info(`accessibility browser test skipped: ${skipReason}`);
  describe.skip('web chat accessibility', () => {
    it('is skipped', () => {});
  });
} else {
  describe('web chat accessibility', () => {
    let app: BrowserTestServer;

    beforeAll(async () => {
      app = await startBrowserTestServer({ name: 'a11y', password: PASSWORD });
      const { server } = app;

      // Alice (an admin, so People shows) and Bob talk in #team; one message has a thread reply.
      const alice = await server.accounts.createAccount({
        username: 'alice',
        displayName: 'Alice',
        role: 'admin',
        password: PASSWORD,
      });
      const bob = await server.accounts.createAccount({
        username: 'bob',
        displayName: 'Bob',
        role: 'member',
        password: PASSWORD,
      });
      const team = await server.engine.createRoom(alice.user.id, {
        kind: 'channel',
        name: 'team',
        topic: 'Everything about the launch',
      });
      await server.engine.joinRoom(bob.user.id, team.id);
      const hello = await server.engine.sendMessage(alice.user.id, { roomId: team.id, text: 'Hello Bob' });
      await server.engine.sendMessage(bob.user.id, {
        roomId: team.id,
        text: 'Hi @alice, here is the **plan** with `code` and a [link](https://example.com)',
      });
      await server.engine.sendMessage(bob.user.id, {
        roomId: team.id,
        text: 'Thread reply from Bob',
        threadRootId: hello.id,
      });
      await server.engine.addReaction(bob.user.id, hello.id, '👍');
      await server.engine.openDirectRoom(alice.user.id, bob.user.id);
    });
    afterEach((context) => app.screenshotFailures(context));
    afterAll(() => app?.close());

    /** Opens a dialog from the sidebar (in the drawer on a phone), audits it, and closes it with Escape. */
    async function auditDialog(
      page: Page,
      phone: boolean,
      button: string,
      title: string,
      findings: string[],
    ) {
      if (phone) await page.getByRole('button', { name: /^Rooms/ }).click();
      await page.getByRole('button', { name: button }).click();
      await page.getByRole('dialog', { name: title }).waitFor();
      await page.waitForTimeout(200);
      await audit(page, `${title} dialog`, findings);
      await page.keyboard.press('Escape');
      await page.getByRole('dialog', { name: title }).waitFor({ state: 'hidden' });
    }

    for (const [size, options] of [
      ['desktop', DESKTOP],
      ['phone', PHONE],
    ] as const) {
      it(`has no serious or critical axe violations on any screen (${size})`, {
        timeout: 60_000,
      }, async () => {
        const phone = size === 'phone';
        const findings: string[] = [];

        // Sign-in and the forced password change (a fresh account with a one-time password).
        const username = `first-${size}`;
        const first = await app.server.accounts.createAccount({ username, role: 'member' });
        const page = await app.open(options);
        await page.getByRole('heading', { name: 'Sign in' }).waitFor();
        await audit(page, 'sign-in', findings);
        await app.signIn(page, username, first.password!);
        await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
        await audit(page, 'password change', findings);
        await page.getByRole('button', { name: 'Sign out' }).click();

        // The chat: #team with messages, then the thread.
        await app.signIn(page, 'alice');
        const timeline = page.getByRole('log', { name: /^Messages in/ });
        await timeline.getByText('Hello Bob').waitFor();
        await page.getByRole('heading', { name: 'team', level: 1 }).waitFor();
        await audit(page, 'room', findings);
        await timeline.getByRole('button', { name: '1 reply' }).click();
        await page
          .getByRole('complementary', { name: /Thread/ })
          .getByText('Thread reply from Bob')
          .waitFor();
        await audit(page, 'thread', findings);
        await page.getByRole('button', { name: 'Close thread' }).click();

        // Room details, search, the switcher.
        await page.getByRole('button', { name: 'Room details' }).click();
        await page.locator('#room-details').waitFor();
        await audit(page, 'room details', findings);
        await page.screenshot({ path: join(ARTIFACTS, `a11y-room-details-${size}.png`) });
        await page.getByRole('button', { name: 'Close room details' }).click();
        await page.getByRole('button', { name: 'Search messages' }).first().click();
        await page.getByRole('combobox', { name: 'Search messages' }).fill('plan');
        await page.getByRole('listbox', { name: 'Results' }).getByRole('option').first().waitFor();
        await audit(page, 'search', findings);
        await page.keyboard.press('Escape');
        await page.keyboard.press('Control+k');
        await page.getByRole('combobox', { name: 'Find a room or person' }).waitFor();
        await audit(page, 'switcher', findings);
        await page.keyboard.press('Escape');

        // The dialogs of the sidebar.
        await auditDialog(page, phone, 'People', 'People', findings);
        await auditDialog(page, phone, 'Your profile: Alice', 'Your profile', findings);
        await auditDialog(page, phone, 'Workflows', 'Workflows', findings);

        if (findings.length > 0) console.log(`axe (${size}):\n  ${findings.join('\n  ')}`);
        expect(findings).toEqual([]);
      });
    }

    it('has tap targets of at least 44 px, and message actions only on tap, on a phone', {
      timeout: 45_000,
    }, async () => {
      const page = await app.open(PHONE);
      await app.signIn(page, 'bob');
      const timeline = page.getByRole('log', { name: /^Messages in/ });
      const hello = timeline.locator('li.message', { hasText: 'Hello Bob' });
      await hello.waitFor();

      // Not even built until the message is tapped, then shown for that message only.
      const actions = hello.getByRole('toolbar');
      expect(await actions.count()).toBe(0);
      await hello.locator('.message-text').tap();
      await expect.poll(() => actions.evaluate((element) => getComputedStyle(element).opacity)).toBe('1');
      const other = timeline.locator('li.message', { hasText: 'here is the' }).getByRole('toolbar');
      expect(await other.count()).toBe(0);
      await actions.getByRole('button', { name: 'Reply in thread' }).tap();
      await page.getByRole('complementary', { name: /Thread/ }).waitFor();
      await page.getByRole('button', { name: 'Close thread' }).tap();
      await hello.locator('.message-text').tap();
      await page.screenshot({ path: join(ARTIFACTS, 'message-actions-touch-phone.png') });

      const small = [
        ...(await smallTapTargets(page, '.topbar, .composer, .room-header')),
        ...(await smallTapTargets(page, 'li.message:focus-within .message-actions')),
      ];
      await page.getByRole('button', { name: /^Rooms/ }).tap();
      await page.locator('#sidebar').getByRole('link', { name: /team/ }).waitFor();
      small.push(...(await smallTapTargets(page, '#sidebar')));
      // The drawer closes on Escape once it holds the focus (it takes it when it opens: on a busy machine
      // that can come after the links show), and the scrim over the room goes with it.
      await expect
        .poll(() => page.evaluate("document.getElementById('sidebar').contains(document.activeElement)"))
        .toBe(true);
      await page.keyboard.press('Escape');
      await page.getByRole('button', { name: 'Close the room list' }).waitFor({ state: 'hidden' });
      await page.getByRole('button', { name: 'Room details' }).tap();
      await page.locator('#room-details').getByRole('button', { name: 'Leave room' }).waitFor();
      small.push(...(await smallTapTargets(page, '#room-details')));
      if (small.length > 0) console.log(`tap targets under 44 px:\n  ${small.join('\n  ')}`);
      expect(small).toEqual([]);
    });

    it('reaches the composer, the room list and the header by keyboard, with a visible focus ring', {
      timeout: 30_000,
    }, async () => {
      const page = await app.open(DESKTOP);
      await app.signIn(page, 'bob');
      await page
        .getByRole('log', { name: /^Messages in/ })
        .getByText('Hello Bob')
        .waitFor();
      await page.locator('body').focus();
      const reached = new Set<string>();
      const unringed: string[] = [];
      for (let step = 0; step < 80; step += 1) {
        await page.keyboard.press('Tab');
        const focused = await page.evaluate(() => {
          const element = document.activeElement;
          if (!element || element === document.body) return null;
          // The message box shows its focus on the whole composer around it.
          const style = getComputedStyle(element.closest('.composer') ?? element);
          const ring =
            (style.outlineStyle !== 'none' && Number.parseFloat(style.outlineWidth) > 0) ||
            style.boxShadow !== 'none';
          const where = element.closest('#sidebar')
            ? 'sidebar'
            : element.closest('.composer')
              ? 'composer'
              : element.closest('.room-header')
                ? 'header'
                : 'other';
          return { where, ring, name: element.getAttribute('aria-label') ?? element.tagName };
        });
        if (!focused) continue;
        reached.add(focused.where);
        if (!focused.ring) unringed.push(`${focused.where}: ${focused.name}`);
      }
      expect([...reached]).toEqual(expect.arrayContaining(['sidebar', 'composer', 'header']));
      expect(unringed).toEqual([]);
    });
  });
}
