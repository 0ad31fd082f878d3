import type { FetchFunction } from '@kaiwa/client';
import { forgetKeptView } from './kept-view';

/*
 * Offline reading of the API: a few GET answers (the server's description, the signed-in user, the room list
 * and unread counts, members, users, and the newest page of messages of the rooms opened last) are kept in
 * the `kaiwa-data` cache as they arrive, and answered from it when the network fails — which, with the app
 * shell the service worker keeps, lets the chat open and show the last rooms without a network.
 *
 * This is the page's work, not the service worker's: when the worker answered these reads, each one went
 * through the worker's thread (and its own fetch, and the cache write on the way), and a room's first
 * answers arrived 150–300 ms later on a busy two-core machine (docs/benchmarks.md, "Web client"). Here the
 * answer goes to the app as it comes, and the copy is written to the cache in idle time.
 *
 * At sign-out `forgetOfflineData` deletes the cache, and answers still on their way are not kept, so one
 * person's rooms are never shown to the next one.
 */

/** Replaced by esbuild's define: "production" for the built UI, "development" for --dev and --watch. */
declare const process: { env: { NODE_ENV?: string } };

const DATA_CACHE = 'kaiwa-data';
/** Rooms whose newest messages stay readable offline. */
const MESSAGE_PAGES_KEPT = 10;

const OFFLINE_READS: RegExp[] = [
  /^\/api\/v1\/server$/,
  /^\/api\/v1\/auth\/me$/,
  /^\/api\/v1\/rooms$/,
  /^\/api\/v1\/rooms\/unread$/,
  /^\/api\/v1\/rooms\/[^/]+\/members$/,
  /^\/api\/v1\/users\/[^/]+$/,
];
const MESSAGE_PAGE = /^\/api\/v1\/rooms\/[^/]+\/messages$/;

/** Counts sign-outs: an answer asked for before the last one is not kept (it may be the previous person's). */
let generation = 0;

/** Whether this page keeps API answers: built for production, with a cache (secure origins only). */
function keeping(): boolean {
  return process.env.NODE_ENV === 'production' && typeof caches !== 'undefined';
}

/** The kind of read `url` is, when it is one kept for offline reading. */
function offlineRead(url: URL): 'data' | 'messages' | undefined {
  if (OFFLINE_READS.some((pattern) => pattern.test(url.pathname))) return 'data';
  // Only the newest page of a room (no cursor) and not a thread: what opening a room asks for.
  const newestPage =
    MESSAGE_PAGE.test(url.pathname) &&
    !url.searchParams.has('before') &&
    !url.searchParams.has('after') &&
    !url.searchParams.has('threadRootId');
  return newestPage ? 'messages' : undefined;
}

/**
 * The REST client's fetch in the web chat: the network's answer, a copy of it kept in idle time when it is
 * one of the reads above, and the kept copy when the network fails.
 */
export const offlineReadingFetch: FetchFunction = async (url, init) => {
  const method = (init?.method ?? 'GET').toUpperCase();
  const address = new URL(url, location.href);
  const kind =
    method === 'GET' && address.origin === location.origin && keeping() ? offlineRead(address) : undefined;
  if (!kind) return fetch(url, init);
  const startedIn = generation;
  try {
    const response = await fetch(url, init);
    if (response.ok) keepLater(address.href, response.clone(), kind, startedIn);
    return response;
  } catch (error) {
    if (init?.signal?.aborted) throw error;
    const kept = await caches
      .match(address.href, { cacheName: DATA_CACHE, ignoreVary: true })
      .catch(() => undefined);
    if (kept) return kept;
    throw error;
  }
};

function keepLater(key: string, copy: Response, kind: 'data' | 'messages', startedIn: number): void {
  const keep = async () => {
    // A sign-out while the answer was on its way or waiting here: not kept.
    if (startedIn !== generation) return;
    const cache = await caches.open(DATA_CACHE);
    if (startedIn !== generation) return;
    await cache.put(key, copy);
    if (kind === 'messages') await forgetOldMessagePages(cache);
  };
  const run = () => void keep().catch(() => undefined);
  if (typeof requestIdleCallback === 'function') requestIdleCallback(run, { timeout: 5_000 });
  else setTimeout(run, 200);
}

/** Keeps the message pages of the rooms opened last (a cache lists its keys in the order they were put). */
async function forgetOldMessagePages(cache: Cache): Promise<void> {
  const pages = (await cache.keys()).filter((key) => MESSAGE_PAGE.test(new URL(key.url).pathname));
  await Promise.all(pages.slice(0, -MESSAGE_PAGES_KEPT).map((key) => cache.delete(key)));
}

/**
 * Forgets the API answers kept for offline reading and the kept view (kept-view.ts), so the next person on
 * this browser never sees them.
 */
export function forgetOfflineData(): void {
  generation += 1;
  forgetKeptView();
  // A worker of an earlier build (which kept these answers itself) stops keeping those on their way.
  navigator.serviceWorker?.controller?.postMessage({ type: 'kaiwa-forget' });
  if (typeof caches === 'undefined') return;
  void caches.delete(DATA_CACHE).catch(() => {});
}
