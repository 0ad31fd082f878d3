import { type RecognizedText, type TextRecognizer, ValidationError } from '@kaiwa/core';
import { sniffMimeType } from '../blob-bytes.js';
import { OCR_LANGUAGES, type OcrLanguage } from './language-data.js';
import { IMAGE_TYPES, prepareImage } from './ocr-step.js';
import { OcrWorkerPool, type OcrWorkerPoolConfig } from './ocr-worker-pool.js';
import { renderPdfPages } from './pdf-pages.js';

export interface TesseractTextRecognizerConfig extends OcrWorkerPoolConfig {
  /** Workers to share (e.g. the `ocr` step's `pool`); a pool of its own when missing. */
  pool?: OcrWorkerPool;
  /** Languages read (default `['eng']`). */
  languages?: readonly OcrLanguage[];
  /** Most pixels of one image or rendered page (default 25 000 000). */
  maxPixels?: number;
  /** Resolution PDF pages are rendered at (default 200). */
  dpi?: number;
}

/** A tesseract.js `TextRecognizer`, with the workers behind it; `close()` ends them (unless shared). */
export type TesseractTextRecognizer = TextRecognizer & {
  readonly pool: OcrWorkerPool;
  close(): Promise<void>;
};

/**
 * The `TextRecognizer` of the `ocr` step's engine: tesseract.js with offline language data, images through
 * the same pixel check and re-encoding, PDF pages through the same renderer (pdf.js on @napi-rs/canvas).
 * tesseract.js, pdf.js and the canvas load only on the first read.
 *
 * @example
 * const recognizer = createTesseractTextRecognizer({ languages: ['eng', 'jpn'], maxWorkers: 1 });
 * const { text } = await recognizer.recognizeText(png);
 * await recognizer.close();
 */
export function createTesseractTextRecognizer(
  config: TesseractTextRecognizerConfig = {},
): TesseractTextRecognizer {
  const ownPool = config.pool === undefined;
  const pool = config.pool ?? new OcrWorkerPool(config);
  const chosen = config.languages ?? ['eng'];
  // In OCR_LANGUAGES' order, as the ocr step keys its workers.
  const languages = OCR_LANGUAGES.filter((language) => chosen.includes(language));
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
      const bytes = Buffer.from(image.buffer, image.byteOffset, image.byteLength);
      const mimeType = sniffMimeType(bytes);
      if (!mimeType || !IMAGE_TYPES.has(mimeType)) {
        throw ValidationError.field(
          'image',
          `cannot read text from ${mimeType ?? 'bytes of an unknown type'}; give PNG, JPEG, WebP, GIF or BMP`,
        );
      }
      return read(await prepareImage(bytes, mimeType, maxPixels, 'image'), options.signal);
    },
    async *recognizePdfPages(pdf, pages, options = {}) {
      options.signal?.throwIfAborted();
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
