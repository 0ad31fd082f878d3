import { ValidationError } from '@kaiwa/core';
import { describe, expect, it } from 'vitest';
import { convertValue, parseDate, parseNumber } from './parse-values.js';

describe('parseNumber', () => {
  it.each([
    ['1,234.50', 1234.5],
    ['1.234,50', 1234.5],
    ['€ 1 234,50', 1234.5],
    ['¥1,234', 1234],
    ['１２３', 123],
    ['1,5', 1.5],
    ['12.5', 12.5],
    ['1.234.567', 1234567],
    ['(12.00)', -12],
    ['-3.25 EUR', -3.25],
    ['USD 1,000,000.99', 1000000.99],
  ])('%s → %d', (text, expected) => {
    expect(parseNumber(text)).toBe(expected);
  });

  it('honours an explicit decimal mark and says when there is no number', () => {
    expect(parseNumber('1.234', ',')).toBe(1234);
    expect(parseNumber('1.234', '.')).toBe(1.234);
    expect(parseNumber('no digits')).toBeUndefined();
  });
});

describe('parseDate', () => {
  it.each([
    ['2026-11-25', '2026-11-25'],
    ['Date 2026/11/25', '2026-11-25'],
    ['2026年11月25日', '2026-11-25'],
    ['２０２６年１１月２５日', '2026-11-25'],
    ['25.11.2026', '2026-11-25'],
    ['25 Nov 2026', '2026-11-25'],
    ['November 25, 2026', '2026-11-25'],
    ['05/11/2026', '2026-11-05'],
  ])('%s → %s', (text, expected) => {
    expect(parseDate(text)).toBe(expected);
  });

  it('reads month-first when told, and refuses impossible dates', () => {
    expect(parseDate('11/25/2026', 'mdy')).toBe('2026-11-25');
    expect(parseDate('11/25/2026')).toBeUndefined();
    expect(parseDate('2026-02-30')).toBeUndefined();
    expect(parseDate('Smarch 3, 2026')).toBeUndefined();
  });
});

describe('convertValue', () => {
  it('converts or throws a ValidationError at the path', () => {
    expect(convertValue('1,234.50', 'number', ['amount'])).toBe(1234.5);
    expect(convertValue('yes', 'boolean', ['paid'])).toBe(true);
    expect(convertValue({ a: 1 }, 'string', ['raw'])).toBe('{"a":1}');
    expect(convertValue('12/01/2026', { type: 'date', order: 'mdy' }, ['due'])).toBe('2026-12-01');
    const error = (() => {
      try {
        convertValue('1.5', 'integer', ['map', 'count']);
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues[0]).toEqual({
      path: ['map', 'count'],
      message: 'cannot read "1.5" as an integer',
    });
  });
});
