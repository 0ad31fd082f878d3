import { ExpressionError } from './expression-error.js';
import { EXPRESSION_LIMITS } from './limits.js';

/**
 * The regular expressions behind `matches()`. They run on a small Thompson-NFA (Pike VM) matcher instead of
 * the JavaScript engine, so matching is linear in the input: the classic catastrophic patterns (`(a+)+$`,
 * `(a|a)*b`, `a*a*a*b`) finish as fast as any other. Syntax is the usual JavaScript subset: literals, `.`,
 * classes `[a-z]` `[^…]`, `\d \w \s \D \W \S \b \B \p{…} \P{…}`, escapes, groups `(…)` `(?:…)` `(?<name>…)`,
 * alternation, quantifiers `* + ? {n} {n,} {n,m}` (lazy forms accepted), anchors `^ $`; flags `i m s u`.
 * Refused with `bad_regex`: backreferences and lookaround (no linear-time matching exists for them), patterns
 * over 200 characters, repetition counts over 1,000 and compiled programs over 1,000 instructions.
 */
export interface BoundedRegex {
  test(text: string): boolean;
  /** Instructions in the compiled program: matching costs at most this much per character of text. */
  readonly size: number;
}

type CharTest = (codePoint: number) => boolean;

type RegexNode =
  | { kind: 'char'; test: CharTest }
  | { kind: 'sequence'; items: RegexNode[] }
  | { kind: 'alternation'; options: RegexNode[] }
  | { kind: 'repeat'; item: RegexNode; min: number; max: number }
  | { kind: 'assert'; assertion: Assertion };

type Assertion = 'start' | 'end' | 'word' | 'not-word';

type Instruction =
  | { op: 'char'; test: CharTest }
  | { op: 'split'; first: number; second: number }
  | { op: 'jump'; to: number }
  | { op: 'assert'; assertion: Assertion }
  | { op: 'match' };

const MAX_PROGRAM = 1_000;
const MAX_REPEAT = 1_000;
const ALLOWED_FLAGS = new Set(['i', 'm', 's', 'u']);

interface Flags {
  ignoreCase: boolean;
  multiline: boolean;
  dotAll: boolean;
}

/**
 * Compiles a pattern, or throws ExpressionError `bad_regex` saying why.
 *
 * @example compileBoundedRegex('^inv-\\d+$', 'i').test('INV-42'); // true
 */
export function compileBoundedRegex(pattern: string, flagText = ''): BoundedRegex {
  if (pattern.length > EXPRESSION_LIMITS.maxPatternLength) {
    throw badRegex(`pattern is longer than ${EXPRESSION_LIMITS.maxPatternLength} characters`);
  }
  const seen = new Set<string>();
  for (const flag of flagText) {
    if (!ALLOWED_FLAGS.has(flag) || seen.has(flag))
      throw badRegex(`flag "${flag}" is not allowed (use i, m, s, u)`);
    seen.add(flag);
  }
  const flags: Flags = { ignoreCase: seen.has('i'), multiline: seen.has('m'), dotAll: seen.has('s') };
  const tree = new RegexParser(pattern, flags).parse();
  const program = compile(tree);
  return { test: (text) => run(program, text, flags), size: program.length };
}

function badRegex(message: string): ExpressionError {
  return new ExpressionError('bad_regex', message);
}

const isWordChar = (codePoint: number): boolean =>
  (codePoint >= 48 && codePoint <= 57) ||
  (codePoint >= 65 && codePoint <= 90) ||
  (codePoint >= 97 && codePoint <= 122) ||
  codePoint === 95;
const isDigit = (codePoint: number): boolean => codePoint >= 48 && codePoint <= 57;
const SPACE = /\s/u;
const isSpace = (codePoint: number): boolean => SPACE.test(String.fromCodePoint(codePoint));
const isLineTerminator = (codePoint: number): boolean =>
  codePoint === 10 || codePoint === 13 || codePoint === 0x2028 || codePoint === 0x2029;
