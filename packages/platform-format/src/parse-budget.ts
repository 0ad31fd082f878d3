/*
 * The markdown parser (micromark) takes time that grows with the square of the number of unmatched emphasis
 * and link delimiters in a paragraph, and recurses once per nested container: 8,000 `*a` (16 KB) took 2.6 s
 * here, 5,000 nested `- ` overflow the stack after seconds. A chat message may be 64 KiB, so one hostile
 * message could stall a bridge or a web page. No chat paragraph needs that much markup: such a message is
 * taken as plain text instead (every renderer then shows it exactly as written).
 */

/** Emphasis and link delimiters allowed in one paragraph (outside code fences). */
const MAX_DELIMITERS = 256;
/** Quotes and list items nested on one line. */
const MAX_CONTAINERS = 16;
const FENCE = /^ {0,3}(`{3,}|~{3,})/;
const DELIMITERS = /[*_[\]]/g;
const NESTED_CONTAINERS = new RegExp(
  `^[ \\t]*(?:(?:>|[*+-](?=[ \\t])|\\d{1,9}[.)](?=[ \\t]))[ \\t]*){${MAX_CONTAINERS + 1}}`,
);
const DEEP_INDENT = /^[ \t]{64,}(?:[*+-]|\d{1,9}[.)])[ \t]/;

/**
 * Whether parsing this text as markdown would cost more than any real message needs (see above). Linear in
 * the length of the text.
 *
 * @example exceedsParseBudget('*a'.repeat(2_000)) // true
 * @example exceedsParseBudget('**bold** and _it_') // false
 */
export function exceedsParseBudget(markdown: string): boolean {
  let delimiters = 0;
  let fence: string | undefined;
  for (const line of markdown.split('\n')) {
    const marker = FENCE.exec(line)?.[1];
    if (fence) {
      if (marker && marker[0] === fence[0] && marker.length >= fence.length) fence = undefined;
      continue;
    }
    if (marker) {
      fence = marker;
      continue;
    }
    // Inline content is parsed a paragraph at a time, so a blank line starts a new count.
    delimiters = line.trim() === '' ? 0 : delimiters + (line.match(DELIMITERS)?.length ?? 0);
    if (delimiters > MAX_DELIMITERS || NESTED_CONTAINERS.test(line) || DEEP_INDENT.test(line)) return true;
  }
  return false;
}
