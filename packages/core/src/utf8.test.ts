import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fitsUtf8Bytes, utf8ByteLength } from './utf8.js';

describe('utf8ByteLength', () => {
  it.each([
    ['', 0],
    ['hello', 5],
    ['é', 2],
    ['こんにちは', 15],
    ['😀', 4],
    ['a\ud800b', 5],
    ['\udc00\ud800', 6],
    ['\ud83d', 3],
  ])('counts %j as %i bytes', (text, bytes) => {
    expect(utf8ByteLength(text)).toBe(bytes);
  });

  it('agrees with TextEncoder on any string, lone surrogates included', () => {
    const encoder = new TextEncoder();
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        expect(utf8ByteLength(text)).toBe(encoder.encode(text).byteLength);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(
        fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) }),
        (text) => {
          expect(utf8ByteLength(text)).toBe(encoder.encode(text).byteLength);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('decides a byte limit like counting does, at the edges too', () => {
    expect(fitsUtf8Bytes('x'.repeat(10), 10)).toBe(true);
    expect(fitsUtf8Bytes('x'.repeat(11), 10)).toBe(false);
    expect(fitsUtf8Bytes('é'.repeat(5), 10)).toBe(true);
    expect(fitsUtf8Bytes('éééééx', 10)).toBe(false);
    expect(fitsUtf8Bytes('😀😀', 8)).toBe(true);
    expect(fitsUtf8Bytes('😀😀', 7)).toBe(false);
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), fc.nat(120), (text, maxBytes) => {
        expect(fitsUtf8Bytes(text, maxBytes)).toBe(new TextEncoder().encode(text).byteLength <= maxBytes);
      }),
      { numRuns: 2000 },
    );
  });
});
