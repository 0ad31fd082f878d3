import { ValidationError } from '@kaiwa/core';
import { describe, expect, it } from 'vitest';
import { ExpressionError } from './expression-error.js';
import { parseExpression } from './parse-expression.js';
import { printExpression } from './print-expression.js';

function failure(source: string): ExpressionError {
  try {
    parseExpression(source);
  } catch (error) {
    expect(error).toBeInstanceOf(ExpressionError);
    return error as ExpressionError;
  }
  throw new Error(`expected ${source} to fail`);
}

const print = (source: string) => printExpression(parseExpression(source));

describe('parseExpression', () => {
  it('reads literals', () => {
    expect(parseExpression('42')).toEqual({ type: 'literal', value: 42, position: 0 });
    expect(parseExpression('1.5e3')).toMatchObject({ value: 1500 });
    expect(parseExpression('true')).toMatchObject({ value: true });
    expect(parseExpression('null')).toMatchObject({ value: null });
    expect(parseExpression(`'it\\'s\\n\\t\\u00e9\\u{1F600}"'`)).toMatchObject({ value: 'it\'s\n\té😀"' });
    expect(parseExpression('"a\\\\b"')).toMatchObject({ value: 'a\\b' });
    expect(print('[1, "x", [true]]')).toBe('[1, "x", [true]]');
    expect(print('[]')).toBe('[]');
  });

  it('follows precedence: or < and < not < comparison < ?? < + < * < unary < member', () => {
    expect(print('a or b and c')).toBe('(a or (b and c))');
    expect(print('a || b && !c')).toBe('(a or (b and (not c)))');
    expect(print('not a == b')).toBe('(not (a == b))');
    expect(print('!a == b')).toBe('((not a) == b)');
    expect(print('a.b ?? 0 > 5')).toBe('((a.b ?? 0) > 5)');
    expect(print('x ?? y + 1')).toBe('(x ?? (y + 1))');
    expect(print('1 + 2 * 3 - 4 / 2 % 3')).toBe('((1 + (2 * 3)) - ((4 / 2) % 3))');
    expect(print('-a.b[0]')).toBe('(-a.b[0])');
    expect(print('(1 + 2) * 3')).toBe('((1 + 2) * 3)');
    expect(print('"x" not in list')).toBe('("x" not in list)');
    expect(print('a in b')).toBe('(a in b)');
  });

  it('reads property paths and calls', () => {
    expect(print('trigger.message["full text"][0].in')).toBe('trigger.message["full text"][0].in');
    expect(print('contains(lower(a), "x")')).toBe('contains(lower(a), "x")');
    expect(print('matches(a, "x", "i")')).toBe('matches(a, "x", "i")');
    expect(print('exists(a.b.c)')).toBe('exists(a.b.c)');
  });

  it('prints trees that parse back to themselves', () => {
    for (const source of ['a.b + 1 > 2 and not c', 'x["a b"] ?? [1, -2]', 'upper(trim(" é ")) != "É"']) {
      const printed = print(source);
      expect(print(printed)).toBe(printed);
    }
  });

  it('reports syntax errors with their position', () => {
    const cases: [string, number, RegExp][] = [
      ['a +', 3, /end of expression/],
      ['(1 + 2', 6, /expected "\)"/],
      ['1 2', 2, /unexpected "2"/],
      ['a..b', 2, /property name/],
      ['"open', 0, /unterminated string/],
      ['"\\q"', 1, /unknown escape/],
      ['1 < 2 < 3', 6, /cannot be chained/],
      ['a.b(1)', 3, /only the built-in functions/],
      ['#', 0, /unexpected character/],
      ['12abc', 2, /after a number/],
      ['lower()', 0, /takes 1 arguments, got 0/],
      ['exists(1)', 0, /exists\(\) takes a name/],
      ['', 0, /empty/],
    ];
    for (const [source, position, message] of cases) {
      const error = failure(source);
      expect(error.reason, source).toBe('syntax');
      expect(error.position, source).toBe(position);
      expect(error.message, source).toMatch(message);
    }
  });

  it('is a ValidationError naming the field', () => {
    const error = failure('a +');
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.code).toBe('validation_failed');
    expect(error.issues[0]?.path).toEqual(['expression']);
  });

  it('refuses functions that are not on the allow-list', () => {
    const error = failure('eval("1")');
    expect(error.reason).toBe('unknown_identifier');
    expect(error.message).toMatch(/unknown function "eval"/);
    expect(failure('constructor(1)').reason).toBe('unknown_identifier');
  });

  it('refuses sources that are too long or nested too deeply, quickly', () => {
    const started = performance.now();
    expect(failure('1'.repeat(1_000_000)).reason).toBe('too_long');
    expect(failure(`${'('.repeat(10_000)}1${')'.repeat(10_000)}`).reason).toBe('too_long');
    expect(failure(`${'['.repeat(2_000)}${']'.repeat(2_000)}`).reason).toBe('too_long');
    expect(failure(`${'-'.repeat(2_000)}1`).reason).toBe('too_long');
    expect(failure(`${'not '.repeat(1_000)}true`).reason).toBe('too_long');
    expect(failure(Array.from({ length: 100 }, () => 'a').join(' + ')).reason).toBe('too_long');
    expect(failure(`a${'.b'.repeat(100)}`).reason).toBe('too_long');
    expect(failure(`${'lower('.repeat(200)}a${')'.repeat(200)}`).reason).toBe('too_long');
    expect(performance.now() - started).toBeLessThan(1_000);
    // At the limit it still parses.
    expect(() => parseExpression(`${'('.repeat(60)}1${')'.repeat(60)}`)).not.toThrow();
  });
});
