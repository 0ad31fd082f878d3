/**
 * The length of `text` in UTF-8 bytes, without encoding it (and without Node's `Buffer`): 1 byte below
 * U+0080, 2 below U+0800, 4 for a surrogate pair, 3 otherwise — a lone surrogate counts 3, the U+FFFD it
 * would be encoded as, as `Buffer.byteLength` and `TextEncoder` do.
 *
 * @example utf8ByteLength('こんにちは') // 15
 */
export function utf8ByteLength(text: string): number {
  const length = text.length;
  let bytes = length;
  for (let index = 0; index < length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x80) continue;
    if (code < 0x800) {
      bytes += 1;
      continue;
    }
    if (code <= 0xdbff && code >= 0xd800 && index + 1 < length) {
      const next = text.charCodeAt(index + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        // A surrogate pair: two UTF-16 units, four bytes.
        bytes += 2;
        index++;
        continue;
      }
    }
    bytes += 2;
  }
  return bytes;
}

/**
 * Whether `text` takes at most `maxBytes` bytes of UTF-8. Every UTF-16 unit is 1 to 3 bytes, so most texts
 * are decided by their length alone and only those in between are counted.
 */
export function fitsUtf8Bytes(text: string, maxBytes: number): boolean {
  if (text.length > maxBytes) return false;
  if (text.length * 3 <= maxBytes) return true;
  return utf8ByteLength(text) <= maxBytes;
}
