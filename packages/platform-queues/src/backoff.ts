/** How long to wait before the next attempt: exponential, capped, optionally jittered. */
export interface BackoffOptions {
  /** Wait after the first failure. Default 500 ms. */
  initialMs?: number;
  /** Longest wait. Default 60 s. */
  maxMs?: number;
  /** Growth per attempt. Default 2. */
  factor?: number;
  /** Spread waits over 50–100 % of the computed value, so many failing items do not retry in step. Default true. */
  jitter?: boolean;
}

/**
 * The wait after `attempt` failed attempts (1 = the first failure).
 *
 * @example backoffDelay(3, { initialMs: 100, jitter: false }); // 400
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const initial = options.initialMs ?? 500;
  const max = options.maxMs ?? 60_000;
  const factor = options.factor ?? 2;
  const delay = Math.min(max, initial * factor ** Math.max(0, attempt - 1));
  return options.jitter === false ? delay : Math.round(delay * (0.5 + Math.random() * 0.5));
}
