import { afterAll, describe, expect, it } from 'vitest';
import type { RecognizedText, TextRecognizer } from '../ports/text-recognizer.js';

/** The tests of {@link textRecognizerContract}, by the key `skipTests` takes. */
export type TextRecognizerContractTest =
  | 'describes-itself'
  | 'image'
  | 'not-an-image'
  | 'abort'
  | 'pdf-pages'
  | 'not-a-pdf'
  | 'image-pages';

export interface TextRecognizerContractOptions {
  /** Shown in the test names: `tesseract.js`. */
  name: string;
  /** The recognizer under test, called once per test; may return the same instance each time. */
  create: () => Promise<TextRecognizer> | TextRecognizer;
  /** Runs after the suite (end workers). */
  teardown?: () => Promise<void>;
  /** An image holding one line of text, and that text as it must come back (spaces collapsed). */
  image: () => Promise<{ image: Uint8Array; text: string }> | { image: Uint8Array; text: string };
  /** A PDF without a text layer, and the text of each of its pages; needed when `recognizePdfPages` exists. */
  scannedPdf?: () => Promise<{ pdf: Uint8Array; pages: string[] }> | { pdf: Uint8Array; pages: string[] };
  /**
   * A multi-page image (TIFF) and the text of each of its pages; needed when `countImagePages` exists.
   */
  multiPageImage?: () =>
    | Promise<{ image: Uint8Array; pages: string[] }>
    | { image: Uint8Array; pages: string[] };
  /** Why the whole suite is skipped (a library missing here); undefined runs it. */
  skip?: string;
  /** Tests to skip, each with its reason. */
  skipTests?: Partial<Record<TextRecognizerContractTest, string>>;
}

const normalized = (text: string) => text.replace(/\s+/g, ' ').trim();

function expectConfidence(result: RecognizedText): void {
  if (result.confidence === undefined) return;
  expect(result.confidence).toBeGreaterThanOrEqual(0);
  expect(result.confidence).toBeLessThanOrEqual(100);
}

/**
 * What every `TextRecognizer` must do, run by each engine's own test file.
 *
 * @example
 * textRecognizerContract({ name: 'tesseract.js', create: () => recognizer, image: () => sample });
 */
export function textRecognizerContract(options: TextRecognizerContractOptions): void {
  const test = (key: TextRecognizerContractTest, title: string, body: () => Promise<void>) => {
    const reason = options.skipTests?.[key];
    if (reason) it.skip(`${title} (skipped: ${reason})`, body);
    else it(title, body);
  };
  const suite = options.skip ? describe.skip : describe;

  suite(`TextRecognizer contract: ${options.name}${options.skip ? ` (skipped: ${options.skip})` : ''}`, () => {
    afterAll(async () => {
      await options.teardown?.();
    });

    test('describes-itself', 'names its engine', async () => {
      const recognizer = await options.create();
      expect(recognizer.provider.length).toBeGreaterThan(0);
    });

    test('image', 'reads the text of an image', async () => {
      const recognizer = await options.create();
      const { image, text } = await options.image();
      const result = await recognizer.recognizeText(image);
      expect(normalized(result.text)).toBe(normalized(text));
      expectConfidence(result);
    });

    test('not-an-image', 'rejects bytes that are not an image', async () => {
      const recognizer = await options.create();
      await expect(
        recognizer.recognizeText(new TextEncoder().encode('this is not an image at all')),
      ).rejects.toThrow();
    });

    test('abort', "stops on an aborted signal with the signal's reason", async () => {
      const recognizer = await options.create();
      const { image } = await options.image();
      const reason = new Error('stopped by the contract');
      await expect(recognizer.recognizeText(image, { signal: AbortSignal.abort(reason) })).rejects.toBe(
        reason,
      );
    });

    test('pdf-pages', 'reads the pages of a scanned PDF asked for, in the order asked', async () => {
      const recognizer = await options.create();
      if (!recognizer.recognizePdfPages) return;
      if (!options.scannedPdf) throw new Error('recognizePdfPages exists: give the contract a scannedPdf');
      const { pdf, pages } = await options.scannedPdf();
      const order = pages.map((_, index) => index + 1).reverse();
      const results: (RecognizedText & { page: number })[] = [];
      for await (const result of recognizer.recognizePdfPages(pdf, order)) results.push(result);
      expect(results.map((result) => result.page)).toEqual(order);
      for (const result of results) {
        expect(normalized(result.text)).toBe(normalized(pages[result.page - 1] ?? ''));
        expectConfidence(result);
      }
    });

    test(
      'image-pages',
      'counts the pages of a multi-page image and reads each, refusing a page it lacks',
      async () => {
        const recognizer = await options.create();
        if (!recognizer.countImagePages) return;
        if (!options.multiPageImage)
          throw new Error('countImagePages exists: give the contract a multiPageImage');
        const { image, pages } = await options.multiPageImage();
        expect(await recognizer.countImagePages(image)).toBe(pages.length);
        const single = await options.image();
        expect(await recognizer.countImagePages(single.image)).toBe(1);
        for (const [index, text] of [...pages.entries()].reverse()) {
          const result = await recognizer.recognizeText(image, { page: index + 1 });
          expect(normalized(result.text)).toBe(normalized(text));
        }
        await expect(recognizer.recognizeText(image, { page: pages.length + 1 })).rejects.toThrow();
      },
    );

    test('not-a-pdf', 'rejects bytes that are not a PDF, and pages the PDF lacks', async () => {
      const recognizer = await options.create();
      const recognizePdfPages = recognizer.recognizePdfPages?.bind(recognizer);
      if (!recognizePdfPages) return;
      const drain = async (pdf: Uint8Array, pages: number[]) => {
        for await (const _ of recognizePdfPages(pdf, pages));
      };
      await expect(drain(new TextEncoder().encode('%PDF-1.4 nonsense'), [1])).rejects.toThrow();
      if (!options.scannedPdf) return;
      const { pdf, pages } = await options.scannedPdf();
      await expect(drain(pdf, [pages.length + 1])).rejects.toThrow();
    });
  });
}

