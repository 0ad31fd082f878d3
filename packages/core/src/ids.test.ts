import { ulid } from 'ulid';
import { describe, expect, it } from 'vitest';
import { createId, firstIdAt, timeOfId, ULID_PATTERN } from './ids.js';

describe('createId', () => {
  it('makes valid, unique, strictly increasing ULIDs, also within one millisecond', () => {
    const now = Date.now();
    const ids = Array.from({ length: 5000 }, () => createId(now));
    expect(ids.every((id) => ULID_PATTERN.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it('spreads the random part over the whole alphabet', () => {
    const seen = new Set<string>();
    const start = Date.now() + 60_000;
    // A new millisecond draws a new random part (within one, the monotonic factory counts up).
    for (let i = 0; i < 2000; i++) seen.add(createId(start + i).slice(10, 11));
    expect(seen.size).toBe(32);
  });
});

describe('firstIdAt', () => {
  it('sorts after every id made before the instant and before every id made from it on', () => {
    // ulid() itself, not createId: the monotonic factory never goes back in time within one process.
    const instant = Date.parse('2099-12-06T10:00:00.000Z');
    const floor = firstIdAt(instant);
    expect(floor).toMatch(ULID_PATTERN);
    expect(ulid(instant - 1) < floor).toBe(true);
    expect(ulid(instant) > floor).toBe(true);
    expect(ulid(instant + 3_600_000) > floor).toBe(true);
    expect(timeOfId(ulid(instant))).toBe(instant);
    expect(timeOfId(floor)).toBe(instant);
  });
});
