import type { RetryPolicy } from './workflow-definition.js';

/**
 * How long to wait before try `attempt + 1` after try `attempt` failed: `backoffMs × factor^(attempt − 1)`
 * (factor 2 unless set), capped at `maxBackoffMs`. With jitter the wait is drawn from [delay / 2, delay]:
 * runs that failed together spread out, and the wait never falls below half the policy's delay.
 *
 * @example retryDelay({ attempts: 5, backoffMs: 100 }, 3) // 400
 */
export function retryDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const exponential = policy.backoffMs * (policy.factor ?? 2) ** Math.max(0, attempt - 1);
  const delay = Math.min(exponential, policy.maxBackoffMs ?? Number.POSITIVE_INFINITY);
  if (!policy.jitter) return delay;
  return delay / 2 + random() * (delay / 2);
}
