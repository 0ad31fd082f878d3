import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { inject, type TestContext } from 'vitest';
import { buildServer, type KaiwaServer } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { launchChromium } from './chromium.js';

const UI_DIRECTORY = fileURLToPath(new URL('..', import.meta.url));

/** Where the browser tests put their screenshots, for a person to look at (the repository's test-artifacts/). */
export const ARTIFACTS = fileURLToPath(new URL('../../../../test-artifacts/', import.meta.url));

export interface BrowserTestServerOptions {
  /** Names the work directory (`kaiwa-<name>-e2e-…`) and the failure screenshots (`<name>-failure-N.png`). */
  name: string;
  /** Settings over the test defaults; `undefined` drops a default (e.g. KAIWA_DEFAULT_CHANNELS). */
  env?: Record<string, string | undefined>;
  /**
   * More Chromium switches. As a function it is called with the work directory before anything starts, so
   * it can write a file that a switch names there (the voice test's fake microphone).
   */
  chromiumArgs?: readonly string[] | ((workDirectory: string) => readonly string[]);
  /** The password `signIn` types when it is not given one. */
  password?: string;
  /**
   * Each page's default timeout for waits and actions (default 20 s: with two test files at a time on two
   * cores, each with a server and a Chromium, a wait that takes ~1 s alone took over 10 s now and then).
   */
  timeout?: number;
  /** Also count console errors reporting a Content-Security-Policy refusal or an uncaught error as page errors. */
  consoleErrors?: boolean;
}

/** What to open: the browser context's options, where to go and who signs in there. */
export interface OpenOptions extends BrowserContextOptions {
  /** A path on the server, or a whole address (default `/`). */
  path?: string;
  /** Signs this user in through the form once the page is there; nobody when left out. */
  signInAs?: string;
}

/**
 * A Kaiwa server on 127.0.0.1 serving a fresh build of the web UI, and Chromium to look at it. Every page
 * opened here counts its errors in `pageErrors` and is kept for the screenshots of a failed test.
 *
 * @example
 * let app: BrowserTestServer;
 * beforeAll(async () => {
 *   app = await startBrowserTestServer({ name: 'composer', password: PASSWORD });
 * });
 * afterEach((context) => app.screenshotFailures(context));
 * afterAll(() => app?.close());
 *
 * it('shows the room', async () => {
 *   const page = await app.open({ viewport: { width: 1280, height: 800 }, signInAs: 'ada' });
 *   // …
 *   expect(app.pageErrors).toEqual([]);
 * });
 */
export interface BrowserTestServer {
  readonly server: KaiwaServer;
  /** The server's address, e.g. `http://127.0.0.1:41234`. */
  readonly baseUrl: string;
  readonly browser: Browser;
  /** A temporary folder of this server's own (its data), removed by `close`. */
  readonly workDirectory: string;
  /** Errors of every page opened with `newPage` or `open`; a test usually expects none at its end. */
  readonly pageErrors: string[];
  /** A page in a new browser context, with nothing loaded yet: for listeners that must be there first. */
  newPage(options?: BrowserContextOptions): Promise<Page>;
  /** A page in a new browser context at `path`, signed in as `signInAs` when given. */
  open(options?: OpenOptions): Promise<Page>;
  /** Fills in the sign-in form the page shows and sends it. */
  signIn(page: Page, username: string, password?: string): Promise<void>;
  /** Another server on the same UI build, with data of its own; `close` closes it too. */
  startServer(env?: Record<string, string | undefined>): Promise<{ server: KaiwaServer; baseUrl: string }>;
  /** For `afterEach`: when the test failed, saves what every open page shows as `<name>-failure-N.png`. */
  screenshotFailures(context: TestContext): Promise<void>;
  /** Closes the browser and the servers and removes the work directory. */
  close(): Promise<void>;
}

/** The UI as the package build makes it (a production build: only those register the service worker). */
function buildUi(outdir: string): void {
  execFileSync(process.execPath, [join(UI_DIRECTORY, 'build.mjs'), '--outdir', outdir], { stdio: 'pipe' });
}

/**
 * The folder of this run's UI build, shared by the browser test files (the build takes seconds; every file
 * serves the same UI and none writes to it). The first file to get here builds it into the folder that
 * global-setup.ts provides, under a lock (an atomic mkdir) that the others wait on; a file whose build fails
 * lets the next one try. Without that folder (another config), the UI is built into `own`, as for one file.
 */
