/**
 * The length of `text` in UTF-8 bytes, without encoding it (and without Node's `Buffer`): 1 byte below
 * U+0080, 2 below U+0800, 4 for a surrogate pair, 3 otherwise — a lone surrogate counts 3, the U+FFFD it
 * would be encoded as, as `Buffer.byteLength` and `TextEncoder` do.
 *
 * @example utf8ByteLength('こんにちは') // 15
 */
export function utf8ByteLength(text: string): number {
  let bytes = text.length;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code < 0x80) continue;
    if (code < 0x800) {
      bytes += 1;
    } else if (code >= 0xd800 && code <= 0xdbff && isLowSurrogate(text.charCodeAt(index + 1))) {
      // Two UTF-16 units, four bytes.
      bytes += 2;
      index += 1;
    } else {
      bytes += 2;
    }
  }
  return bytes;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
