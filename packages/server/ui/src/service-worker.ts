/*
 * The service worker of the web chat, served at /sw.js with the scope /.
 *
 * Guarantees: the app shell (index.html and the hashed assets of this build) is cached at install, so the chat
 * opens without a network; hashed assets are answered from the cache first (their names change with their
 * content), pages from the network first with the cached index.html as fallback. For reading offline, a few
 * GET answers of the API (the server's description, the signed-in user, the room list, members, and the newest
 * page of messages of the rooms opened last) go network first and fall back to the last answer cached. Nothing
 * else of the API is touched. At sign-out the page deletes the data cache and tells this worker, which then
 * caches no answer that was still on its way (see register-service-worker.ts), so one person's rooms are never
 * shown to the next one. A new build drops the shell cache of the old one.
 */

/** Filled in by build.mjs: the URL paths of this build's shell, and a version that changes with them. */
declare const KAIWA_SHELL: string[];
declare const KAIWA_BUILD: string;

/** The few service-worker types used here (the UI's tsconfig has the DOM library, not the worker one). */
interface ExtendableEvent extends Event {
  waitUntil(promise: Promise<unknown>): void;
}
interface FetchEvent extends ExtendableEvent {
  readonly request: Request;
  /** A navigation's answer, asked for while this worker started (navigation preload); undefined without. */
  readonly preloadResponse?: Promise<Response | undefined>;
  respondWith(response: Response | Promise<Response>): void;
}
interface WorkerScope {
  addEventListener(type: 'install' | 'activate', listener: (event: ExtendableEvent) => void): void;
  addEventListener(type: 'fetch', listener: (event: FetchEvent) => void): void;
  addEventListener(type: 'message', listener: (event: ExtendableEvent & { data: unknown }) => void): void;
  skipWaiting(): Promise<void>;
  clients: { claim(): Promise<void> };
  registration: { navigationPreload?: { enable(): Promise<void> } };
  location: Location;
}

const worker = self as unknown as WorkerScope;
const SHELL_CACHE = `kaiwa-shell-${KAIWA_BUILD}`;
/** Keep in step with DATA_CACHE in register-service-worker.ts, which deletes it at sign-out. */
const DATA_CACHE = 'kaiwa-data';
/** Rooms whose newest messages stay readable offline. */
const MESSAGE_PAGES_KEPT = 10;
/** Counts sign-outs: an answer that left before the last one is not cached (it may be the previous person's). */
let generation = 0;

/** API reads kept for offline reading: what the chat needs to draw the room list and the newest messages. */
const OFFLINE_READS: RegExp[] = [
  /^\/api\/v1\/server$/,
  /^\/api\/v1\/auth\/me$/,
  /^\/api\/v1\/rooms$/,
  /^\/api\/v1\/rooms\/unread$/,
  /^\/api\/v1\/rooms\/[^/]+\/members$/,
  /^\/api\/v1\/users\/[^/]+$/,
];
const MESSAGE_PAGE = /^\/api\/v1\/rooms\/[^/]+\/messages$/;

worker.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(SHELL_CACHE)
      .then((cache) => cache.addAll(KAIWA_SHELL))
      .then(() => worker.skipWaiting()),
  );
});

worker.addEventListener('activate', (event) => {
  event.waitUntil(
    // A page opened while this worker is stopped is asked for while it starts, not after.
    Promise.resolve(worker.registration.navigationPreload?.enable())
      .catch(() => undefined)
      .then(() => caches.keys())
      .then((names) =>
        Promise.all(
          names
            .filter((name) => name.startsWith('kaiwa-shell-') && name !== SHELL_CACHE)
            .map((name) => caches.delete(name)),
        ),
      )
      .then(() => worker.clients.claim()),
  );
});

// Sent by the page at sign-out (register-service-worker.ts), which also deletes the cache itself.
worker.addEventListener('message', (event) => {
  if ((event.data as { type?: unknown } | null)?.type !== 'kaiwa-forget') return;
  generation += 1;
  event.waitUntil(caches.delete(DATA_CACHE));
});

worker.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== worker.location.origin) return;
  if (request.mode === 'navigate') {
    event.respondWith(pageNetworkFirst(request, event.preloadResponse));
  } else if (url.pathname.startsWith('/assets/')) {
    event.respondWith(cacheFirst(request));
  } else if (isOfflineRead(url)) {
    event.respondWith(dataNetworkFirst(event, MESSAGE_PAGE.test(url.pathname)));
  }
});

/** Only the newest page of a room (no cursor) and not a thread: what opening a room asks for. */
function isOfflineRead(url: URL): boolean {
  if (OFFLINE_READS.some((pattern) => pattern.test(url.pathname))) return true;
  return (
    MESSAGE_PAGE.test(url.pathname) &&
    !url.searchParams.has('before') &&
    !url.searchParams.has('after') &&
    !url.searchParams.has('threadRootId')
  );
}

async function pageNetworkFirst(
  request: Request,
  preloaded: Promise<Response | undefined> | undefined,
): Promise<Response> {
  try {
    return (await preloaded?.catch(() => undefined)) ?? (await fetch(request));
  } catch (error) {
    const cached = await caches.match('/index.html', { cacheName: SHELL_CACHE });
    if (cached) return cached;
    throw error;
  }
}

async function cacheFirst(request: Request): Promise<Response> {
  const cached = await caches.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) {
    const copy = response.clone();
    void caches.open(SHELL_CACHE).then((cache) => cache.put(request, copy));
  }
  return response;
}

/**
 * The answer goes to the page at once; the copy is cached after (the worker kept alive for it), so offline
 * reading costs the page no wait for the cache.
 */
async function dataNetworkFirst(event: FetchEvent, messagePage: boolean): Promise<Response> {
  const { request } = event;
  const startedIn = generation;
  try {
    const response = await fetch(request);
    if (response.ok && startedIn === generation) {
      const copy = response.clone();
      event.waitUntil(
        caches
          .open(DATA_CACHE)
          .then(async (cache) => {
            // A sign-out while the answer was read: not cached (the page deletes the cache as well).
            if (startedIn !== generation) return;
            await cache.put(request, copy);
            if (messagePage) await forgetOldMessagePages(cache);
          })
          .catch(() => undefined),
      );
    }
    return response;
  } catch (error) {
    const cached = await caches.match(request, { cacheName: DATA_CACHE });
    if (cached) return cached;
    throw error;
  }
}

/** Keeps the message pages of the rooms opened last (a cache lists its keys in the order they were put). */
async function forgetOldMessagePages(cache: Cache): Promise<void> {
  const pages = (await cache.keys()).filter((key) => MESSAGE_PAGE.test(new URL(key.url).pathname));
  await Promise.all(pages.slice(0, -MESSAGE_PAGES_KEPT).map((key) => cache.delete(key)));
}

export {};
