import { imageOnlyPdf, textRecognizerContract } from '@kaiwa/core/testing';
import { createCanvas, loadImage } from '@napi-rs/canvas';
import { expect, it } from 'vitest';
import { renderTextPng } from '../test-support/test-documents.js';
import { createTesseractTextRecognizer } from './tesseract-text-recognizer.js';

// One worker for the whole file: starting one costs far more than reading a small image.
const recognizer = createTesseractTextRecognizer({ maxWorkers: 1, maxPixels: 6_000_000 });

async function jpegOf(png: Buffer): Promise<{ jpeg: Uint8Array; width: number; height: number }> {
  const image = await loadImage(png);
  const canvas = createCanvas(image.width, image.height);
  canvas.getContext('2d').drawImage(image, 0, 0);
  return { jpeg: canvas.toBuffer('image/jpeg', 95), width: image.width, height: image.height };
}

textRecognizerContract({
  name: 'tesseract.js',
  create: () => recognizer,
  teardown: () => recognizer.close(),
  image: () => ({ image: renderTextPng(['Invoice number 4711 is due']), text: 'Invoice number 4711 is due' }),
  scannedPdf: async () => {
    const pages = ['Scanned page one', 'Second scanned page'];
    return {
      pdf: imageOnlyPdf(await Promise.all(pages.map((text) => jpegOf(renderTextPng([text]))))),
      pages,
    };
  },
});

it('refuses an image over its pixel limit, naming the limit', async () => {
  await expect(recognizer.recognizeText(renderTextPng(['x'], { width: 4_000, size: 1_000 }))).rejects.toThrow(
    /over the limit of 6000000/,
  );
});
