/*
 * Search tokenisation shared by every store, so each database's full-text facility (FTS5, tsvector,
 * FULLTEXT) indexes the same terms. Words of space-separated scripts are indexed whole; runs of Chinese,
 * Japanese and Korean characters, which carry no spaces, are indexed as overlapping bigrams, so a query
 * finds any substring of two or more characters.
 */

const CJK = '\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}\\p{Script=Hangul}\\u30fc\\u3005';
const TOKEN_RUN = new RegExp(`[${CJK}]+|(?:(?![${CJK}])[\\p{L}\\p{N}\\p{M}])+`, 'gu');
const CJK_RUN = new RegExp(`^[${CJK}]`, 'u');

/** Longest word kept, in code points; longer words are cut (the same way in documents and queries). */
export const MAX_TERM_LENGTH = 32;

/** One query word: its tokens must appear consecutively; `prefix` lets the last token match a longer one. */
export interface SearchTermGroup {
  tokens: string[];
  prefix: boolean;
}

function normalise(text: string): string {
  return text.normalize('NFKC').toLowerCase();
}

function tokensOfRun(run: string): { tokens: string[]; cjk: boolean } {
  const chars = [...run];
  if (!CJK_RUN.test(run)) return { tokens: [chars.slice(0, MAX_TERM_LENGTH).join('')], cjk: false };
  if (chars.length === 1) return { tokens: [run], cjk: true };
  const tokens: string[] = [];
  for (let i = 0; i + 1 < chars.length; i++) tokens.push(chars[i]! + chars[i + 1]!);
  return { tokens, cjk: true };
}

/** The terms a store indexes for `text`, space-separated. */
export function searchDocument(text: string): string {
  const out: string[] = [];
  for (const run of normalise(text).match(TOKEN_RUN) ?? []) out.push(...tokensOfRun(run).tokens);
  return out.join(' ');
}

/**
 * The text a store indexes for a message: its text and, once done, the transcript of its voice recording.
 *
 * @example searchDocument(messageSearchText(message))
 */
export function messageSearchText(message: { text: string; metadata: Record<string, unknown> }): string {
  const transcript = message.metadata.transcript;
  if (typeof transcript !== 'object' || transcript === null || Array.isArray(transcript)) return message.text;
  const { status, text } = transcript as { status?: unknown; text?: unknown };
  return status === 'done' && typeof text === 'string' && text !== ''
    ? `${message.text}\n${text}`
    : message.text;
}

/**
 * The groups a query must all match. A single CJK character matches as a prefix, since documents only
 * hold bigrams.
 *
 * @example searchTerms('東京 tower') // [{ tokens: ['東京'], prefix: false }, { tokens: ['tower'], prefix: false }]
 */
export function searchTerms(query: string): SearchTermGroup[] {
  const groups: SearchTermGroup[] = [];
  for (const run of normalise(query).match(TOKEN_RUN) ?? []) {
    const { tokens, cjk } = tokensOfRun(run);
    groups.push({ tokens, prefix: cjk && [...run].length === 1 });
  }
  return groups;
}
