import { describe, expect, it } from 'vitest';
import { contentDisposition } from './content-disposition.js';

describe('contentDisposition', () => {
  it('keeps plain ASCII names as they are', () => {
    expect(contentDisposition('attachment', 'report-2026.pdf')).toBe(
      'attachment; filename="report-2026.pdf"',
    );
    expect(contentDisposition('inline', 'a b.png')).toBe('inline; filename="a b.png"');
  });

  it('adds filename* in UTF-8 for non-ASCII names, with an ASCII fallback', () => {
    expect(contentDisposition('attachment', '報告書.pdf')).toBe(
      'attachment; filename="___.pdf"; filename*=UTF-8\'\'%E5%A0%B1%E5%91%8A%E6%9B%B8.pdf',
    );
    // Accents fold to their base letters in the fallback.
    expect(contentDisposition('attachment', 'café.txt')).toBe(
      'attachment; filename="cafe.txt"; filename*=UTF-8\'\'caf%C3%A9.txt',
    );
  });

  it('neutralises quotes, backslashes, percent signs, CR and LF', () => {
    const header = contentDisposition('attachment', 'evil"\r\nSet-Cookie: x=1\\%41.txt');
    expect(header).not.toMatch(/[\r\n]/);
    expect(header).toBe(
      'attachment; filename="evil_Set-Cookie: x=1__41.txt"; filename*=UTF-8\'\'evil%22Set-Cookie%3A%20x%3D1%5C%2541.txt',
    );
    // Only the leading quote of the value and its closing quote remain.
    expect(header.split('filename*')[0]!.match(/"/g)).toHaveLength(2);
  });

  it("percent-encodes what RFC 5987 does not allow bare, such as ' ( ) *", () => {
    expect(contentDisposition('attachment', "it's (1)*.txt")).toBe('attachment; filename="it\'s (1)*.txt"');
    expect(contentDisposition('attachment', "日本's.txt")).toContain(
      "filename*=UTF-8''%E6%97%A5%E6%9C%AC%27s.txt",
    );
  });
});
