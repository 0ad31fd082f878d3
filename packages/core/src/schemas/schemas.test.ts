import { describe, expect, it } from 'vitest';
import { parseInput } from '../validate.js';
import { jsonDepth, MAX_METADATA_DEPTH, MetadataSchema } from './common.js';
import { EditMessageInputSchema, SendMessageInputSchema } from './message.js';

const ROOM_ID = '01HZX3N5B7W9Y1A3C5E7G9J1K3';

/** `{ a: { a: … 1 } }`, `depth` objects deep. */
function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let level = 0; level < depth; level += 1) value = { a: value };
  return value;
}

function issuesOf(schema: Parameters<typeof parseInput>[0], input: unknown) {
  try {
    parseInput(schema, input);
  } catch (error) {
    return (error as { issues: Array<{ path: unknown[]; message: string }> }).issues;
  }
  return [];
}

describe('metadata', () => {
  it('measures depth without recursion, also thousands of levels deep', () => {
    expect(jsonDepth(1, 32)).toBe(0);
    expect(jsonDepth({ a: [1, { b: [] }] }, 32)).toBe(4);
    expect(jsonDepth(nested(100_000), 32)).toBe(33);
  });

  it('accepts metadata up to the depth limit', () => {
    expect(MetadataSchema.parse({ a: nested(MAX_METADATA_DEPTH - 1) })).toEqual({
      a: nested(MAX_METADATA_DEPTH - 1),
    });
  });

  it('refuses metadata one level too deep, and 1,900 levels (which overflowed the stack), naming the field', () => {
    for (const depth of [MAX_METADATA_DEPTH, 1900, 50_000]) {
      const issues = issuesOf(SendMessageInputSchema, {
        roomId: ROOM_ID,
        text: 'hi',
        metadata: { a: nested(depth) },
      });
      expect(issues).toEqual([{ path: ['metadata'], message: 'must be nested at most 32 levels deep' }]);
    }
    expect(issuesOf(EditMessageInputSchema, { text: 'hi', metadata: nested(1900) })[0]?.path).toEqual([
      'metadata',
    ]);
  });

  it('refuses metadata over 16 KiB of JSON', () => {
    const issues = issuesOf(MetadataSchema, { big: 'x'.repeat(16 * 1024) });
    expect(issues).toEqual([{ path: [], message: 'must be at most 16 KiB of JSON' }]);
  });
});

describe('message text', () => {
  it('refuses a lone surrogate, which would be stored as U+FFFD, naming text', () => {
    for (const text of ['broken \ud800 high', 'broken \udc00 low', 'ends \ud83d']) {
      const issues = issuesOf(SendMessageInputSchema, { roomId: ROOM_ID, text });
      expect(issues).toEqual([
        { path: ['text'], message: 'must be well-formed Unicode (no lone surrogate code units)' },
      ]);
      expect(issuesOf(EditMessageInputSchema, { text })[0]?.path).toEqual(['text']);
    }
  });

  it('accepts surrogate pairs: emoji and characters outside the BMP', () => {
    expect(SendMessageInputSchema.parse({ roomId: ROOM_ID, text: '😀 𠮷野家 👩‍👩‍👧' }).text).toBe(
      '😀 𠮷野家 👩‍👩‍👧',
    );
  });
});
