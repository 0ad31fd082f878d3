import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { brotliCompressSync, constants } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { buildServer, type KaiwaServer } from '../../packages/server/src/app.js';
import { loadConfig } from '../../packages/server/src/config.js';
import { chromiumSkipReason, launchChromium } from '../../packages/server/ui/e2e/chromium.js';
import { summarizeTrace } from './trace-summary.js';

/*
 * npm run bench:ui [-- --runs 5] [--messages 10000] [--load 2000] [--step 120]
 *                  [--ui DIR --label TEXT] [--compare DIR --compare-label TEXT] [--trace DIR]
 *
 * The web client in Debian's Chromium (KAIWA_CHROMIUM) against a real server, a room of `--messages`
 * seeded through the engine (three authors, short and long messages, markdown, code blocks). Each run, for
 * each UI build in turn (each served by its own server on a copy of the same seeded data):
 *  - shell: a cold load of `/` in a fresh browser context (no cache, no session): first paint and first
 *    contentful paint (`paint` entries), and when the sign-in form is there;
 *  - open: after signing in, a new page navigates to `/rooms/<id>`: the time from navigation until the
 *    newest message is inside the visible part of the timeline (checked every frame), with no view of the
 *    room kept by an earlier page (kept-view.ts);
 *  - reopen: that page stays 2 s, closes, and a new page opens the room again (a reload, a reopened app):
 *    when the newest message is on the screen — in the kept view or the app's rows, whichever first — and
 *    when the app's own rows show it;
 *  - scroll-back: the page scrolls the timeline up by `--step` px every animation frame (a fast, steady
 *    fling; older pages load at the top as they do for a reader) until `--load` messages are loaded;
 *    every frame's gap is recorded, long animation frames counted, and the DOM size read at the end.
 * Plus the size of each build's JS and CSS, raw and brotli (quality 11). Prints a markdown table of
 * medians and p95 over the runs, and writes bench/results/ui-<date>.json.
 *
 * --ui: a built UI to measure (default: built now from this tree with ui/build.mjs into a temp folder).
 * --compare: another built UI (e.g. `node packages/server/ui/build.mjs --outdir /tmp/ui-before` on the
 * commit before a change), measured in the same runs, taking turns, in a column of its own.
 * --trace: after the measured runs, one more run of each build (not counted) records a Chromium trace (with
 * the JS sampling profiler) of the open and of the scroll-back into DIR, and prints where the page's main
 * thread spent its time.
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    messages: { type: 'string', default: '10000' },
    load: { type: 'string', default: '2000' },
    step: { type: 'string', default: '120' },
    ui: { type: 'string' },
    label: { type: 'string', default: 'this tree' },
    compare: { type: 'string' },
    'compare-label': { type: 'string', default: 'compared build' },
    trace: { type: 'string' },
  },
});
const runs = Math.max(1, Number(values.runs));
const messageCount = Number(values.messages);
const loadTarget = Number(values.load);
const scrollStep = Number(values.step);
const PASSWORD = 'bench-password-1';
const VIEWPORT = { width: 1280, height: 800 };
const WAIT_MS = 60_000;

if (chromiumSkipReason) {
  console.error(chromiumSkipReason);
  process.exit(1);
}

const work = mkdtempSync(join(tmpdir(), 'kaiwa-bench-ui-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

// ---------------------------------------------------------------- builds and seeded data

interface Build {
  label: string;
  dist: string;
}
function buildUi(): string {
  const dist = join(work, 'ui');
  execFileSync(process.execPath, [join(root, 'packages/server/ui/build.mjs'), '--outdir', dist], {
    stdio: 'pipe',
  });
  return dist;
}
const builds: Build[] = [
  ...(values.compare ? [{ label: values['compare-label'], dist: resolve(values.compare) }] : []),
  { label: values.label, dist: values.ui ? resolve(values.ui) : buildUi() },
];

/**
 * The size of a build's JavaScript and stylesheet, raw and brotli (each file compressed on its own, as it is
 * sent): the scripts the page loads at start (the entry and the chunks its index.html preloads) and all of
 * them (with the chunks fetched only when a rarely used screen opens).
 */
