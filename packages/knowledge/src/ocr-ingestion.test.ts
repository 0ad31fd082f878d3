import { createHash } from 'node:crypto';
import { ChatEngine, type FileRecord, type User } from '@kaiwa/core';
import { createSqliteStore, type KyselyChatStore } from '@kaiwa/store-kysely';
import { createTesseractTextRecognizer, type TesseractTextRecognizer } from '@kaiwa/workflow-steps';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExtractionError } from './extract-text.js';
import { createHashedNgramTestEmbedding } from './hashed-ngram-test-embedding.js';
import { KnowledgeBase } from './knowledge-base.js';
import { scannedPdf, textImage, textTiff, tinyPdf } from './test-documents.js';

/*
 * Images and scanned PDFs through real OCR (tesseract.js with its offline English data), on images and
 * image-only PDFs the tests draw themselves.
 */
describe('KnowledgeBase with OCR', () => {
  let store: KyselyChatStore;
  let engine: ChatEngine;
  let recognizer: TesseractTextRecognizer;
  let withOcr: KnowledgeBase;
  let withoutOcr: KnowledgeBase;
  let admin: User;
  let roomId: string;

  async function fileOf(name: string, mimeType: string, bytes: Uint8Array): Promise<FileRecord> {
    return engine.createFileRecord(admin.id, {
      name,
      mimeType,
      size: bytes.byteLength,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      storageKey: `files/${name}`,
      roomId,
    });
  }

  async function failure(promise: Promise<unknown>): Promise<ExtractionError> {
    const error = await promise.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    if (!ExtractionError.isInstance(error))
      throw new Error(`expected an ExtractionError, got ${String(error)}`);
    return error;
  }

  beforeAll(async () => {
    store = await createSqliteStore({ filename: ':memory:' });
    await store.migrate();
    engine = new ChatEngine({ store });
    admin = await engine.createUser({ username: 'admin', role: 'admin' });
    roomId = (await engine.createRoom(admin.id, { kind: 'channel', name: 'scans' })).id;
    // One worker for the whole file: starting one costs far more than reading a small image.
    recognizer = createTesseractTextRecognizer({ maxWorkers: 1, maxPixels: 6_000_000 });
    const embedder = createHashedNgramTestEmbedding({ dimensions: 128 });
    withOcr = await KnowledgeBase.open({
      chat: engine,
      vectors: store.knowledge,
      embedder,
      index: 'knowledge-ocr',
      textRecognizer: recognizer,
      ocrLimits: { maxPages: 2 },
    });
    withoutOcr = await KnowledgeBase.open({
      chat: engine,
      vectors: store.knowledge,
      embedder,
      index: 'knowledge-plain',
    });
  });

  afterAll(async () => {
    await recognizer?.close();
    engine?.close();
    await store?.close();
  });

  it('indexes a PNG, a JPEG and a WebP by their text, and finds each by a word in it', async () => {
    const images = [
      { name: 'warranty.png', type: 'image/png', line: 'Warranty expires in October' },
      { name: 'parking.jpg', type: 'image/jpeg', line: 'Parking permit for the east garage' },
      { name: 'menu.webp', type: 'image/webp', line: 'Cafeteria serves pancakes on Friday' },
    ] as const;
    const files = new Map<string, FileRecord>();
    for (const image of images) {
      const file = await fileOf(image.name, image.type, textImage([image.line], image.type));
      expect(await withOcr.indexFile(file, textImage([image.line], image.type))).toBe(1);
      files.set(image.name, file);
    }
    for (const [query, name, word] of [
      ['When does the warranty expire?', 'warranty.png', 'Warranty'],
      ['parking permit garage', 'parking.jpg', 'garage'],
      ['pancakes in the cafeteria', 'menu.webp', 'pancakes'],
    ] as const) {
      const [top] = await withOcr.retrieve({ actorId: admin.id, query, k: 3 });
      expect(top?.source).toMatchObject({ type: 'file', fileId: files.get(name)?.id, roomId, page: null });
      expect(top?.text).toContain(word);
    }
  });

  it('reads the pages of a scanned PDF, and cites the page a word is on', async () => {
    const pdf = scannedPdf([['Minutes of the harbour meeting'], ['The lighthouse budget is approved']]);
    const file = await fileOf('harbour-scan.pdf', 'application/pdf', pdf);
    expect(await withOcr.indexFile(file, pdf)).toBe(2);
    const [top] = await withOcr.retrieve({ actorId: admin.id, query: 'lighthouse budget', k: 3 });
    expect(top?.source).toMatchObject({ type: 'file', fileId: file.id, page: 2 });
    expect(top?.text).toContain('lighthouse budget');
    const [first] = await withOcr.retrieve({ actorId: admin.id, query: 'harbour meeting minutes', k: 3 });
    expect(first?.source).toMatchObject({ type: 'file', fileId: file.id, page: 1 });
  });

  it('reads a TIFF, a multi-page one page by page citing each page, and refuses one over the page limit', async () => {
    const single = textTiff([['Fire extinguisher checked in May']]);
    const one = await fileOf('extinguisher.tiff', 'image/tiff', single);
    expect(await withOcr.indexFile(one, single)).toBe(1);
    const [found] = await withOcr.retrieve({ actorId: admin.id, query: 'fire extinguisher', k: 3 });
    expect(found?.source).toMatchObject({ type: 'file', fileId: one.id, page: null });
    expect(found?.text).toContain('extinguisher checked');

    const fax = textTiff([['Fax from the quarry office'], ['Gravel delivery moved to Thursday']]);
    const file = await fileOf('quarry-fax.tif', 'image/tiff', fax);
    expect(await withOcr.indexFile(file, fax)).toBe(2);
    const [top] = await withOcr.retrieve({ actorId: admin.id, query: 'gravel delivery Thursday', k: 3 });
    expect(top?.source).toMatchObject({ type: 'file', fileId: file.id, page: 2 });
    expect(top?.text).toContain('Gravel delivery');
    const [first] = await withOcr.retrieve({ actorId: admin.id, query: 'quarry office fax', k: 3 });
    expect(first?.source).toMatchObject({ type: 'file', fileId: file.id, page: 1 });

    const before = await withOcr.chunkCount();
    const long = textTiff([['one'], ['two'], ['three']]);
    const error = await failure(withOcr.indexFile(await fileOf('long.tiff', 'image/tiff', long), long));
    expect(error.code).toBe('too_large');
    expect(error.message).toMatch(/^long\.tiff: the image has 3 pages .*over the limit of 2/);
    expect(await withOcr.chunkCount()).toBe(before);
  });

  it('reads a PDF with a text layer without OCR, even past the OCR page limit', async () => {
    const pdf = tinyPdf(['Alpha typed page', 'Beta typed page', 'Gamma typed page']);
    const file = await fileOf('typed.pdf', 'application/pdf', pdf);
    expect(await withOcr.indexFile(file, pdf)).toBe(3);
  });

  it('refuses a scan over the page limit, a bad image and OCR past its deadline, naming the file and indexing none of it', async () => {
    const before = await withOcr.chunkCount();
    const long = scannedPdf([['one'], ['two'], ['three']]);
    const tooLong = await failure(
      withOcr.indexFile(await fileOf('long-scan.pdf', 'application/pdf', long), long),
    );
    expect(tooLong.code).toBe('too_large');
    expect(tooLong.message).toMatch(/^long-scan\.pdf: .*3 pages .*over the limit of 2/);

    const garbage = new TextEncoder().encode('not a PNG at all');
    const bad = await failure(withOcr.indexFile(await fileOf('broken.png', 'image/png', garbage), garbage));
    expect(bad.code).toBe('unreadable');
    expect(bad.message).toMatch(/^broken\.png: /);

    const huge = textImage(['x'.repeat(10)]);
    const file = await fileOf('slow.png', 'image/png', huge);
    const hurried = await KnowledgeBase.open({
      chat: engine,
      vectors: store.knowledge,
      embedder: createHashedNgramTestEmbedding({ dimensions: 128 }),
      index: 'knowledge-ocr',
      textRecognizer: recognizer,
      ocrLimits: { pageTimeoutMs: 1 },
    });
    const late = await failure(hurried.indexFile(file, huge));
    expect(late.code).toBe('timeout');
    expect(late.message).toMatch(/^slow\.png: OCR of the image took longer than 1 ms/);
    expect(await withOcr.chunkCount()).toBe(before);
  });

  it('keeps what was indexed of a file when reading its new bytes fails', async () => {
    const good = textImage(['Boiler inspection passed in March']);
    const file = await fileOf('inspection.png', 'image/png', good);
    await withOcr.indexFile(file, good);
    const count = await withOcr.chunkCount();
    await failure(withOcr.indexFile(file, new TextEncoder().encode('damaged')));
    expect(await withOcr.chunkCount()).toBe(count);
    const [top] = await withOcr.retrieve({ actorId: admin.id, query: 'boiler inspection', k: 3 });
    expect(top?.source).toMatchObject({ fileId: file.id });
  });

  it('without OCR, refuses images and scans as ocr_unavailable and still reads typed PDFs', async () => {
    const png = textImage(['Nobody reads this']);
    const image = await failure(withoutOcr.indexFile(await fileOf('unread.png', 'image/png', png), png));
    expect(image.code).toBe('ocr_unavailable');
    expect(image.message).toMatch(/^unread\.png: no OCR is configured/);

    const scan = scannedPdf([['Nobody reads this either']]);
    const pdf = await failure(
      withoutOcr.indexFile(await fileOf('unread.pdf', 'application/pdf', scan), scan),
    );
    expect(pdf.code).toBe('ocr_unavailable');
    expect(await withoutOcr.chunkCount()).toBe(0);

    const typed = tinyPdf(['Typed text needs no OCR']);
    expect(await withoutOcr.indexFile(await fileOf('typed-plain.pdf', 'application/pdf', typed), typed)).toBe(
      1,
    );
  });
});
