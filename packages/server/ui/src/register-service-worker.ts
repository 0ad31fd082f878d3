/*
 * Registers the service worker (service-worker.ts, built to /sw.js) that keeps the app shell, so the chat opens
 * without a network (the API answers for reading the last rooms are kept by the page: offline-reads.ts).
 */

/** Replaced by esbuild's define: "production" for the built UI, "development" for --dev and --watch. */
declare const process: { env: { NODE_ENV?: string } };

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
