import { ImageTooLargeError, KaiwaBaseError, type TextRecognizer } from '@kaiwa/core';

const marker = Symbol.for('kaiwa.error.ExtractionError');

export type ExtractionErrorCode =
  | 'unsupported_type'
  | 'unreadable'
  | 'too_large'
  /** An image, or a PDF without a text layer, and no OCR configured to read it. */
  | 'ocr_unavailable'
  /** OCR of an image or page ran past its deadline. */
  | 'timeout';

/**
 * A document whose text could not be extracted: a type no extractor reads, a damaged or encrypted file, one
 * over a size limit, an image or scan with no OCR to read it, or OCR past its deadline. Nothing of it is
 * indexed.
 *
 * @example
 * if (ExtractionError.isInstance(error) && error.code === 'unsupported_type') return markSkipped(file);
 */
export class ExtractionError extends KaiwaBaseError<ExtractionErrorCode> {
  readonly [marker] = true;

  constructor(code: ExtractionErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'ExtractionError';
  }

  static override isInstance(value: unknown): value is ExtractionError {
    return KaiwaBaseError.hasMarker(value, marker);
  }
}

/** A document's text, page by page for paged formats (PDF), else one part without a page. */
export interface ExtractedText {
  /** How the text is shaped: Markdown keeps its headings for chunking; the rest is plain text. */
  format: 'markdown' | 'text';
  /** `ocr`: the text was read from the image of the page (or the image) by OCR. */
  parts: { text: string; page?: number; ocr?: true }[];
}

/** Reading images and scanned PDF pages. */
export interface OcrOptions {
  /** The OCR engine, e.g. `createTesseractTextRecognizer()` of `@kaiwa/workflow-steps`. */
  recognizer: TextRecognizer;
  /**
   * Most pages of one PDF, or of one multi-page TIFF, read by OCR (default 50); a scan with more is refused
   * as `too_large`.
   */
  maxPages?: number;
  /** Deadline for one image or page (default 60 000 ms); past it the document is refused as `timeout`. */
  pageTimeoutMs?: number;
}

/**
 * Image types read by OCR (what the tesseract.js recognizer decodes: @napi-rs/canvas, and sharp for TIFF,
 * whose pages are read one by one like a scanned PDF's).
 */
export const OCR_IMAGE_TYPES = [
  'image/png',
  'image/jpeg',
  'image/webp',
  'image/gif',
  'image/bmp',
  'image/tiff',
] as const;

/** The MIME types `extractText` reads. */
export const EXTRACTABLE_TYPES = [
  'text/plain',
  'text/markdown',
  'text/html',
  'application/pdf',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
] as const;

/**
 * The text of an uploaded document: plain text and Markdown as they are (UTF-8), HTML through html-to-text
 * (headings kept as Markdown headings), PDF page by page through unpdf, DOCX through mammoth. Images
 * (`OCR_IMAGE_TYPES`, a multi-page TIFF page by page) and the PDF pages without a text layer (scans) are read by `options.ocr`, page by page
 * under a deadline each; without it an image, or a PDF with no text layer at all, is refused as
 * `ocr_unavailable` (a PDF with some text pages gives those).
 *
 * @throws ExtractionError `unsupported_type`, `unreadable` (damaged, encrypted, not what its type says, an
 * image the OCR cannot read), `too_large` (over `maxBytes`, 20 MiB by default, more scanned pages or
 * image pages than `ocr.maxPages`, or an image or page over the recognizer's pixel limit:
 * `ImageTooLargeError`), `ocr_unavailable` or `timeout`.
 * @example
 * const { format, parts } = await extractText(bytes, 'application/pdf', { ocr: { recognizer } });
 */
export async function extractText(
  bytes: Uint8Array,
  mimeType: string,
  options: { maxBytes?: number; ocr?: OcrOptions } = {},
): Promise<ExtractedText> {
  const maxBytes = options.maxBytes ?? 20 * 1024 * 1024;
  if (bytes.byteLength > maxBytes)
    throw new ExtractionError(
      'too_large',
      `the document has ${bytes.byteLength} bytes, over the limit of ${maxBytes}`,
    );
  const type = mimeType.split(';')[0]?.trim().toLowerCase() ?? '';
  try {
    switch (type) {
      case 'text/plain':
        return { format: 'text', parts: [{ text: utf8(bytes) }] };
      case 'text/markdown':
      case 'text/x-markdown':
        return { format: 'markdown', parts: [{ text: utf8(bytes) }] };
      case 'text/html':
        return { format: 'markdown', parts: [{ text: await htmlText(utf8(bytes)) }] };
      case 'application/pdf':
        return { format: 'text', parts: await pdfPages(bytes, options.ocr) };
      case 'application/vnd.openxmlformats-officedocument.wordprocessingml.document':
        return { format: 'text', parts: [{ text: await docxText(bytes) }] };
      default:
        if ((OCR_IMAGE_TYPES as readonly string[]).includes(type))
          return { format: 'text', parts: await imageText(bytes, type, options.ocr) };
        throw new ExtractionError(
          'unsupported_type',
          `no text extractor for ${mimeType || 'an unknown type'}`,
        );
    }
  } catch (error) {
    if (ExtractionError.isInstance(error)) throw error;
    // An image or page over the recognizer's pixel limit is too large, not damaged.
    if (ImageTooLargeError.isInstance(error))
      throw new ExtractionError('too_large', `the ${type} document is too large to read: ${error.message}`, {
        cause: error,
      });
    throw new ExtractionError('unreadable', `the ${type} document could not be read: ${String(error)}`, {
      cause: error,
    });
  }
}

