import { describe, expect, it } from 'vitest';
import { evaluateExpression } from './evaluate-expression.js';
import { ExpressionError, type ExpressionErrorCode } from './expression-error.js';
import { parseExpression } from './parse-expression.js';

const scope = {
  trigger: {
    message: { text: 'Invoice INV-42 for ACME', author: 'ana' },
    amount: 120,
    tags: ['urgent', 'billing'],
    nothing: null,
    nested: { list: [{ id: 1 }, { id: 2 }] },
    'full name': 'Ana B',
  },
  steps: { ocr: { text: 'Total 42.50', confidence: 0.93 } },
  run: { id: 'r1', workflowId: 'wf' },
};

const run = (source: string, values: Record<string, unknown> = scope) => evaluateExpression(source, values);

function failure(
  source: string,
  values: Record<string, unknown> = scope,
  maxSteps?: number,
): ExpressionError {
  try {
    evaluateExpression(source, values, maxSteps === undefined ? {} : { maxSteps });
  } catch (error) {
    expect(error, source).toBeInstanceOf(ExpressionError);
    return error as ExpressionError;
  }
  throw new Error(`expected ${source} to fail`);
}

function expectReason(source: string, reason: ExpressionErrorCode, message?: RegExp) {
  const error = failure(source);
  expect(error.reason, source).toBe(reason);
  if (message) expect(error.message, source).toMatch(message);
}

