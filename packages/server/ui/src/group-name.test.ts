import { describe, expect, it } from 'vitest';
import { groupName } from './group-name';

describe('groupName', () => {
  it('joins the usernames in order, within 64 characters and without a trailing separator', () => {
    expect(groupName(['carol', 'ada', 'bob'])).toBe('ada-bob-carol');
    expect(groupName(Array.from({ length: 9 }, (_, index) => `person.${index}`)).length).toBeLessThanOrEqual(
      64,
    );
    expect(groupName([`${'a'.repeat(63)}`, 'b'])).toBe('a'.repeat(63));
  });
});
