import { imageOnlyPdf, textRecognizerContract } from '@kaiwa/core/testing';
import { createCanvas, loadImage } from '@napi-rs/canvas';
import { afterAll, expect, it } from 'vitest';
import { renderTextPng, renderTextTiff } from '../test-support/test-documents.js';
import { missingOcrLanguages } from './language-data.js';
import { renderPdfPages } from './pdf-pages.js';
import { createTesseractTextRecognizer } from './tesseract-text-recognizer.js';

// One worker for the whole file: starting one costs far more than reading a small image.
const recognizer = createTesseractTextRecognizer({ maxWorkers: 1, maxPixels: 6_000_000 });
// After the contract and the tests below, which share its worker.
afterAll(() => recognizer.close());

async function jpegOf(png: Buffer): Promise<{ jpeg: Uint8Array; width: number; height: number }> {
  const image = await loadImage(png);
  const canvas = createCanvas(image.width, image.height);
  canvas.getContext('2d').drawImage(image, 0, 0);
  return { jpeg: canvas.toBuffer('image/jpeg', 95), width: image.width, height: image.height };
}

textRecognizerContract({
  name: 'tesseract.js',
  create: () => recognizer,
  image: () => ({ image: renderTextPng(['Invoice number 4711 is due']), text: 'Invoice number 4711 is due' }),
  scannedPdf: async () => {
    const pages = ['Scanned page one', 'Second scanned page'];
    return {
      pdf: imageOnlyPdf(await Promise.all(pages.map((text) => jpegOf(renderTextPng([text]))))),
      pages,
    };
  },
  multiPageImage: async () => {
    const pages = ['First page of the fax', 'Second page of the fax'];
    return { image: await renderTextTiff(pages.map((text) => [text])), pages };
  },
});

it('refuses an image over its pixel limit, naming the limit', async () => {
  await expect(recognizer.recognizeText(renderTextPng(['x'], { width: 4_000, size: 1_000 }))).rejects.toThrow(
    /over the limit of 6000000/,
  );
});

it('reads a single-page TIFF, and refuses one over its pixel limit', async () => {
  const tiff = await renderTextTiff([['Delivery note for pallet 12']]);
  expect((await recognizer.recognizeText(tiff)).text).toBe('Delivery note for pallet 12');
  const small = createTesseractTextRecognizer({ pool: recognizer.pool, maxPixels: 10_000 });
  await expect(small.recognizeText(tiff)).rejects.toThrow(/over the limit of 10000/);
  await expect(recognizer.recognizeText(Buffer.from('II*\0 not really a TIFF'))).rejects.toThrow(
    /not a readable image\/tiff image/,
  );
});

it('knows which languages have trained data installed, and refuses the others', () => {
  expect(missingOcrLanguages(['eng', 'jpn'])).toEqual([]);
  expect(missingOcrLanguages(['eng', 'xqz', '../eng'])).toEqual(['xqz', '../eng']);
  expect(() => createTesseractTextRecognizer({ languages: ['eng', 'xqz'] })).toThrow(
    /no trained data is installed for xqz/,
  );
});

it('renders PDF pages with the renderer it is given', async () => {
  const asked: number[] = [];
  const withRenderer = createTesseractTextRecognizer({
    pool: recognizer.pool,
    // The in-process renderer behind a function, as a server puts its child-process renderer there.
    renderPdfPage: async (pdf, page, { dpi, maxPixels }) => {
      asked.push(page);
      for await (const rendered of renderPdfPages(pdf, { pages: [page], dpi, maxPages: 1, maxPixels }))
        return rendered.png;
      throw new Error('no page');
    },
  });
  const pdf = imageOnlyPdf([await jpegOf(renderTextPng(['Rendered elsewhere']))]);
  const pages = [];
  expect(withRenderer.recognizePdfPages).toBeDefined();
  for await (const page of withRenderer.recognizePdfPages?.(pdf, [1]) ?? []) pages.push(page);
  expect(asked).toEqual([1]);
  expect(pages).toEqual([expect.objectContaining({ page: 1, text: 'Rendered elsewhere' })]);
});
