import { type BoundedRegex, compileBoundedRegex } from './bounded-regex.js';
import { ExpressionError } from './expression-error.js';
import type { ExpressionNode } from './expression-node.js';
import { EXPRESSION_LIMITS } from './limits.js';
import { parseExpression } from './parse-expression.js';

export interface EvaluateOptions {
  /** Evaluation budget; about one step per node visited. Defaults to 10,000. */
  maxSteps?: number;
}

type Kind = 'null' | 'boolean' | 'number' | 'string' | 'array' | 'object' | 'other';

const NUMBER_TEXT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const MAX_VALUE_DEPTH = 256;
const regexCache = new Map<string, BoundedRegex>();

/**
 * Evaluates an expression (source or parsed tree) against a scope. Reads only own enumerable properties of
 * plain objects and arrays; a name or property that does not exist is an `unknown_identifier` error (use
 * `a.b ?? fallback` or `exists(a.b)` when it may be absent). Operators never coerce: mixing types is a
 * `type_mismatch`. Throws only ExpressionError.
 *
 * @example
 * evaluateExpression('matches(steps.ocr.text ?? "", "INV-\\d+")', scope);
 * evaluateExpression('trigger.amount * 2', { trigger: { amount: 21 } }); // 42
 */
export function evaluateExpression(
  expression: string | ExpressionNode,
  scope: Record<string, unknown>,
  options: EvaluateOptions = {},
): unknown {
  const node = typeof expression === 'string' ? parseExpression(unwrapBraces(expression)) : expression;
  const maxSteps = options.maxSteps ?? EXPRESSION_LIMITS.maxSteps;
  return new Evaluator(scope, maxSteps).evaluate(node, 1);
}

/** `{{ a > 1 }}` written as a condition means `a > 1`. */
function unwrapBraces(source: string): string {
  const trimmed = source.trim();
  return trimmed.startsWith('{{') && trimmed.endsWith('}}') && trimmed.length >= 4
    ? trimmed.slice(2, -2)
    : source;
}

export function kindOf(value: unknown): Kind {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return 'boolean';
    case 'number':
      return 'number';
    case 'string':
      return 'string';
    case 'object': {
      if (Array.isArray(value)) return 'array';
      const prototype = Object.getPrototypeOf(value);
      return prototype === Object.prototype || prototype === null ? 'object' : 'other';
    }
    default:
      return 'other';
  }
}

/** The value of an own, enumerable, defined property, or `undefined`. Never reaches a prototype. */
export function ownValue(container: unknown, key: string | number): unknown {
  const kind = kindOf(container);
  if (kind === 'array') {
    const array = container as unknown[];
    if (typeof key !== 'number' || !Number.isInteger(key) || key < 0 || key >= array.length) return undefined;
    return Object.hasOwn(array, key) ? array[key] : undefined;
  }
  if (kind === 'object' && typeof key === 'string') {
    const object = container as Record<string, unknown>;
    return Object.hasOwn(object, key) && Object.prototype.propertyIsEnumerable.call(object, key)
      ? object[key]
      : undefined;
  }
  return undefined;
}

function describeKind(value: unknown): string {
  const kind = kindOf(value);
  return kind === 'other'
    ? typeof value
    : kind === 'array'
      ? 'an array'
      : kind === 'object'
        ? 'an object'
        : `a ${kind}`;
}

/** `trigger.message.text`, `steps.ocr["full text"]`, `items[0]` — for error messages. */
function pathText(node: ExpressionNode): string {
  if (node.type === 'identifier') return node.name;
  if (node.type === 'member') {
    const property = node.property;
    if (property.type === 'literal')
      return pathText(node.object) + accessorText(property.value as string | number);
    return `${pathText(node.object)}[…]`;
  }
  return '(…)';
}

function accessorText(key: unknown): string {
  if (typeof key === 'string' && /^[\p{L}_$][\p{L}\p{N}_$]*$/u.test(key)) return `.${key}`;
  return `[${JSON.stringify(key)}]`;
}

class Evaluator {
  private steps = 0;

  constructor(
    private readonly scope: Record<string, unknown>,
    private readonly maxSteps: number,
  ) {}

