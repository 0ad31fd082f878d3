import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isInlineImage, isTypeAllowed, safeFileName, UploadInspector } from './upload-inspector.js';

async function inspect(...chunks: Buffer[]) {
  const inspector = new UploadInspector();
  for (const chunk of chunks) inspector.update(chunk);
  return inspector.finish();
}

describe('UploadInspector', () => {
  it('hashes and counts across chunks', async () => {
    const facts = await inspect(Buffer.from('hello '), Buffer.from('world'));
    expect(facts).toEqual({
      size: 11,
      sha256: createHash('sha256').update('hello world').digest('hex'),
      mimeType: 'text/plain',
    });
  });

  it('accepts UTF-8 text whose characters are split between chunks', async () => {
    const bytes = Buffer.from('日本語のテキスト');
    expect((await inspect(bytes.subarray(0, 4), bytes.subarray(4))).mimeType).toBe('text/plain');
  });

  it('refuses text with NULs, invalid UTF-8, a cut-off character, or no bytes at all', async () => {
    expect((await inspect(Buffer.from('a\u0000b'))).mimeType).toBe('application/octet-stream');
    expect((await inspect(Buffer.from([0xc3, 0x28]))).mimeType).toBe('application/octet-stream');
    expect((await inspect(Buffer.from('日本').subarray(0, 4))).mimeType).toBe('application/octet-stream');
    expect((await inspect()).mimeType).toBe('application/octet-stream');
  });

  it('detects types by magic bytes, whatever the text around them', async () => {
    const gif = Buffer.from('GIF89a\u0001\u0000\u0001\u0000\u0000\u0000\u0000;', 'latin1');
    expect((await inspect(gif)).mimeType).toBe('image/gif');
  });
});

describe('isTypeAllowed', () => {
  it('matches exact types and wildcards', () => {
    expect(isTypeAllowed('image/png', ['image/*'])).toBe(true);
    expect(isTypeAllowed('image/png', ['image/jpeg'])).toBe(false);
    expect(isTypeAllowed('application/pdf', ['application/pdf'])).toBe(true);
    expect(isTypeAllowed('application/x-msdownload', ['image/*', 'text/plain'])).toBe(false);
    expect(isTypeAllowed('anything/at-all', ['*/*'])).toBe(true);
  });

  it('shows only raster images inline', () => {
    expect(isInlineImage('image/png')).toBe(true);
    expect(isInlineImage('image/svg+xml')).toBe(false);
    expect(isInlineImage('application/pdf')).toBe(false);
  });
});

describe('safeFileName', () => {
  it('keeps the last path segment without control or direction characters', () => {
    expect(safeFileName('../../etc/passwd')).toBe('passwd');
    expect(safeFileName('C:\\Users\\me\\doc.txt')).toBe('doc.txt');
    expect(safeFileName('invoice\u202Efdp.exe')).toBe('invoicefdp.exe');
    expect(safeFileName('tab\there.txt')).toBe('tabhere.txt');
    expect(safeFileName('  spaced.txt  ')).toBe('spaced.txt');
  });

  it('falls back to "file" for names that are nothing', () => {
    for (const name of [undefined, '', '.', '..', '/', 'dir/', '\u0000'])
      expect(safeFileName(name)).toBe('file');
  });

  it('shortens long names to 255 characters, keeping the extension and whole characters', () => {
    const long = safeFileName(`${'😀'.repeat(200)}.jpeg`);
    expect(long.length).toBeLessThanOrEqual(255);
    expect(long.endsWith('.jpeg')).toBe(true);
    expect(long).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
  });
});
