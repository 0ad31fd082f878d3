/** The functions an expression may call, with how many arguments each takes. Nothing else can be called. */
export const FUNCTION_ARITY: Readonly<Record<string, readonly [min: number, max: number]>> = {
  contains: [2, 2],
  startsWith: [2, 2],
  endsWith: [2, 2],
  lower: [1, 1],
  upper: [1, 1],
  trim: [1, 1],
  length: [1, 1],
  matches: [2, 3],
  number: [1, 1],
  string: [1, 1],
  exists: [1, 1],
  abs: [1, 1],
  round: [1, 1],
  floor: [1, 1],
  ceil: [1, 1],
  min: [1, 16],
  max: [1, 16],
};

export function isKnownFunction(name: string): boolean {
  return Object.hasOwn(FUNCTION_ARITY, name);
}
