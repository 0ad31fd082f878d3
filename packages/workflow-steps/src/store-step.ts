import { createHash } from 'node:crypto';
import {
  CreateTicketInputSchema,
  createId,
  FileNameSchema,
  type FileRecord,
  IdSchema,
  LabelSchema,
  MimeTypeSchema,
  type Ticket,
  UpdateTicketInputSchema,
  ValidationError,
} from '@kaiwa/core';
import { defineStepType } from '@kaiwa/workflow';
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
  .object({
    action: z.literal('ticket.create'),
    ...CreateTicketInputSchema.shape,
    // One label of a ticket's 20 is the step's own key (see ticketKey).
    labels: z.array(LabelSchema).max(19, 'at most 19 labels: the step adds its key as the 20th').default([]),
  })
  .strict();

const TicketUpdateInputSchema = z
  .object({ action: z.literal('ticket.update'), ticketId: IdSchema, patch: UpdateTicketInputSchema })
  .strict();

export const StoreStepInputSchema = z.discriminatedUnion('action', [
  FileInputSchema,
  TicketCreateInputSchema,
  TicketUpdateInputSchema,
]);
export type StoreStepInput = z.infer<typeof StoreStepInputSchema>;

export type StoreStepOutput =
  | { action: 'file'; fileId: string; file: FileRecord }
  | { action: 'ticket.create' | 'ticket.update'; ticketId: string; ticket: Ticket };

/**
 * The label a `ticket.create` step puts on its ticket: the same for every attempt of one step of one run,
 * and unlike any other step's.
 *
 * @example
 * ticketKey(context.runId, 'ticket'); // 'workflow-5d41402abc4b2a76b9719d91'
 */
export function ticketKey(runId: string, stepId: string): string {
  return `workflow-${createHash('sha256').update(`${runId}\u0000${stepId}`).digest('hex').slice(0, 24)}`;
}

/**
 * `store`: saves a file (text or an earlier blob → new blob + file record) or creates/updates a ticket,
 * all through the chat engine as the run's actor, so permissions and events apply. A created ticket carries
 * the step's {@link ticketKey} label, so a retried or resumed step returns it instead of creating another.
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
    const chat = context.services.chat;
    if (input.action === 'ticket.create') {
      const { action, ...ticketInput } = input;
      // A retry, or a resume after a crash between creating the ticket and recording the step, finds the
      // ticket of the earlier attempt by its key instead of creating a second one.
      const key = ticketKey(context.runId, context.stepId);
      const earlier = await context.services.store.tickets.findByLabel(ticketInput.projectId, key);
      if (earlier !== undefined && earlier.reporterId === context.actorId) {
        const ticket = await chat.getTicket(context.actorId, earlier.id);
        return { action, ticketId: ticket.id, ticket };
      }
      const labels = [...ticketInput.labels, key];
      const ticket = await chat.createTicket(context.actorId, { ...ticketInput, labels });
      return { action, ticketId: ticket.id, ticket };
    }
    if (input.action === 'ticket.update') {
      const ticket = await chat.updateTicket(context.actorId, input.ticketId, input.patch);
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
      const file = await chat.createFileRecord(context.actorId, {
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