function bundleSize(dist: string): {
  js: number;
  jsBrotli: number;
  jsAll: number;
  jsAllBrotli: number;
  css: number;
  cssBrotli: number;
} {
  const assets = join(dist, 'assets');
  const sizes = (file: string) => {
    const bytes = readFileSync(join(assets, file));
    const brotli = brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } });
    return [bytes.length, brotli.length] as const;
  };
  const sum = (files: string[]) =>
    files.map(sizes).reduce(([raw, brotli], [r, b]) => [raw + r, brotli + b] as const, [0, 0] as const);
  const html = readFileSync(join(dist, 'index.html'), 'utf8');
  const atStart = [...html.matchAll(/(?:src|href)="\/assets\/([^"]+\.js)"/g)].map((match) => match[1]!);
  if (atStart.length === 0) throw new Error(`no script in ${join(dist, 'index.html')}`);
  const all = readdirSync(assets).filter((name) => name.endsWith('.js'));
  const stylesheet = readdirSync(assets).find((name) => name.startsWith('app-') && name.endsWith('.css'));
  if (!stylesheet) throw new Error(`no app-*.css in ${assets}`);
  const [js, jsBrotli] = sum(atStart);
  const [jsAll, jsAllBrotli] = sum(all);
  const [css, cssBrotli] = sizes(stylesheet);
  return { js, jsBrotli, jsAll, jsAllBrotli, css, cssBrotli };
}

/** A deterministic mix of what people write: short lines, paragraphs, markdown, lists, code. */
function messageText(index: number): string {
  const words = ['deploy', 'review', 'ticket', 'release', 'meeting', 'rollback', 'metrics', 'budget'];
  const word = (offset: number) => words[(index * 7 + offset) % words.length];
  switch (index % 10) {
    case 0:
      return `ok, ${word(1)} at ${index % 24}:00`;
    case 3:
      return `About the **${word(2)}**: I looked at it this morning and \`${word(3)}.ts\` needs another pass before we can ship. The numbers from the last ${word(4)} look fine, but the ${word(5)} is still open and I would rather not guess.`;
    case 5:
      return `Plan for the ${word(1)}:\n- check the ${word(2)}\n- update the ${word(3)}\n- ask about the ${word(4)}`;
    case 7:
      return index % 30 === 7
        ? `This fails on main:\n\`\`\`ts\nconst ${word(1)} = await load('${word(2)}');\nif (!${word(1)}) throw new Error('missing ${word(3)}');\n\`\`\``
        : `> the ${word(1)} is done\n\nthanks! _finally_ 🎉`;
    default:
      return `message ${index}: the ${word(1)} and the ${word(2)} are on track`;
  }
}

