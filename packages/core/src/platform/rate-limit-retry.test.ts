import { describe, expect, it } from 'vitest';
import { PlatformError } from '../ports/platform-adapter.js';
import { platformErrorCodeForStatus, retryAfterMs, withPlatformRetry } from './rate-limit-retry.js';

const limited = (retryAfter?: number) =>
  new PlatformError('test', 'rate_limited', 'slow down', {
    ...(retryAfter === undefined ? {} : { retryAfterMs: retryAfter }),
  });

describe('withPlatformRetry', () => {
  it('waits for the platform’s Retry-After, else backs off, and stops after the retries', async () => {
    const waits: number[] = [];
    let last = Date.now();
    let calls = 0;
    const result = await withPlatformRetry(
      async () => {
        const now = Date.now();
        if (calls > 0) waits.push(now - last);
        last = now;
        calls += 1;
        if (calls === 1) throw limited(120);
        if (calls === 2) throw limited();
        return 'sent';
      },
      (error) => error as PlatformError,
      { retries: 2, backoffMs: (attempt) => 40 * 2 ** attempt, maxDelayMs: 1_000, overMax: 'cap' },
    );
    expect(result).toBe('sent');
    expect(calls).toBe(3);
    expect(waits[0]).toBeGreaterThanOrEqual(110);
    expect(waits[1]).toBeGreaterThanOrEqual(75);

    let attempts = 0;
    await expect(
      withPlatformRetry(
        async () => {
          attempts += 1;
          throw limited(1);
        },
        (error) => error as PlatformError,
        { retries: 2, backoffMs: () => 1, maxDelayMs: 1_000, overMax: 'cap' },
      ),
    ).rejects.toMatchObject({ code: 'rate_limited' });
    expect(attempts).toBe(3);
  });

  it('never retries what cannot improve, and fails at once on a wait over the limit with overMax fail', async () => {
    let calls = 0;
    const forbidden = new PlatformError('test', 'forbidden', 'no');
    await expect(
      withPlatformRetry(
        async () => {
          calls += 1;
          throw forbidden;
        },
        (error) => error as PlatformError,
        { retries: 5, backoffMs: () => 1, maxDelayMs: 10, overMax: 'cap' },
      ),
    ).rejects.toBe(forbidden);
    expect(calls).toBe(1);
    const started = Date.now();
    await expect(
      withPlatformRetry(
        async () => {
          throw limited(3_600_000);
        },
        (error) => error as PlatformError,
        { retries: 5, backoffMs: () => 1, maxDelayMs: 30_000, overMax: 'fail' },
      ),
    ).rejects.toMatchObject({ retryAfterMs: 3_600_000 });
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe('status and Retry-After helpers', () => {
  it('maps HTTP statuses to platform error codes and reads Retry-After', () => {
    expect(platformErrorCodeForStatus(429)).toBe('rate_limited');
    expect(platformErrorCodeForStatus(404)).toBe('not_found');
    expect(platformErrorCodeForStatus(403)).toBe('forbidden');
    expect(platformErrorCodeForStatus(503)).toBe('unavailable');
    expect(platformErrorCodeForStatus(400)).toBe('invalid_request');
    expect(retryAfterMs('7')).toBe(7_000);
    expect(retryAfterMs(null)).toBeUndefined();
    expect(retryAfterMs('not a date')).toBeUndefined();
    expect(retryAfterMs(new Date(Date.now() - 5_000).toUTCString())).toBe(0);
  });
});
