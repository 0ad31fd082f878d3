import { z } from 'zod';
import { IdSchema, TimestampSchema } from './common.js';

/** File names as shown to people: no path separators, no control characters. */
export const FileNameSchema = z
  .string()
  .min(1)
  .max(255)
  .refine((name) => !/[/\\\p{Cc}]/u.test(name) && name !== '.' && name !== '..', {
    message: 'must not contain path separators or control characters',
  });

export const MimeTypeSchema = z
  .string()
  .max(255)
  .regex(/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/i, 'must be a MIME type such as image/png');

export const Sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits');

/** Metadata of a stored file; the bytes live in a blob store under `storageKey`. */
export const FileRecordSchema = z.object({
  id: IdSchema,
  name: FileNameSchema,
  mimeType: MimeTypeSchema,
  size: z.number().int().min(0),
  sha256: Sha256Schema,
  storageKey: z.string().min(1).max(512),
  uploaderId: IdSchema,
  roomId: IdSchema.nullable(),
  projectId: IdSchema.nullable(),
  ticketId: IdSchema.nullable(),
  createdAt: TimestampSchema,
});
export type FileRecord = z.infer<typeof FileRecordSchema>;

export const CreateFileRecordInputSchema = z
  .object({
    name: FileNameSchema,
    mimeType: MimeTypeSchema,
    size: z.number().int().min(0),
    sha256: Sha256Schema,
    storageKey: z.string().min(1).max(512),
    roomId: IdSchema.optional(),
    projectId: IdSchema.optional(),
    ticketId: IdSchema.optional(),
  })
  .refine((input) => input.roomId ?? input.projectId ?? input.ticketId, {
    message: 'a file must be linked to a room, a project or a ticket',
    path: ['roomId'],
  });
export type CreateFileRecordInput = z.input<typeof CreateFileRecordInputSchema>;

export const FileQuerySchema = z.object({
  roomId: IdSchema.optional(),
  projectId: IdSchema.optional(),
  ticketId: IdSchema.optional(),
  /** Exact MIME type (`image/png`) or a top-level type with a wildcard (`image/*`). */
  mimeType: z.string().max(255).optional(),
  after: IdSchema.optional(),
  limit: z.number().int().min(1).max(200).default(50),
});
export type FileQuery = z.input<typeof FileQuerySchema>;