/** A data folder with three people and one room of `messageCount` messages, made through the engine. */
async function seed(): Promise<{ dataDir: string; roomId: string; newestId: string }> {
  const dataDir = join(work, 'seed');
  const server = await startServer(dataDir, builds[0]!.dist);
  try {
    const people = [];
    for (const [username, displayName] of [
      ['ada', 'Ada Lovelace'],
      ['grace', 'Grace Hopper'],
      ['alan', 'Alan Turing'],
    ] as const) {
      const { user } = await server.accounts.createAccount({
        username,
        displayName,
        role: 'member',
        password: PASSWORD,
      });
      people.push(user);
    }
    const [ada] = people;
    const room = await server.engine.createRoom(ada!.id, { kind: 'channel', name: 'history', topic: '' });
    for (const person of people.slice(1)) await server.engine.joinRoom(person.id, room.id);
    let newestId = '';
    const started = performance.now();
    for (let index = 0; index < messageCount; index += 1) {
      // Runs of one to three messages by the same person, as chats go.
      const author = people[Math.floor(index / (1 + (index % 3))) % people.length]!;
      const message = await server.engine.sendMessage(author.id, {
        roomId: room.id,
        text: messageText(index),
      });
      newestId = message.id;
    }
    console.error(
      `seeded ${messageCount} messages in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    return { dataDir, roomId: room.id, newestId };
  } finally {
    await server.close();
  }
}

async function startServer(dataDir: string, uiDir: string): Promise<KaiwaServer> {
  const config = loadConfig({
    env: {
      HOST: '127.0.0.1',
      PORT: '0',
      KAIWA_DATA_DIR: dataDir,
      KAIWA_UI_DIR: uiDir,
      LOG_LEVEL: 'error',
      NODE_ENV: 'test',
      KAIWA_DEFAULT_CHANNELS: 'none',
    },
  });
  return buildServer(config, { announce: () => {} });
}

// ---------------------------------------------------------------- in the page

/** Installed before the app's own script: counts the messages history pages brought, and finds the newest. */
const PAGE_PROBE = `(() => {
  window.__bench = { loaded: 0, visibleAt: 0, historyAt: 0 };
  const fetchOriginal = window.fetch;
  window.fetch = async (...args) => {
    const response = await fetchOriginal(...args);
    const url = String(args[0] instanceof Request ? args[0].url : args[0]);
    if (/\\/rooms\\/[^/]+\\/messages(\\?|$)/.test(url) && (!args[1] || !args[1].method || args[1].method === 'GET')) {
      if (window.__bench.historyAt === 0) window.__bench.historyAt = performance.now();
      response.clone().json().then((page) => { window.__bench.loaded += page.messages?.length ?? 0; }, () => {});
    }
    return response;
  };
  const wanted = new URLSearchParams(location.hash.slice(1));
  const newest = wanted.get('bench-newest');
  if (!newest) return;
  // A first open: what an earlier page of this browser kept of the room (kept-view.ts) is not there.
  if (wanted.has('bench-fresh')) localStorage.removeItem('kaiwa.keptView');
  // The kept view is in a closed shadow root, out of reach of document queries: its root is taken here.
  const shadowRoots = [];
  const attachShadow = Element.prototype.attachShadow;
  Element.prototype.attachShadow = function (init) {
    const shadow = attachShadow.call(this, init);
    shadowRoots.push(shadow);
    return shadow;
  };
  window.__bench.keptAt = 0;
  window.__bench.keptChars = (localStorage.getItem('kaiwa.keptView') ?? '').length;
  const longFrames = [];
  try {
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        longFrames.push({
          startTime: entry.startTime,
          duration: entry.duration,
          blocking: entry.blockingDuration ?? 0,
          scripts: (entry.scripts ?? []).map((script) => ({
            invoker: script.invoker,
            duration: script.duration,
            start: script.startTime,
          })),
        });
      }
    }).observe({ type: 'long-animation-frame', buffered: true });
  } catch {}
  const inView = (within) => {
    const element = within.querySelector('[data-message-id="' + newest + '"]');
    const scroller = within.querySelector('.room .message-scroller');
    if (!element || !scroller) return false;
    const box = element.getBoundingClientRect();
    const view = scroller.getBoundingClientRect();
    return box.height > 0 && box.top >= view.top - 1 && box.bottom <= view.bottom + 1;
  };
  const check = () => {
    if (window.__bench.keptAt === 0 && shadowRoots.some((shadow) => shadow.host.isConnected && inView(shadow))) {
      window.__bench.keptAt = performance.now();
    }
    const element = document.querySelector('[data-message-id="' + newest + '"]');
    const scroller = document.querySelector('.room .message-scroller');
    if (element && scroller) {
      const box = element.getBoundingClientRect();
      const view = scroller.getBoundingClientRect();
      if (box.height > 0 && box.top >= view.top - 1 && box.bottom <= view.bottom + 1) {
        window.__bench.visibleAt = performance.now();
        // Where the time went: when each request of the start finished, and the main thread's long frames.
        const done = {};
        for (const entry of performance.getEntriesByType('resource')) {
          const path = new URL(entry.name).pathname;
          const key = /\\/assets\\/app-[^/]*\\.js$/.test(path) ? 'script' : /\\/messages$/.test(path) ? 'messages' : path;
          if (!(key in done)) done[key] = { start: entry.startTime, end: entry.responseEnd };
        }
        window.__bench.requests = done;
        // Long frames are reported after they end: the one that showed the message comes a little later.
        window.__bench.longFrames = longFrames;
        return;
      }
    }
    requestAnimationFrame(check);
  };
  requestAnimationFrame(check);
})()`;

/** Scrolls the timeline up `step` px a frame until `target` messages are loaded; the frames it took. */
const scrollBackScript = (target: number, step: number, timeoutMs: number) => `new Promise((done) => {
  const scroller = document.querySelector('.room .message-scroller');
  const long = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) long.push({ duration: entry.duration, blocking: entry.blockingDuration ?? 0 });
  });
  try { observer.observe({ type: 'long-animation-frame' }); } catch {}
  const gaps = [];
  const started = performance.now();
  let last = started;
  const frame = (now) => {
    gaps.push(now - last);
    last = now;
    if (window.__bench.loaded >= ${target} || now - started > ${timeoutMs}) {
      observer.disconnect();
      done({
        ms: now - started,
        loaded: window.__bench.loaded,
        gaps,
        long,
        nodes: document.getElementsByTagName('*').length,
        rows: document.querySelectorAll('.room [data-message-id]').length,
      });
      return;
    }
    // The wheel event tells the app a reader is scrolling (it lets go of the bottom only then).
    scroller.dispatchEvent(new WheelEvent('wheel', { deltaY: -${step}, bubbles: true }));
    scroller.scrollTop = Math.max(0, scroller.scrollTop - ${step});
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
})`;

interface ScrollResult {
  ms: number;
  loaded: number;
  gaps: number[];
  long: { duration: number; blocking: number }[];
  nodes: number;
  rows: number;
}

/** What the probe saw of the open: when the newest message was visible, and the requests and frames before. */
interface OpenProbe {
  visibleAt: number;
  /** When the kept view (kept-view.ts) showed the newest message; 0 when none was shown. */
  keptAt: number;
  /** The size of the kept view in localStorage as the page started (characters of JSON). */
  keptChars: number;
  historyAt: number;
  requests: Record<string, { start: number; end: number } | undefined>;
  longFrames: {
    startTime: number;
    duration: number;
    blocking: number;
    scripts: { invoker: string; duration: number; start: number }[];
  }[];
}

interface RunResult {
  /** The probe's raw view of the open (kept in the results file; not a figure of the table). */
  openDetail?: OpenProbe;
  firstPaint: number;
  firstContentfulPaint: number;
  signInForm: number;
  /** When the room's first history page had arrived (the app's start and its requests before it). */
  openHistory: number;
  /** When the app's script, the session check and the rooms list had arrived (the critical path). */
  openScript: number;
  openSession: number;
  openRooms: number;
  /** Long animation frames between navigation and the newest message visible: count and total time. */
  openLongFrames: number;
  openLongMs: number;
  open: number;
  /** Reopened (a new page, after the first had been open a while): the newest message on the screen, in the kept view or the app's rows. */
  reopenShown: number;
  /** Reopened: the app's own rows with the newest message visible. */
  reopenApp: number;
  /** The kept view the reopen started with: characters of JSON in localStorage. */
  keptChars: number;
  scrollMs: number;
  loaded: number;
  frames: number;
  frameP50: number;
  frameP95: number;
  frameMax: number;
  /** Frames that took more than two frame times (33 ms): a visible stutter. */
  slowFrames: number;
  /** Frames the display would have shown but the page did not produce: Σ (round(gap / 16.7) − 1). */
  droppedFrames: number;
  longFrames: number;
  blockingMs: number;
  nodes: number;
  rows: number;
}

const TRACE_CATEGORIES = [
  'devtools.timeline',
  'disabled-by-default-devtools.timeline',
  'v8',
  'v8.execute',
  'disabled-by-default-v8.cpu_profiler',
  'blink',
  'loading',
];

/** Runs `step` inside a Chromium trace written to `file` (when given), and prints the trace's summary. */
async function traced<T>(
  browser: Browser,
  origin: string,
  file: string | undefined,
  what: string,
  step: () => Promise<T>,
) {
  if (!file) return step();
  await browser.startTracing(undefined, { path: file, categories: TRACE_CATEGORIES });
  try {
    return await step();
  } finally {
    const buffer = await browser.stopTracing();
    const { traceEvents } = JSON.parse(buffer.toString('utf8')) as {
      traceEvents: Parameters<typeof summarizeTrace>[0];
    };
    const summary = summarizeTrace(traceEvents, origin);
    const list = (entries: { name: string; ms: number }[]) =>
      entries.map((entry) => `  ${entry.ms.toFixed(1).padStart(8)} ms  ${entry.name}`).join('\n');
    console.error(
      `${what} (${file}): main thread over ${summary.spanMs.toFixed(0)} ms\n${list(summary.work)}\n functions (sampled, self):\n${list(summary.functions)}`,
    );
  }
}

/** Navigates `page` to `address` and waits until the app shows the newest message; what the probe saw. */
async function openRoom(page: Page, address: string): Promise<OpenProbe> {
  await page.goto(address);
  // (Polled in the page: the CSP forbids the string evaluation waitForFunction would use.)
  return page.evaluate<OpenProbe>(`new Promise((done) => {
    const check = () => (window.__bench.visibleAt > 0 ? setTimeout(() => done({
      ...window.__bench,
      longFrames: window.__bench.longFrames.filter((entry) => entry.startTime < window.__bench.visibleAt),
    }), 300) : setTimeout(check, 20));
    check();
  })`);
}

async function measureRun(
  browser: Browser,
  baseUrl: string,
  roomId: string,
  newestId: string,
  tracePrefix?: string,
): Promise<RunResult> {
  const context = await browser.newContext({ viewport: VIEWPORT });
  try {
    await context.addInitScript(PAGE_PROBE);
    // Cold shell: nothing cached, nobody signed in.
    const shell = await context.newPage();
    shell.setDefaultTimeout(WAIT_MS);
    await shell.goto(baseUrl);
    await shell.getByLabel('Username').waitFor();
    const paints = await shell.evaluate<{ fp: number; fcp: number; form: number }>(`(() => {
      const paint = (name) => performance.getEntriesByName(name)[0]?.startTime ?? NaN;
      return { fp: paint('first-paint'), fcp: paint('first-contentful-paint'), form: performance.now() };
    })()`);
    await shell.getByLabel('Username').fill('ada');
    await shell.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await shell.getByRole('button', { name: 'Sign in' }).click();
    await shell.getByRole('navigation', { name: 'Rooms' }).waitFor();
    await shell.close();

    // Open: a new page (bundle cached, session stored) navigates straight to the room, with no view of it
    // kept by an earlier page.
    const first = await context.newPage();
    first.setDefaultTimeout(WAIT_MS);
    const open = await traced(browser, baseUrl, tracePrefix && `${tracePrefix}-open.json`, 'open', () =>
      openRoom(first, `${baseUrl}/rooms/${roomId}#bench-newest=${newestId}&bench-fresh`),
    );
    // Reopen: that page was open a while (it keeps its view a second after it last changed), is closed,
    // and a new one opens the room again, as a reload or a reopened app does.
    await first.waitForTimeout(2_000);
    await first.close();
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT_MS);
    const reopen = await traced(browser, baseUrl, tracePrefix && `${tracePrefix}-reopen.json`, 'reopen', () =>
      openRoom(page, `${baseUrl}/rooms/${roomId}#bench-newest=${newestId}`),
    );
    // Let the first page settle (its images, the read marker) before scrolling.
    await page.waitForTimeout(200);
    const scroll = await traced(
      browser,
      baseUrl,
      tracePrefix && `${tracePrefix}-scroll.json`,
      'scroll-back',
      () => page.evaluate<ScrollResult>(scrollBackScript(loadTarget, scrollStep, WAIT_MS * 2)),
    );
    await page.close();

    const gaps = scroll.gaps.slice(1).sort((a, b) => a - b);
    const frame = 1000 / 60;
    return {
      firstPaint: paints.fp,
      firstContentfulPaint: paints.fcp,
      signInForm: paints.form,
      openDetail: open,
      openHistory: open.historyAt,
      openScript: open.requests.script?.end ?? Number.NaN,
      openSession: open.requests['/api/v1/auth/me']?.end ?? Number.NaN,
      openRooms: open.requests['/api/v1/rooms']?.end ?? Number.NaN,
      openLongFrames: open.longFrames.length,
      openLongMs: open.longFrames.reduce((sum, entry) => sum + entry.duration, 0),
      open: open.visibleAt,
      reopenShown: reopen.keptAt > 0 ? Math.min(reopen.keptAt, reopen.visibleAt) : reopen.visibleAt,
      reopenApp: reopen.visibleAt,
      keptChars: reopen.keptChars,
      scrollMs: scroll.ms,
      loaded: scroll.loaded,
      frames: gaps.length,
      frameP50: percentile(gaps, 50),
      frameP95: percentile(gaps, 95),
      frameMax: gaps.at(-1) ?? Number.NaN,
      slowFrames: gaps.filter((gap) => gap > 2 * frame).length,
      droppedFrames: gaps.reduce((sum, gap) => sum + Math.max(0, Math.round(gap / frame) - 1), 0),
      longFrames: scroll.long.length,
      blockingMs: scroll.long.reduce((sum, entry) => sum + entry.blocking, 0),
      nodes: scroll.nodes,
      rows: scroll.rows,
    };
  } finally {
    await context.close();
  }
}

