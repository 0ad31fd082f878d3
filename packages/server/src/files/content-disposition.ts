/*
 * Content-Disposition per RFC 6266 with the RFC 5987 `filename*` parameter: browsers that know it use the
 * exact UTF-8 name, older ones the ASCII fallback. Neither can break out of the header: quotes, backslashes,
 * CR, LF and other control characters never reach it unescaped.
 */

/** Characters RFC 5987 allows unencoded in `filename*` (attr-char). */
const ATTRIBUTE_CHARACTER = /[A-Za-z0-9!#$&+.^_`|~-]/;

/** Percent-encodes a name for `filename*=UTF-8''…`. */
function encodeExtendedValue(name: string): string {
  let encoded = '';
  for (const byte of Buffer.from(name, 'utf8')) {
    const character = String.fromCharCode(byte);
    encoded +=
      byte < 0x80 && ATTRIBUTE_CHARACTER.test(character)
        ? character
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return encoded;
}

/** An ASCII stand-in: non-ASCII, quotes, backslashes, `%` and control characters become `_`. */
function asciiFallback(name: string): string {
  const fallback = name
    .normalize('NFKD')
    .replace(/[\p{M}]/gu, '')
    .replace(/[^\x20-\x7e]|["\\%]/g, '_');
  return fallback.trim().length > 0 ? fallback : 'download';
}

/**
 * The Content-Disposition value for a download.
 *
 * @example contentDisposition('attachment', '報告書.pdf')
 * // attachment; filename="___.pdf"; filename*=UTF-8''%E5%A0%B1%E5%91%8A%E6%9B%B8.pdf
 */
export function contentDisposition(type: 'inline' | 'attachment', fileName: string): string {
  const name = fileName.replace(/[\p{Cc}]/gu, '');
  const fallback = asciiFallback(name);
  const header = `${type}; filename="${fallback}"`;
  return fallback === name ? header : `${header}; filename*=UTF-8''${encodeExtendedValue(name)}`;
}