async function uiBuild(own: string): Promise<string> {
  const shared = inject('kaiwaSharedUiBuild');
  if (!shared) {
    buildUi(own);
    return own;
  }
  const built = join(shared, 'ui');
  const lock = join(shared, 'building.lock');
  const deadline = Date.now() + 50_000;
  for (;;) {
    if (existsSync(join(built, 'index.html'))) return built;
    try {
      mkdirSync(lock);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (Date.now() > deadline) throw new Error(`no shared UI build in ${built} after 50 s (lock: ${lock})`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      continue;
    }
    try {
      if (existsSync(join(built, 'index.html'))) return built;
      const staging = mkdtempSync(join(shared, 'staging-'));
      buildUi(staging);
      renameSync(staging, built);
      return built;
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}

/** Builds the UI (once per run), starts a server on it and launches Chromium (see `BrowserTestServer`). */
export async function startBrowserTestServer(options: BrowserTestServerOptions): Promise<BrowserTestServer> {
  const { name, timeout = 20_000, consoleErrors = false } = options;
  const workDirectory = mkdtempSync(join(tmpdir(), `kaiwa-${name}-e2e-`));
  let uiDirectory = join(workDirectory, 'ui');
  const servers: KaiwaServer[] = [];
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];
  let browser: Browser | undefined;

  async function close(): Promise<void> {
    try {
      await browser?.close();
      for (const server of servers) await server.close();
    } finally {
      rmSync(workDirectory, { recursive: true, force: true });
    }
  }

  async function startServer(
    env: Record<string, string | undefined> = {},
  ): Promise<{ server: KaiwaServer; baseUrl: string }> {
    const config = loadConfig({
      env: {
        HOST: '127.0.0.1',
        PORT: '0',
        KAIWA_DATA_DIR: join(workDirectory, `data-${servers.length}`),
        KAIWA_UI_DIR: uiDirectory,
        LOG_LEVEL: 'error',
        NODE_ENV: 'test',
        // The tests count rooms from an empty start; joining #general is tested in room-preferences.test.ts.
        KAIWA_DEFAULT_CHANNELS: 'none',
        ...options.env,
        ...env,
      },
    });
    const server = await buildServer(config, { announce: () => {} });
    servers.push(server);
    return { server, baseUrl: await server.listen() };
  }

  try {
    mkdirSync(ARTIFACTS, { recursive: true });
    uiDirectory = await uiBuild(uiDirectory);
    const chromiumArgs =
      typeof options.chromiumArgs === 'function' ? options.chromiumArgs(workDirectory) : options.chromiumArgs;
    const { server, baseUrl } = await startServer();
    const launched = await launchChromium(chromiumArgs);
    browser = launched;

    async function newPage(contextOptions: BrowserContextOptions = {}): Promise<Page> {
      const context = await launched.newContext(contextOptions);
      contexts.push(context);
      const page = await context.newPage();
      page.setDefaultTimeout(timeout);
      page.on('pageerror', (error) => pageErrors.push(error.message));
      if (consoleErrors) {
        page.on('console', (message) => {
          // A refused connection while offline is expected; a CSP violation or a script error is not.
          if (message.type() === 'error' && /Content Security Policy|Uncaught/i.test(message.text())) {
            pageErrors.push(message.text());
          }
        });
      }
      return page;
    }

    async function signIn(page: Page, username: string, password = options.password): Promise<void> {
      if (password === undefined) throw new Error(`signIn: no password for ${username}`);
      await page.getByLabel('Username').fill(username);
      await page.getByLabel('Password', { exact: true }).fill(password);
      await page.getByRole('button', { name: 'Sign in' }).click();
    }

    return {
      server,
      baseUrl,
      browser: launched,
      workDirectory,
      pageErrors,
      newPage,
      async open({ path = '/', signInAs, ...contextOptions } = {}) {
        const page = await newPage(contextOptions);
        await page.goto(new URL(path, baseUrl).href);
        if (signInAs !== undefined) await signIn(page, signInAs);
        return page;
      },
      signIn,
      startServer,
      async screenshotFailures(context) {
        if (context.task.result?.state !== 'fail') return;
        mkdirSync(ARTIFACTS, { recursive: true });
        let index = 0;
        for (const open of contexts) {
          for (const page of open.pages()) {
            index += 1;
            await page.screenshot({ path: join(ARTIFACTS, `${name}-failure-${index}.png`) }).catch(() => {});
          }
        }
      },
      close,
    };
  } catch (error) {
    // Whatever did start is stopped; the error that stopped the start is the one to see.
    await close().catch(() => {});
    throw error;
  }
}
