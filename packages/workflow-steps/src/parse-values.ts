import { ValidationError } from '@kaiwa/core';

/**
 * A number as people write it: `1,234.50`, `1.234,50`, `€ 1 234,50`, `¥1,234`, `１２３`, `(12.00)`.
 * With `decimal: 'auto'`, a separator followed by exactly three digits and nothing else is a thousands
 * separator; when both `.` and `,` appear, the later one is the decimal mark.
 * Returns undefined when the text holds no number.
 */
export function parseNumber(text: string, decimal: '.' | ',' | 'auto' = 'auto'): number | undefined {
  const normalized = text.normalize('NFKC').trim();
  const negative = /^\(.*\)$/.test(normalized) || /(^|[^\d])-\s*\d/.test(normalized);
  const match = /\d[\d\s.,'’]*/.exec(normalized);
  if (!match) return undefined;
  let digits = match[0].trim().replace(/[\s'’]/g, '');
  let mark = decimal;
  if (mark === 'auto') {
    const lastDot = digits.lastIndexOf('.');
    const lastComma = digits.lastIndexOf(',');
    if (lastDot !== -1 && lastComma !== -1) mark = lastDot > lastComma ? '.' : ',';
    else {
      const separator = lastDot !== -1 ? '.' : lastComma !== -1 ? ',' : undefined;
      if (!separator) mark = '.';
      else {
        const count = digits.split(separator).length - 1;
        const tail = digits.slice(digits.lastIndexOf(separator) + 1);
        const grouping = count > 1 || tail.length === 3;
        mark = grouping ? (separator === '.' ? ',' : '.') : separator;
      }
    }
  }
  const thousands = mark === '.' ? ',' : '.';
  digits = digits.split(thousands).join('');
  if (mark === ',') digits = digits.replace(',', '.');
  digits = digits.replace(/[.,]+$/, '');
  const value = Number(digits);
  if (!Number.isFinite(value)) return undefined;
  return negative ? -value : value;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/**
 * A calendar date as `YYYY-MM-DD` from the ways invoices write it: `2026-11-25`, `2026/11/25`,
 * `2026年11月25日`, `25.11.2026`, `25 Nov 2026`, `November 25, 2026`, and `11/25/2026` or `25/11/2026`
 * (`order` decides; default day first). Returns undefined for anything else or an impossible date.
 */
export function parseDate(text: string, order: 'dmy' | 'mdy' = 'dmy'): string | undefined {
  const value = text.normalize('NFKC').trim();
  const parts = dateParts(value, order);
  if (!parts) return undefined;
  const [year, month, day] = parts;
  if (month === undefined) return undefined;
  const iso = `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
  const date = new Date(`${iso}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(iso) ? iso : undefined;
}

function dateParts(value: string, order: 'dmy' | 'mdy'): [number, number | undefined, number] | undefined {
  const iso = /(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?/.exec(value);
  if (iso) return [Number(iso[1]), Number(iso[2]), Number(iso[3])];
  const numeric = /(\d{1,2})[./-](\d{1,2})[./-](\d{4})/.exec(value);
  if (numeric) {
    const [first, second] = [Number(numeric[1]), Number(numeric[2])];
    // A dot is day-first everywhere it is used.
    const dayFirst = value.includes('.') || order === 'dmy';
    return dayFirst ? [Number(numeric[3]), second, first] : [Number(numeric[3]), first, second];
  }
  const dayName = /(\d{1,2})\.?\s+([A-Za-z]{3,9})\.?,?\s+(\d{4})/.exec(value);
  if (dayName) return [Number(dayName[3]), monthNumber(dayName[2] as string), Number(dayName[1])];
  const nameDay = /([A-Za-z]{3,9})\.?\s+(\d{1,2}),?\s+(\d{4})/.exec(value);
  if (nameDay) return [Number(nameDay[3]), monthNumber(nameDay[1] as string), Number(nameDay[2])];
  return undefined;
}

function monthNumber(name: string): number | undefined {
  const at = MONTHS.indexOf(name.slice(0, 3).toLowerCase());
  return at === -1 ? undefined : at + 1;
}

export type Conversion =
  | 'string'
  | 'number'
  | 'integer'
  | 'boolean'
  | 'date'
  | { type: 'number' | 'integer'; decimal?: '.' | ',' | 'auto' }
  | { type: 'date'; order?: 'dmy' | 'mdy' };

/** Converts one value or throws a ValidationError at `path`. */
export function convertValue(value: unknown, conversion: Conversion, path: (string | number)[]): unknown {
  const type = typeof conversion === 'string' ? conversion : conversion.type;
  const fail = (what: string): never => {
    throw new ValidationError([{ path, message: `cannot read ${JSON.stringify(value)} as ${what}` }]);
  };
  switch (type) {
    case 'string':
      return value === null || value === undefined
        ? ''
        : typeof value === 'object'
          ? JSON.stringify(value)
          : String(value);
    case 'number':
    case 'integer': {
      const decimal = typeof conversion === 'object' && 'decimal' in conversion ? conversion.decimal : 'auto';
      const number =
        typeof value === 'number'
          ? value
          : typeof value === 'string'
            ? parseNumber(value, decimal)
            : undefined;
      if (number === undefined || !Number.isFinite(number)) return fail('a number');
      if (type === 'integer' && !Number.isInteger(number)) return fail('an integer');
      return number;
    }
    case 'boolean': {
      if (typeof value === 'boolean') return value;
      const text = String(value).trim().toLowerCase();
      if (['true', 'yes', '1', 'on'].includes(text)) return true;
      if (['false', 'no', '0', 'off', ''].includes(text)) return false;
      return fail('a boolean');
    }
    case 'date': {
      const order = typeof conversion === 'object' && 'order' in conversion ? conversion.order : 'dmy';
      const date = typeof value === 'string' ? parseDate(value, order) : undefined;
      return date ?? fail('a date');
    }
  }
}