  evaluate(node: ExpressionNode, depth: number): unknown {
    if (depth > EXPRESSION_LIMITS.maxDepth) {
      throw new ExpressionError(
        'too_long',
        `expression is nested more than ${EXPRESSION_LIMITS.maxDepth} levels`,
        {
          position: node.position,
        },
      );
    }
    this.charge(1, node);
    switch (node.type) {
      case 'literal':
        return node.value;
      case 'array':
        return node.elements.map((element) => this.evaluate(element, depth + 1));
      case 'identifier': {
        const value = ownValue(this.scope, node.name);
        if (value === undefined) {
          throw new ExpressionError('unknown_identifier', `unknown name "${node.name}"`, {
            position: node.position,
          });
        }
        return value;
      }
      case 'member': {
        const object = this.evaluate(node.object, depth + 1);
        const key = node.computed
          ? this.evaluate(node.property, depth + 1)
          : (node.property as { value: unknown }).value;
        return this.member(object, key, node);
      }
      case 'unary': {
        const operand = this.evaluate(node.operand, depth + 1);
        if (node.operator === '-') return -this.expect(operand, 'number', node, 'unary -');
        return !this.expect(operand, 'boolean', node, '"not"');
      }
      case 'logical':
        return this.logical(node, depth);
      case 'binary':
        return this.binary(node, this.evaluate(node.left, depth + 1), this.evaluate(node.right, depth + 1));
      case 'call':
        return this.call(node, depth);
    }
  }

  private member(object: unknown, key: unknown, node: ExpressionNode & { type: 'member' }): unknown {
    const objectKind = kindOf(object);
    const path = () => pathText(node.object) + accessorText(key);
    if (objectKind === 'null') {
      throw new ExpressionError(
        'unknown_identifier',
        `${path()} does not exist (${pathText(node.object)} is null)`,
        {
          position: node.position,
        },
      );
    }
    if (objectKind === 'array' && typeof key !== 'number') {
      throw new ExpressionError('type_mismatch', `${path()}: an array index must be a number`, {
        position: node.position,
      });
    }
    if (objectKind === 'object' && typeof key !== 'string') {
      throw new ExpressionError('type_mismatch', `${path()}: a property name must be a string`, {
        position: node.position,
      });
    }
    if (objectKind !== 'array' && objectKind !== 'object') {
      throw new ExpressionError(
        'type_mismatch',
        `cannot read ${path()}: ${pathText(node.object)} is ${describeKind(object)}`,
        {
          position: node.position,
        },
      );
    }
    const value = ownValue(object, key as string | number);
    if (value === undefined) {
      throw new ExpressionError('unknown_identifier', `${path()} does not exist`, {
        position: node.position,
      });
    }
    return value;
  }

  private logical(node: ExpressionNode & { type: 'logical' }, depth: number): unknown {
    if (node.operator === '??') {
      try {
        const value = this.evaluate(node.left, depth + 1);
        if (value !== null) return value;
      } catch (error) {
        if (!ExpressionError.is(error, 'unknown_identifier')) throw error;
      }
      return this.evaluate(node.right, depth + 1);
    }
    const left = this.expect(this.evaluate(node.left, depth + 1), 'boolean', node, `"${node.operator}"`);
    if (node.operator === 'and' ? !left : left) return left;
    return this.expect(this.evaluate(node.right, depth + 1), 'boolean', node, `"${node.operator}"`);
  }

  private binary(node: ExpressionNode & { type: 'binary' }, left: unknown, right: unknown): unknown {
    switch (node.operator) {
      case '+': {
        if (typeof left === 'number' && typeof right === 'number') return this.finite(left + right, node);
        if (typeof left === 'string' && typeof right === 'string') return this.text(left + right, node);
        throw this.mismatch(
          node,
          `"+" needs two numbers or two strings, got ${describeKind(left)} and ${describeKind(right)}`,
        );
      }
      case '-':
      case '*':
      case '/':
      case '%': {
        const a = this.expect(left, 'number', node, `"${node.operator}"`);
        const b = this.expect(right, 'number', node, `"${node.operator}"`);
        if ((node.operator === '/' || node.operator === '%') && b === 0)
          throw this.mismatch(node, 'division by zero');
        const result =
          node.operator === '-'
            ? a - b
            : node.operator === '*'
              ? a * b
              : node.operator === '/'
                ? a / b
                : a % b;
        return this.finite(result, node);
      }
      case '==':
      case '!=': {
        const equal = this.equals(left, right, node);
        return node.operator === '==' ? equal : !equal;
      }
      case '<':
      case '<=':
      case '>':
      case '>=': {
        const bothNumbers = typeof left === 'number' && typeof right === 'number';
        const bothStrings = typeof left === 'string' && typeof right === 'string';
        if (!bothNumbers && !bothStrings) {
          throw this.mismatch(
            node,
            `cannot compare ${describeKind(left)} with ${describeKind(right)} using "${node.operator}"`,
          );
        }
        const a = left as number | string;
        const b = right as number | string;
        return node.operator === '<'
          ? a < b
          : node.operator === '<='
            ? a <= b
            : node.operator === '>'
              ? a > b
              : a >= b;
      }
      case 'in':
        return this.includes(right, left, node);
      case 'not in':
        return !this.includes(right, left, node);
    }
  }

