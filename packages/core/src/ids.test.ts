import { describe, expect, it } from 'vitest';
import { createId, ULID_PATTERN } from './ids.js';

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
