import { IdSchema, ImageTooLargeError, MimeTypeSchema, ValidationError } from '@kaiwa/core';
import { defineStepType, type StepType } from '@kaiwa/workflow';
import { z } from 'zod';
import { readBlob, sniffMimeType } from '../blob-bytes.js';
import { isRetryableStepError } from '../errors.js';
import { requireBlobs } from '../services.js';
import { OCR_LANGUAGES } from './language-data.js';
import { OcrWorkerPool, type OcrWorkerPoolConfig } from './ocr-worker-pool.js';
import { renderPdfPages } from './pdf-pages.js';

export const OcrStepInputSchema = z
  .object({
    /** The blob to read, usually `{{ steps.upload.key }}`. */
    key: z.string().min(1).max(512).optional(),
    /** Or a chat upload by file record id (the actor must be able to read it). */
    fileId: IdSchema.optional(),
    /** Declared type; sniffed from the bytes when missing or generic. */
    mimeType: MimeTypeSchema.optional(),
    languages: z
      .array(z.enum(OCR_LANGUAGES))
      .min(1)
      .max(OCR_LANGUAGES.length)
      .refine((list) => new Set(list).size === list.length, 'languages must not repeat')
      .default(['eng']),
    /** PDF pages to read, 1-based; all when missing. */
    pages: z.array(z.number().int().min(1).max(100_000)).min(1).max(1_000).optional(),
    /** Resolution PDF pages are rendered at. */
    dpi: z.number().int().min(50).max(600).default(200),
  })
  .refine((input) => (input.key === undefined) !== (input.fileId === undefined), {
    message: 'give either key or fileId',
    path: ['key'],
  });
export type OcrStepInput = z.infer<typeof OcrStepInputSchema>;

export interface OcrPageResult {
  page: number;
  text: string;
  /** Tesseract's mean word confidence, 0–100. */
  confidence: number;
}

export interface OcrStepOutput {
  /** All pages' text, pages separated by a blank line. */
  text: string;
  /** Mean of the pages' confidences weighted by their text length, 0–100. */
  confidence: number;
  pages: OcrPageResult[];
}

export interface OcrStepOptions extends OcrWorkerPoolConfig {
  /** Most PDF pages one step reads (default 20). */
  maxPages?: number;
  /** Most pixels of one image or rendered page (default 25 000 000). */
  maxPixels?: number;
  /** Largest file read (default 50 MiB). */
  maxBytes?: number;
}

/** The `ocr` step plus the worker pool behind it; call `close()` when done, or idle workers end by themselves. */
export type OcrStep = StepType<OcrStepInput, OcrStepOutput> & {
  readonly pool: OcrWorkerPool;
  close(): Promise<void>;
};

/** Images tesseract reads as they are; other image types are re-encoded to PNG first. */
const DIRECT_IMAGE_TYPES = new Set(['image/png', 'image/jpeg']);
export const IMAGE_TYPES: ReadonlySet<string> = new Set([
  'image/png',
  'image/jpeg',
  'image/webp',
  'image/gif',
  'image/bmp',
  'image/avif',
  'image/tiff',
]);

/**
 * Creates the `ocr` step: text from images and PDF pages with tesseract.js, English and Japanese, entirely
 * offline (language data comes from the installed `@tesseract.js-data/*` packages).
 *
 * @example
 * const ocr = createOcrStep({ maxWorkers: 2 });
 * const engine = new WorkflowEngine({ store, bus, services, steps: builtInStepTypes({ ocr }) });
 * // …
 * await ocr.close();
 */
export function createOcrStep(options: OcrStepOptions = {}): OcrStep {
  const pool = new OcrWorkerPool(options);
  const maxPages = options.maxPages ?? 20;
  const maxPixels = options.maxPixels ?? 25_000_000;
  const maxBytes = options.maxBytes ?? 50 * 1024 * 1024;

  const step = defineStepType<OcrStepInput, OcrStepOutput>({
    type: 'ocr',
    description:
      'Reads text from an image (multi-page TIFF page by page) or PDF with tesseract.js (eng, jpn): { key, languages?, pages? } → { text, confidence, pages }',
    input: OcrStepInputSchema,
    retryable: isRetryableStepError,
    async run(input, context) {
      const blobs = requireBlobs(context, 'ocr');
      let key = input.key;
      let declared = input.mimeType;
      if (input.fileId) {
        const file = await context.services.chat.getFileRecord(context.actorId, input.fileId);
        key = file.storageKey;
        declared ??= file.mimeType;
      }
      const bytes = await readBlob(blobs, key as string, { maxBytes, signal: context.signal });
      const mimeType = sniffMimeType(bytes) ?? declared ?? 'application/octet-stream';
      // Keep the pool's key stable whatever order the definition lists the languages in.
      const languages = OCR_LANGUAGES.filter((language) => input.languages.includes(language));

      const read = (image: Buffer) =>
        pool.use(languages, context.signal, async (worker) => {
          const { data } = await worker.recognize(image);
          return { text: data.text.trim(), confidence: Math.round(data.confidence * 100) / 100 };
        });

      const pages: OcrPageResult[] = [];
      if (mimeType === 'application/pdf') {
        for await (const rendered of renderPdfPages(bytes, {
          ...(input.pages ? { pages: input.pages } : {}),
          dpi: input.dpi,
          maxPages,
          maxPixels,
          signal: context.signal,
        })) {
          pages.push({ page: rendered.page, ...(await read(rendered.png)) });
        }
      } else if (IMAGE_TYPES.has(mimeType)) {
        // A multi-page TIFF is read page by page like a PDF, under the same page limit.
        const count = await imagePageCount(bytes, mimeType);
        const wanted = input.pages ?? Array.from({ length: count }, (_, index) => index + 1);
        for (const [index, number] of wanted.entries()) {
          if (number > count)
            throw ValidationError.field(
              ['pages', index],
              count === 1 ? 'an image has only page 1' : `the image has only ${count} pages`,
            );
        }
        if (wanted.length > maxPages) {
          throw ValidationError.field(
            'pages',
            `the image has ${wanted.length} pages to read; at most ${maxPages} are read per step, choose them with pages`,
          );
        }
        for (const number of wanted) {
          context.signal.throwIfAborted();
          const image = await prepareImage(bytes, mimeType, maxPixels, 'key', number);
          pages.push({ page: number, ...(await read(image)) });
        }
      } else {
        throw ValidationError.field('mimeType', `cannot read text from ${mimeType}; give an image or a PDF`);
      }

      const weight = pages.reduce((sum, page) => sum + page.text.length, 0);
      const confidence =
        weight === 0 ? 0 : pages.reduce((sum, page) => sum + page.confidence * page.text.length, 0) / weight;
      return {
        text: pages.map((page) => page.text).join('\n\n'),
        confidence: Math.round(confidence * 100) / 100,
        pages,
      };
    },
  });
  return Object.assign(step, { pool, close: () => pool.close() });
}

