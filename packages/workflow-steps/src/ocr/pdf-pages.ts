import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ImageTooLargeError, ValidationError } from '@kaiwa/core';

const require = createRequire(import.meta.url);

export interface RenderedPage {
  /** 1-based page number. */
  page: number;
  /** Pages in the whole document. */
  pageCount: number;
  png: Buffer;
  width: number;
  height: number;
}

export interface RenderPdfOptions {
  /** 1-based page numbers; all pages when missing. */
  pages?: number[];
  dpi: number;
  maxPages: number;
  maxPixels: number;
  signal?: AbortSignal;
}

interface NodeCanvas {
  toBuffer(mimeType: 'image/png'): Buffer;
}

function pdfjsFolder(): string {
  return dirname(require.resolve('pdfjs-dist/package.json'));
}

type Pdfjs = typeof import('pdfjs-dist/legacy/build/pdf.mjs');
type WorkerGlobal = { pdfjsWorker?: { WorkerMessageHandler: unknown } };
let ownWorker: Promise<void> | undefined;

/**
 * In Node, pdf.js runs its worker in process and takes the first `globalThis.pdfjsWorker` it finds; another
 * copy of pdf.js in the process (unpdf's, which `@kaiwa/knowledge` loads) puts its own there, and pdf.js
 * then refuses it ("The API version … does not match the Worker version"). So ours is set up once with our
 * own worker, and the global is given back to whoever had it.
 */
function useOwnWorker(pdfjs: Pdfjs): Promise<void> {
  ownWorker ??= (async () => {
    const global = globalThis as WorkerGlobal;
    const previous = global.pdfjsWorker;
    const specifier = 'pdfjs-dist/legacy/build/pdf.worker.mjs';
    const worker = (await import(specifier)) as { WorkerMessageHandler: unknown };
    global.pdfjsWorker = { WorkerMessageHandler: worker.WorkerMessageHandler };
    try {
      // The getter reads the global synchronously on first use and keeps what it found.
      await (pdfjs.PDFWorker as unknown as { _setupFakeWorkerGlobal: Promise<unknown> })
        ._setupFakeWorkerGlobal;
    } finally {
      if (previous) global.pdfjsWorker = previous;
    }
  })();
  return ownWorker;
}

/**
 * Renders PDF pages to PNG with pdfjs-dist (legacy build, which runs in Node) on @napi-rs/canvas, one page
 * at a time so only one bitmap is in memory. Fonts that are not embedded use pdfjs' own standard font files
 * from the installed package, never a download.
 */
export async function* renderPdfPages(
  data: Uint8Array,
  options: RenderPdfOptions,
): AsyncGenerator<RenderedPage> {
  const pdfjs = await import('pdfjs-dist/legacy/build/pdf.mjs');
  await useOwnWorker(pdfjs);
  const folder = pdfjsFolder();
  const task = pdfjs.getDocument({
    // pdfjs takes ownership of the buffer it is given; give it a copy.
    data: new Uint8Array(data),
    standardFontDataUrl: `${join(folder, 'standard_fonts')}/`,
    cMapUrl: `${join(folder, 'cmaps')}/`,
    cMapPacked: true,
    wasmUrl: `${join(folder, 'wasm')}/`,
    isEvalSupported: false,
    disableFontFace: true,
    useSystemFonts: false,
    verbosity: 0,
  });
  let document: Awaited<typeof task.promise>;
  try {
    document = await task.promise;
  } catch (error) {
    await task.destroy();
    throw new ValidationError(
      [{ path: ['key'], message: `not a readable PDF: ${(error as Error).message}` }],
      {
        cause: error,
      },
    );
  }
  try {
    const count = document.numPages;
    const pages = options.pages ?? Array.from({ length: count }, (_, index) => index + 1);
    if (pages.length > options.maxPages) {
      throw ValidationError.field(
        'pages',
        `the PDF has ${pages.length} pages to read; at most ${options.maxPages} are read per step, choose them with pages`,
      );
    }
    for (const [index, number] of pages.entries()) {
      if (number > count) throw ValidationError.field(['pages', index], `the PDF has only ${count} pages`);
    }
    const scale = options.dpi / 72;
    for (const number of pages) {
      options.signal?.throwIfAborted();
      const page = await document.getPage(number);
      const viewport = page.getViewport({ scale });
      const width = Math.ceil(viewport.width);
      const height = Math.ceil(viewport.height);
      if (width * height > options.maxPixels) {
        throw new ImageTooLargeError(
          'dpi',
          `page ${number} would be ${width}×${height} pixels at ${options.dpi} DPI, over the limit of ${options.maxPixels}; lower dpi`,
          options.maxPixels,
        );
      }
      const factory = document.canvasFactory as {
        create(width: number, height: number): { canvas: NodeCanvas; context: unknown };
        destroy(target: unknown): void;
      };
      const target = factory.create(width, height);
      try {
        const context = target.context as {
          fillStyle: string;
          fillRect(x: number, y: number, width: number, height: number): void;
        };
        // Pages without a background would come out transparent, which OCR reads as black.
        context.fillStyle = '#ffffff';
        context.fillRect(0, 0, width, height);
        await page.render({
          canvas: target.canvas as never,
          canvasContext: context as never,
          viewport,
        }).promise;
        yield { page: number, pageCount: count, png: target.canvas.toBuffer('image/png'), width, height };
      } finally {
        factory.destroy(target);
        page.cleanup();
      }
    }
  } finally {
    await document.destroy();
  }
}
