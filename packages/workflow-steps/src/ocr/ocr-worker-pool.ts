import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'tesseract.js';
import { prepareLanguageFolder } from './language-data.js';

export interface OcrWorkerPoolConfig {
  /** Where language folders and tesseract's cache go (default `<tmp>/kaiwa-ocr`). */
  cacheDir?: string;
  /** Most workers per language set, each about 100–300 MB (default 1). */
  maxWorkers?: number;
  /** An idle worker is ended after this long, so an idle process holds no threads (default 30 000 ms). */
  idleMs?: number;
}

interface PooledWorker {
  worker: Worker;
  key: string;
  idleTimer: NodeJS.Timeout | undefined;
}

interface Group {
  all: Set<PooledWorker>;
  idle: PooledWorker[];
  waiters: { resolve: (worker: PooledWorker) => void; reject: (error: unknown) => void }[];
  starting: number;
}

/**
 * tesseract.js workers keyed by language set (`eng`, `eng+jpn`): starting one costs a few hundred
 * milliseconds and much memory, so they are reused, bounded, and ended when idle or on `close()`.
 */
export class OcrWorkerPool {
  readonly cacheDir: string;
  readonly maxWorkers: number;
  readonly idleMs: number;
  readonly #groups = new Map<string, Group>();
  #closed = false;
  // Workers start one at a time so two never write tesseract's cache file at once.
  #starting: Promise<unknown> = Promise.resolve();

  constructor(config: OcrWorkerPoolConfig = {}) {
    this.cacheDir = config.cacheDir ?? join(tmpdir(), 'kaiwa-ocr');
    this.maxWorkers = Math.max(1, config.maxWorkers ?? 1);
    this.idleMs = config.idleMs ?? 30_000;
  }

  /** Runs `work` with a worker for `languages`; a worker whose work was aborted is ended, not reused. */
  async use<T>(
    languages: readonly string[],
    signal: AbortSignal | undefined,
    work: (worker: Worker) => Promise<T>,
  ): Promise<T> {
    const pooled = await this.#acquire(languages, signal);
    let onAbort: (() => void) | undefined;
    try {
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(signal?.reason ?? new DOMException('aborted', 'AbortError'));
        if (signal?.aborted) onAbort();
        else signal?.addEventListener('abort', onAbort, { once: true });
      });
      const result = await Promise.race([work(pooled.worker), aborted]);
      this.#release(pooled);
      return result;
    } catch (error) {
      // The worker may still be busy with the abandoned job: end it rather than queue behind it.
      await this.#discard(pooled);
      throw error;
    } finally {
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Ends every worker; later calls fail. */
  async close(): Promise<void> {
    this.#closed = true;
    const all: PooledWorker[] = [];
    for (const group of this.#groups.values()) {
      for (const waiter of group.waiters.splice(0)) waiter.reject(new Error('the OCR worker pool is closed'));
      all.push(...group.all);
    }
    await Promise.all(all.map((pooled) => this.#discard(pooled)));
    this.#groups.clear();
  }

  /** Workers alive now, for tests and metrics. */
  get size(): number {
    let count = 0;
    for (const group of this.#groups.values()) count += group.all.size;
    return count;
  }

  async #acquire(languages: readonly string[], signal: AbortSignal | undefined): Promise<PooledWorker> {
    if (this.#closed) throw new Error('the OCR worker pool is closed');
    signal?.throwIfAborted();
    const key = languages.join('+');
    let group = this.#groups.get(key);
    if (!group) {
      group = { all: new Set(), idle: [], waiters: [], starting: 0 };
      this.#groups.set(key, group);
    }
    const idle = group.idle.pop();
    if (idle) {
      clearTimeout(idle.idleTimer);
      idle.idleTimer = undefined;
      return idle;
    }
    if (group.all.size + group.starting < this.maxWorkers) {
      group.starting += 1;
      try {
        const worker = await this.#start(languages);
        const pooled: PooledWorker = { worker, key, idleTimer: undefined };
        group.all.add(pooled);
        if (this.#closed) {
          await this.#discard(pooled);
          throw new Error('the OCR worker pool is closed');
        }
        return pooled;
      } finally {
        group.starting -= 1;
      }
    }
    const waiting = group;
    return new Promise<PooledWorker>((resolve, reject) => {
      const waiter = { resolve, reject };
      waiting.waiters.push(waiter);
      signal?.addEventListener(
        'abort',
        () => {
          const at = waiting.waiters.indexOf(waiter);
          if (at !== -1) waiting.waiters.splice(at, 1);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }

  #start(languages: readonly string[]): Promise<Worker> {
    const started = this.#starting.then(async () => {
      const langPath = await prepareLanguageFolder(this.cacheDir, languages);
      const { createWorker } = await import('tesseract.js');
      return createWorker([...languages], 1, {
        langPath,
        gzip: true,
        cachePath: join(this.cacheDir, 'cache'),
        errorHandler: () => {},
      });
    });
    this.#starting = started.catch(() => undefined);
    return started;
  }

  #release(pooled: PooledWorker): void {
    const group = this.#groups.get(pooled.key);
    if (!group || this.#closed) {
      void this.#discard(pooled);
      return;
    }
    const waiter = group.waiters.shift();
    if (waiter) {
      waiter.resolve(pooled);
      return;
    }
    pooled.idleTimer = setTimeout(() => {
      const at = group.idle.indexOf(pooled);
      if (at !== -1) group.idle.splice(at, 1);
      void this.#discard(pooled);
    }, this.idleMs);
    pooled.idleTimer.unref();
    group.idle.push(pooled);
  }

  async #discard(pooled: PooledWorker): Promise<void> {
    clearTimeout(pooled.idleTimer);
    const group = this.#groups.get(pooled.key);
    if (group?.all.delete(pooled)) {
      const at = group.idle.indexOf(pooled);
      if (at !== -1) group.idle.splice(at, 1);
      try {
        await pooled.worker.terminate();
      } catch {
        // Already gone.
      }
      // A waiter blocked on the limit may start a fresh worker now.
      const waiter = group.waiters.shift();
      if (waiter && !this.#closed) {
        this.#acquireFor(pooled.key, waiter);
      }
    }
  }

  #acquireFor(key: string, waiter: Group['waiters'][number]): void {
    this.#acquire(key.split('+'), undefined).then(waiter.resolve, waiter.reject);
  }
}
