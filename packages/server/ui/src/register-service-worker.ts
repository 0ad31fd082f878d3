/*
 * Registers the service worker (service-worker.ts, built to /sw.js) that keeps the app shell and the last rooms
 * readable offline, and deletes what it cached of the API when someone signs out.
 */

/** Replaced by esbuild's define: "production" for the built UI, "development" for --dev and --watch. */
declare const process: { env: { NODE_ENV?: string } };

/** Keep in step with DATA_CACHE in service-worker.ts. */
const DATA_CACHE = 'kaiwa-data';

/** Registers /sw.js in production builds on secure origins (https, or localhost); a no-op elsewhere. */
export function registerServiceWorker(): void {
  if (process.env.NODE_ENV !== 'production') return;
  if (!globalThis.isSecureContext || !('serviceWorker' in navigator)) return;
  addEventListener('load', () => {
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch((error: unknown) => {
      console.warn('Kaiwa works without offline reading: the service worker did not register', error);
    });
  });
}

/** Forgets the API answers kept for offline reading, so the next person on this browser never sees them. */
export function forgetOfflineData(): void {
  // The worker also stops caching the answers still on their way.
  navigator.serviceWorker?.controller?.postMessage({ type: 'kaiwa-forget' });
  if (typeof caches === 'undefined') return;
  void caches.delete(DATA_CACHE).catch(() => {});
}