const not =
  (test: CharTest): CharTest =>
  (codePoint) =>
    !test(codePoint);

class RegexParser {
  private readonly chars: string[];
  private index = 0;

  constructor(
    pattern: string,
    private readonly flags: Flags,
  ) {
    this.chars = Array.from(pattern);
  }

  parse(): RegexNode {
    const node = this.parseAlternation(0);
    if (this.index < this.chars.length) throw badRegex(`unmatched ")" at ${this.index}`);
    return node;
  }

  private parseAlternation(depth: number): RegexNode {
    if (depth > 32) throw badRegex('groups are nested too deeply');
    const options = [this.parseSequence(depth)];
    while (this.peek() === '|') {
      this.index += 1;
      options.push(this.parseSequence(depth));
    }
    return options.length === 1 ? options[0]! : { kind: 'alternation', options };
  }

  private parseSequence(depth: number): RegexNode {
    const items: RegexNode[] = [];
    for (;;) {
      const char = this.peek();
      if (char === undefined || char === '|' || char === ')') break;
      const atom = this.parseAtom(depth);
      items.push(this.parseQuantifier(atom));
    }
    return { kind: 'sequence', items };
  }

  private parseQuantifier(atom: RegexNode): RegexNode {
    const char = this.peek();
    let min: number;
    let max: number;
    if (char === '*' || char === '+' || char === '?') {
      this.index += 1;
      [min, max] =
        char === '*' ? [0, Number.POSITIVE_INFINITY] : char === '+' ? [1, Number.POSITIVE_INFINITY] : [0, 1];
    } else if (char === '{') {
      const match = /^\{(\d+)(,(\d*))?\}/.exec(this.chars.slice(this.index, this.index + 12).join(''));
      if (!match) return atom;
      this.index += match[0].length;
      min = Number(match[1]);
      max = match[2] === undefined ? min : match[3] === '' ? Number.POSITIVE_INFINITY : Number(match[3]);
      if (min > max) throw badRegex('numbers out of order in {} quantifier');
      if (min > MAX_REPEAT || (max !== Number.POSITIVE_INFINITY && max > MAX_REPEAT)) {
        throw badRegex(`repetition counts above ${MAX_REPEAT} are not allowed`);
      }
    } else {
      return atom;
    }
    if (this.peek() === '?') this.index += 1; // lazy: irrelevant when we only ask whether it matches
    if (atom.kind === 'assert') throw badRegex('nothing to repeat');
    const next = this.peek();
    if (next === '*' || next === '+' || next === '?' || next === '{') throw badRegex('nothing to repeat');
    return { kind: 'repeat', item: atom, min, max };
  }

  private parseAtom(depth: number): RegexNode {
    const char = this.chars[this.index++]!;
    switch (char) {
      case '(':
        return this.parseGroup(depth);
      case '[':
        return this.parseClass();
      case '.':
        return { kind: 'char', test: this.flags.dotAll ? () => true : not(isLineTerminator) };
      case '^':
        return { kind: 'assert', assertion: 'start' };
      case '$':
        return { kind: 'assert', assertion: 'end' };
      case '\\':
        return this.parseEscape();
      case '*':
      case '+':
      case '?':
        throw badRegex('nothing to repeat');
      default:
        return { kind: 'char', test: this.literal(char.codePointAt(0)!) };
    }
  }

  private parseGroup(depth: number): RegexNode {
    if (this.peek() === '?') {
      const rest = this.chars.slice(this.index, this.index + 3).join('');
      if (rest.startsWith('?:')) this.index += 2;
      else if (
        rest.startsWith('?=') ||
        rest.startsWith('?!') ||
        rest.startsWith('?<=') ||
        rest.startsWith('?<!')
      ) {
        throw badRegex('lookahead and lookbehind are not supported');
      } else if (rest.startsWith('?<')) {
        const close = this.chars.indexOf('>', this.index);
        if (close < 0) throw badRegex('unterminated group name');
        this.index = close + 1;
      } else throw badRegex('unknown group syntax');
    }
    const inner = this.parseAlternation(depth + 1);
    if (this.peek() !== ')') throw badRegex('missing ")"');
    this.index += 1;
    return inner;
  }

