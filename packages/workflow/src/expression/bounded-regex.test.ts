import { describe, expect, it } from 'vitest';
import { compileBoundedRegex } from './bounded-regex.js';
import { ExpressionError } from './expression-error.js';

// Each pattern is checked against JavaScript's own RegExp on the same inputs.
const PARITY: [pattern: string, flags: string, inputs: string[]][] = [
  ['abc', '', ['abc', 'xabcx', 'ab', '']],
  ['^a.c$', '', ['abc', 'a\nc', 'abcd']],
  ['^a.c$', 's', ['a\nc']],
  ['colou?r', '', ['color', 'colour', 'colouur']],
  ['^\\d{3}-\\d{2,4}$', '', ['123-45', '123-4567', '123-45678', '12-34']],
  ['^x{2,}$', '', ['x', 'xx', 'xxxxx']],
  ['(cat|dog)s?\\b', '', ['cats!', 'dog', 'catalog', 'hotdogs']],
  ['\\bword\\b', '', ['a word here', 'swordfish', 'word']],
  ['\\Bor\\B', '', ['word', 'or', 'order']],
  ['[a-f0-9]+$', '', ['deadBEEF', 'cafe', 'xyz']],
  ['[^aeiou\\s]{3}', '', ['strength', 'a e i', 'queue']],
  ['[\\d.,-]+', '', ['1,234.50', 'abc']],
  ['\\w+@\\w+\\.com', '', ['me@example.com', 'me@example.org']],
  ['\\s+', '', ['a b', 'ab', 'a\u00a0b']],
  ['\\D\\W\\S', '', ['a! ', '1!x', 'ab!x']],
  ['^INV-(?:\\d+)$', 'i', ['inv-42', 'INV-42', 'inv-x']],
  ['[A-Z]+', 'i', ['abc', '123']],
  ['[^a]', 'i', ['A', 'b']],
  ['^b$', 'm', ['a\nb\nc', 'ab']],
  ['(?<year>\\d{4})-\\d\\d', '', ['2026-11', '26-11']],
  ['a|b|', '', ['zzz']],
  ['\\x41\\u0042\\u{43}', 'u', ['ABC', 'abc']],
  ['\\p{Lu}\\p{Ll}+', 'u', ['Hello', 'hello']],
  ['\\P{L}', 'u', ['abc', 'ab1']],
  ['日本.', 'u', ['日本語', '日本']],
  ['^.$', 'u', ['😀', '😀😀']],
  ['[😀-😂]', 'u', ['😁', '😃']],
  ['a+?b*?c??', '', ['aac', 'x']],
  ['\\.\\*\\+\\?\\(\\)\\[\\]\\{\\}\\|\\^\\$\\/\\\\', '', ['.*+?()[]{}|^$/\\']],
  ['[\\]\\-\\\\]', '', [']', '-', '\\', 'a']],
  ['[]', '', ['a']],
  ['[^]', '', ['a', '']],
  ['a{2}b', '', ['aab', 'ab']],
  ['x{', '', ['x{', 'x']],
];

describe('compileBoundedRegex', () => {
  it('agrees with RegExp on the supported syntax', () => {
    for (const [pattern, flags, inputs] of PARITY) {
      const ours = compileBoundedRegex(pattern, flags);
      const theirs = new RegExp(pattern, flags);
      for (const input of inputs) {
        expect(ours.test(input), `/${pattern}/${flags} on ${JSON.stringify(input)}`).toBe(theirs.test(input));
      }
    }
  });

  it('refuses what cannot be matched in linear time, and bad syntax', () => {
    const refused: [string, string, RegExp][] = [
      ['(a)\\1', '', /backreferences/],
      ['(?<n>a)\\k<n>', '', /backreferences/],
      ['a(?=b)', '', /lookahead/],
      ['a(?!b)', '', /lookahead/],
      ['(?<=a)b', '', /lookahead and lookbehind/],
      ['(?<!a)b', '', /lookahead and lookbehind/],
      ['(a', '', /missing "\)"/],
      ['a)', '', /unmatched/],
      ['[a', '', /missing "\]"/],
      ['*a', '', /nothing to repeat/],
      ['a**', '', /nothing to repeat/],
      ['^*', '', /nothing to repeat/],
      ['[z-a]', '', /out of order/],
      ['a{3,1}', '', /out of order/],
      ['a{1001}', '', /above 1000/],
      ['\\q', '', /unknown escape/],
      ['\\p{NoSuchProperty}', 'u', /unknown Unicode property/],
      ['a', 'g', /flag "g"/],
      ['a', 'ii', /flag "i"/],
      ['x'.repeat(201), '', /longer than 200/],
      ['(?:a{1000}){3}', '', /more than 1000 instructions/],
      [`${'('.repeat(40)}a${')'.repeat(40)}`, '', /nested too deeply/],
    ];
    for (const [pattern, flags, message] of refused) {
      let caught: unknown;
      try {
        compileBoundedRegex(pattern, flags);
      } catch (error) {
        caught = error;
      }
      expect(caught, pattern).toBeInstanceOf(ExpressionError);
      expect((caught as ExpressionError).reason, pattern).toBe('bad_regex');
      expect((caught as ExpressionError).message, pattern).toMatch(message);
    }
  });

  it('runs the classic catastrophic patterns in linear time', () => {
    const attacks: [string, string][] = [
      ['(a+)+$', `${'a'.repeat(9_999)}!`],
      ['(a*)*b', 'a'.repeat(10_000)],
      ['(a|a)*b', 'a'.repeat(10_000)],
      ['(a|aa)+$', `${'a'.repeat(9_999)}!`],
      ['a*a*a*a*a*a*b', 'a'.repeat(10_000)],
      ['(\\w+\\s?)+$', `${'word '.repeat(1_999)}!`],
      ['(.*a){20}', 'a'.repeat(10_000)],
      ['^(([a-z])+.)+[A-Z]([a-z])+$', 'a'.repeat(10_000)],
    ];
    for (const [pattern, input] of attacks) {
      const started = performance.now();
      compileBoundedRegex(pattern).test(input);
      expect(performance.now() - started, pattern).toBeLessThan(1_500);
    }
  });

  it('refuses inputs over 10,000 characters', () => {
    expect(() => compileBoundedRegex('a').test('a'.repeat(10_001))).toThrow(ExpressionError);
    expect(compileBoundedRegex('a$').test('a'.repeat(10_000))).toBe(true);
  });
});
