/** A parsed expression: a plain, JSON-serialisable tree. */
export type ExpressionNode =
  | { type: 'literal'; value: null | boolean | number | string; position: number }
  | { type: 'array'; elements: ExpressionNode[]; position: number }
  | { type: 'identifier'; name: string; position: number }
  /** `a.b` (property is a string literal, computed false) or `a[expr]` (computed true). */
  | { type: 'member'; object: ExpressionNode; property: ExpressionNode; computed: boolean; position: number }
  | { type: 'call'; callee: string; args: ExpressionNode[]; position: number }
  | { type: 'unary'; operator: UnaryOperator; operand: ExpressionNode; position: number }
  | {
      type: 'binary';
      operator: BinaryOperator;
      left: ExpressionNode;
      right: ExpressionNode;
      position: number;
    }
  | {
      type: 'logical';
      operator: LogicalOperator;
      left: ExpressionNode;
      right: ExpressionNode;
      position: number;
    };

/** `!` and `not` are the same operator; they differ only in how tightly they bind. */
export type UnaryOperator = '-' | 'not';
export type BinaryOperator =
  | '+'
  | '-'
  | '*'
  | '/'
  | '%'
  | '=='
  | '!='
  | '<'
  | '<='
  | '>'
  | '>='
  | 'in'
  | 'not in';
/** `&&` and `||` are parsed as `and` and `or`. */
export type LogicalOperator = 'and' | 'or' | '??';
