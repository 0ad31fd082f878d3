/*
 * Where the client keeps what must outlive a reload: the session and the outbox. In a page that is
 * localStorage; in Node, a worker or a page without storage it is memory, or whatever the app passes.
 */

/** The part of the Web Storage API the client uses; localStorage fits, and so does a small adapter. */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/**
 * A storage that lives as long as the process: the default outside a page.
 *
 * @example new KaiwaRestClient({ baseUrl, storage: new MemoryStorage() })
 */
export class MemoryStorage implements KeyValueStorage {
  readonly #items = new Map<string, string>();

  getItem(key: string): string | null {
    return this.#items.get(key) ?? null;
  }

  setItem(key: string, value: string): void {
    this.#items.set(key, value);
  }

  removeItem(key: string): void {
    this.#items.delete(key);
  }
}

/** The page's localStorage when there is a page and it may be used; undefined elsewhere (Node, workers). */
export function pageStorage(): KeyValueStorage | undefined {
  const scope = globalThis as { window?: unknown; localStorage?: KeyValueStorage };
  // Only in a page: some Node versions have a localStorage of their own that warns when touched.
  if (scope.window === undefined || scope.window !== globalThis) return undefined;
  try {
    return scope.localStorage ?? undefined;
  } catch {
    // Storage blocked by the browser's settings.
    return undefined;
  }
}
