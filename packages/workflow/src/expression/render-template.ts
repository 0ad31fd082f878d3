import { evaluateExpression, kindOf } from './evaluate-expression.js';
import { ExpressionError } from './expression-error.js';
import type { ExpressionNode } from './expression-node.js';
import { children, parseExpression } from './parse-expression.js';

type Segment = { kind: 'text'; text: string } | { kind: 'expression'; node: ExpressionNode; offset: number };

const MAX_TEMPLATE_DEPTH = 64;
const MAX_CACHED = 500;
const cache = new Map<string, Segment[]>();

/**
 * Fills in the `{{ expression }}` parts of a step input. Strings, arrays and plain objects are walked (keys are
 * left alone); a string that is only one `{{ expr }}` (spaces around allowed) yields the raw value (a number,
 * an object…); otherwise each expression is written into the text: strings as they are, `null` as nothing,
 * numbers and booleans as text, arrays and objects as JSON. Throws ExpressionError.
 *
 * @example
 * renderTemplate({ text: 'Total: {{ steps.extract.amount }}', amount: '{{ steps.extract.amount }}' }, scope);
 * // { text: 'Total: 42.5', amount: 42.5 }
 */
export function renderTemplate(value: unknown, scope: Record<string, unknown>): unknown {
  return render(value, scope, 0);
}

function render(value: unknown, scope: Record<string, unknown>, depth: number): unknown {
  if (depth > MAX_TEMPLATE_DEPTH) {
    throw new ExpressionError('too_long', `template is nested more than ${MAX_TEMPLATE_DEPTH} levels`);
  }
  if (typeof value === 'string') return renderString(value, scope);
  const kind = kindOf(value);
  if (kind === 'array') return (value as unknown[]).map((item) => render(item, scope, depth + 1));
  if (kind === 'object') {
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      // defineProperty keeps a key named __proto__ an ordinary own property.
      Object.defineProperty(result, key, {
        value: render(item, scope, depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return result;
  }
  return value;
}

function renderString(text: string, scope: Record<string, unknown>): unknown {
  const segments = parseTemplate(text);
  const expressions = segments.filter((segment) => segment.kind === 'expression');
  if (expressions.length === 0) return text;
  const onlyOne =
    expressions.length === 1 &&
    segments.every((segment) => segment.kind === 'expression' || !segment.text.trim());
  if (onlyOne) return evaluateExpression(expressions[0]!.node, scope);
  let result = '';
  for (const segment of segments) {
    result += segment.kind === 'text' ? segment.text : toText(evaluateExpression(segment.node, scope));
  }
  return result;
}

function toText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (value instanceof Date) return value.toISOString();
  const kind = kindOf(value);
  if (kind === 'array' || kind === 'object') {
    try {
      return JSON.stringify(value);
    } catch (error) {
      throw new ExpressionError('type_mismatch', 'the value cannot be written as JSON', { cause: error });
    }
  }
  return String(value);
}

/**
 * The roots a template (or a `{{ }}`-wrapped condition) refers to: `steps.<id>` for step outputs, the first
 * name otherwise (`trigger`, `env`, `run`). Lets a definition be checked before it runs. Throws ExpressionError
 * on a syntax error.
 *
 * @example templateReferences({ text: '{{ steps.ocr.text }} from {{ trigger.user.name }}' }); // ['steps.ocr', 'trigger']
 */
export function templateReferences(value: unknown): string[] {
  const found = new Set<string>();
  collectTemplate(value, found, 0);
  return [...found];
}

/**
 * The same for a bare expression such as a step's `when` condition.
 *
 * @example expressionReferences('steps.check.ok and trigger.amount > 5'); // ['steps.check', 'trigger']
 */
export function expressionReferences(expression: string | ExpressionNode): string[] {
  const found = new Set<string>();
  const node =
    typeof expression === 'string'
      ? parseExpression(expression.trim().startsWith('{{') ? expression.trim().slice(2, -2) : expression)
      : expression;
  collectNode(node, found);
  return [...found];
}

function collectTemplate(value: unknown, found: Set<string>, depth: number): void {
  if (depth > MAX_TEMPLATE_DEPTH) {
    throw new ExpressionError('too_long', `template is nested more than ${MAX_TEMPLATE_DEPTH} levels`);
  }
  if (typeof value === 'string') {
    for (const segment of parseTemplate(value))
      if (segment.kind === 'expression') collectNode(segment.node, found);
    return;
  }
  const kind = kindOf(value);
  if (kind === 'array' || kind === 'object') {
    for (const item of Object.values(value as object)) collectTemplate(item, found, depth + 1);
  }
}

function collectNode(node: ExpressionNode, found: Set<string>): void {
  if (node.type === 'identifier' || node.type === 'member') {
    const segments: string[] = [];
    let current: ExpressionNode = node;
    const computed: ExpressionNode[] = [];
    while (current.type === 'member') {
      const property: ExpressionNode = current.property;
      if (
        property.type === 'literal' &&
        (typeof property.value === 'string' || typeof property.value === 'number')
      ) {
        segments.unshift(String(property.value));
      } else {
        segments.length = 0; // only the part before a computed key names something fixed
        computed.push(property);
      }
      current = current.object;
    }
    if (current.type === 'identifier') {
      segments.unshift(current.name);
      const root = segments[0]!;
      found.add(root === 'steps' && segments.length > 1 ? `steps.${segments[1]}` : root);
    } else {
      collectNode(current, found);
    }
    for (const property of computed) collectNode(property, found);
    return;
  }
  for (const child of children(node)) collectNode(child, found);
}

/** Splits text into literal parts and parsed `{{ }}` expressions (cached: definitions reuse the same strings). */
function parseTemplate(text: string): Segment[] {
  const cached = cache.get(text);
  if (cached) return cached;
  const segments: Segment[] = [];
  let index = 0;
  while (index < text.length) {
    const open = text.indexOf('{{', index);
    if (open < 0) break;
    if (open > index) segments.push({ kind: 'text', text: text.slice(index, open) });
    const close = findClose(text, open + 2);
    if (close < 0)
      throw new ExpressionError('syntax', 'template has "{{" without a closing "}}"', { position: open });
    let node: ExpressionNode;
    try {
      node = parseExpression(text.slice(open + 2, close));
    } catch (error) {
      if (!ExpressionError.is(error)) throw error;
      const position = error.position === undefined ? open : open + 2 + error.position;
      const message = (error.issues[0]?.message ?? error.message).replace(/ \(at \d+\)$/, '');
      throw new ExpressionError(error.reason, message, { position });
    }
    segments.push({ kind: 'expression', node, offset: open });
    index = close + 2;
  }
  if (index < text.length) segments.push({ kind: 'text', text: text.slice(index) });
  if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
  cache.set(text, segments);
  return segments;
}

/** The `}}` that ends an expression, skipping any inside string literals. */
function findClose(text: string, from: number): number {
  let quote: string | undefined;
  for (let index = from; index < text.length; index += 1) {
    const char = text[index];
    if (quote) {
      if (char === '\\') index += 1;
      else if (char === quote) quote = undefined;
    } else if (char === '"' || char === "'") {
      quote = char;
    } else if (char === '}' && text[index + 1] === '}') {
      return index;
    }
  }
  return -1;
}
