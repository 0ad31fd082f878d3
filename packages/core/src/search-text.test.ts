import { describe, expect, it } from 'vitest';
import { MAX_TERM_LENGTH, searchDocument, searchTerms } from './search-text.js';

describe('searchDocument', () => {
  it('lower-cases words and folds full-width forms', () => {
    expect(searchDocument('Hello, ＷＯＲＬＤ! Version 2.0')).toBe('hello world version 2 0');
  });

  it('splits Japanese runs into overlapping bigrams, apart from Latin words', () => {
    expect(searchDocument('明日はKaiwaで東京タワー')).toBe('明日 日は kaiwa で東 東京 京タ タワ ワー');
  });

  it('gives emoji-only text no terms and cuts very long words', () => {
    expect(searchDocument('🎉👍')).toBe('');
    expect(searchDocument('a'.repeat(100))).toBe('a'.repeat(MAX_TERM_LENGTH));
  });
});

describe('searchTerms', () => {
  it('makes one group per word, with CJK bigrams as a phrase', () => {
    expect(searchTerms('Deploy 東京タワー')).toEqual([
      { tokens: ['deploy'], prefix: false },
      { tokens: ['東京', '京タ', 'タワ', 'ワー'], prefix: false },
    ]);
  });

  it('matches a single CJK character as a prefix', () => {
    expect(searchTerms('東')).toEqual([{ tokens: ['東'], prefix: true }]);
  });

  it('has no groups for punctuation and emoji', () => {
    expect(searchTerms('"*) 🎉')).toEqual([]);
  });
});
