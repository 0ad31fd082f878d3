import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../src/test-support.js';
import { chromiumSkipReason, launchChromium } from './chromium.js';

/*
 * The API documentation page (/api/docs, swagger-ui) in a real browser under the server's own
 * Content-Security-Policy: it renders the operations, and nothing on it is refused by the policy.
 */

const WAIT_MS = 10_000;

/** Runs in the page before its own scripts: every CSP violation goes to the console, where the test reads it. */
const REPORT_VIOLATIONS = `document.addEventListener('securitypolicyviolation', (event) => {
  console.error('CSP violation: ' + event.violatedDirective + ' blocked ' + (event.blockedURI || 'inline') +
    ' from ' + event.sourceFile + ':' + event.lineNumber + ' ' + event.sample);
});`;

const skipReason = chromiumSkipReason;

if (skipReason) {
  console.info(`API documentation browser test skipped: ${skipReason}`);
  describe.skip('API documentation in a browser', () => {
    it('is skipped', () => {});
  });
} else {
  describe('API documentation in a browser', () => {
    let browser: Browser;
    let test: TestServer;
    let baseUrl: string;

    beforeAll(async () => {
      test = await startTestServer({ host: '127.0.0.1', port: 0 });
      baseUrl = await test.server.listen();
      browser = await launchChromium();
    });
    afterAll(async () => {
      await browser?.close();
      await test?.close();
    });

    it('renders every operation without a Content-Security-Policy violation', async () => {
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        page.setDefaultTimeout(WAIT_MS);
        const problems: string[] = [];
        page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
        page.on('console', (message) => {
          if (message.type() === 'error') problems.push(message.text());
        });
        // A violation is also reported to the server (report-uri).
        page.on('request', (request) => {
          if (request.url().includes('/csp-report')) problems.push(`CSP report sent: ${request.postData()}`);
        });
        await page.addInitScript(REPORT_VIOLATIONS);
        await page.goto(`${baseUrl}/api/docs`);
        await page.getByText('/api/v1/rooms/{roomId}/messages').first().waitFor();
        expect(await page.locator('.opblock').count()).toBeGreaterThan(50);
        // An operation opened: parameters, responses and their schemas render too.
        await page.locator('.opblock-summary').filter({ hasText: '/api/v1/auth/login' }).first().click();
        await page.locator('.opblock.is-open .responses-table').first().waitFor();
        await page.getByRole('button', { name: 'Try it out' }).first().click();
        // Violations arrive as events after the work that caused them.
        await page.waitForTimeout(300);
        expect(problems).toEqual([]);
      } finally {
        await context.close();
      }
    });
  });
}