  private parseClass(): RegexNode {
    const negate = this.peek() === '^';
    if (negate) this.index += 1;
    const tests: CharTest[] = [];
    let first = true;
    for (;;) {
      const char = this.chars[this.index++];
      if (char === undefined) throw badRegex('missing "]"');
      if (char === ']' && !first) break;
      if (char === ']') break; // `[]` matches nothing, `[^]` anything, as in JavaScript
      first = false;
      const low = char === '\\' ? this.classEscape() : char.codePointAt(0)!;
      if (typeof low !== 'number') {
        tests.push(low);
        continue;
      }
      if (
        this.peek() === '-' &&
        this.chars[this.index + 1] !== undefined &&
        this.chars[this.index + 1] !== ']'
      ) {
        this.index += 1;
        const next = this.chars[this.index++]!;
        const high = next === '\\' ? this.classEscape() : next.codePointAt(0)!;
        if (typeof high !== 'number') throw badRegex('a class escape cannot end a range');
        if (high < low) throw badRegex('range out of order in character class');
        tests.push((codePoint) => codePoint >= low && codePoint <= high);
      } else {
        tests.push((codePoint) => codePoint === low);
      }
    }
    const matchesAny: CharTest = (codePoint) => tests.some((test) => test(codePoint));
    const folded = this.fold(matchesAny);
    return { kind: 'char', test: negate ? not(folded) : folded };
  }

  /** An escape inside `[…]`: a code point, or a test for `\d`-like classes. */
  private classEscape(): number | CharTest {
    const char = this.peek();
    if (char === 'b') {
      this.index += 1;
      return 8;
    }
    if (char === '-') {
      this.index += 1;
      return 45;
    }
    const node = this.parseEscape();
    if (node.kind !== 'char') throw badRegex('bad escape in character class');
    const single = (node as { codePoint?: number }).codePoint;
    return single ?? node.test;
  }

  private parseEscape(): RegexNode & { codePoint?: number } {
    const char = this.chars[this.index++];
    if (char === undefined) throw badRegex('pattern ends with "\\"');
    const codePointNode = (codePoint: number) => ({
      kind: 'char' as const,
      test: this.literal(codePoint),
      codePoint,
    });
    switch (char) {
      case 'd':
        return { kind: 'char', test: isDigit };
      case 'D':
        return { kind: 'char', test: not(isDigit) };
      case 'w':
        return { kind: 'char', test: isWordChar };
      case 'W':
        return { kind: 'char', test: not(isWordChar) };
      case 's':
        return { kind: 'char', test: isSpace };
      case 'S':
        return { kind: 'char', test: not(isSpace) };
      case 'b':
        return { kind: 'assert', assertion: 'word' };
      case 'B':
        return { kind: 'assert', assertion: 'not-word' };
      case 'n':
        return codePointNode(10);
      case 't':
        return codePointNode(9);
      case 'r':
        return codePointNode(13);
      case 'f':
        return codePointNode(12);
      case 'v':
        return codePointNode(11);
      case '0':
        if (isDigit(this.peek()?.codePointAt(0) ?? 0)) throw badRegex('octal escapes are not supported');
        return codePointNode(0);
      case 'x': {
        const hex = this.chars.slice(this.index, this.index + 2).join('');
        if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw badRegex('bad \\x escape');
        this.index += 2;
        return codePointNode(Number.parseInt(hex, 16));
      }
      case 'u': {
        const rest = this.chars.slice(this.index, this.index + 8).join('');
        const match = /^(?:\{([0-9a-fA-F]{1,6})\}|([0-9a-fA-F]{4}))/.exec(rest);
        const codePoint = match ? Number.parseInt(match[1] ?? match[2]!, 16) : Number.NaN;
        if (!(codePoint <= 0x10ffff)) throw badRegex('bad \\u escape');
        this.index += match![0].length;
        return codePointNode(codePoint);
      }
      case 'p':
      case 'P': {
        const close = this.chars.indexOf('}', this.index);
        if (this.peek() !== '{' || close < 0) throw badRegex(`\\${char} needs a {property}`);
        const name = this.chars.slice(this.index + 1, close).join('');
        this.index = close + 1;
        let property: RegExp;
        try {
          property = new RegExp(`^\\p{${name}}$`, 'u');
        } catch {
          throw badRegex(`unknown Unicode property "${name}"`);
        }
        // One code point against a fixed property: constant time.
        const test: CharTest = (codePoint) => property.test(String.fromCodePoint(codePoint));
        return { kind: 'char', test: char === 'p' ? this.fold(test) : not(this.fold(test)) };
      }
      case 'k':
        throw badRegex('backreferences are not supported');
      default:
        if (/[1-9]/.test(char)) throw badRegex('backreferences are not supported');
        if (/[\p{L}\p{N}]/u.test(char)) throw badRegex(`unknown escape "\\${char}"`);
        return codePointNode(char.codePointAt(0)!);
    }
  }

