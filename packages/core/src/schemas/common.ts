import { z } from 'zod';
import { ULID_PATTERN } from '../ids.js';

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

/** Free-form key/value data attached by apps and bots; kept under 16 KiB of JSON. */
export const MetadataSchema = z
  .record(z.string().max(128), JsonValueSchema)
  .refine((value) => Buffer.byteLength(JSON.stringify(value), 'utf8') <= 16 * 1024, {
    message: 'must be at most 16 KiB of JSON',
  });
export type Metadata = z.infer<typeof MetadataSchema>;

/** Keyset page options shared by every list call: items strictly after `after` (an id), at most `limit`. */
export const PageOptionsSchema = z.object({
  after: IdSchema.optional(),
  limit: z.number().int().min(1).max(200).default(50),
});
export type PageOptions = z.input<typeof PageOptionsSchema>;
