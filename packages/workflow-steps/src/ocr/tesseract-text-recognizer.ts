import { type RecognizedText, type TextRecognizer, ValidationError } from '@kaiwa/core';
import { sniffMimeType } from '../blob-bytes.js';
import { missingOcrLanguages } from './language-data.js';
import { IMAGE_TYPES, imagePageCount, prepareImage } from './ocr-step.js';
import { OcrWorkerPool, type OcrWorkerPoolConfig } from './ocr-worker-pool.js';
import { renderPdfPages } from './pdf-pages.js';

export interface TesseractTextRecognizerConfig extends OcrWorkerPoolConfig {
  /** Workers to share (e.g. the `ocr` step's `pool`); a pool of its own when missing. */
  pool?: OcrWorkerPool;
  /**
   * Languages read, tesseract codes whose `@tesseract.js-data/<code>` package is installed (default
   * `['eng']`; `missingOcrLanguages` says which are not).
   */
  languages?: readonly string[];
  /** Most pixels of one image, image page or rendered page (default 25 000 000). */
  maxPixels?: number;
  /** Resolution PDF pages are rendered at (default 200). */
  dpi?: number;
  /**
   * Renders one PDF page to PNG, e.g. in a child process that a hostile PDF can exhaust without harming
   * this one (the server's PDF previewer); missing: pdf.js in this process ({@link renderPdfPages}).
   */
  renderPdfPage?: PdfPageRenderer;
}

/**
 * Renders page `page` (1-based) of a PDF to PNG within `maxPixels`.
 *
 * @throws an error when the PDF cannot be read, lacks the page, or the page is over the pixel limit.
 */
export type PdfPageRenderer = (
  pdf: Uint8Array,
  page: number,
  options: { dpi: number; maxPixels: number; signal?: AbortSignal },
) => Promise<Uint8Array>;

/** A tesseract.js `TextRecognizer`, with the workers behind it; `close()` ends them (unless shared). */
export type TesseractTextRecognizer = TextRecognizer & {
  readonly pool: OcrWorkerPool;
  close(): Promise<void>;
};

/**
 * The `TextRecognizer` of the `ocr` step's engine: tesseract.js with offline language data, images through
 * the same pixel check and re-encoding (TIFF, multi-page too, through sharp), PDF pages through the same
 * renderer (pdf.js on @napi-rs/canvas) or `renderPdfPage`. tesseract.js, pdf.js, sharp and the canvas load
 * only on the first read.
 *
 * @throws ValidationError (`languages`) when a language's trained data is not installed.
 * @example
 * const recognizer = createTesseractTextRecognizer({ languages: ['eng', 'jpn'], maxWorkers: 1 });
 * const { text } = await recognizer.recognizeText(png);
 * await recognizer.close();
 */
export function createTesseractTextRecognizer(
  config: TesseractTextRecognizerConfig = {},
): TesseractTextRecognizer {
  const languages = [...new Set(config.languages ?? ['eng'])];
  const missing = missingOcrLanguages(languages);
  if (languages.length === 0 || missing.length > 0) {
    throw ValidationError.field(
      'languages',
      languages.length === 0
        ? 'name at least one language'
        : `no trained data is installed for ${missing.join(', ')} (install @tesseract.js-data/${missing[0]}; nothing is downloaded)`,
    );
  }
  const ownPool = config.pool === undefined;
  const pool = config.pool ?? new OcrWorkerPool(config);
  const maxPixels = config.maxPixels ?? 25_000_000;
  const dpi = config.dpi ?? 200;

  const read = (image: Buffer, signal: AbortSignal | undefined): Promise<RecognizedText> =>
    pool.use(languages, signal, async (worker) => {
      const { data } = await worker.recognize(image);
      return { text: data.text.trim(), confidence: Math.round(data.confidence * 100) / 100 };
    });

  return {
    provider: 'tesseract.js',
    pool,
    async recognizeText(image, options = {}) {
      options.signal?.throwIfAborted();
      const { bytes, mimeType } = imageOf(image);
      const prepared = await prepareImage(bytes, mimeType, maxPixels, 'image', options.page ?? 1);
      return read(prepared, options.signal);
    },
    countImagePages(image) {
      const { bytes, mimeType } = imageOf(image);
      return imagePageCount(bytes, mimeType, 'image');
    },
    async *recognizePdfPages(pdf, pages, options = {}) {
      options.signal?.throwIfAborted();
      const { renderPdfPage } = config;
      if (renderPdfPage) {
        for (const page of pages) {
          options.signal?.throwIfAborted();
          const png = await renderPdfPage(pdf, page, {
            dpi,
            maxPixels,
            ...(options.signal ? { signal: options.signal } : {}),
          });
          const bytes = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
          yield { page, ...(await read(bytes, options.signal)) };
        }
        return;
      }
      for await (const rendered of renderPdfPages(pdf, {
        pages: [...pages],
        dpi,
        maxPages: Math.max(1, pages.length),
        maxPixels,
        ...(options.signal ? { signal: options.signal } : {}),
      })) {
        yield { page: rendered.page, ...(await read(rendered.png, options.signal)) };
      }
    },
    close: () => (ownPool ? pool.close() : Promise.resolve()),
  };
}

/** The image's bytes and its sniffed type, one OCR reads. */
function imageOf(image: Uint8Array): { bytes: Buffer; mimeType: string } {
  const bytes = Buffer.from(image.buffer, image.byteOffset, image.byteLength);
  const mimeType = sniffMimeType(bytes);
  if (!mimeType || !IMAGE_TYPES.has(mimeType)) {
    throw ValidationError.field(
      'image',
      `cannot read text from ${mimeType ?? 'bytes of an unknown type'}; give PNG, JPEG, WebP, GIF, BMP or TIFF`,
    );
  }
  return { bytes, mimeType };
}