// ---------------------------------------------------------------- figures

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const ROWS: { key: Exclude<keyof RunResult, 'openDetail'>; label: string; unit: string; p95: boolean }[] = [
  { key: 'firstPaint', label: 'Shell: first paint (cold `/`)', unit: 'ms', p95: true },
  { key: 'firstContentfulPaint', label: 'Shell: first contentful paint', unit: 'ms', p95: true },
  { key: 'signInForm', label: 'Shell: sign-in form in the DOM', unit: 'ms', p95: true },
  { key: 'openScript', label: 'Open room: app script received', unit: 'ms', p95: true },
  { key: 'openSession', label: 'Open room: session check answered', unit: 'ms', p95: true },
  { key: 'openRooms', label: 'Open room: rooms list received', unit: 'ms', p95: true },
  { key: 'openHistory', label: 'Open room: first history page received', unit: 'ms', p95: true },
  { key: 'openLongFrames', label: 'Open room: long animation frames before visible', unit: '', p95: false },
  { key: 'openLongMs', label: 'Open room: their total duration', unit: 'ms', p95: false },
  { key: 'open', label: 'Open room: newest message visible', unit: 'ms', p95: true },
  {
    key: 'reopenShown',
    label: 'Reopen room: newest message on the screen (view kept)',
    unit: 'ms',
    p95: true,
  },
  { key: 'reopenApp', label: "Reopen room: the app's own rows visible", unit: 'ms', p95: true },
  { key: 'keptChars', label: 'Reopen room: size of the kept view (characters)', unit: '', p95: false },
  { key: 'scrollMs', label: `Scroll-back: time to load ${loadTarget} messages`, unit: 'ms', p95: true },
  { key: 'frames', label: 'Scroll-back: frames', unit: '', p95: false },
  { key: 'frameP50', label: 'Scroll-back: frame time p50', unit: 'ms', p95: false },
  { key: 'frameP95', label: 'Scroll-back: frame time p95', unit: 'ms', p95: false },
  { key: 'frameMax', label: 'Scroll-back: longest frame', unit: 'ms', p95: false },
  { key: 'slowFrames', label: 'Scroll-back: frames > 33 ms', unit: '', p95: false },
  { key: 'droppedFrames', label: 'Scroll-back: dropped frames (at 60 Hz)', unit: '', p95: false },
  { key: 'longFrames', label: 'Scroll-back: long animation frames (> 50 ms)', unit: '', p95: false },
  { key: 'blockingMs', label: 'Scroll-back: blocking time of long frames', unit: 'ms', p95: false },
  { key: 'loaded', label: 'Scroll-back: messages loaded', unit: '', p95: false },
  { key: 'rows', label: 'Scroll-back: message rows in the DOM at the end', unit: '', p95: false },
  { key: 'nodes', label: 'Scroll-back: DOM elements at the end', unit: '', p95: false },
];

