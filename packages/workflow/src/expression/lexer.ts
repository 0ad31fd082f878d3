import { ExpressionError } from './expression-error.js';
import { EXPRESSION_LIMITS } from './limits.js';

export type TokenKind = 'number' | 'string' | 'identifier' | 'keyword' | 'operator' | 'end';

export interface Token {
  kind: TokenKind;
  /** The operator or keyword text, the identifier's name, or the literal's source. */
  text: string;
  /** For numbers and strings: the decoded value. */
  value?: number | string;
  position: number;
}

export const KEYWORDS = new Set(['true', 'false', 'null', 'and', 'or', 'not', 'in']);

// Longest first, so `<=` wins over `<`.
const OPERATORS = [
  '??',
  '==',
  '!=',
  '<=',
  '>=',
  '&&',
  '||',
  '<',
  '>',
  '+',
  '-',
  '*',
  '/',
  '%',
  '!',
  '(',
  ')',
  '[',
  ']',
  ',',
  '.',
];

const IDENTIFIER_START = /[\p{L}_$]/u;
const IDENTIFIER_PART = /[\p{L}\p{N}_$]/u;
const NUMBER = /\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

const SIMPLE_ESCAPES: Record<string, string> = {
  n: '\n',
  t: '\t',
  r: '\r',
  b: '\b',
  f: '\f',
  v: '\v',
  '0': '\0',
  '\\': '\\',
  "'": "'",
  '"': '"',
  '/': '/',
};

/** Splits an expression into tokens; throws ExpressionError `syntax` or `too_long`. */
export function tokenize(source: string): Token[] {
  if (source.length > EXPRESSION_LIMITS.maxSourceLength) {
    throw new ExpressionError(
      'too_long',
      `expression is ${source.length} characters, more than ${EXPRESSION_LIMITS.maxSourceLength}`,
    );
  }
  const tokens: Token[] = [];
  let index = 0;
  while (index < source.length) {
    const char = source[index]!;
    if (char === ' ' || char === '\t' || char === '\n' || char === '\r') {
      index += 1;
      continue;
    }
    const start = index;
    if (char >= '0' && char <= '9') {
      NUMBER.lastIndex = index;
      const match = NUMBER.exec(source)!;
      const value = Number(match[0]);
      if (!Number.isFinite(value))
        throw new ExpressionError('syntax', 'number is too large', { position: start });
      index += match[0].length;
      if (index < source.length && IDENTIFIER_PART.test(source[index]!)) {
        throw new ExpressionError('syntax', `unexpected "${source[index]}" after a number`, {
          position: index,
        });
      }
      tokens.push({ kind: 'number', text: match[0], value, position: start });
      continue;
    }
    if (char === '"' || char === "'") {
      const [value, end] = readString(source, index);
      tokens.push({ kind: 'string', text: source.slice(start, end), value, position: start });
      index = end;
      continue;
    }
    const codePoint = String.fromCodePoint(source.codePointAt(index)!);
    if (IDENTIFIER_START.test(codePoint)) {
      index += codePoint.length;
      while (index < source.length) {
        const next = String.fromCodePoint(source.codePointAt(index)!);
        if (!IDENTIFIER_PART.test(next)) break;
        index += next.length;
      }
      const word = source.slice(start, index);
      tokens.push({ kind: KEYWORDS.has(word) ? 'keyword' : 'identifier', text: word, position: start });
      continue;
    }
    const operator = OPERATORS.find((candidate) => source.startsWith(candidate, index));
    if (operator === undefined) {
      throw new ExpressionError('syntax', `unexpected character "${codePoint}"`, { position: start });
    }
    tokens.push({ kind: 'operator', text: operator, position: start });
    index += operator.length;
  }
  tokens.push({ kind: 'end', text: '', position: source.length });
  return tokens;
}

function readString(source: string, start: number): [string, number] {
  const quote = source[start]!;
  let value = '';
  let index = start + 1;
  while (index < source.length) {
    const char = source[index]!;
    if (char === quote) return [value, index + 1];
    if (char !== '\\') {
      value += char;
      index += 1;
      continue;
    }
    const escaped = source[index + 1];
    if (escaped === undefined) break;
    const simple = SIMPLE_ESCAPES[escaped];
    if (simple !== undefined) {
      value += simple;
      index += 2;
      continue;
    }
    if (escaped === 'u') {
      const braced = /^\{([0-9a-fA-F]{1,6})\}/.exec(source.slice(index + 2, index + 10));
      const plain = /^[0-9a-fA-F]{4}/.exec(source.slice(index + 2, index + 6));
      const hex = braced?.[1] ?? plain?.[0];
      const codePoint = hex === undefined ? Number.NaN : Number.parseInt(hex, 16);
      if (!(codePoint <= 0x10ffff)) {
        throw new ExpressionError('syntax', 'bad \\u escape', { position: index });
      }
      value += String.fromCodePoint(codePoint);
      index += 2 + (braced ? braced[0].length : 4);
      continue;
    }
    throw new ExpressionError('syntax', `unknown escape "\\${escaped}"`, { position: index });
  }
  throw new ExpressionError('syntax', 'unterminated string', { position: start });
}
