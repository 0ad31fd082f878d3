/*
 * The kept view: what the room looked like when this browser last showed it, painted the moment the page
 * starts, before the app's code has run, and taken away once the app's own rows are on the screen.
 *
 * Opening a room of a long history is, on a busy two-core machine, ~100 ms of evaluating the app's modules,
 * the session check and the first history page (~270 ms after navigation), and ~200 ms of the first render
 * (Preact, the rows' markdown, layout): about half a second before the newest message shows
 * (docs/benchmarks.md, "Web client"). Native chat apps start from the view they last showed; this does the
 * same for a reload, a reopened tab or the installed app: the start script (first-requests.ts) puts the
 * kept rows up at once, read-only, and the app replaces them with live ones.
 *
 * - Kept only of a room's timeline resting at its newest message, with nothing open over it; one view per
 *   browser, of the signed-in person, in localStorage; deleted at sign-out with the offline reads.
 * - Shown only to the same person, for the room the address names (or the one shown last, at `/`), and with
 *   the stylesheet it was kept under (another build may have other markup).
 * - Inside a closed shadow root of an `inert`, `aria-hidden` element over the page: nothing in it can be
 *   focused, clicked or read by a screen reader, and the app's own elements are the only ones that queries
 *   of the document find. Its styles are the page's stylesheet's rules, adopted; inline styles are kept as
 *   `data-kept-style` and set through the CSSOM, so the page's Content-Security-Policy (no inline styles)
 *   holds. The markup is the app's own DOM serialised (text escaped by the browser; the app sets no event
 *   handler attributes, and the CSP refuses inline script besides).
 */

const KEY = 'kaiwa.keptView';
const VERSION = 1;
/** A view bigger than this is not kept (a room's windowed timeline is ~50–150 KB). */
const MOST_CHARACTERS = 600_000;
/** After the page last changed, a view is kept this much later, in idle time; and at most this often. */
const QUIET_MS = 1_000;
const AT_MOST_EVERY_MS = 5_000;
/** The kept view is taken away after this long even when the app never shows the room's rows. */
const SHOWN_AT_MOST_MS = 5_000;

interface KeptView {
  v: typeof VERSION;
  userId: string;
  roomId: string;
  /** The stylesheet's address (content-hashed): the build the markup was made by. */
  stylesheet: string;
  html: string;
  keptAt: number;
}

/** The page's stylesheet (one, content-hashed: ui/build.mjs). */
function stylesheet(): CSSStyleSheet | undefined {
  for (const sheet of Array.from(document.styleSheets)) {
    if (sheet.href && /\/assets\/app-[^/]+\.css$/.test(new URL(sheet.href).pathname)) return sheet;
  }
  return undefined;
}

const stylesheetPath = (sheet: CSSStyleSheet | undefined) =>
  sheet?.href ? new URL(sheet.href).pathname : '';

/** The room a path names, as the app routes it (`/rooms/<id>`). */
export function roomOfPath(path: string): string | null {
  return /^\/rooms\/([0-9A-Za-z]+)\/?$/.exec(path)?.[1] ?? null;
}

function readKept(): KeptView | null {
  try {
    const kept = JSON.parse(localStorage.getItem(KEY) ?? 'null') as KeptView | null;
    return kept && kept.v === VERSION && typeof kept.html === 'string' ? kept : null;
  } catch {
    return null;
  }
}

/** The element the kept view is shown in, while it is. */
let shown: { host: HTMLElement; roomId: string; path: string; since: number } | null = null;

/**
 * The rules the shadow root adds to the page's: the host covers the page until it is taken away; the
 * connection state it was kept with is not shown (it is the app's to tell, once it has connected).
 */
const HOST_RULES =
  ':host{position:fixed;inset:0;z-index:2147483000;background:var(--bg);overflow:hidden}.connection{visibility:hidden}';

/**
 * Shows the view kept of `roomId` for `userId`, when there is one kept under this build's stylesheet. Called
 * by the start script; returns whether it showed one.
 */
export function showKeptView(userId: string, roomId: string | null): boolean {
  if (!roomId || shown) return false;
  const kept = readKept();
  const sheet = stylesheet();
  if (
    !kept ||
    kept.userId !== userId ||
    kept.roomId !== roomId ||
    kept.stylesheet !== stylesheetPath(sheet)
  ) {
    return false;
  }
  try {
    const rules = Array.from(sheet!.cssRules, (rule) => rule.cssText).join('\n');
    const adopted = new CSSStyleSheet();
    adopted.replaceSync(`${HOST_RULES}\n${rules}`);
    const host = document.createElement('div');
    host.id = 'kaiwa-kept-view';
    host.inert = true;
    host.setAttribute('aria-hidden', 'true');
    const shadow = host.attachShadow({ mode: 'closed' });
    shadow.adoptedStyleSheets = [adopted];
    const app = document.createElement('div');
    app.id = 'app';
    app.innerHTML = kept.html;
    for (const element of Array.from(app.querySelectorAll<HTMLElement>('[data-kept-style]'))) {
      element.style.cssText = element.dataset.keptStyle ?? '';
      element.removeAttribute('data-kept-style');
    }
    shadow.append(app);
    document.body.append(host);
    // Kept at the newest message: shown there.
    for (const scroller of Array.from(app.querySelectorAll<HTMLElement>('.message-scroller'))) {
      scroller.scrollTop = scroller.scrollHeight;
    }
    shown = { host, roomId, path: location.pathname, since: performance.now() };
    return true;
  } catch {
    return false;
  }
}

