import type { Redis } from 'ioredis';
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible';

/** What is limited per user, across all of the user's sockets and REST calls (and instances, on Redis). */
export const USER_LIMITED_ACTIONS = ['messages', 'uploads', 'workflowRuns', 'searches'] as const;
export type UserLimitedAction = (typeof USER_LIMITED_ACTIONS)[number];

/** At most `points` actions per `durationSeconds` window. */
export interface UserRateLimit {
  points: number;
  durationSeconds: number;
}

export type UserRateLimitSettings = Record<UserLimitedAction, UserRateLimit>;

/**
 * Far above what a person does and what the benchmarks' clients send, far below a flood (the hostile probe
 * sent 480 messages a second from one user over ten sockets).
 */
export const DEFAULT_USER_RATE_LIMITS: Readonly<UserRateLimitSettings> = Object.freeze({
  messages: { points: 200, durationSeconds: 10 },
  uploads: { points: 30, durationSeconds: 60 },
  workflowRuns: { points: 30, durationSeconds: 60 },
  searches: { points: 60, durationSeconds: 60 },
});

export type RateLimitVerdict =
  | { allowed: true }
  | { allowed: false; action: UserLimitedAction; retryAfterMs: number; limit: UserRateLimit };

export interface UserRateLimiterOptions {
  limits?: Partial<UserRateLimitSettings>;
  /** Counters shared by every instance; without it, each instance counts on its own. */
  redis?: Redis;
  /** Prefix of the Redis keys, e.g. the bus channel. */
  keyPrefix?: string;
}

/**
 * Per-user limits on messages, uploads, workflow runs and searches, counted across every socket and REST
 * call of the user — in Redis when the instances share one, so a user cannot multiply the limit by
 * spreading over instances. While Redis is unreachable each instance counts in memory (the insurance
 * limiter), so an outage neither blocks everyone nor lifts the limits.
 *
 * @example
 * const limiter = new UserRateLimiter({ limits: { messages: { points: 50, durationSeconds: 10 } } });
 * const verdict = await limiter.consume(user.id, 'messages');
 * if (!verdict.allowed) reply.header('retry-after', Math.ceil(verdict.retryAfterMs / 1000));
 */
export class UserRateLimiter {
  readonly limits: Readonly<UserRateLimitSettings>;
  readonly #limiters: Record<UserLimitedAction, RateLimiterAbstract>;

  constructor(options: UserRateLimiterOptions = {}) {
    this.limits = Object.freeze({ ...DEFAULT_USER_RATE_LIMITS, ...options.limits });
    const make = (action: UserLimitedAction): RateLimiterAbstract => {
      const { points, durationSeconds } = this.limits[action];
      const memory = new RateLimiterMemory({ points, duration: durationSeconds, keyPrefix: action });
      if (!options.redis) return memory;
      return new RateLimiterRedis({
        storeClient: options.redis,
        keyPrefix: `${options.keyPrefix ?? 'kaiwa'}:user-limit:${action}`,
        points,
        duration: durationSeconds,
        // Do not queue commands while Redis is away: count in memory instead.
        rejectIfRedisNotReady: true,
        insuranceLimiter: memory,
      });
    };
    this.#limiters = {
      messages: make('messages'),
      uploads: make('uploads'),
      workflowRuns: make('workflowRuns'),
      searches: make('searches'),
    };
  }

  /** Counts one `action` of `userId`; says whether it is within the limit and, if not, when to retry. */
  async consume(userId: string, action: UserLimitedAction): Promise<RateLimitVerdict> {
    try {
      await this.#limiters[action].consume(userId);
      return { allowed: true };
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) {
        return {
          allowed: false,
          action,
          retryAfterMs: Math.max(rejection.msBeforeNext, 1),
          limit: this.limits[action],
        };
      }
      throw rejection;
    }
  }
}

/**
 * Parses `messages=200/10s,uploads=30/60s` (durations in s, m or h) into limits, naming each bad entry.
 * @returns the limits, or the problems.
 */
export function parseUserRateLimits(
  text: string,
): { ok: true; limits: Partial<UserRateLimitSettings> } | { ok: false; problems: string[] } {
  const limits: Partial<UserRateLimitSettings> = {};
  const problems: string[] = [];
  for (const entry of text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const match = /^([A-Za-z]+)\s*=\s*(\d+)\s*\/\s*(\d+)\s*(s|m|h)$/.exec(entry);
    if (!match) {
      problems.push(`"${entry}" must look like messages=200/10s`);
      continue;
    }
    const [, name, points, amount, unit] = match as unknown as [
      string,
      string,
      string,
      string,
      's' | 'm' | 'h',
    ];
    if (!(USER_LIMITED_ACTIONS as readonly string[]).includes(name)) {
      problems.push(`"${name}" is not a limit; use ${USER_LIMITED_ACTIONS.join(', ')}`);
      continue;
    }
    const durationSeconds = Number(amount) * { s: 1, m: 60, h: 3600 }[unit];
    if (Number(points) < 1 || durationSeconds < 1 || durationSeconds > 86_400) {
      problems.push(`"${entry}" needs at least 1 action per 1 s to 24 h`);
      continue;
    }
    limits[name as UserLimitedAction] = { points: Number(points), durationSeconds };
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, limits };
}
