import { z } from 'zod';
import { ULID_PATTERN } from '../ids.js';
import { fitsUtf8Bytes } from '../utf8.js';

/** An entity id: a ULID. */
export const IdSchema = z.string().regex(ULID_PATTERN, 'must be a ULID (26 characters, Crockford base32)');

/** An instant as an ISO 8601 UTC string with milliseconds, e.g. `2026-11-25T09:30:00.000Z`. */
export const TimestampSchema = z.iso.datetime({ offset: false, precision: 3 });

/** A calendar date, `YYYY-MM-DD`. */
export const DateSchema = z.iso.date();

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type JsonValue = Json;

export const JsonValueSchema: z.ZodType<Json> = z.lazy(() =>
  z.union([
    z.string(),
    z.number(),
    z.boolean(),
    z.null(),
    z.array(JsonValueSchema),
    z.record(z.string(), JsonValueSchema),
  ]),
);

/** Deepest nesting of metadata: an object inside an object counts two. */
export const MAX_METADATA_DEPTH = 32;
/** Largest metadata, in bytes of UTF-8 JSON. */
export const MAX_METADATA_BYTES = 16 * 1024;

/**
 * How deeply `value` nests arrays and objects (a scalar is 0, `{}` and `[]` are 1), walked without
 * recursion so that a hostile value cannot exhaust the stack; stops counting once past `limit`.
 *
 * @example jsonDepth({ a: [1] }, 32) // 2
 */
export function jsonDepth(value: unknown, limit: number): number {
  let deepest = 0;
  const pending: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  while (pending.length > 0) {
    const next = pending.pop() as { value: unknown; depth: number };
    if (typeof next.value !== 'object' || next.value === null) continue;
    const depth = next.depth + 1;
    if (depth > deepest) deepest = depth;
    if (deepest > limit) return deepest;
    for (const child of Object.values(next.value)) pending.push({ value: child, depth });
  }
  return deepest;
}

/**
 * Free-form key/value data attached by apps and bots: at most {@link MAX_METADATA_DEPTH} levels deep and
 * {@link MAX_METADATA_BYTES} of JSON. The depth is checked first, without recursion, because the JSON
 * schema below recurses once per level and a value a few thousand levels deep would overflow the stack.
 */
export const MetadataSchema = z
  .preprocess(
    (value, context) => {
      if (jsonDepth(value, MAX_METADATA_DEPTH) > MAX_METADATA_DEPTH) {
        context.addIssue({
          code: 'custom',
          message: `must be nested at most ${MAX_METADATA_DEPTH} levels deep`,
          input: value,
        });
        return z.NEVER;
      }
      return value;
    },
    z.record(z.string().max(128), JsonValueSchema),
  )
  .refine((value) => fitsUtf8Bytes(JSON.stringify(value), MAX_METADATA_BYTES), {
    message: `must be at most ${MAX_METADATA_BYTES / 1024} KiB of JSON`,
  });
export type Metadata = z.infer<typeof MetadataSchema>;

/** Keyset page options shared by every list call: items strictly after `after` (an id), at most `limit`. */
export const PageOptionsSchema = z.object({
  after: IdSchema.optional(),
  limit: z.number().int().min(1).max(200).default(50),
});
export type PageOptions = z.input<typeof PageOptionsSchema>;