/**
 * Takes the kept view away once the app (rendered into `root`) shows the room's own rows, the sign-in form or
 * another address, or after `SHOWN_AT_MOST_MS` — after the frame that paints the app's rows, so nothing
 * blank shows in between.
 */
export function dropKeptViewWhenReplaced(root: HTMLElement): void {
  if (!shown) return;
  const { roomId, path, since } = shown;
  // (At `/` the app shows the room shown last, and puts its address in the location bar.)
  const elsewhere = () => location.pathname !== path && roomOfPath(location.pathname) !== roomId;
  const replaced = () =>
    root.querySelector('.room .message-scroller [data-message-id]') !== null ||
    root.querySelector('.auth-screen form') !== null ||
    elsewhere() ||
    performance.now() - since > SHOWN_AT_MOST_MS;
  const check = () => {
    if (!replaced()) {
      requestAnimationFrame(check);
      return;
    }
    // The app's rows are painted in the frame after the one that found them.
    requestAnimationFrame(() => {
      shown?.host.remove();
      shown = null;
    });
  };
  requestAnimationFrame(check);
}

/** The room whose timeline `root` shows at its newest message with nothing over it; null otherwise. */
function restingRoom(root: HTMLElement): string | null {
  const roomId = roomOfPath(location.pathname);
  const scroller = root.querySelector<HTMLElement>('.room .message-scroller');
  if (!roomId || !scroller) return null;
  if (!scroller.querySelector('[data-message-id]')) return null;
  if (scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight > 2) return null;
  if (root.querySelector('dialog[open], [aria-modal="true"]')) return null;
  return roomId;
}

/**
 * `root`'s markup as the kept view holds it: of each timeline only the rows in view and below it (the view
 * opens at the newest message: rows above it would be laid out for nothing), inline styles as data, no
 * object URLs, no typed drafts.
 */
function keptMarkup(root: HTMLElement): string {
  const DROP = 'data-kept-drop';
  const marked: Element[] = [];
  for (const scroller of Array.from(root.querySelectorAll<HTMLElement>('.message-scroller'))) {
    const list = scroller.querySelector('[data-message-id]')?.parentElement;
    if (!list) continue;
    const top = scroller.getBoundingClientRect().top;
    for (const row of Array.from(list.children)) {
      if (row.getBoundingClientRect().bottom >= top) break;
      row.setAttribute(DROP, '');
      marked.push(row);
    }
  }
  const copy = root.cloneNode(true) as HTMLElement;
  for (const row of marked) row.removeAttribute(DROP);
  for (const row of Array.from(copy.querySelectorAll(`[${DROP}]`))) row.remove();
  for (const element of Array.from(copy.querySelectorAll<HTMLElement>('[style]'))) {
    element.setAttribute('data-kept-style', element.getAttribute('style') ?? '');
    element.removeAttribute('style');
  }
  // Object URLs (attachments fetched with the session) die with the page.
  for (const image of Array.from(copy.querySelectorAll('img[src^="blob:"]'))) {
    const placeholder = document.createElement('span');
    placeholder.className = 'image-placeholder';
    image.replaceWith(placeholder);
  }
  for (const field of Array.from(copy.querySelectorAll('textarea'))) field.textContent = '';
  for (const field of Array.from(copy.querySelectorAll('input'))) field.removeAttribute('value');
  return copy.innerHTML;
}

/**
 * Keeps the view of `root` for the signed-in person (`userId()`): a second after the page last changed, in
 * idle time, at most every few seconds, and as the page is left. Returns a function that stops it.
 */
export function keepViews(root: HTMLElement, userId: () => string | undefined): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let keptAt = 0;
  const keep = () => {
    timer = undefined;
    const user = userId();
    const roomId = shown ? null : restingRoom(root);
    if (!user || !roomId) return;
    const path = stylesheetPath(stylesheet());
    if (!path) return;
    const html = keptMarkup(root);
    if (html.length > MOST_CHARACTERS) return;
    const view: KeptView = { v: VERSION, userId: user, roomId, stylesheet: path, html, keptAt: Date.now() };
    try {
      localStorage.setItem(KEY, JSON.stringify(view));
      keptAt = performance.now();
    } catch {
      // Storage full or refused: the next start renders as it would without a kept view.
    }
  };
  const schedule = () => {
    clearTimeout(timer);
    const wait = Math.max(QUIET_MS, keptAt + AT_MOST_EVERY_MS - performance.now());
    timer = setTimeout(() => {
      if (typeof requestIdleCallback === 'function') requestIdleCallback(keep, { timeout: 2_000 });
      else keep();
    }, wait);
  };
  const observer = new MutationObserver(schedule);
  observer.observe(root, { childList: true, subtree: true, characterData: true });
  const onLeave = () => keep();
  addEventListener('pagehide', onLeave);
  return () => {
    observer.disconnect();
    clearTimeout(timer);
    removeEventListener('pagehide', onLeave);
  };
}

/** Deletes the kept view (at sign-out: the next person on this browser never sees it). */
export function forgetKeptView(): void {
  try {
    localStorage.removeItem(KEY);
  } catch {
    // No storage: nothing was kept.
  }
}
