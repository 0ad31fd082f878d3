import { FileNameSchema, IdSchema, MimeTypeSchema, NotFoundError } from '@kaiwa/core';
import { defineStepType } from '@kaiwa/workflow';
import { z } from 'zod';
import { sniffBlob } from './blob-bytes.js';
import { isRetryableStepError } from './errors.js';
import { requireBlobs } from './services.js';

export const UploadStepInputSchema = z
  .object({
    /** A chat upload: the file record's id. The run's actor must be allowed to read it. */
    fileId: IdSchema.optional(),
    /** A blob already in the blob store. */
    key: z.string().min(1).max(512).optional(),
    /** Name and type for a bare blob; guessed from the key and the first bytes when missing. */
    name: FileNameSchema.optional(),
    mimeType: MimeTypeSchema.optional(),
  })
  .refine((input) => (input.fileId === undefined) !== (input.key === undefined), {
    message: 'give either fileId or key',
    path: ['fileId'],
  });
export type UploadStepInput = z.infer<typeof UploadStepInputSchema>;

/** What later steps use to find the bytes: they read the blob by `key`, the JSON output never holds them. */
export interface UploadStepOutput {
  fileId?: string;
  key: string;
  name: string;
  mimeType: string;
  size: number;
}

/**
 * `upload`: takes a file from a chat upload (file record id) or straight from the blob store (key) and
 * describes it for later steps.
 *
 * @example
 * { "id": "upload", "type": "upload", "input": { "fileId": "{{ trigger.file.id }}" } }
 */
export const uploadStep = defineStepType<UploadStepInput, UploadStepOutput>({
  type: 'upload',
  description:
    'Takes a file from a chat upload or the blob store: { fileId } or { key } → { key, name, mimeType, size }',
  input: UploadStepInputSchema,
  retryable: isRetryableStepError,
  async run(input, context) {
    const blobs = requireBlobs(context, 'upload');
    if (input.fileId) {
      // Through the engine, so the actor's right to read the file is checked.
      const file = await context.services.chat.getFileRecord(context.actorId, input.fileId);
      const info = await blobs.stat(file.storageKey);
      if (!info) throw new NotFoundError('blob', file.storageKey);
      return {
        fileId: file.id,
        key: file.storageKey,
        name: file.name,
        mimeType: file.mimeType,
        size: info.size,
      };
    }
    const key = input.key as string;
    const info = await blobs.stat(key);
    if (!info) throw new NotFoundError('blob', key);
    const mimeType = input.mimeType ?? (await sniffBlob(blobs, key)) ?? 'application/octet-stream';
    const name = input.name ?? key.split('/').pop() ?? key;
    return { key, name, mimeType, size: info.size };
  },
});