  private literal(codePoint: number): CharTest {
    return this.fold((candidate) => candidate === codePoint);
  }

  /** With the `i` flag a test also accepts the other case of the character. */
  private fold(test: CharTest): CharTest {
    if (!this.flags.ignoreCase) return test;
    return (codePoint) => {
      if (test(codePoint)) return true;
      const lower = lowerOf(codePoint);
      if (lower !== codePoint && test(lower)) return true;
      const upper = upperOf(codePoint);
      return upper !== codePoint && test(upper);
    };
  }

  private peek(): string | undefined {
    return this.chars[this.index];
  }
}

// Case mappings of the Basic Multilingual Plane, filled in as they are met (-1: not yet known).
const lowerCache = new Int32Array(0x10000).fill(-1);
const upperCache = new Int32Array(0x10000).fill(-1);

/** The single code point a character lower-cases to, or itself when that is not one code point. */
function lowerOf(codePoint: number): number {
  if (codePoint < 0x10000 && lowerCache[codePoint]! >= 0) return lowerCache[codePoint]!;
  const mapped = caseMapped(codePoint, String.fromCodePoint(codePoint).toLowerCase());
  if (codePoint < 0x10000) lowerCache[codePoint] = mapped;
  return mapped;
}

function upperOf(codePoint: number): number {
  if (codePoint < 0x10000 && upperCache[codePoint]! >= 0) return upperCache[codePoint]!;
  const mapped = caseMapped(codePoint, String.fromCodePoint(codePoint).toUpperCase());
  if (codePoint < 0x10000) upperCache[codePoint] = mapped;
  return mapped;
}

function caseMapped(codePoint: number, text: string): number {
  const mapped = text.codePointAt(0)!;
  return String.fromCodePoint(mapped).length === text.length ? mapped : codePoint;
}