  /** `needle in haystack`: element of an array, substring of a string, key of an object. */
  private includes(haystack: unknown, needle: unknown, node: ExpressionNode): boolean {
    const kind = kindOf(haystack);
    if (kind === 'array') {
      return (haystack as unknown[]).some((element) => this.deepEqual(element, needle, node, 0));
    }
    if (kind === 'string' || kind === 'object') {
      if (typeof needle !== 'string') {
        throw this.mismatch(
          node,
          `"in" ${kind === 'string' ? 'a string' : 'an object'} needs a string on the left, got ${describeKind(needle)}`,
        );
      }
      if (kind === 'object') return ownValue(haystack, needle) !== undefined;
      this.charge(Math.ceil((haystack as string).length / 1_000), node);
      return (haystack as string).includes(needle);
    }
    throw this.mismatch(
      node,
      `"in" needs an array, a string or an object on the right, got ${describeKind(haystack)}`,
    );
  }

  private equals(left: unknown, right: unknown, node: ExpressionNode): boolean {
    const leftKind = kindOf(left);
    const rightKind = kindOf(right);
    if (leftKind === 'null' || rightKind === 'null') return left === right;
    if (leftKind !== rightKind || leftKind === 'other') {
      throw this.mismatch(node, `cannot compare ${describeKind(left)} with ${describeKind(right)}`);
    }
    return this.deepEqual(left, right, node, 0);
  }

  /** Structural equality without errors: values of different kinds are simply unequal. */
  private deepEqual(left: unknown, right: unknown, node: ExpressionNode, depth: number): boolean {
    this.charge(1, node);
    if (depth > MAX_VALUE_DEPTH)
      throw new ExpressionError('too_long', 'values are nested too deeply to compare');
    const kind = kindOf(left);
    if (kind !== kindOf(right)) return false;
    if (kind === 'array') {
      const a = left as unknown[];
      const b = right as unknown[];
      return (
        a.length === b.length &&
        a.every((element, index) => this.deepEqual(element, b[index], node, depth + 1))
      );
    }
    if (kind === 'object') {
      const a = left as Record<string, unknown>;
      const b = right as Record<string, unknown>;
      const keys = Object.keys(a);
      if (keys.length !== Object.keys(b).length) return false;
      return keys.every((key) => {
        const other = ownValue(b, key);
        return other !== undefined && this.deepEqual(a[key], other, node, depth + 1);
      });
    }
    return left === right;
  }

  private call(node: ExpressionNode & { type: 'call' }, depth: number): unknown {
    if (node.callee === 'exists') {
      try {
        this.evaluate(node.args[0]!, depth + 1);
        return true;
      } catch (error) {
        if (ExpressionError.is(error, 'unknown_identifier')) return false;
        throw error;
      }
    }
    const args = node.args.map((arg) => this.evaluate(arg, depth + 1));
    const name = `${node.callee}()`;
    const string = (index: number) => this.expect(args[index], 'string', node, name);
    const number = (index: number) => this.expect(args[index], 'number', node, name);
    switch (node.callee) {
      case 'contains':
        return this.includes(args[0], args[1], node);
      case 'startsWith':
        return string(0).startsWith(string(1));
      case 'endsWith':
        return string(0).endsWith(string(1));
      case 'lower':
        return this.text(string(0).toLowerCase(), node);
      case 'upper':
        return this.text(string(0).toUpperCase(), node);
      case 'trim':
        return string(0).trim();
      case 'length': {
        const value = args[0];
        const kind = kindOf(value);
        if (kind === 'string') {
          this.charge(Math.ceil((value as string).length / 1_000), node);
          let count = 0;
          for (const _ of value as string) count += 1;
          return count;
        }
        if (kind === 'array') return (value as unknown[]).length;
        if (kind === 'object') return Object.keys(value as object).length;
        throw this.mismatch(
          node,
          `length() needs a string, an array or an object, got ${describeKind(value)}`,
        );
      }
      case 'matches': {
        const flags = args.length > 2 ? string(2) : '';
        const text = string(0);
        const regex = regexFor(string(1), flags, node.position);
        // Matching costs up to one program step per instruction and character: charge for that.
        this.charge(
          Math.ceil((Math.min(text.length, EXPRESSION_LIMITS.maxMatchInput) * regex.size) / 5_000),
          node,
        );
        return regex.test(text);
      }
      case 'number':
        return this.toNumber(args[0], node);
      case 'string':
        return this.toText(args[0], node);
      case 'abs':
        return Math.abs(number(0));
      case 'round':
        return Math.round(number(0));
      case 'floor':
        return Math.floor(number(0));
      case 'ceil':
        return Math.ceil(number(0));
      case 'min':
      case 'max': {
        const values = args.length === 1 && Array.isArray(args[0]) ? (args[0] as unknown[]) : args;
        if (values.length === 0) throw this.mismatch(node, `${name} needs at least one number`);
        this.charge(values.length, node);
        const numbers = values.map((value) => this.expect(value, 'number', node, name));
        return node.callee === 'min' ? Math.min(...numbers) : Math.max(...numbers);
      }
      default:
        throw new ExpressionError('unknown_identifier', `unknown function "${node.callee}"`, {
          position: node.position,
        });
    }
  }

