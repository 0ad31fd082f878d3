import { describe, expect, it } from 'vitest';
import { segmentGraphemes } from './graphemes.js';

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const reference = (text: string) => Array.from(segmenter.segment(text), (part) => part.segment);

describe('segmentGraphemes', () => {
  it('gives the same clusters as one Intl.Segmenter pass, across window edges', () => {
    const pieces = ['a', 'é', 'e\u0301', '👍🏽', '👨‍👩‍👧‍👦', '🇯🇵', '会話', '\r\n', 'ก่', ' '];
    let text = '';
    for (let index = 0; text.length < 9_000; index++) text += pieces[(index * 7) % pieces.length];
    for (const offset of [0, 1, 2, 3, 5]) {
      const shifted = 'x'.repeat(offset) + text;
      expect(segmentGraphemes(shifted)).toEqual(reference(shifted));
    }
  });

  it('keeps every character of one cluster longer than a window', () => {
    const text = `a${'\u0301'.repeat(3000)}b`;
    expect(segmentGraphemes(text).join('')).toBe(text);
  });

  it('segments 64 KiB quickly', () => {
    const text = '*a'.repeat(32_768);
    const started = performance.now();
    expect(segmentGraphemes(text)).toHaveLength(text.length);
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