const format = (value: number, unit: string) =>
  Number.isNaN(value)
    ? '–'
    : `${value >= 100 || unit === '' ? Math.round(value) : value.toFixed(1)}${unit ? ` ${unit}` : ''}`;

function table(results: RunResult[][], sizes: ReturnType<typeof bundleSize>[]): string[] {
  const lines = [
    `| Measure (median of ${runs} runs; p95 in brackets) | ${builds.map((build) => build.label).join(' | ')} |`,
    `| --- | ${builds.map(() => '---:').join(' | ')} |`,
  ];
  for (const row of ROWS) {
    const cells = results.map((samples) => {
      const values = samples.map((sample) => sample[row.key]).sort((a, b) => a - b);
      const shown = format(median(values), row.unit);
      return row.p95 && values.length > 1 ? `${shown} (${format(percentile(values, 95), row.unit)})` : shown;
    });
    lines.push(`| ${row.label} | ${cells.join(' | ')} |`);
  }
  const kb = (bytes: number) => `${(bytes / 1000).toFixed(1)} KB`;
  lines.push(
    `| JS loaded at start, raw / brotli | ${sizes.map((size) => `${kb(size.js)} / ${kb(size.jsBrotli)}`).join(' | ')} |`,
  );
  lines.push(
    `| JS in all, raw / brotli | ${sizes.map((size) => `${kb(size.jsAll)} / ${kb(size.jsAllBrotli)}`).join(' | ')} |`,
  );
  lines.push(
    `| Stylesheet, raw / brotli | ${sizes.map((size) => `${kb(size.css)} / ${kb(size.cssBrotli)}`).join(' | ')} |`,
  );
  return lines;
}