describe('evaluateExpression', () => {
  it('evaluates literals and arrays', () => {
    expect(run('42')).toBe(42);
    expect(run('"x"')).toBe('x');
    expect(run('null')).toBe(null);
    expect(run('[1, "a", [true]]')).toEqual([1, 'a', [true]]);
  });

  it('reads properties by dot, bracket and index', () => {
    expect(run('trigger.message.text')).toBe('Invoice INV-42 for ACME');
    expect(run('trigger["full name"]')).toBe('Ana B');
    expect(run('trigger.tags[1]')).toBe('billing');
    expect(run('trigger.nested.list[1].id')).toBe(2);
    expect(run('trigger.tags[trigger.nested.list[0].id]')).toBe('billing');
    expect(run('trigger.nothing')).toBe(null);
    expect(run('steps.ocr')).toEqual(scope.steps.ocr);
  });

  it('makes missing names and properties errors naming the path', () => {
    expectReason('nobody', 'unknown_identifier', /unknown name "nobody"/);
    expectReason('trigger.message.subject', 'unknown_identifier', /trigger\.message\.subject does not exist/);
    expectReason('trigger.tags[5]', 'unknown_identifier', /trigger\.tags\[5\] does not exist/);
    expectReason('trigger.tags[-1]', 'unknown_identifier');
    expectReason('trigger.nothing.deeper', 'unknown_identifier', /trigger\.nothing is null/);
    expectReason('trigger.tags["0"]', 'type_mismatch', /index must be a number/);
    expectReason('trigger[1]', 'type_mismatch', /property name must be a string/);
    expectReason('trigger.amount.value', 'type_mismatch', /trigger\.amount is a number/);
    expect(failure('trigger.message.subject').issues[0]?.path).toEqual(['expression']);
    expect(failure('trigger.message.subject').position).toBe(15);
  });

  it('offers ?? and exists() for values that may be absent', () => {
    expect(run('trigger.message.subject ?? "none"')).toBe('none');
    expect(run('trigger.nothing ?? 1')).toBe(1);
    expect(run('trigger.nothing.deeper ?? 2')).toBe(2);
    expect(run('nobody ?? trigger.amount')).toBe(120);
    expect(run('trigger.amount ?? 1')).toBe(120);
    expect(run('exists(trigger.message.subject)')).toBe(false);
    expect(run('exists(trigger.message.text)')).toBe(true);
    expect(run('exists(trigger.nothing)')).toBe(true);
    expect(run('exists(nobody)')).toBe(false);
    // ?? only forgives absence, never a type error.
    expectReason('(1 + "a") ?? 2', 'type_mismatch');
  });

  it('never reaches prototypes', () => {
    const hostile = [
      'constructor',
      'constructor.constructor',
      'trigger.constructor',
      'trigger.constructor.constructor',
      'trigger.__proto__',
      'trigger["__proto__"]',
      'trigger.tags.constructor',
      'trigger.tags["length"]',
      'trigger.hasOwnProperty',
      'trigger.toString',
      'steps.ocr.text.constructor',
      '"abc".constructor',
      'trigger.message["constructor"]["constructor"]("return process")',
    ];
    for (const source of hostile) {
      const error = failure(source);
      expect(['unknown_identifier', 'type_mismatch', 'syntax'], source).toContain(error.reason);
    }
    // A JSON key named __proto__ is an ordinary own property and can be read.
    const parsed = JSON.parse('{"data": {"__proto__": {"x": 1}}}') as Record<string, unknown>;
    expect(run('data.__proto__.x', parsed)).toBe(1);
    // Non-plain objects are opaque.
    expect(() => run('when.getTime', { when: new Date() })).toThrow(/is object/);
    expect(() => run('m.size', { m: new Map() })).toThrow(ExpressionError);
    // Properties that are undefined or not enumerable count as missing.
    const odd = Object.defineProperty({ shown: undefined } as Record<string, unknown>, 'hidden', {
      value: 1,
    });
    expect(() => run('o.shown', { o: odd })).toThrow(/o\.shown does not exist/);
    expect(() => run('o.hidden', { o: odd })).toThrow(/o\.hidden does not exist/);
    expect(run('o.x', { o: Object.assign(Object.create(null), { x: 3 }) })).toBe(3);
  });

  it('compares strictly', () => {
    expect(run('1 == 1')).toBe(true);
    expect(run('1 != 2')).toBe(true);
    expect(run('"a" == "a"')).toBe(true);
    expect(run('trigger.nothing == null')).toBe(true);
    expect(run('1 == null')).toBe(false);
    expect(run('null != "x"')).toBe(true);
    expect(run('[1, [2]] == [1, [2]]')).toBe(true);
    expect(run('[1, 2] == [1, "2"]')).toBe(false);
    expect(run('steps.ocr == steps.ocr')).toBe(true);
    expect(run('trigger.nested.list[0] == trigger.nested.list[1]')).toBe(false);
    expect(run('2 < 3 and 3 <= 3 and 4 > 3 and 4 >= 4')).toBe(true);
    expect(run('"abc" < "abd"')).toBe(true);
    expectReason('1 == "1"', 'type_mismatch', /cannot compare a number with a string/);
    expectReason('true != 1', 'type_mismatch');
    expectReason('1 < "2"', 'type_mismatch', /cannot compare a number with a string using "<"/);
    expectReason('[1] < [2]', 'type_mismatch');
    expectReason('null < 1', 'type_mismatch');
  });

  it('does boolean logic with short-circuit, on booleans only', () => {
    expect(run('true and false')).toBe(false);
    expect(run('true && true')).toBe(true);
    expect(run('false or true')).toBe(true);
    expect(run('false || false')).toBe(false);
    expect(run('not false')).toBe(true);
    expect(run('!(1 == 2)')).toBe(true);
    // The right side is never looked at.
    expect(run('false and nobody.anything')).toBe(false);
    expect(run('true or nobody.anything')).toBe(true);
    expectReason('1 and true', 'type_mismatch', /"and" needs a boolean, got a number/);
    expectReason('false or "x"', 'type_mismatch');
    expectReason('not "x"', 'type_mismatch');
    expectReason('!null', 'type_mismatch');
  });

  it('does arithmetic on numbers and joins strings with +', () => {
    expect(run('1 + 2 * 3')).toBe(7);
    expect(run('10 - 4 - 3')).toBe(3);
    expect(run('7 / 2')).toBe(3.5);
    expect(run('7 % 3')).toBe(1);
    expect(run('-trigger.amount')).toBe(-120);
    expect(run('- -2')).toBe(2);
    expect(run('"a" + "b"')).toBe('ab');
    expect(run('trigger.message.author + "!"')).toBe('ana!');
    expectReason('1 + "a"', 'type_mismatch', /"\+" needs two numbers or two strings/);
    expectReason('"a" - "b"', 'type_mismatch');
    expectReason('[1] + [2]', 'type_mismatch');
    expectReason('-"a"', 'type_mismatch');
    expectReason('1 / 0', 'type_mismatch', /division by zero/);
    expectReason('1 % 0', 'type_mismatch', /division by zero/);
    expectReason('1e308 * 10', 'type_mismatch', /finite/);
    expectReason('true + 1', 'type_mismatch');
  });

  it('tests membership with in / not in', () => {
    expect(run('"urgent" in trigger.tags')).toBe(true);
    expect(run('"other" not in trigger.tags')).toBe(true);
    expect(run('{"id": 1} in trigger.nested.list'.replace('{"id": 1}', 'trigger.nested.list[0]'))).toBe(true);
    expect(run('1 in ["1", 2]')).toBe(false);
    expect(run('"INV" in trigger.message.text')).toBe(true);
    expect(run('"amount" in trigger')).toBe(true);
    expect(run('"constructor" in trigger')).toBe(false);
    expectReason('1 in "123"', 'type_mismatch', /needs a string on the left/);
    expectReason('"a" in 5', 'type_mismatch', /needs an array, a string or an object/);
    expectReason('"a" in null', 'type_mismatch');
  });

  it('calls the allow-listed functions', () => {
    expect(run('contains(trigger.tags, "billing")')).toBe(true);
    expect(run('contains(trigger.message.text, "ACME")')).toBe(true);
    expect(run('startsWith(trigger.message.text, "Invoice")')).toBe(true);
    expect(run('endsWith(trigger.message.text, "ACME")')).toBe(true);
    expect(run('lower("ÀB")')).toBe('àb');
    expect(run('upper("ab")')).toBe('AB');
    expect(run('trim("  a ")')).toBe('a');
    expect(run('length("日本😀")')).toBe(3);
    expect(run('length(trigger.tags)')).toBe(2);
    expect(run('length(steps.ocr)')).toBe(2);
    expect(run('matches(trigger.message.text, "INV-\\\\d+")')).toBe(true);
    expect(run('matches(trigger.message.text, "^invoice", "i")')).toBe(true);
    expect(run('matches(trigger.message.text, "^invoice")')).toBe(false);
    expect(run('number(" 42.5 ")')).toBe(42.5);
    expect(run('number("-1e3")')).toBe(-1000);
    expect(run('number(true)')).toBe(1);
    expect(run('number(7)')).toBe(7);
    expect(run('string(42) + "!"')).toBe('42!');
    expect(run('string(null)')).toBe('null');
    expect(run('string(trigger.tags)')).toBe('["urgent","billing"]');
    expect(run('abs(-2) + round(2.5) + floor(1.9) + ceil(1.1)')).toBe(2 + 3 + 1 + 2);
    expect(run('min(3, 1, 2)')).toBe(1);
    expect(run('max([3, 9, 2])')).toBe(9);
    expectReason('lower(1)', 'type_mismatch', /lower\(\) needs a string, got a number/);
    expectReason('startsWith("a", 1)', 'type_mismatch');
    expectReason('length(1)', 'type_mismatch');
    expectReason('number("12abc")', 'type_mismatch', /not a number/);
    expectReason('number("")', 'type_mismatch');
    expectReason('number(null)', 'type_mismatch');
    expectReason('min([])', 'type_mismatch');
    expectReason('max(1, "2")', 'type_mismatch');
    expectReason('matches("a", "(a")', 'bad_regex');
    expectReason('matches("a", "(a)\\\\1")', 'bad_regex', /backreferences/);
    expectReason('matches("a", "a", "g")', 'bad_regex', /flag/);
    expectReason(`matches("a", "${'a'.repeat(201)}")`, 'bad_regex', /longer than 200/);
    expect(() => run('matches(text, "a")', { text: 'a'.repeat(10_001) })).toThrow(/up to 10000 characters/);
  });

  it('accepts a parsed tree and a condition wrapped in {{ }}', () => {
    const node = parseExpression('trigger.amount > limit');
    expect(evaluateExpression(node, { trigger: { amount: 5 }, limit: 3 })).toBe(true);
    expect(evaluateExpression(node, { trigger: { amount: 1 }, limit: 3 })).toBe(false);
    expect(run('{{ trigger.amount > 100 }}')).toBe(true);
  });

  it('stops at the step budget', () => {
    const error = failure('1 + 1 + 1 + 1 + 1', scope, 5);
    expect(error.reason).toBe('budget_exceeded');
    expect(() => evaluateExpression('1 + 1', {}, { maxSteps: 3 })).not.toThrow();
    // Work on big values costs steps too.
    const big = { list: Array.from({ length: 20_000 }, (_, index) => index) };
    expect(failure('-1 in list', big).reason).toBe('budget_exceeded');
    expect(failure('list == list', big).reason).toBe('budget_exceeded');
    expect(failure('length(text) > 0', { text: 'x'.repeat(20_000_000) }).reason).toBe('budget_exceeded');
    // A heavy match is paid for before it runs.
    const started = performance.now();
    const heavy = failure('matches(text, "[^x]{0,400}z")', { text: 'ab'.repeat(5_000) }, 300);
    expect(heavy.reason).toBe('budget_exceeded');
    expect(performance.now() - started).toBeLessThan(50);
  });

  it('caps the strings it builds', () => {
    const text = 'x'.repeat(600_000);
    expect(failure('text + text', { text }).reason).toBe('budget_exceeded');
  });

  it('fails cleanly on hand-made trees that are too deep', () => {
    let node: Parameters<typeof evaluateExpression>[0] = { type: 'literal', value: 1, position: 0 };
    for (let index = 0; index < 10_000; index += 1) {
      node = { type: 'unary', operator: '-', operand: node, position: 0 };
    }
    expect(() => evaluateExpression(node, {})).toThrow(/nested more than 64/);
  });

  it('fails cleanly on values too deep to compare or print', () => {
    let deep: unknown = [];
    for (let index = 0; index < 5_000; index += 1) deep = [deep];
    expect(failure('a == b', { a: deep, b: deep }, 1_000_000).reason).toBe('too_long');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(failure('string(c)', { c: cyclic }).reason).toBe('type_mismatch');
  });
});
