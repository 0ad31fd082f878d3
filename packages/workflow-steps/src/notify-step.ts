import { createHash } from 'node:crypto';
import { IdSchema, MessageTextSchema, type PlatformMessageRef, ValidationError } from '@kaiwa/core';
import { defineStepType } from '@kaiwa/workflow';
import { z } from 'zod';
import { isRetryableStepError, MissingServiceError } from './errors.js';

export const NotifyStepInputSchema = z
  .object({
    /** Kaiwa markdown; mentions (`@name`) and room links work as in any message. */
    text: MessageTextSchema,
    /** A Kaiwa room: the message is sent as the run's actor. */
    roomId: IdSchema.optional(),
    threadRootId: IdSchema.optional(),
    /** Or a platform adapter by name (`slack`, `discord`, …) and a channel there. */
    platform: z.string().min(1).max(64).optional(),
    channelId: z.string().min(1).max(200).optional(),
    threadId: z.string().min(1).max(200).optional(),
  })
  .strict()
  .refine((input) => (input.roomId === undefined) !== (input.platform === undefined), {
    message: 'give either roomId or platform',
    path: ['roomId'],
  })
  .refine((input) => input.platform === undefined || input.channelId !== undefined, {
    message: 'a platform message needs channelId',
    path: ['channelId'],
  });
export type NotifyStepInput = z.infer<typeof NotifyStepInputSchema>;

export type NotifyStepOutput =
  | { roomId: string; messageId: string }
  | { platform: string; channelId: string; messages: PlatformMessageRef[] };

/**
 * `notify`: posts a message to a Kaiwa room as the run's actor, or to a platform channel through a
 * platform adapter. Room messages carry a client message id made from the run and step, so a retried or
 * resumed step never posts twice.
 *
 * @example
 * { "id": "tell", "type": "notify", "input": { "roomId": "{{ trigger.roomId }}",
 *   "text": "Invoice {{ steps.fields.fields.number }} filed as ticket {{ steps.ticket.ticketId }}" } }
 */
export const notifyStep = defineStepType<NotifyStepInput, NotifyStepOutput>({
  type: 'notify',
  description: 'Posts a message to a Kaiwa room (as the run actor) or to a platform channel',
  input: NotifyStepInputSchema,
  retryable: isRetryableStepError,
  async run(input, context) {
    if (input.roomId) {
      const clientMessageId = `wf-${createHash('sha256').update(`${context.runId}/${context.stepId}`).digest('hex').slice(0, 40)}`;
      const message = await context.services.chat.sendMessage(context.actorId, {
        roomId: input.roomId,
        text: input.text,
        clientMessageId,
        ...(input.threadRootId ? { threadRootId: input.threadRootId } : {}),
        metadata: { workflowRunId: context.runId, workflowId: context.workflowId },
      });
      return { roomId: message.roomId, messageId: message.id };
    }
    const platforms = context.services.platforms;
    if (!platforms) throw new MissingServiceError('notify', 'platform adapters (services.platforms)');
    const platform = input.platform as string;
    const adapter = platforms.get(platform);
    if (!adapter) {
      throw ValidationError.field(
        'platform',
        `no platform adapter named "${platform}"; known: ${[...platforms.keys()].join(', ')}`,
      );
    }
    const channelId = input.channelId as string;
    const messages = await adapter.send(
      { channelId, ...(input.threadId ? { threadId: input.threadId } : {}) },
      { text: input.text },
    );
    return { platform, channelId, messages };
  },
});
