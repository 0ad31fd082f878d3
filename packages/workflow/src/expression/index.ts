export { type BoundedRegex, compileBoundedRegex } from './bounded-regex.js';
export { type EvaluateOptions, evaluateExpression } from './evaluate-expression.js';
export { ExpressionError, type ExpressionErrorCode } from './expression-error.js';
export type { BinaryOperator, ExpressionNode, LogicalOperator, UnaryOperator } from './expression-node.js';
export { FUNCTION_ARITY } from './functions.js';
export { EXPRESSION_LIMITS } from './limits.js';
export { parseExpression } from './parse-expression.js';
export { printExpression } from './print-expression.js';
export { expressionReferences, renderTemplate, templateReferences } from './render-template.js';