/**
 * The pages of an image: those of a (multi-page) TIFF, read by sharp from its directory without decoding
 * the pixels; 1 for every other type.
 *
 * @throws ValidationError when a TIFF cannot be read.
 */
export async function imagePageCount(bytes: Buffer, mimeType: string, field = 'key'): Promise<number> {
  if (mimeType !== 'image/tiff') return 1;
  const { default: sharp } = await import('sharp');
  try {
    return (await sharp(bytes).metadata()).pages ?? 1;
  } catch (error) {
    throw new ValidationError([{ path: [field], message: `not a readable ${mimeType} image` }], {
      cause: error,
    });
  }
}

/**
 * Checks the pixel limit and turns images tesseract may not decode into PNG: TIFF (one page of it, 1-based)
 * through sharp (libvips), the others through @napi-rs/canvas.
 */
export async function prepareImage(
  bytes: Buffer,
  mimeType: string,
  maxPixels: number,
  field = 'key',
  page = 1,
): Promise<Buffer> {
  if (mimeType === 'image/tiff') return prepareTiffPage(bytes, page, maxPixels, field);
  if (page !== 1) throw ValidationError.field('pages', 'an image has only page 1');
  const { createCanvas, loadImage } = await import('@napi-rs/canvas');
  let image: Awaited<ReturnType<typeof loadImage>>;
  try {
    image = await loadImage(bytes);
  } catch (error) {
    throw new ValidationError([{ path: [field], message: `not a readable ${mimeType} image` }], {
      cause: error,
    });
  }
  if (image.width * image.height > maxPixels) {
    throw new ImageTooLargeError(
      field,
      `the image has ${image.width}×${image.height} pixels, over the limit of ${maxPixels}`,
      maxPixels,
    );
  }
  if (DIRECT_IMAGE_TYPES.has(mimeType)) return bytes;
  const canvas = createCanvas(image.width, image.height);
  const context = canvas.getContext('2d');
  context.fillStyle = '#ffffff';
  context.fillRect(0, 0, image.width, image.height);
  context.drawImage(image, 0, 0);
  return canvas.toBuffer('image/png');
}

async function prepareTiffPage(
  bytes: Buffer,
  page: number,
  maxPixels: number,
  field: string,
): Promise<Buffer> {
  const { default: sharp } = await import('sharp');
  const unreadable = (error: unknown) =>
    new ValidationError([{ path: [field], message: 'not a readable image/tiff image' }], { cause: error });
  let size: { width?: number | undefined; height?: number | undefined; pages?: number | undefined };
  try {
    size = await sharp(bytes, { page: page - 1 }).metadata();
  } catch (error) {
    throw unreadable(error);
  }
  const pages = size.pages ?? 1;
  if (page > pages) throw ValidationError.field('pages', `the image has only ${pages} pages`);
  const width = size.width ?? 0;
  const height = size.height ?? 0;
  if (width * height > maxPixels) {
    throw new ImageTooLargeError(
      field,
      `the image${pages > 1 ? ` (page ${page})` : ''} has ${width}×${height} pixels, over the limit of ${maxPixels}`,
      maxPixels,
    );
  }
  try {
    // limitInputPixels holds the decoder to the same bound, whatever the header claimed.
    return await sharp(bytes, { page: page - 1, limitInputPixels: maxPixels })
      .flatten({ background: '#ffffff' })
      .png()
      .toBuffer();
  } catch (error) {
    throw unreadable(error);
  }
}

/**
 * The shared default `ocr` step. Its workers end after 30 s idle; create your own with {@link createOcrStep}
 * to choose limits or to close it explicitly.
 */
export const ocrStep: OcrStep = createOcrStep();
