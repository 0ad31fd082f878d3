import { monotonicFactory } from 'ulid';

const nextUlid = monotonicFactory();

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
