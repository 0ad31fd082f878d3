/** Hard limits that keep hostile expressions cheap; see docs/workflows.md. */
export const EXPRESSION_LIMITS = {
  /** Characters in one expression. */
  maxSourceLength: 4_096,
  /** Nesting of parentheses, brackets, calls and operators. */
  maxDepth: 64,
  /** Default evaluation budget: roughly one step per node visited, more for work on long values. */
  maxSteps: 10_000,
  /** Characters in any string an expression builds. */
  maxStringLength: 1_000_000,
  /** Characters in a `matches` pattern. */
  maxPatternLength: 200,
  /** Characters of text `matches` looks at. */
  maxMatchInput: 10_000,
} as const;