function compile(tree: RegexNode): Instruction[] {
  const program: Instruction[] = [];
  const emit = (instruction: Instruction): number => {
    if (program.length >= MAX_PROGRAM)
      throw badRegex(`pattern compiles to more than ${MAX_PROGRAM} instructions`);
    program.push(instruction);
    return program.length - 1;
  };
  const visit = (node: RegexNode): void => {
    switch (node.kind) {
      case 'char':
        emit({ op: 'char', test: node.test });
        return;
      case 'assert':
        emit({ op: 'assert', assertion: node.assertion });
        return;
      case 'sequence':
        for (const item of node.items) visit(item);
        return;
      case 'alternation': {
        const jumps: number[] = [];
        node.options.forEach((option, index) => {
          if (index === node.options.length - 1) {
            visit(option);
            return;
          }
          const split = emit({ op: 'split', first: 0, second: 0 });
          visit(option);
          jumps.push(emit({ op: 'jump', to: 0 }));
          program[split] = { op: 'split', first: split + 1, second: program.length };
        });
        for (const jump of jumps) program[jump] = { op: 'jump', to: program.length };
        return;
      }
      case 'repeat': {
        for (let count = 0; count < node.min; count += 1) visit(node.item);
        if (node.max === Number.POSITIVE_INFINITY) {
          const split = emit({ op: 'split', first: 0, second: 0 });
          visit(node.item);
          emit({ op: 'jump', to: split });
          program[split] = { op: 'split', first: split + 1, second: program.length };
          return;
        }
        const splits: number[] = [];
        for (let count = node.min; count < node.max; count += 1) {
          splits.push(emit({ op: 'split', first: 0, second: 0 }));
          visit(node.item);
        }
        for (const split of splits)
          program[split] = { op: 'split', first: split + 1, second: program.length };
        return;
      }
    }
  };
  visit(tree);
  emit({ op: 'match' });
  return program;
}

/** Pike VM: every thread advances one character at a time, so work is O(text × program). */
function run(program: Instruction[], text: string, flags: Flags): boolean {
  if (text.length > EXPRESSION_LIMITS.maxMatchInput) {
    throw new ExpressionError(
      'too_long',
      `matches() looks at up to ${EXPRESSION_LIMITS.maxMatchInput} characters, got ${text.length}`,
    );
  }
  const codePoints = Array.from(text, (char) => char.codePointAt(0)!);
  const seen = new Int32Array(program.length).fill(-1);
  let current: number[] = [];
  let next: number[] = [];
  const stack: number[] = [];

  const holds = (assertion: Assertion, at: number): boolean => {
    const before = at > 0 ? codePoints[at - 1] : undefined;
    const after = at < codePoints.length ? codePoints[at] : undefined;
    switch (assertion) {
      case 'start':
        return before === undefined || (flags.multiline && isLineTerminator(before));
      case 'end':
        return after === undefined || (flags.multiline && isLineTerminator(after));
      case 'word':
      case 'not-word': {
        const boundary =
          (before !== undefined && isWordChar(before)) !== (after !== undefined && isWordChar(after));
        return assertion === 'word' ? boundary : !boundary;
      }
    }
  };

  // Follows jumps, splits and assertions from `start`; returns true when the match state is reached.
  const add = (list: number[], start: number, at: number, generation: number): boolean => {
    stack.push(start);
    while (stack.length > 0) {
      const pc = stack.pop()!;
      if (seen[pc] === generation) continue;
      seen[pc] = generation;
      const instruction = program[pc]!;
      switch (instruction.op) {
        case 'match':
          stack.length = 0;
          return true;
        case 'jump':
          stack.push(instruction.to);
          break;
        case 'split':
          stack.push(instruction.second, instruction.first);
          break;
        case 'assert':
          if (holds(instruction.assertion, at)) stack.push(pc + 1);
          break;
        case 'char':
          list.push(pc);
          break;
      }
    }
    return false;
  };

  for (let at = 0; at <= codePoints.length; at += 1) {
    // Generation `at` marks states already in `current` at this position.
    for (const pc of current) seen[pc] = at;
    if (add(current, 0, at, at)) return true;
    if (at === codePoints.length) return false;
    const codePoint = codePoints[at]!;
    next.length = 0;
    for (const pc of current) {
      const instruction = program[pc] as { op: 'char'; test: CharTest };
      if (instruction.test(codePoint) && add(next, pc + 1, at + 1, at + 1)) return true;
    }
    [current, next] = [next, current];
  }
  return false;
}
