import { EditMessageInputSchema, EmojiSchema, MessageSchema, SendMessageInputSchema } from '@kaiwa/core';
import { z } from 'zod';
import {
  errorResponses,
  HistoryQueryStringSchema,
  MessagePageSchema,
  MessageParamsSchema,
  RoomParamsSchema,
  SearchQueryStringSchema,
} from '../http/api-schemas.js';
import { requireUser } from '../http/authentication.js';
import type { ApiInstance, RouteContext } from './route-context.js';

const tags = ['messages'];
const SendMessageBodySchema = SendMessageInputSchema.omit({ roomId: true });

/** History, sending (idempotent with a clientMessageId), editing, deleting, reactions and search. */
export function registerMessageRoutes(app: ApiInstance, { engine }: RouteContext): void {
  app.get(
    '/rooms/:roomId/messages',
    {
      config: { access: { signedIn: 'visible', guest: 'mine' } },
      schema: {
        tags,
        summary:
          'A page of history, oldest first: the newest by default, or before/after a message, or a thread',
        params: RoomParamsSchema,
        querystring: HistoryQueryStringSchema,
        response: { 200: MessagePageSchema, ...errorResponses },
      },
    },
    async (request) =>
      engine.history(requireUser(request).id, { ...request.query, roomId: request.params.roomId }),
  );

  app.post(
    '/rooms/:roomId/messages',
    {
      config: { userRateLimit: 'messages', access: { signedIn: 'mine' } },
      schema: {
        tags,
        summary: 'Send a message; repeating a send with the same clientMessageId returns the first message',
        params: RoomParamsSchema,
        body: SendMessageBodySchema,
        response: { 201: MessageSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      // The user was read for this request by the authentication hook: the engine need not read it again.
      const message = await engine.sendMessage(requireUser(request), {
        ...request.body,
        roomId: request.params.roomId,
      });
      return reply.status(201).send(message);
    },
  );

  app.get(
    '/messages/:messageId',
    {
      config: { access: { signedIn: 'visible', guest: 'mine' } },
      schema: {
        tags,
        summary: 'One message',
        params: MessageParamsSchema,
        response: { 200: MessageSchema, ...errorResponses },
      },
    },
    async (request) => engine.getMessage(requireUser(request).id, request.params.messageId),
  );

  app.patch(
    '/messages/:messageId',
    {
      config: { access: { signedIn: 'mine' } },
      schema: {
        tags,
        summary: 'Edit your message',
        params: MessageParamsSchema,
        body: EditMessageInputSchema,
        response: { 200: MessageSchema, ...errorResponses },
      },
    },
    async (request) => engine.editMessage(requireUser(request).id, request.params.messageId, request.body),
  );

  app.delete(
    '/messages/:messageId',
    {
      config: { access: { signedIn: 'mine', moderator: 'visible', admin: 'visible' } },
      schema: {
        tags,
        summary: 'Delete a message (author, room moderators, staff); the tombstone is returned',
        params: MessageParamsSchema,
        response: { 200: MessageSchema, ...errorResponses },
      },
    },
    async (request) => engine.deleteMessage(requireUser(request).id, request.params.messageId),
  );

  app.post(
    '/messages/:messageId/reactions',
    {
      config: { access: { signedIn: 'mine' } },
      schema: {
        tags,
        summary: 'Add my reaction (a :shortcode: or one emoji); adding it twice changes nothing',
        params: MessageParamsSchema,
        body: z.object({ emoji: EmojiSchema }),
        response: { 200: MessageSchema, ...errorResponses },
      },
    },
    async (request) =>
      engine.addReaction(requireUser(request).id, request.params.messageId, request.body.emoji),
  );

  app.delete(
    '/messages/:messageId/reactions/:emoji',
    {
      config: { access: { signedIn: 'mine' } },
      schema: {
        tags,
        summary: 'Remove my reaction (the emoji URL-encoded in the path)',
        params: MessageParamsSchema.extend({ emoji: EmojiSchema }),
        response: { 200: MessageSchema, ...errorResponses },
      },
    },
    async (request) =>
      engine.removeReaction(requireUser(request).id, request.params.messageId, request.params.emoji),
  );

  app.get(
    '/search',
    {
      config: { userRateLimit: 'searches', access: { signedIn: 'visible', guest: 'mine' } },
      schema: {
        tags,
        summary: 'Full-text search over the messages I may read, newest first',
        querystring: SearchQueryStringSchema,
        response: { 200: z.object({ messages: z.array(MessageSchema) }), ...errorResponses },
      },
    },
    async (request) => ({ messages: await engine.search(requireUser(request).id, request.query) }),
  );
}
