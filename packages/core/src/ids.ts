import { decodeTime, encodeTime, monotonicFactory } from 'ulid';

/*
 * The ulid package asks the crypto API for one random byte per character (16 calls per id, ~47 µs);
 * drawing from a pooled buffer of cryptographic randomness gives the same quality at ~1 µs. The pool is
 * filled by Web Crypto (`crypto.getRandomValues`, 4 KiB a call, under its 64 KiB limit), which Node ≥ 20,
 * Deno, Bun, browsers and edge runtimes all have as a global.
 */
const pool = new Uint32Array(1024);
let poolIndex = pool.length;
function pooledRandom(): number {
  if (poolIndex === pool.length) {
    globalThis.crypto.getRandomValues(pool);
    poolIndex = 0;
  }
  return pool[poolIndex++]! / 0x1_0000_0000;
}

const nextUlid = monotonicFactory(pooledRandom);

/**
 * A new time-sortable id (ULID, 26 characters, Crockford base32). Ids made by one process
 * are strictly increasing, also within the same millisecond, so they double as a cursor.
 *
 * @example createId() // '01JDQ6R0Q7ZK4M3B8Y2V5N1C9X'
 */
export function createId(now: number = Date.now()): string {
  return nextUlid(now);
}

/** Matches a ULID as made by {@link createId}. */
export const ULID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/**
 * The smallest id of an instant: every id made at or after `time` sorts after it, every id made before sorts
 * below it, so it is a history cursor for "from this time on".
 *
 * @example engine.history(actor, { roomId, after: firstIdAt(Date.parse('2026-12-06T10:00:00Z')) })
 */
export function firstIdAt(time: number): string {
  return `${encodeTime(time, 10)}0000000000000000`;
}

/**
 * When an id was made, in milliseconds since the epoch (a ULID starts with its time).
 *
 * @example new Date(timeOfId(message.id)).toISOString()
 */
export function timeOfId(id: string): number {
  return decodeTime(id);
}
