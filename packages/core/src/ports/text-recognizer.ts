import { ValidationError } from '../errors.js';

/**
 * Per-call options of a `TextRecognizer`.
 *
 * @example
 * await recognizer.recognizeText(png, { signal: AbortSignal.timeout(60_000) });
 */
export interface RecognizeTextOptions {
  /** Stops the reading; the call then rejects with the signal's reason. @example controller.signal */
  signal?: AbortSignal;
  /**
   * The page of a multi-page image (TIFF) to read, 1-based; 1 when missing. A page the image does not have
   * is refused. @example 2
   */
  page?: number;
}

/**
 * The text read from one image or page.
 *
 * @example
 * const { text, confidence } = await recognizer.recognizeText(png);
 */
export interface RecognizedText {
  /** The text, lines separated by `\n`, trimmed; empty when the image holds none. @example 'Invoice 42' */
  text: string;
  /** How sure the recognizer is, 0–100, when it says. @example 91.5 */
  confidence?: number;
}

/**
 * Optical character recognition: reads the text of images, and optionally of PDF pages that have no text
 * layer (scans). Knowledge ingestion reads images and scanned PDFs through it.
 *
 * @example
 * const recognizer: TextRecognizer = createTesseractTextRecognizer({ languages: ['eng'] });
 * const { text } = await recognizer.recognizeText(await readFile('receipt.png'));
 */
export interface TextRecognizer {
  /** The engine. @example 'tesseract.js' */
  readonly provider: string;

  /**
   * Reads the text of one image (PNG and JPEG at least; WebP, TIFF and others where the engine decodes
   * them), or of one page of a multi-page image (`options.page`).
   *
   * @throws {@link ImageTooLargeError} when the image is over the recognizer's pixel limit; another error
   * naming why when the bytes are not an image it can read; the signal's reason when aborted.
   * @example
   * const { text } = await recognizer.recognizeText(png, { signal });
   */
  recognizeText(image: Uint8Array, options?: RecognizeTextOptions): Promise<RecognizedText>;

  /**
   * How many pages an image has: those of a multi-page TIFF, 1 for other images. Missing when the
   * recognizer reads only single-page images (each image is then one page).
   *
   * @throws an error naming why when the bytes are not an image it can read.
   * @example
   * const pages = (await recognizer.countImagePages?.(tiff)) ?? 1;
   */
  countImagePages?(image: Uint8Array): Promise<number>;

  /**
   * Renders the given pages of a PDF (1-based, in the order given) and reads each, yielding one result per
   * page as it is read. Missing when the recognizer cannot render PDFs.
   *
   * @throws {@link ImageTooLargeError} when a page would render over the pixel limit; another error when the
   * bytes are not a readable PDF or a page does not exist; the signal's reason when aborted.
   * @example
   * for await (const { page, text } of recognizer.recognizePdfPages?.(pdf, [1, 3]) ?? []) console.log(page, text);
   */
  recognizePdfPages?(
    pdf: Uint8Array,
    pages: readonly number[],
    options?: RecognizeTextOptions,
  ): AsyncIterable<RecognizedText & { page: number }>;
}

const imageTooLargeMarker = Symbol.for('kaiwa.error.ImageTooLargeError');

/**
 * An image, an image's page or a rendered PDF page has more pixels than the recognizer reads. A
 * `ValidationError` naming the field (`image`, `dpi` …), so a workflow step reports it like other bad input,
 * and told apart by `isInstance`, so knowledge can skip such a file as `too_large` rather than `unreadable`.
 *
 * @example
 * if (ImageTooLargeError.isInstance(error)) return skip(file, 'too_large');
 */
export class ImageTooLargeError extends ValidationError {
  readonly [imageTooLargeMarker] = true;
  /** The recognizer's limit. @example 25_000_000 */
  readonly maxPixels: number;

  constructor(field: string, message: string, maxPixels: number) {
    super([{ path: [field], message }]);
    this.name = 'ImageTooLargeError';
    this.maxPixels = maxPixels;
  }

  /** True also for one thrown by another copy of `@kaiwa/core`. */
  static override isInstance(value: unknown): value is ImageTooLargeError {
    return ValidationError.hasMarker(value, imageTooLargeMarker);
  }
}
