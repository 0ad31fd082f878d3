import { ExpressionError } from './expression-error.js';
import type { BinaryOperator, ExpressionNode } from './expression-node.js';
import { FUNCTION_ARITY, isKnownFunction } from './functions.js';
import { type Token, tokenize } from './lexer.js';
import { EXPRESSION_LIMITS } from './limits.js';

const COMPARISON = new Set(['==', '!=', '<', '<=', '>', '>=']);

/**
 * Parses an expression into a tree you can evaluate many times. Throws ExpressionError: `syntax` (with
 * `position`), `too_long` (source over 4,096 characters or nested over 64 levels) or `unknown_identifier`
 * (a function that is not on the allow-list).
 *
 * @example
 * const node = parseExpression('trigger.amount > 100 and contains(lower(trigger.text), "invoice")');
 * evaluateExpression(node, { trigger: { amount: 120, text: 'Invoice 7' } }); // true
 */
export function parseExpression(source: string): ExpressionNode {
  if (typeof source !== 'string') throw new ExpressionError('syntax', 'expression must be a string');
  return new Parser(tokenize(source)).parse();
}

class Parser {
  private index = 0;
  private depth = 0;
  private readonly depths = new WeakMap<ExpressionNode, number>();

  constructor(private readonly tokens: Token[]) {}

  parse(): ExpressionNode {
    if (this.peek().kind === 'end') throw this.error('expression is empty');
    const node = this.parseOr();
    if (this.peek().kind !== 'end') throw this.error(`unexpected ${describe(this.peek())}`);
    return node;
  }

  private parseOr(): ExpressionNode {
    let left = this.parseAnd();
    while (this.isOperator('||') || this.isKeyword('or')) {
      const token = this.next();
      left = this.node({
        type: 'logical',
        operator: 'or',
        left,
        right: this.parseAnd(),
        position: token.position,
      });
    }
    return left;
  }

  private parseAnd(): ExpressionNode {
    let left = this.parseNot();
    while (this.isOperator('&&') || this.isKeyword('and')) {
      const token = this.next();
      left = this.node({
        type: 'logical',
        operator: 'and',
        left,
        right: this.parseNot(),
        position: token.position,
      });
    }
    return left;
  }

  // `not` binds looser than comparisons (`not a == b` is `not (a == b)`), `!` binds tightly.
  private parseNot(): ExpressionNode {
    if (this.isKeyword('not')) {
      const token = this.next();
      const operand = this.nested(() => this.parseNot());
      return this.node({ type: 'unary', operator: 'not', operand, position: token.position });
    }
    return this.parseComparison();
  }

  private parseComparison(): ExpressionNode {
    const left = this.parseCoalesce();
    const operator = this.comparisonOperator();
    if (operator === undefined) return left;
    const token = this.next();
    if (operator === 'not in') this.next();
    const node = this.node({
      type: 'binary',
      operator,
      left,
      right: this.parseCoalesce(),
      position: token.position,
    });
    if (this.comparisonOperator() !== undefined) {
      throw this.error('comparisons cannot be chained; join them with "and"');
    }
    return node;
  }

  private comparisonOperator(): BinaryOperator | undefined {
    const token = this.peek();
    if (token.kind === 'operator' && COMPARISON.has(token.text)) return token.text as BinaryOperator;
    if (this.isKeyword('in')) return 'in';
    if (this.isKeyword('not') && this.peek(1).kind === 'keyword' && this.peek(1).text === 'in')
      return 'not in';
    return undefined;
  }

  private parseCoalesce(): ExpressionNode {
    let left = this.parseAdditive();
    while (this.isOperator('??')) {
      const token = this.next();
      left = this.node({
        type: 'logical',
        operator: '??',
        left,
        right: this.parseAdditive(),
        position: token.position,
      });
    }
    return left;
  }

  private parseAdditive(): ExpressionNode {
    let left = this.parseMultiplicative();
    while (this.isOperator('+') || this.isOperator('-')) {
      const token = this.next();
      const operator = token.text as '+' | '-';
      left = this.node({
        type: 'binary',
        operator,
        left,
        right: this.parseMultiplicative(),
        position: token.position,
      });
    }
    return left;
  }

  private parseMultiplicative(): ExpressionNode {
    let left = this.parseUnary();
    while (this.isOperator('*') || this.isOperator('/') || this.isOperator('%')) {
      const token = this.next();
      const operator = token.text as '*' | '/' | '%';
      left = this.node({
        type: 'binary',
        operator,
        left,
        right: this.parseUnary(),
        position: token.position,
      });
    }
    return left;
  }

  private parseUnary(): ExpressionNode {
    if (this.isOperator('-') || this.isOperator('!')) {
      const token = this.next();
      const operand = this.nested(() => this.parseUnary());
      const operator = token.text === '-' ? '-' : 'not';
      return this.node({ type: 'unary', operator, operand, position: token.position });
    }
    return this.parsePostfix();
  }

  private parsePostfix(): ExpressionNode {
    let node = this.parsePrimary();
    for (;;) {
      if (this.isOperator('.')) {
        const dot = this.next();
        const name = this.next();
        if (name.kind !== 'identifier' && name.kind !== 'keyword') {
          throw new ExpressionError('syntax', 'expected a property name after "."', {
            position: name.position,
          });
        }
        const property: ExpressionNode = { type: 'literal', value: name.text, position: name.position };
        node = this.node({ type: 'member', object: node, property, computed: false, position: dot.position });
      } else if (this.isOperator('[')) {
        const bracket = this.next();
        const property = this.nested(() => this.parseOr());
        this.expect(']');
        node = this.node({
          type: 'member',
          object: node,
          property,
          computed: true,
          position: bracket.position,
        });
      } else if (this.isOperator('(')) {
        throw this.error('only the built-in functions can be called');
      } else {
        return node;
      }
    }
  }

