/*
 * The service worker of the web chat, served at /sw.js with the scope /.
 *
 * Guarantees: the app shell (index.html and the hashed assets of this build) is cached at install, so the chat
 * opens without a network; hashed assets are answered from the cache first (their names change with their
 * content), pages from the network first with the cached index.html as fallback. The API is not touched: the
 * answers kept for reading the last rooms offline are the page's (offline-reads.ts), which keeps the API's
 * requests off this worker's thread. A new build drops the shell cache of the old one.
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
/** Where an earlier build's worker kept API answers; the page keeps them there now (offline-reads.ts). */
const DATA_CACHE = 'kaiwa-data';

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

// Sent by the page at sign-out, which deletes the kept API answers itself too (a worker of an earlier build,
// which kept them, also stops keeping the ones still on their way).
worker.addEventListener('message', (event) => {
  if ((event.data as { type?: unknown } | null)?.type !== 'kaiwa-forget') return;
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
  }
});

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

export {};
