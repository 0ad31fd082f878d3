/*
 * Grapheme clusters of long text. V8's Intl.Segmenter slows down sharply when one `segment()` walks a long
 * string (64 KiB took seconds here), so the text is segmented in windows: each window starts on a cluster
 * boundary found by the one before, and runs past its end far enough for the last cluster that starts inside
 * it to be whole.
 */

const WINDOW = 1024;
/** Longer than any cluster real text contains (the longest emoji ZWJ sequences are about 35 code units). */
const OVERLAP = 128;

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * The text's grapheme clusters, in order; joined they give the text back.
 *
 * @example segmentGraphemes('e\u0301👍🏽!') // ['é', '👍🏽', '!']
 */
export function segmentGraphemes(text: string): string[] {
  if (text.length <= WINDOW + OVERLAP) return Array.from(segmenter.segment(text), (part) => part.segment);
  const clusters: string[] = [];
  let start = 0;
  while (start < text.length) {
    const end = start + WINDOW;
    const window = text.slice(start, end + OVERLAP);
    // Where the next window starts: the first cluster starting at or after `end`; past the whole window when
    // none does (the end of the text, or one absurdly long cluster, which is then cut at the window's end).
    let next = start + window.length;
    for (const { segment, index } of segmenter.segment(window)) {
      if (start + index >= end) {
        next = start + index;
        break;
      }
      clusters.push(segment);
    }
    start = next;
  }
  return clusters;
}
