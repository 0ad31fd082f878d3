import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluateExpression } from './evaluate-expression.js';
import { ExpressionError } from './expression-error.js';
import type { BinaryOperator, ExpressionNode, LogicalOperator } from './expression-node.js';
import { FUNCTION_ARITY } from './functions.js';
import { parseExpression } from './parse-expression.js';
import { printExpression } from './print-expression.js';
import { renderTemplate } from './render-template.js';

const scope = {
  a: 1,
  b: 'text',
  c: [1, 'two', null, { d: true }],
  e: { f: { g: 'deep' }, list: ['x', 'y'] },
  n: null,
  t: true,
};

/** Runs `work`; anything thrown must be an ExpressionError, and it must finish quickly. */
function expectCleanly(work: () => unknown, label: string): void {
  const started = performance.now();
  try {
    work();
  } catch (error) {
    if (!(error instanceof ExpressionError)) {
      throw new Error(`${label} threw ${String(error)}`, { cause: error });
    }
  }
  const elapsed = performance.now() - started;
  if (elapsed > 250) throw new Error(`${label} took ${elapsed.toFixed(0)} ms`);
}

const TOKENS = [
  'a',
  'b',
  'c',
  'e',
  'n',
  't',
  'x',
  '.',
  '[',
  ']',
  '(',
  ')',
  ',',
  '0',
  '1',
  '2.5',
  '"s"',
  "'q'",
  '+',
  '-',
  '*',
  '/',
  '%',
  '==',
  '!=',
  '<',
  '<=',
  '>',
  '>=',
  'and',
  'or',
  'not',
  'in',
  '&&',
  '||',
  '!',
  '??',
  'true',
  'false',
  'null',
  'f',
  'g',
  'list',
  'length',
  'lower',
  'matches',
  'exists',
  'number',
  'string',
  'contains',
  '__proto__',
  'constructor',
  '{{',
  '}}',
  ' ',
];

const NAMES = ['a', 'b', 'c', 'e', 'n', 't', 'missing', 'constructor', '__proto__'];
const PROPERTIES = ['f', 'g', 'd', 'list', 'length', 'constructor', '__proto__', 'toString', 'in'];
const BINARY: BinaryOperator[] = ['+', '-', '*', '/', '%', '==', '!=', '<', '<=', '>', '>=', 'in', 'not in'];
const LOGICAL: LogicalOperator[] = ['and', 'or', '??'];
const FUNCTIONS = Object.keys(FUNCTION_ARITY).filter((name) => name !== 'exists');

const literal = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.oneof(fc.nat(1_000), fc.double({ min: 0, max: 1e6, noNaN: true })),
  fc.string({ maxLength: 8 }),
  fc.constantFrom('.*', '(a+)+$', 'a{2,}', '[a-z]+', '(', '\\1'),
);

// Trees in the shape the parser produces, so printing and re-parsing must give the same text.
const { node } = fc.letrec<{ node: ExpressionNode; path: ExpressionNode }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    literal.map((value): ExpressionNode => ({ type: 'literal', value, position: 0 })),
    tie('path'),
    fc
      .array(tie('node'), { maxLength: 3 })
      .map((elements): ExpressionNode => ({ type: 'array', elements, position: 0 })),
    fc
      .tuple(fc.constantFrom<'-' | 'not'>('-', 'not'), tie('node'))
      .map(([operator, operand]): ExpressionNode => ({ type: 'unary', operator, operand, position: 0 })),
    fc
      .tuple(fc.constantFrom(...BINARY), tie('node'), tie('node'))
      .map(
        ([operator, left, right]): ExpressionNode => ({ type: 'binary', operator, left, right, position: 0 }),
      ),
    fc.tuple(fc.constantFrom(...LOGICAL), tie('node'), tie('node')).map(
      ([operator, left, right]): ExpressionNode => ({
        type: 'logical',
        operator,
        left,
        right,
        position: 0,
      }),
    ),
    fc
      .tuple(fc.constantFrom(...FUNCTIONS), fc.array(tie('node'), { minLength: 3, maxLength: 3 }))
      .map(([callee, args]): ExpressionNode => {
        const [min] = FUNCTION_ARITY[callee]!;
        return {
          type: 'call',
          callee,
          args: args.slice(0, Math.max(min, Math.min(args.length, 2))),
          position: 0,
        };
      }),
    tie('path').map(
      (path): ExpressionNode => ({ type: 'call', callee: 'exists', args: [path], position: 0 }),
    ),
  ),
  path: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(...NAMES).map((name): ExpressionNode => ({ type: 'identifier', name, position: 0 })),
    fc.tuple(tie('path'), fc.constantFrom(...PROPERTIES)).map(
      ([object, name]): ExpressionNode => ({
        type: 'member',
        object,
        property: { type: 'literal', value: name, position: 0 },
        computed: false,
        position: 0,
      }),
    ),
    fc.tuple(tie('path'), tie('node')).map(
      ([object, property]): ExpressionNode => ({
        type: 'member',
        object,
        property,
        computed: true,
        position: 0,
      }),
    ),
  ),
}));