  private toNumber(value: unknown, node: ExpressionNode): number {
    if (typeof value === 'number') return value;
    if (typeof value === 'boolean') return value ? 1 : 0;
    if (typeof value === 'string') {
      const trimmed = value.trim();
      if (trimmed.length <= 400 && NUMBER_TEXT.test(trimmed)) return this.finite(Number(trimmed), node);
      throw this.mismatch(node, `number(): "${trimmed.slice(0, 40)}" is not a number`);
    }
    throw this.mismatch(node, `number() needs a string, a number or a boolean, got ${describeKind(value)}`);
  }

  private toText(value: unknown, node: ExpressionNode): string {
    const kind = kindOf(value);
    if (kind === 'string') return value as string;
    if (kind === 'null' || kind === 'boolean' || kind === 'number') return String(value);
    if (kind === 'array' || kind === 'object') {
      let text: string;
      try {
        text = JSON.stringify(value);
      } catch (error) {
        throw this.mismatch(node, 'string(): the value cannot be written as JSON', error);
      }
      this.charge(Math.ceil(text.length / 1_000), node);
      return this.text(text, node);
    }
    throw this.mismatch(node, `string() cannot convert ${describeKind(value)}`);
  }

  private expect(value: unknown, kind: 'number', node: ExpressionNode, what: string): number;
  private expect(value: unknown, kind: 'string', node: ExpressionNode, what: string): string;
  private expect(value: unknown, kind: 'boolean', node: ExpressionNode, what: string): boolean;
  private expect(
    value: unknown,
    kind: 'number' | 'string' | 'boolean',
    node: ExpressionNode,
    what: string,
  ): unknown {
    if (typeof value === kind) return value;
    throw this.mismatch(
      node,
      `${what} needs ${kind === 'number' ? 'a number' : kind === 'string' ? 'a string' : 'a boolean'}, got ${describeKind(value)}`,
    );
  }

  private finite(value: number, node: ExpressionNode): number {
    if (!Number.isFinite(value)) throw this.mismatch(node, 'the result is not a finite number');
    return value;
  }

  private text(value: string, node: ExpressionNode): string {
    if (value.length > EXPRESSION_LIMITS.maxStringLength) {
      throw new ExpressionError(
        'budget_exceeded',
        `a string grew past ${EXPRESSION_LIMITS.maxStringLength} characters`,
        {
          position: node.position,
        },
      );
    }
    return value;
  }

  private charge(steps: number, node: ExpressionNode): void {
    this.steps += steps;
    if (this.steps > this.maxSteps) {
      throw new ExpressionError('budget_exceeded', `evaluation took more than ${this.maxSteps} steps`, {
        position: node.position,
      });
    }
  }

  private mismatch(node: ExpressionNode, message: string, cause?: unknown): ExpressionError {
    return new ExpressionError('type_mismatch', message, { position: node.position, cause });
  }
}

function regexFor(pattern: string, flags: string, position: number): BoundedRegex {
  const key = `${flags}/${pattern}`;
  let regex = regexCache.get(key);
  if (regex === undefined) {
    try {
      regex = compileBoundedRegex(pattern, flags);
    } catch (error) {
      if (ExpressionError.is(error)) {
        throw new ExpressionError(error.reason, error.issues[0]?.message ?? 'bad pattern', { position });
      }
      throw error;
    }
    if (regexCache.size >= 200) regexCache.delete(regexCache.keys().next().value!);
    regexCache.set(key, regex);
  }
  return regex;
}
