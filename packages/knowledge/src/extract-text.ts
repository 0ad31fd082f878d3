import { KaiwaBaseError } from '@kaiwa/core';

const marker = Symbol.for('kaiwa.error.ExtractionError');

export type ExtractionErrorCode = 'unsupported_type' | 'unreadable' | 'too_large';

/**
 * A document whose text could not be extracted: a type no extractor reads, a damaged or encrypted file, or
 * one over the size limit. Nothing of it is indexed.
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
  parts: { text: string; page?: number }[];
}

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
 * (headings kept as Markdown headings), PDF page by page through unpdf, DOCX through mammoth. Images and
 * scanned PDFs need the OCR step first.
 *
 * @throws ExtractionError `unsupported_type`, `unreadable` (damaged, encrypted, not what its type says) or
 * `too_large` (over `maxBytes`, 20 MiB by default).
 * @example
 * const { format, parts } = await extractText(bytes, 'application/pdf');
 */
export async function extractText(
  bytes: Uint8Array,
  mimeType: string,
  options: { maxBytes?: number } = {},
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
        return { format: 'text', parts: await pdfPages(bytes) };
      case 'application/vnd.openxmlformats-officedocument.wordprocessingml.document':
        return { format: 'text', parts: [{ text: await docxText(bytes) }] };
      default:
        throw new ExtractionError(
          'unsupported_type',
          `no text extractor for ${mimeType || 'an unknown type'}`,
        );
    }
  } catch (error) {
    if (ExtractionError.isInstance(error)) throw error;
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

async function pdfPages(bytes: Uint8Array): Promise<{ text: string; page: number }[]> {
  const { extractText: extractPdf, getDocumentProxy } = await import('unpdf');
  // unpdf may detach the buffer it is given: hand it a copy.
  const document = await getDocumentProxy(new Uint8Array(bytes));
  const { text } = await extractPdf(document, { mergePages: false });
  return text.map((page, index) => ({ text: page, page: index + 1 }));
}

async function docxText(bytes: Uint8Array): Promise<string> {
  const mammoth = await import('mammoth');
  const { value } = await mammoth.extractRawText({ buffer: Buffer.from(bytes) });
  return value;
}
