import { createHash } from 'node:crypto';
import {
  CreateTicketInputSchema,
  createId,
  defineStepType,
  FileNameSchema,
  type FileRecord,
  IdSchema,
  MimeTypeSchema,
  type Ticket,
  UpdateTicketInputSchema,
  ValidationError,
} from '@kaiwa/core';
import { z } from 'zod';
import { readBlob } from './blob-bytes.js';
import { isRetryableStepError } from './errors.js';
import { requireBlobs } from './services.js';

/** Largest file the step copies or writes. */
export const MAX_STORED_FILE_BYTES = 50 * 1024 * 1024;

const FileInputSchema = z
  .object({
    action: z.literal('file'),
    name: FileNameSchema,
    mimeType: MimeTypeSchema.optional(),
    /** The content as text (UTF-8)… */
    text: z.string().max(MAX_STORED_FILE_BYTES).optional(),
    /** …or the bytes of a blob an earlier step has, e.g. `{{ steps.upload.key }}` (copied, not shared). */
    key: z.string().min(1).max(512).optional(),
    roomId: IdSchema.optional(),
    projectId: IdSchema.optional(),
    ticketId: IdSchema.optional(),
  })
  .strict()
  .refine((input) => (input.text === undefined) !== (input.key === undefined), {
    message: 'give either text or key',
    path: ['text'],
  })
  .refine((input) => input.roomId ?? input.projectId ?? input.ticketId, {
    message: 'a file must be linked to a room, a project or a ticket',
    path: ['roomId'],
  });

const TicketCreateInputSchema = z
  .object({ action: z.literal('ticket.create'), ...CreateTicketInputSchema.shape })
  .strict();

const TicketUpdateInputSchema = z
  .object({ action: z.literal('ticket.update'), ticketId: IdSchema, patch: UpdateTicketInputSchema })
  .strict();

export const StoreStepInputSchema = z.union([
  FileInputSchema,
  TicketCreateInputSchema,
  TicketUpdateInputSchema,
]);
export type StoreStepInput = z.infer<typeof StoreStepInputSchema>;

export type StoreStepOutput =
  | { action: 'file'; fileId: string; file: FileRecord }
  | { action: 'ticket.create' | 'ticket.update'; ticketId: string; ticket: Ticket };

/**
 * `store`: saves a file (text or an earlier blob → new blob + file record) or creates/updates a ticket,
 * all through the chat engine as the run's actor, so permissions and events apply.
 *
 * @example
 * { "id": "ticket", "type": "store", "input": { "action": "ticket.create", "projectId": "{{ trigger.projectId }}",
 *   "title": "Pay invoice {{ steps.fields.fields.number }}", "labels": ["invoice"] } }
 */
export const storeStep = defineStepType<StoreStepInput, StoreStepOutput>({
  type: 'store',
  description: 'Saves a file record (text or blob bytes) or creates/updates a ticket as the run actor',
  input: StoreStepInputSchema,
  retryable: isRetryableStepError,
  async run(input, context) {
    const engine = context.services.engine;
    if (input.action === 'ticket.create') {
      const { action, ...ticketInput } = input;
      const ticket = await engine.createTicket(context.actorId, ticketInput);
      return { action, ticketId: ticket.id, ticket };
    }
    if (input.action === 'ticket.update') {
      const ticket = await engine.updateTicket(context.actorId, input.ticketId, input.patch);
      return { action: input.action, ticketId: ticket.id, ticket };
    }

    const blobs = requireBlobs(context, 'store');
    const bytes =
      input.text !== undefined
        ? Buffer.from(input.text, 'utf8')
        : await readBlob(blobs, input.key as string, {
            maxBytes: MAX_STORED_FILE_BYTES,
            field: 'key',
            signal: context.signal,
          });
    if (bytes.length > MAX_STORED_FILE_BYTES) {
      throw ValidationError.field('text', `must be at most ${MAX_STORED_FILE_BYTES} bytes`);
    }
    const storageKey = `workflows/${context.runId}/${createId()}`;
    await blobs.put(storageKey, bytes);
    try {
      const file = await engine.createFileRecord(context.actorId, {
        name: input.name,
        mimeType: input.mimeType ?? (input.text !== undefined ? 'text/plain' : 'application/octet-stream'),
        size: bytes.length,
        sha256: createHash('sha256').update(bytes).digest('hex'),
        storageKey,
        ...(input.roomId ? { roomId: input.roomId } : {}),
        ...(input.projectId ? { projectId: input.projectId } : {}),
        ...(input.ticketId ? { ticketId: input.ticketId } : {}),
      });
      return { action: 'file', fileId: file.id, file };
    } catch (error) {
      // No blob without its record.
      await blobs.delete(storageKey).catch(() => undefined);
      throw error;
    }
  },
});
