import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  isInlineImage,
  isTypeAllowed,
  nameMatchingType,
  safeFileName,
  UploadInspector,
} from './upload-inspector.js';

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
      extension: 'txt',
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
    expect(await inspect(gif)).toMatchObject({ mimeType: 'image/gif', extension: 'gif' });
    expect((await inspect(Buffer.from([0, 1, 2]))).extension).toBeUndefined();
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

describe('nameMatchingType', () => {
  const png = { mimeType: 'image/png', extension: 'png' };
  const text = { mimeType: 'text/plain', extension: 'txt' };

  it("appends the detected type's extension to a name that claims another type", () => {
    expect(nameMatchingType('poly.html', png)).toBe('poly.html.png');
    expect(nameMatchingType('cat.jpg', png)).toBe('cat.jpg.png');
    expect(nameMatchingType('page.html', text)).toBe('page.html.txt');
    expect(nameMatchingType('image.svg', text)).toBe('image.svg.txt');
    expect(nameMatchingType('run.js', text)).toBe('run.js.txt');
    expect(nameMatchingType('report.pdf', { mimeType: 'application/zip', extension: 'zip' })).toBe(
      'report.pdf.zip',
    );
  });

  it('reads the extension as Windows does: trailing dots and spaces do not hide it', () => {
    expect(nameMatchingType('poly.html.', png)).toBe('poly.html.png');
    expect(nameMatchingType('poly.html . ', png)).toBe('poly.html.png');
  });

  it("keeps names whose extension is one of the type's, in any case", () => {
    expect(nameMatchingType('pixel.png', png)).toBe('pixel.png');
    expect(nameMatchingType('PIXEL.PNG', png)).toBe('PIXEL.PNG');
    expect(nameMatchingType('photo.JPEG', { mimeType: 'image/jpeg', extension: 'jpg' })).toBe('photo.JPEG');
    expect(nameMatchingType('notes.md', text)).toBe('notes.md');
    expect(nameMatchingType('data.csv', text)).toBe('data.csv');
    expect(nameMatchingType('main.py', text)).toBe('main.py');
  });

  it('leaves names that claim nothing, and unknown bytes, as they are', () => {
    expect(nameMatchingType('README', text)).toBe('README');
    expect(nameMatchingType('.bashrc', text)).toBe('.bashrc');
    expect(nameMatchingType('screenshot', png)).toBe('screenshot');
    expect(
      nameMatchingType('blob.html', { mimeType: 'application/octet-stream', extension: undefined }),
    ).toBe('blob.html');
  });

  it('stays within 255 characters, shortening the old name and never cutting a character in half', () => {
    const name = nameMatchingType(`${'😀'.repeat(126)}.html`, png);
    expect(name.length).toBeLessThanOrEqual(255);
    expect(name.endsWith('.png')).toBe(true);
    expect(name).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
  });
});
