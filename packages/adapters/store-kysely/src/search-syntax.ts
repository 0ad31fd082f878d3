import { createHash } from 'node:crypto';
import type { SearchTermGroup } from '@kaiwa/core';

/*
 * How core's search terms (see `searchDocument` and `searchTerms`) become each engine's full-text
 * syntax. Documents and queries go through the same encoding, so a term matches exactly when core says
 * it should, whatever the engine's own tokeniser or locale would have done with the raw text.
 */

/**
 * SQLite FTS5 MATCH expression: one quoted phrase per group, all required; a prefix group ends in `*`.
 *
 * @example sqliteMatchQuery([{ tokens: ['東京', '京タ'], prefix: false }, { tokens: ['東'], prefix: true }])
 * // '"東京 京タ" AND "東"*'
 */
export function sqliteMatchQuery(groups: SearchTermGroup[]): string {
  return groups
    .map((group) => `"${group.tokens.join(' ').replaceAll('"', '""')}"${group.prefix ? '*' : ''}`)
    .join(' AND ');
}

function tsLexeme(token: string): string {
  return `'${token.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
}

/**
 * PostgreSQL tsvector literal for a search document: every term one lexeme at its position. Built
 * directly rather than with `to_tsvector`, so PostgreSQL's parser (which splits on hyphens, dots and,
 * depending on the locale, some marks) cannot shift positions and break phrase matches. PostgreSQL caps
 * positions at 16,383: terms past that still match alone but not as phrases.
 *
 * @example postgresTsvector('東京 京タ') // "'東京':1 '京タ':2"
 */
export function postgresTsvector(document: string): string {
  if (document === '') return '';
  return document
    .split(' ')
    .map((token, index) => `${tsLexeme(token)}:${index + 1}`)
    .join(' ');
}

/**
 * PostgreSQL tsquery literal: groups joined with `&`, a group's tokens with `<->`, `:*` for a prefix.
 *
 * @example postgresTsquery([{ tokens: ['東京', '京タ'], prefix: false }]) // "('東京' <-> '京タ')"
 */
export function postgresTsquery(groups: SearchTermGroup[]): string {
  return groups
    .map((group) => {
      const last = group.tokens.length - 1;
      const lexemes = group.tokens.map(
        (token, index) => `${tsLexeme(token)}${group.prefix && index === last ? ':*' : ''}`,
      );
      return `(${lexemes.join(' <-> ')})`;
    })
    .join(' & ');
}

/** InnoDB drops FULLTEXT words longer than `innodb_ft_max_token_size` (84 by default). */
const MYSQL_MAX_WORD_LENGTH = 84;
const MYSQL_MAX_HEX_BYTES = (MYSQL_MAX_WORD_LENGTH - 1) >> 1;

/**
 * One term as an InnoDB FULLTEXT word: `t` plus the hex of its UTF-8 bytes. InnoDB skips words under three
 * characters and stopwords, and does not split CJK text reliably; hex words avoid all three. A hex prefix is
 * a byte prefix, so prefix queries keep working. A term too long for InnoDB becomes `h` plus a hash: it
 * can then only match exactly, which is all core asks of long terms.
 */
function mysqlWord(token: string): string {
  const bytes = Buffer.from(token, 'utf8');
  if (bytes.length <= MYSQL_MAX_HEX_BYTES) return `t${bytes.toString('hex')}`;
  return `h${createHash('sha256')
    .update(bytes)
    .digest('hex')
    .slice(0, MYSQL_MAX_WORD_LENGTH - 1)}`;
}

/**
 * The `search_text` column value for a search document.
 *
 * @example mysqlSearchText('東京 tower') // 'te69db1e4baac t746f776572'
 */
export function mysqlSearchText(document: string): string {
  if (document === '') return '';
  return document.split(' ').map(mysqlWord).join(' ');
}

/** What a MariaDB/MySQL search needs: the boolean-mode AGAINST string and the phrases to check. */
export interface MysqlSearchQuery {
  /** Every word required (`+word`), a prefix word as `+word*`. */
  against: string;
  /** LIKE patterns over `concat(' ', search_text, ' ')`, one per group of two or more words. */
  phrases: string[];
}

/**
 * MATCH … AGAINST in boolean mode finds the rows holding every word; a LIKE on the hex words then checks
 * that a group's words stand next to each other. InnoDB's own phrase operator (`+"a b"`) re-reads and
 * re-tokenises every candidate row and is several times slower on common terms; hex words contain no LIKE
 * wildcards and are separated by single spaces, so the LIKE is exact.
 *
 * @example
 * mysqlSearchQuery([{ tokens: ['東京', '京タ'], prefix: false }])
 * // { against: '+te69db1e4baac +te4baace382bf', phrases: ['% te69db1e4baac te4baace382bf %'] }
 */
export function mysqlSearchQuery(groups: SearchTermGroup[]): MysqlSearchQuery {
  const required: string[] = [];
  const phrases: string[] = [];
  for (const group of groups) {
    const words = group.tokens.map(mysqlWord);
    const last = words.length - 1;
    words.forEach((word, index) => {
      required.push(`+${word}${group.prefix && index === last ? '*' : ''}`);
    });
    if (words.length > 1) phrases.push(`% ${words.join(' ')}${group.prefix ? '%' : ' %'}`);
  }
  return { against: required.join(' '), phrases };
}