// ---------------------------------------------------------------- the run

const startedAt = new Date().toISOString();
// The machine's load during the run (the figures are only comparable at a similar load), every 20 s.
const loads: number[] = [];
const sampleLoad = () => {
  const [one] = readFileSync('/proc/loadavg', 'utf8').split(' ');
  if (one) loads.push(Number(one));
};
sampleLoad();
const loadSampler = setInterval(sampleLoad, 20_000);
const { dataDir, roomId, newestId } = await seed();
const servers: { server: KaiwaServer; baseUrl: string }[] = [];
const browser = await launchChromium();
try {
  for (const [index, build] of builds.entries()) {
    // Each build its own server on its own copy of the seeded data.
    const copy = join(work, `data-${index}`);
    cpSync(dataDir, copy, { recursive: true });
    const server = await startServer(copy, build.dist);
    servers.push({ server, baseUrl: await server.listen() });
  }
  // One untimed round first (the servers' and the browser's own start).
  for (const { baseUrl } of servers) await measureRun(browser, baseUrl, roomId, newestId);
  const results: RunResult[][] = builds.map(() => []);
  for (let run = 1; run <= runs; run += 1) {
    const progress: string[] = [];
    // The order changes every run: the build measured second ran after the other's scroll-back (its GC, the
    // server's work), which made it look slower at the start of its own run.
    const order = [...servers.entries()];
    if (run % 2 === 0) order.reverse();
    for (const [index, { baseUrl }] of order) {
      const result = await measureRun(browser, baseUrl, roomId, newestId);
      results[index]!.push(result);
      progress.push(
        `${builds[index]!.label}: FCP ${result.firstContentfulPaint.toFixed(0)} ms, reopen ${result.reopenShown.toFixed(0)}/${result.reopenApp.toFixed(0)} ms, open ${result.open.toFixed(0)} ms (script ${result.openScript.toFixed(0)}, session ${result.openSession.toFixed(0)}, rooms ${result.openRooms.toFixed(0)}, history ${result.openHistory.toFixed(0)}; ${result.openLongFrames} long frames ${result.openLongMs.toFixed(0)} ms), scroll-back p95 ${result.frameP95.toFixed(1)} ms, ${result.droppedFrames} dropped, ${result.rows} rows`,
      );
    }
    console.error(`run ${run}/${runs}: ${progress.join('; ')}`);
  }
  // Traced runs come after the measured ones (tracing slows the page) and are not counted.
  if (values.trace) {
    const traces = resolve(values.trace);
    mkdirSync(traces, { recursive: true });
    for (const [index, { baseUrl }] of servers.entries()) {
      console.error(`traced run of ${builds[index]!.label}:`);
      await measureRun(browser, baseUrl, roomId, newestId, join(traces, `ui-${index}`));
    }
  }
  const sizes = builds.map((build) => bundleSize(build.dist));
  const header = [
    `${messageCount.toLocaleString('en')} messages; scroll-back at ${scrollStep} px a frame to ${loadTarget} loaded; viewport ${VIEWPORT.width}×${VIEWPORT.height}`,
    `Chromium ${browser.version()}, Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'CPU'}`,
    `load average (1 min, every 20 s): ${Math.min(...loads)}–${Math.max(...loads)}, median ${median(loads)}`,
  ];
  console.log(`${header.join('\n')}\n\n${table(results, sizes).join('\n')}`);
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  const file = join(root, `bench/results/ui-${startedAt.replaceAll(':', '-')}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ startedAt, messageCount, loadTarget, scrollStep, loads, builds, sizes, results }, null, 2)}\n`,
  );
  console.log(`results: ${file}`);
} finally {
  clearInterval(loadSampler);
  await browser.close();
  for (const { server } of servers) await server.close();
}
