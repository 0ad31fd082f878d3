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
   * @throws an error naming why when the bytes are not an image it can read, or the image is over its
   * size limit; the signal's reason when aborted.
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
   * @throws an error when the bytes are not a readable PDF or a page does not exist; the signal's reason
   * when aborted.
   * @example
   * for await (const { page, text } of recognizer.recognizePdfPages?.(pdf, [1, 3]) ?? []) console.log(page, text);
   */
  recognizePdfPages?(
    pdf: Uint8Array,
    pages: readonly number[],
    options?: RecognizeTextOptions,
  ): AsyncIterable<RecognizedText & { page: number }>;
}