describe('expression fuzzing', () => {
  it('random text never throws anything but ExpressionError', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (source) => {
        expectCleanly(() => evaluateExpression(source, scope), JSON.stringify(source));
        expectCleanly(() => renderTemplate(`x {{${source}}} y`, scope), JSON.stringify(source));
      }),
      { numRuns: 500 },
    );
  });

  it('random token soup never throws anything but ExpressionError', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...TOKENS), { maxLength: 40 }), (tokens) => {
        const source = tokens.join(' ');
        expectCleanly(() => evaluateExpression(source, scope, { maxSteps: 500 }), source);
      }),
      { numRuns: 3_000 },
    );
  });

  it('random trees print to text that parses back to the same tree and evaluates cleanly', () => {
    fc.assert(
      fc.property(node, fc.integer({ min: 1, max: 2_000 }), (tree, maxSteps) => {
        const printed = printExpression(tree);
        expectCleanly(() => {
          const reparsed = parseExpression(printed);
          expect(printExpression(reparsed)).toBe(printed);
        }, printed);
        expectCleanly(() => evaluateExpression(printed, scope, { maxSteps }), printed);
        expectCleanly(() => evaluateExpression(tree, scope, { maxSteps }), printed);
      }),
      { numRuns: 2_000 },
    );
  });

  it('the step budget bounds the work', () => {
    fc.assert(
      fc.property(node, (tree) => {
        // Every node costs a step and every inner node evaluates a child first, so one step is never enough.
        if (tree.type === 'literal' || tree.type === 'identifier') return;
        if (tree.type === 'array' && tree.elements.length === 0) return;
        let reason: string | undefined;
        try {
          evaluateExpression(tree, scope, { maxSteps: 1 });
        } catch (error) {
          reason = (error as ExpressionError).reason;
        }
        expect(reason).toBe('budget_exceeded');
      }),
      { numRuns: 500 },
    );
    const wide = Array.from({ length: 60 }, () => '[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]').join(', ');
    expect(() => evaluateExpression(`[${wide}]`, {}, { maxSteps: 100 })).toThrow(/more than 100 steps/);
  });

  it('hostile inputs fail cleanly and quickly', () => {
    const hostile = [
      '('.repeat(10_000),
      `${'('.repeat(10_000)}1${')'.repeat(10_000)}`,
      'a'.repeat(1_000_000),
      `"${'x'.repeat(1_000_000)}"`,
      '[1,'.repeat(5_000),
      'constructor.constructor("return process")()',
      'a.constructor.constructor',
      '__proto__.polluted',
      'e["__proto__"]["toString"]',
      'matches(b, "(a+)+$")',
      'matches("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", "(a|aa)+$")',
      'matches(b, "(a)\\\\1")',
      'this',
      'globalThis.process',
      'process.exit(1)',
      'require("fs")',
      'import("fs")',
      '`template`',
      'a = 1',
      ';',
    ];
    for (const source of hostile) expectCleanly(() => evaluateExpression(source, scope), source.slice(0, 40));
    expect(Object.hasOwn(Object.prototype, 'polluted')).toBe(false);
  });
});
