import type { ExpressionNode } from './expression-node.js';

const IDENTIFIER = /^[\p{L}_$][\p{L}\p{N}_$]*$/u;

/**
 * Turns a tree back into source that parses to the same tree (operators fully parenthesised).
 *
 * @example printExpression(parseExpression('a.b+1 > 2')); // '((a.b + 1) > 2)'
 */
export function printExpression(node: ExpressionNode): string {
  switch (node.type) {
    case 'literal':
      return typeof node.value === 'string' ? JSON.stringify(node.value) : String(node.value);
    case 'array':
      return `[${node.elements.map(printExpression).join(', ')}]`;
    case 'identifier':
      return node.name;
    case 'member': {
      const object = printExpression(node.object);
      const property = node.property;
      if (
        !node.computed &&
        property.type === 'literal' &&
        typeof property.value === 'string' &&
        IDENTIFIER.test(property.value)
      ) {
        return `${object}.${property.value}`;
      }
      return `${object}[${printExpression(property)}]`;
    }
    case 'call':
      return `${node.callee}(${node.args.map(printExpression).join(', ')})`;
    case 'unary':
      return node.operator === '-'
        ? `(-${printExpression(node.operand)})`
        : `(not ${printExpression(node.operand)})`;
    case 'binary':
    case 'logical':
      return `(${printExpression(node.left)} ${node.operator} ${printExpression(node.right)})`;
  }
}