/**
 * A PDF whose pages are JPEG images and nothing else (no text layer), as a scanner makes them: one page
 * per image, the image filling a page of its own size at 72 DPI. For OCR tests.
 *
 * @example
 * const pdf = imageOnlyPdf([{ jpeg: canvas.toBuffer('image/jpeg'), width: 900, height: 120 }]);
 */
export function imageOnlyPdf(pages: { jpeg: Uint8Array; width: number; height: number }[]): Uint8Array {
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  const offsets: number[] = [];
  let length = 0;
  const push = (part: Uint8Array | string) => {
    const bytes = typeof part === 'string' ? encoder.encode(part) : part;
    parts.push(bytes);
    length += bytes.byteLength;
  };
  const object = (id: number, ...body: (Uint8Array | string)[]) => {
    offsets[id] = length;
    push(`${id} 0 obj\n`);
    for (const part of body) push(part);
    push('\nendobj\n');
  };
  // 1: catalog, 2: pages, then per page: the page, its content stream and its image.
  const pageIds = pages.map((_, index) => 3 + index * 3);
  push('%PDF-1.4\n');
  object(1, '<< /Type /Catalog /Pages 2 0 R >>');
  object(
    2,
    `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${pages.length} >>`,
  );
  for (const [index, { jpeg, width, height }] of pages.entries()) {
    const id = pageIds[index] as number;
    const content = `q ${width} 0 0 ${height} 0 0 cm /Im0 Do Q`;
    object(
      id,
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${width} ${height}] /Resources << /XObject << /Im0 ${id + 2} 0 R >> >> /Contents ${id + 1} 0 R >>`,
    );
    object(id + 1, `<< /Length ${content.length} >>\nstream\n${content}\nendstream`);
    object(
      id + 2,
      `<< /Type /XObject /Subtype /Image /Width ${width} /Height ${height} /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode /Length ${jpeg.byteLength} >>\nstream\n`,
      jpeg,
      '\nendstream',
    );
  }
  const count = 3 + pages.length * 3;
  const xref = length;
  push(`xref\n0 ${count}\n0000000000 65535 f \n`);
  for (let id = 1; id < count; id++) push(`${String(offsets[id]).padStart(10, '0')} 00000 n \n`);
  push(`trailer\n<< /Size ${count} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`);
  const pdf = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    pdf.set(part, at);
    at += part.byteLength;
  }
  return pdf;
}

/**
 * A baseline TIFF of 8-bit grayscale pages, uncompressed, one image file directory per page (a multi-page
 * TIFF, as a document scanner writes it). For OCR tests.
 *
 * @example
 * const tiff = grayscaleTiff([{ gray: pixels, width: 900, height: 120 }]);
 */
export function grayscaleTiff(pages: { gray: Uint8Array; width: number; height: number }[]): Uint8Array {
  const ENTRIES = 10;
  const ifdSize = 2 + ENTRIES * 12 + 4;
  const total = 8 + pages.reduce((sum, page) => sum + ifdSize + 16 + page.gray.byteLength, 0);
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  bytes.set([0x49, 0x49, 42, 0]); // little-endian, 42
  let at = 8;
  view.setUint32(4, at, true);
  for (const [index, { gray, width, height }] of pages.entries()) {
    if (gray.byteLength !== width * height) throw new Error('a page needs width × height gray bytes');
    const ifd = at;
    const resolution = ifd + ifdSize;
    const pixels = resolution + 16;
    const next = index + 1 < pages.length ? pixels + gray.byteLength : 0;
    // tag, type (3 SHORT, 4 LONG, 5 RATIONAL), value; in ascending tag order.
    const entries: [number, number, number][] = [
      [256, 4, width],
      [257, 4, height],
      [258, 3, 8], // bits per sample
      [259, 3, 1], // no compression
      [262, 3, 1], // black is zero
      [273, 4, pixels], // strip offset
      [278, 4, height], // rows per strip
      [279, 4, gray.byteLength], // strip byte count
      [282, 5, resolution], // x resolution
      [283, 5, resolution + 8], // y resolution
    ];
    view.setUint16(ifd, ENTRIES, true);
    for (const [entry, [tag, type, value]] of entries.entries()) {
      const slot = ifd + 2 + entry * 12;
      view.setUint16(slot, tag, true);
      view.setUint16(slot + 2, type, true);
      view.setUint32(slot + 4, 1, true);
      if (type === 3) view.setUint16(slot + 8, value, true);
      else view.setUint32(slot + 8, value, true);
    }
    view.setUint32(ifd + 2 + ENTRIES * 12, next, true);
    for (const offset of [resolution, resolution + 8]) {
      view.setUint32(offset, 200, true);
      view.setUint32(offset + 4, 1, true);
    }
    bytes.set(gray, pixels);
    at = pixels + gray.byteLength;
  }
  return bytes;
}
