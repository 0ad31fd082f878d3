import { describe, expect, it } from 'vitest';
import { ExtractionError, extractText } from './extract-text.js';
import { tinyDocx, tinyPdf } from './test-documents.js';

const text = (value: string) => new TextEncoder().encode(value);

describe('extractText', () => {
  it('reads plain text and Markdown as they are', async () => {
    expect(await extractText(text('会議の議事録'), 'text/plain; charset=utf-8')).toEqual({
      format: 'text',
      parts: [{ text: '会議の議事録' }],
    });
    expect((await extractText(text('# Title\n\nBody'), 'text/markdown')).format).toBe('markdown');
  });

  it('turns HTML into text with Markdown headings, without scripts or link targets', async () => {
    const { format, parts } = await extractText(
      text('<h1>Backups</h1><p>Run <a href="https://x.test">the job</a> nightly.</p><script>evil()</script>'),
      'text/html',
    );
    expect(format).toBe('markdown');
    expect(parts[0]?.text).toContain('# Backups');
    expect(parts[0]?.text).toContain('Run the job nightly.');
    expect(parts[0]?.text).not.toContain('x.test');
    expect(parts[0]?.text).not.toContain('evil');
  });

  it('reads a PDF page by page', async () => {
    const { parts } = await extractText(tinyPdf(['First page text', 'Second page text']), 'application/pdf');
    expect(parts.map((part) => ({ page: part.page, text: part.text.trim() }))).toEqual([
      { page: 1, text: 'First page text' },
      { page: 2, text: 'Second page text' },
    ]);
  });

  it('reads a DOCX', async () => {
    const { parts } = await extractText(
      tinyDocx(['Quarterly report', 'Revenue grew.']),
      'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    );
    expect(parts[0]?.text).toContain('Quarterly report');
    expect(parts[0]?.text).toContain('Revenue grew.');
  });

  it('gives a typed error for damaged, unsupported and oversized documents', async () => {
    const failure = (promise: Promise<unknown>) =>
      promise.then(
        () => undefined,
        (error: unknown) => (ExtractionError.isInstance(error) ? error.code : error),
      );
    expect(await failure(extractText(text('%PDF-1.4 garbage'), 'application/pdf'))).toBe('unreadable');
    expect(
      await failure(
        extractText(
          text('not a zip'),
          'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
        ),
      ),
    ).toBe('unreadable');
    expect(await failure(extractText(new Uint8Array([0xff, 0xfe, 0x00]), 'text/plain'))).toBe('unreadable');
    expect(await failure(extractText(text('x'), 'application/zip'))).toBe('unsupported_type');
    // Images need OCR (ocr-ingestion.test.ts reads them with it).
    expect(await failure(extractText(text('x'), 'image/png'))).toBe('ocr_unavailable');
    expect(await failure(extractText(text('xxxx'), 'text/plain', { maxBytes: 3 }))).toBe('too_large');
  });
});