function utf8(bytes: Uint8Array): string {
  // fatal: a binary file sent as text is a bad document, not text full of replacement characters.
  return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
}

async function htmlText(html: string): Promise<string> {
  const { convert } = await import('html-to-text');
  const heading = (level: number) => ({
    format: 'heading',
    options: {
      uppercase: false,
      leadingLineBreaks: 2,
      trailingLineBreaks: 2,
      prefix: `${'#'.repeat(level)} `,
    },
  });
  return convert(html, {
    wordwrap: false,
    formatters: {
      heading(element, walk, builder, formatOptions) {
        builder.openBlock({ leadingLineBreaks: formatOptions.leadingLineBreaks ?? 2 });
        builder.addInline(String(formatOptions.prefix ?? ''));
        walk(element.children, builder);
        builder.closeBlock({ trailingLineBreaks: formatOptions.trailingLineBreaks ?? 2 });
      },
    },
    selectors: [
      ...[1, 2, 3, 4, 5, 6].map((level) => ({ selector: `h${level}`, ...heading(level) })),
      { selector: 'a', options: { ignoreHref: true } },
      { selector: 'img', format: 'skip' },
    ],
  });
}

async function pdfPages(bytes: Uint8Array, ocr: OcrOptions | undefined): Promise<ExtractedText['parts']> {
  const { extractText: extractPdf, getDocumentProxy } = await import('unpdf');
  // unpdf may detach the buffer it is given: hand it a copy.
  const document = await getDocumentProxy(new Uint8Array(bytes));
  const { text } = await extractPdf(document, { mergePages: false });
  const pages: ExtractedText['parts'] = text.map((page, index) => ({ text: page, page: index + 1 }));
  const scanned = pages.filter((page) => page.text.trim() === '').map((page) => page.page as number);
  if (scanned.length === 0) return pages;
  const recognizePdfPages = ocr?.recognizer.recognizePdfPages?.bind(ocr.recognizer);
  if (!ocr || !recognizePdfPages) {
    if (scanned.length < pages.length) return pages.filter((page) => page.text.trim() !== '');
    throw new ExtractionError(
      'ocr_unavailable',
      'the PDF has no text layer (a scan?) and no OCR is configured to read it',
    );
  }
  const maxPages = ocr.maxPages ?? 50;
  if (scanned.length > maxPages)
    throw new ExtractionError(
      'too_large',
      `the PDF has ${scanned.length} pages without a text layer to read by OCR, over the limit of ${maxPages}`,
    );
  const controller = new AbortController();
  const pending = recognizePdfPages(bytes, scanned, { signal: controller.signal })[Symbol.asyncIterator]();
  const read = new Map<number, string>();
  try {
    for (const page of scanned) {
      const next = await withDeadline(pending.next(), ocr, controller, `page ${page}`);
      if (next.done) break;
      read.set(next.value.page, next.value.text);
    }
  } finally {
    controller.abort();
    // Not awaited: a recognizer that ignores the signal must not hold the document up.
    void pending.return?.().catch(() => undefined);
  }
  return pages.map((page) =>
    read.has(page.page as number)
      ? { text: read.get(page.page as number) as string, page: page.page as number, ocr: true }
      : page,
  );
}

/**
 * An image's text: one part, or for a multi-page image (TIFF) one part per page with its number, each page
 * under its own deadline and at most `ocr.maxPages` pages.
 */
async function imageText(
  bytes: Uint8Array,
  type: string,
  ocr: OcrOptions | undefined,
): Promise<ExtractedText['parts']> {
  if (!ocr)
    throw new ExtractionError('ocr_unavailable', `no OCR is configured to read text from ${type} images`);
  const count = (await ocr.recognizer.countImagePages?.(bytes)) ?? 1;
  const maxPages = ocr.maxPages ?? 50;
  if (count > maxPages)
    throw new ExtractionError(
      'too_large',
      `the image has ${count} pages to read by OCR, over the limit of ${maxPages}`,
    );
  const parts: ExtractedText['parts'] = [];
  for (let page = 1; page <= count; page++) {
    const controller = new AbortController();
    try {
      const { text } = await withDeadline(
        ocr.recognizer.recognizeText(bytes, { signal: controller.signal, ...(count > 1 ? { page } : {}) }),
        ocr,
        controller,
        count > 1 ? `page ${page} of the image` : 'the image',
      );
      parts.push(count > 1 ? { text, page, ocr: true } : { text, ocr: true });
    } finally {
      controller.abort();
    }
  }
  return parts;
}

/** `work`, or a `timeout` ExtractionError (which also aborts `controller`) once the page's deadline passes. */
async function withDeadline<T>(
  work: Promise<T>,
  ocr: OcrOptions,
  controller: AbortController,
  what: string,
): Promise<T> {
  const deadline = ocr.pageTimeoutMs ?? 60_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new ExtractionError('timeout', `OCR of ${what} took longer than ${deadline} ms`);
      controller.abort(error);
      reject(error);
    }, deadline);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

async function docxText(bytes: Uint8Array): Promise<string> {
  const mammoth = await import('mammoth');
  const { value } = await mammoth.extractRawText({ buffer: Buffer.from(bytes) });
  return value;
}