  private parsePrimary(): ExpressionNode {
    const token = this.next();
    switch (token.kind) {
      case 'number':
      case 'string':
        return { type: 'literal', value: token.value!, position: token.position };
      case 'keyword':
        if (token.text === 'true' || token.text === 'false') {
          return { type: 'literal', value: token.text === 'true', position: token.position };
        }
        if (token.text === 'null') return { type: 'literal', value: null, position: token.position };
        break;
      case 'identifier':
        if (this.isOperator('(')) return this.parseCall(token);
        return { type: 'identifier', name: token.text, position: token.position };
      case 'operator':
        if (token.text === '(') {
          const inner = this.nested(() => this.parseOr());
          this.expect(')');
          return inner;
        }
        if (token.text === '[') return this.parseArray(token);
        break;
      case 'end':
        throw new ExpressionError('syntax', 'unexpected end of expression', { position: token.position });
    }
    throw new ExpressionError('syntax', `unexpected ${describe(token)}`, { position: token.position });
  }

  private parseArray(open: Token): ExpressionNode {
    const elements = this.nested(() => this.parseList(']'));
    return this.node({ type: 'array', elements, position: open.position });
  }

  private parseCall(name: Token): ExpressionNode {
    if (!isKnownFunction(name.text)) {
      throw new ExpressionError('unknown_identifier', `unknown function "${name.text}"`, {
        position: name.position,
      });
    }
    this.next();
    const args = this.nested(() => this.parseList(')'));
    const [min, max] = FUNCTION_ARITY[name.text]!;
    if (args.length < min || args.length > max) {
      const expected = min === max ? `${min}` : `${min} to ${max}`;
      throw new ExpressionError('syntax', `${name.text}() takes ${expected} arguments, got ${args.length}`, {
        position: name.position,
      });
    }
    if (name.text === 'exists' && !isPath(args[0]!)) {
      throw new ExpressionError('syntax', 'exists() takes a name or a property path like a.b', {
        position: name.position,
      });
    }
    return this.node({ type: 'call', callee: name.text, args, position: name.position });
  }

  private parseList(close: ']' | ')'): ExpressionNode[] {
    const items: ExpressionNode[] = [];
    if (this.isOperator(close)) {
      this.next();
      return items;
    }
    for (;;) {
      items.push(this.parseOr());
      if (this.isOperator(',')) {
        this.next();
        continue;
      }
      this.expect(close);
      return items;
    }
  }

  /** Records the node's depth and refuses trees deeper than the limit. */
  private node(node: ExpressionNode): ExpressionNode {
    let childDepth = 0;
    for (const child of children(node)) childDepth = Math.max(childDepth, this.depths.get(child) ?? 1);
    const depth = childDepth + 1;
    if (depth > EXPRESSION_LIMITS.maxDepth) {
      throw new ExpressionError(
        'too_long',
        `expression is nested more than ${EXPRESSION_LIMITS.maxDepth} levels`,
        {
          position: node.position,
        },
      );
    }
    this.depths.set(node, depth);
    return node;
  }

  /** Guards the parser's own recursion (parentheses add no node but do recurse). */
  private nested<T>(parse: () => T): T {
    this.depth += 1;
    if (this.depth > EXPRESSION_LIMITS.maxDepth) {
      throw new ExpressionError(
        'too_long',
        `expression is nested more than ${EXPRESSION_LIMITS.maxDepth} levels`,
        {
          position: this.peek().position,
        },
      );
    }
    try {
      return parse();
    } finally {
      this.depth -= 1;
    }
  }

  private expect(text: string): Token {
    if (!this.isOperator(text)) throw this.error(`expected "${text}" but found ${describe(this.peek())}`);
    return this.next();
  }

  private isOperator(text: string): boolean {
    const token = this.peek();
    return token.kind === 'operator' && token.text === text;
  }

  private isKeyword(text: string): boolean {
    const token = this.peek();
    return token.kind === 'keyword' && token.text === text;
  }

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.index + offset, this.tokens.length - 1)]!;
  }

  private next(): Token {
    const token = this.peek();
    if (this.index < this.tokens.length - 1) this.index += 1;
    return token;
  }

  private error(message: string): ExpressionError {
    return new ExpressionError('syntax', message, { position: this.peek().position });
  }
}

function describe(token: Token): string {
  return token.kind === 'end' ? 'end of expression' : `"${token.text}"`;
}

function isPath(node: ExpressionNode): boolean {
  if (node.type === 'identifier') return true;
  return node.type === 'member' && isPath(node.object);
}

/** The direct children of a node, in source order. */
export function children(node: ExpressionNode): ExpressionNode[] {
  switch (node.type) {
    case 'literal':
    case 'identifier':
      return [];
    case 'array':
      return node.elements;
    case 'member':
      return [node.object, node.property];
    case 'call':
      return node.args;
    case 'unary':
      return [node.operand];
    case 'binary':
    case 'logical':
      return [node.left, node.right];
  }
}
