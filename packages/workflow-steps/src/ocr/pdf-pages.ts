import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ValidationError } from '@kaiwa/core';

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
        throw ValidationError.field(
          'dpi',
          `page ${number} would be ${width}×${height} pixels at ${options.dpi} DPI, over the limit of ${options.maxPixels}; lower dpi`,
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
