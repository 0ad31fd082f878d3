import { ValidationError } from '@kaiwa/core';
import { createCanvas, loadImage } from '@napi-rs/canvas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStepHarness, runStep, type StepHarness } from '../test-support/step-harness.js';
import {
  findJapaneseFont,
  renderTextPng,
  renderTextTiff,
  writeTextPdf,
} from '../test-support/test-documents.js';
import { createOcrStep, type OcrStep } from './ocr-step.js';

let harness: StepHarness;
let ocr: OcrStep;

beforeAll(async () => {
  harness = await openStepHarness();
  // One worker for the whole file: starting one costs far more than reading a small image.
  ocr = createOcrStep({ maxWorkers: 1, maxPages: 3, maxPixels: 6_000_000 });
});

afterAll(async () => {
  await ocr?.close();
  await harness?.close();
});

async function putBlob(key: string, bytes: Buffer): Promise<string> {
  await harness.blobs.put(key, bytes);
  return key;
}

describe('ocr step', () => {
  it('reads an English sentence from a PNG', async () => {
    const key = await putBlob(
      'ocr/sentence.png',
      renderTextPng(['The quick brown fox jumps over the lazy dog']),
    );
    const output = await runStep(ocr, { key }, harness.context());
    expect(output.text).toBe('The quick brown fox jumps over the lazy dog');
    expect(output.pages).toEqual([{ page: 1, text: output.text, confidence: expect.any(Number) }]);
    expect(output.confidence).toBeGreaterThan(80);
  });

  it('reads a chat upload by file id, and WebP via PNG', async () => {
    const room = await harness.engine.createRoom(harness.admin.id, { kind: 'channel', name: 'scans' });
    const png = renderTextPng(['Uploaded receipt 7']);
    await putBlob('ocr/upload.png', png);
    const file = await harness.engine.createFileRecord(harness.admin.id, {
      name: 'receipt.png',
      mimeType: 'image/png',
      size: png.length,
      sha256: 'b'.repeat(64),
      storageKey: 'ocr/upload.png',
      roomId: room.id,
    });
    expect((await runStep(ocr, { fileId: file.id }, harness.context())).text).toBe('Uploaded receipt 7');

    const canvas = createCanvas(1, 1);
    const image = await loadImage(renderTextPng(['WebP scan 12']));
    canvas.width = image.width;
    canvas.height = image.height;
    canvas.getContext('2d').drawImage(image, 0, 0);
    const webp = await putBlob('ocr/scan.webp', canvas.toBuffer('image/webp'));
    expect((await runStep(ocr, { key: webp }, harness.context())).text).toBe('WebP scan 12');
  });

  it('shares its one worker between reads that come at once', async () => {
    const first = await putBlob('ocr/first.png', renderTextPng(['First invoice 100']));
    const second = await putBlob('ocr/second.png', renderTextPng(['Second invoice 200']));
    const [a, b] = await Promise.all([
      runStep(ocr, { key: first }, harness.context()),
      runStep(ocr, { key: second }, harness.context()),
    ]);
    expect([a.text, b.text]).toEqual(['First invoice 100', 'Second invoice 200']);
    expect(ocr.pool.size).toBe(1);
  });

  it('reads the pages of a PDF, or only the chosen ones', async () => {
    const pdf = writeTextPdf([['Page one says hello'], ['Second page total 42.00 EUR']]);
    const key = await putBlob('ocr/two-pages.pdf', pdf);
    const all = await runStep(ocr, { key }, harness.context());
    expect(all.pages.map((page) => page.page)).toEqual([1, 2]);
    expect(all.pages[0]?.text).toBe('Page one says hello');
    expect(all.pages[1]?.text).toBe('Second page total 42.00 EUR');
    expect(all.text).toBe('Page one says hello\n\nSecond page total 42.00 EUR');

    const second = await runStep(ocr, { key, pages: [2] }, harness.context());
    expect(second.pages.map((page) => page.page)).toEqual([2]);
    await expect(runStep(ocr, { key, pages: [3] }, harness.context())).rejects.toThrow(/only 2 pages/);
  });

  it('reads the pages of a multi-page TIFF like a PDF, within the page limit', async () => {
    const tiff = await renderTextTiff([['Fax cover sheet'], ['Order 7 ships Monday']]);
    const key = await putBlob('ocr/fax.tiff', Buffer.from(tiff));
    const all = await runStep(ocr, { key }, harness.context());
    expect(all.pages.map((page) => [page.page, page.text])).toEqual([
      [1, 'Fax cover sheet'],
      [2, 'Order 7 ships Monday'],
    ]);
    const second = await runStep(ocr, { key, pages: [2] }, harness.context());
    expect(second.text).toBe('Order 7 ships Monday');
    await expect(runStep(ocr, { key, pages: [3] }, harness.context())).rejects.toThrow(/only 2 pages/);
    const long = await putBlob(
      'ocr/long-fax.tiff',
      Buffer.from(await renderTextTiff([['one'], ['two'], ['three'], ['four']])),
    );
    await expect(runStep(ocr, { key: long }, harness.context())).rejects.toThrow(/at most 3 are read/);
  });

  it('reads Japanese with the jpn data', async (test) => {
    const family = findJapaneseFont();
    if (!family) {
      test.skip(
        'no Japanese font installed (fc-list :lang=ja is empty); install fonts-ipafont-gothic to run it',
      );
      return;
    }
    const key = await putBlob(
      'ocr/japanese.png',
      renderTextPng(['請求書の合計金額'], { font: family, size: 40 }),
    );
    const output = await runStep(ocr, { key, languages: ['jpn'] }, harness.context());
    expect(output.text.replace(/\s+/g, '')).toContain('請求書');
  });

  it('refuses files over the page and pixel limits, and files that are not images', async () => {
    const many = await putBlob('ocr/many.pdf', writeTextPdf([['a'], ['b'], ['c'], ['d']]));
    const pages = await runStep(ocr, { key: many }, harness.context()).catch((error: unknown) => error);
    expect(pages).toBeInstanceOf(ValidationError);
    expect((pages as ValidationError).issues[0]?.path).toEqual(['pages']);

    const big = await putBlob('ocr/big.png', renderTextPng(['x'], { width: 4_000, size: 1_000 }));
    await expect(runStep(ocr, { key: big }, harness.context())).rejects.toThrow(/over the limit of 6000000/);

    const dpi = await runStep(ocr, { key: many, pages: [1], dpi: 600 }, harness.context()).catch(
      (error) => error,
    );
    expect((dpi as ValidationError).issues[0]?.path).toEqual(['dpi']);

    const text = await putBlob('ocr/notes.txt', Buffer.from('plain text'));
    await expect(runStep(ocr, { key: text }, harness.context())).rejects.toThrow(/cannot read text from/);
  });

  it('rejects bad input naming the field', async () => {
    expect(() => ocr.input.parse({ key: 'a', languages: ['fra'] })).toThrow();
    await expect(
      runStep(ocr, { key: 'a', fileId: '01JDQ6R0Q7ZK4M3B8Y2V5N1C9X' }, harness.context()),
    ).rejects.toThrow(/either key or fileId/);
  });

  it('stops when the signal aborts and ends the busy worker', async () => {
    const key = await putBlob('ocr/abort.png', renderTextPng(['Abort me please', 'and this line too']));
    const controller = new AbortController();
    const running = runStep(ocr, { key }, harness.context({ signal: controller.signal }));
    setTimeout(() => controller.abort(new Error('cancelled by test')), 5);
    await expect(running).rejects.toThrow('cancelled by test');
    // The pool still works afterwards with a fresh worker.
    const again = await runStep(ocr, { key }, harness.context());
    expect(again.text).toContain('Abort me please');
  });

  it('ends its workers on close', async () => {
    const own = createOcrStep();
    const key = await putBlob('ocr/close.png', renderTextPng(['Closing time']));
    expect((await runStep(own, { key }, harness.context())).text).toBe('Closing time');
    expect(own.pool.size).toBe(1);
    await own.close();
    expect(own.pool.size).toBe(0);
    await expect(runStep(own, { key }, harness.context())).rejects.toThrow(/closed/);
  });
});
