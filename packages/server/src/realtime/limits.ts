/** Every bound the realtime server enforces; `attachRealtime({ limits })` overrides any of them. */
export interface RealtimeLimits {
  /** Time a new connection has to authenticate before it is closed with 4008. */
  authTimeoutMs: number;
  /** Interval of server pings; a peer that has not answered the previous ping is terminated. */
  heartbeatIntervalMs: number;
  /** Soft frame limit: a larger frame is answered with a `frame_too_large` error and the connection stays. */
  maxFrameBytes: number;
  /** Hard frame limit: a larger frame closes the connection with 1009. */
  maxPayloadBytes: number;
  /** Rooms one connection may be subscribed to at once. */
  maxSubscriptions: number;
  /** Frames a connection may send per second, on average (token bucket refill rate). */
  framesPerSecond: number;
  /** Frames a connection may send in a burst (token bucket size). */
  frameBurst: number;
  /** Rate-limited frames within `rateLimitWindowMs` after which the connection is closed with 4029. */
  maxRateLimitedFrames: number;
  rateLimitWindowMs: number;
  /** Bytes waiting for one connection (our queue plus the socket's `bufferedAmount`) before 4009. */
  maxBufferedBytes: number;
  /** After a 4009 close the peer gets this long to read the close frame before the socket is destroyed. */
  slowConsumerGraceMs: number;
  /** Largest frame made by coalescing several events into one JSON array. */
  maxBatchBytes: number;
  /** Events read from the store per page while a subscription catches up. */
  resumePageSize: number;
  /** Live events held per subscription while it catches up; beyond this they are read from the store. */
  maxPendingEvents: number;
  /** A repeated `typing: true` is forwarded at most this often per user and room. */
  typingThrottleMs: number;
  /** Typing stops by itself when no `typing: true` came for this long. */
  typingExpiryMs: number;
}

export const DEFAULT_REALTIME_LIMITS: Readonly<RealtimeLimits> = Object.freeze({
  authTimeoutMs: 10_000,
  heartbeatIntervalMs: 30_000,
  maxFrameBytes: 96 * 1024,
  maxPayloadBytes: 1024 * 1024,
  maxSubscriptions: 500,
  framesPerSecond: 50,
  frameBurst: 200,
  maxRateLimitedFrames: 200,
  rateLimitWindowMs: 10_000,
  maxBufferedBytes: 4 * 1024 * 1024,
  slowConsumerGraceMs: 5_000,
  maxBatchBytes: 256 * 1024,
  resumePageSize: 500,
  maxPendingEvents: 2_000,
  typingThrottleMs: 2_500,
  typingExpiryMs: 6_000,
});

/** The defaults with `overrides` applied; every value must be a positive number. */
export function resolveLimits(overrides: Partial<RealtimeLimits> = {}): RealtimeLimits {
  const limits: RealtimeLimits = { ...DEFAULT_REALTIME_LIMITS };
  for (const [name, value] of Object.entries(overrides) as [keyof RealtimeLimits, number | undefined][]) {
    if (value === undefined) continue;
    if (!(name in DEFAULT_REALTIME_LIMITS)) throw new RangeError(`unknown realtime limit ${name}`);
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new RangeError(`realtime limit ${name} must be a positive number`);
    }
    limits[name] = value;
  }
  if (limits.maxFrameBytes > limits.maxPayloadBytes) {
    throw new RangeError('realtime limit maxFrameBytes must not exceed maxPayloadBytes');
  }
  // The engine reads at most 1,000 events per call.
  limits.resumePageSize = Math.min(Math.floor(limits.resumePageSize), 1000);
  return limits;
}

/**
 * Parses `framesPerSecond=100,frameBurst=400` into overrides, naming each bad entry (unknown names,
 * values that are not positive numbers).
 */
export function parseRealtimeLimits(
  text: string,
): { ok: true; limits: Partial<RealtimeLimits> } | { ok: false; problems: string[] } {
  const limits: Partial<RealtimeLimits> = {};
  const problems: string[] = [];
  for (const entry of text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const [name = '', value = '', ...rest] = entry.split('=').map((part) => part.trim());
    if (!(name in DEFAULT_REALTIME_LIMITS)) {
      problems.push(
        `"${name}" is not a realtime limit; use ${Object.keys(DEFAULT_REALTIME_LIMITS).join(', ')}`,
      );
      continue;
    }
    const number = Number(value);
    if (rest.length > 0 || !/^\d+(\.\d+)?$/.test(value) || !(number > 0)) {
      problems.push(
        `"${entry}" needs a positive number, as in ${name}=${DEFAULT_REALTIME_LIMITS[name as keyof RealtimeLimits]}`,
      );
      continue;
    }
    limits[name as keyof RealtimeLimits] = number;
  }
  if (problems.length === 0) {
    try {
      resolveLimits(limits);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, limits };
}
