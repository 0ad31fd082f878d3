import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { PreviewAnswer, PreviewRequest } from './pdf-preview-child.js';

// From source (tests, tsx) the child is the .ts file, run through tsx's loader; built, it is the bundle tsup
// writes next to index.js (tsup.config.ts names it `pdf-preview-child`).
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const CHILD_PATH = fileURLToPath(
  new URL(FROM_SOURCE ? './pdf-preview-child.ts' : './pdf-preview-child.js', import.meta.url),
);

function tsxLoader(): string {
  return createRequire(import.meta.url).resolve('tsx');
}

/** A rendered page: a PNG and the document's page count. */
export interface PdfPreviewPage {
  png: Buffer;
  width: number;
  height: number;
  pageCount: number;
}

/** Why a page could not be previewed. */
export class PdfPreviewError extends Error {
  override readonly name = 'PdfPreviewError';
  constructor(
    readonly code: 'unreadable' | 'page_out_of_range' | 'too_large' | 'timeout' | 'busy',
    message: string,
  ) {
    super(message);
  }
}

export interface PdfPreviewerOptions {
  /** The child is killed past this. Default 30 s. */
  timeoutMs?: number;
  /** The child's V8 heap limit. Default 256 MB. */
  maxMemoryMb?: number;
  /** Pages rendered at once; more wait. Default 2. */
  concurrency?: number;
  /** Requests waiting beyond these are refused as `busy`. Default 16. */
  maxWaiting?: number;
  /** Rendered pages kept in memory by key. Default 64. */
  cacheEntries?: number;
  /** Default 110 (a page about 935 px wide). */
  dpi?: number;
  /** Most pixels of a rendered page; a larger one is refused as `too_large`. Default 16 000 000. */
  maxPixels?: number;
}

/**
 * Renders PDF pages to PNG for the web client's preview, each in a short-lived child process under a deadline
 * and a heap limit (pdf.js on @napi-rs/canvas, the OCR step's renderer), a few at a time; the last pages
 * rendered are kept by key (file hash and page), so paging back and forth costs nothing.
 *
 * @example const page = await previewer.render(bytes, 1, `${file.sha256}:1`);
 */
export class PdfPreviewer {
  readonly #options: Required<PdfPreviewerOptions>;
  readonly #cache = new Map<string, PdfPreviewPage>();
  readonly #waiting: (() => void)[] = [];
  #running = 0;

  constructor(options: PdfPreviewerOptions = {}) {
    this.#options = {
      timeoutMs: options.timeoutMs ?? 30_000,
      maxMemoryMb: options.maxMemoryMb ?? 256,
      concurrency: options.concurrency ?? 2,
      maxWaiting: options.maxWaiting ?? 16,
      cacheEntries: options.cacheEntries ?? 64,
      dpi: options.dpi ?? 110,
      maxPixels: options.maxPixels ?? 16_000_000,
    };
  }

  /**
   * Renders page `page` (1-based), or answers it from the cache by `key`; without a key nothing is cached.
   * An aborted `signal` kills the child and rejects with the signal's reason.
   */
  async render(
    data: Uint8Array,
    page: number,
    key: string | undefined,
    signal?: AbortSignal,
  ): Promise<PdfPreviewPage> {
    signal?.throwIfAborted();
    const cached = key === undefined ? undefined : this.#cache.get(key);
    if (key !== undefined && cached) {
      this.#cache.delete(key);
      this.#cache.set(key, cached);
      return cached;
    }
    await this.#turn();
    try {
      const rendered = await this.#renderInChild(data, page, signal);
      if (key === undefined) return rendered;
      this.#cache.set(key, rendered);
      while (this.#cache.size > this.#options.cacheEntries) {
        this.#cache.delete(this.#cache.keys().next().value as string);
      }
      return rendered;
    } finally {
      this.#running -= 1;
      this.#waiting.shift()?.();
    }
  }

  async #turn(): Promise<void> {
    if (this.#running < this.#options.concurrency) {
      this.#running += 1;
      return;
    }
    if (this.#waiting.length >= this.#options.maxWaiting) {
      throw new PdfPreviewError('busy', 'too many previews are being made; try again in a moment');
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#running += 1;
  }

  #renderInChild(data: Uint8Array, page: number, signal: AbortSignal | undefined): Promise<PdfPreviewPage> {
    const { timeoutMs, maxMemoryMb, dpi, maxPixels } = this.#options;
    return new Promise((resolve, reject) => {
      signal?.throwIfAborted();
      const child = fork(CHILD_PATH, [], {
        execArgv: [...(FROM_SOURCE ? ['--import', tsxLoader()] : []), `--max-old-space-size=${maxMemoryMb}`],
        serialization: 'advanced',
        stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
      });
      let settled = false;
      const onAbort = () => settle(() => reject(signal?.reason));
      const settle = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        child.kill('SIGKILL');
        outcome();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const timer = setTimeout(
        () =>
          settle(() =>
            reject(new PdfPreviewError('timeout', `the page was not rendered within ${timeoutMs} ms`)),
          ),
        timeoutMs,
      );
      child.once('message', (message: PreviewAnswer) =>
        settle(() =>
          message.ok
            ? resolve({
                png: Buffer.from(message.png),
                width: message.width,
                height: message.height,
                pageCount: message.pageCount,
              })
            : reject(new PdfPreviewError(message.code, message.message)),
        ),
      );
      child.once('exit', (code, signal) =>
        settle(() =>
          reject(
            new PdfPreviewError(
              'unreadable',
              `the renderer stopped (${signal ?? `exit code ${code}`}): the PDF is too large or damaged`,
            ),
          ),
        ),
      );
      child.once('error', (error) => settle(() => reject(error)));
      const request: PreviewRequest = { data, page, dpi, maxPixels };
      child.send(request);
    });
  }
}
