import {
  CreateRoomInputSchema,
  IdSchema,
  MemberRoleSchema,
  MembershipSchema,
  RoomEventSchema,
  RoomSchema,
  UpdateRoomInputSchema,
  UpdateRoomPreferencesInputSchema,
} from '@kaiwa/core';
import { RoomRightsSchema } from '@kaiwa/protocol';
import { z } from 'zod';
import {
  EventsQuerySchema,
  errorResponses,
  NoContentSchema,
  PageQuerySchema,
  RoomParamsSchema,
  RoomSummarySchema,
} from '../http/api-schemas.js';
import { requireUser } from '../http/authentication.js';
import type { ApiInstance, RouteContext } from './route-context.js';

const tags = ['rooms'];
const MemberParamsSchema = z.object({ roomId: IdSchema, userId: IdSchema });

/** Rooms: the caller's list with unread counts, public channels, direct rooms, members, read markers, events. */
export function registerRoomRoutes(app: ApiInstance, { engine }: RouteContext): void {
  app.get(
    '/rooms',
    {
      config: { access: { signedIn: 'allowed' } },
      schema: {
        tags,
        summary: 'My rooms, each with my membership, unread count and what I may do in it',
        response: { 200: z.object({ rooms: z.array(RoomSummarySchema) }), ...errorResponses },
      },
    },
    async (request) => ({ rooms: await engine.listRooms(requireUser(request).id) }),
  );

  app.get(
    '/rooms/unread',
    {
      config: { access: { signedIn: 'allowed' } },
      schema: {
        tags,
        summary: 'Unread message counts per room',
        response: { 200: z.object({ unread: z.record(z.string(), z.number().int()) }), ...errorResponses },
      },
    },
    async (request) => ({ unread: await engine.unreadCounts(requireUser(request).id) }),
  );

  app.get(
    '/rooms/channels',
    {
      config: { access: { signedIn: 'allowed' } },
      schema: {
        tags,
        summary: 'Public channels anyone but a guest may join',
        querystring: PageQuerySchema,
        response: { 200: z.object({ rooms: z.array(RoomSchema) }), ...errorResponses },
      },
    },
    async (request) => ({ rooms: await engine.listChannels(requireUser(request).id, request.query) }),
  );

  app.post(
    '/rooms',
    {
      config: { access: { signedIn: 'allowed', guest: 'denied' } },
      schema: {
        tags,
        summary: 'Create a channel or a private group; you become its owner',
        body: CreateRoomInputSchema,
        response: { 201: RoomSchema, ...errorResponses },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await engine.createRoom(requireUser(request).id, request.body)),
  );

  app.post(
    '/rooms/direct',
    {
      config: { access: { signedIn: 'allowed', guest: 'denied' } },
      schema: {
        tags,
        summary: 'The direct room with another user, created on first use',
        body: z.object({ userId: IdSchema }),
        response: { 200: RoomSchema, ...errorResponses },
      },
    },
    async (request) => engine.openDirectRoom(requireUser(request).id, request.body.userId),
  );

  app.get(
    '/rooms/:roomId',
    {
      config: { access: { signedIn: 'visible', guest: 'mine' } },
      schema: {
        tags,
        summary: 'One room',
        params: RoomParamsSchema,
        response: { 200: RoomSchema, ...errorResponses },
      },
    },
    async (request) => engine.getRoom(requireUser(request).id, request.params.roomId),
  );

  app.patch(
    '/rooms/:roomId',
    {
      config: { access: { signedIn: 'mine', admin: 'visible' } },
      schema: {
        tags,
        summary: 'Rename, change the topic, archive (room owners and moderators, admins)',
        params: RoomParamsSchema,
        body: UpdateRoomInputSchema,
        response: { 200: RoomSchema, ...errorResponses },
      },
    },
    async (request) => engine.updateRoom(requireUser(request).id, request.params.roomId, request.body),
  );

  app.post(
    '/rooms/:roomId/join',
    {
      config: { access: { signedIn: 'visible', guest: 'mine' } },
      schema: {
        tags,
        summary: 'Join a public channel',
        params: RoomParamsSchema,
        response: { 200: MembershipSchema, ...errorResponses },
      },
    },
    async (request) => engine.joinRoom(requireUser(request).id, request.params.roomId),
  );

  app.post(
    '/rooms/:roomId/leave',
    {
      config: { access: { signedIn: 'mine' } },
      schema: {
        tags,
        summary: 'Leave a room',
        params: RoomParamsSchema,
        response: { 204: NoContentSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      await engine.leaveRoom(requireUser(request).id, request.params.roomId);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/rooms/:roomId/members',
    {
      config: { access: { signedIn: 'visible', guest: 'mine' } },
      schema: {
        tags,
        summary: 'Members of a room, and what I may do in it',
        description:
          'With every page, `rights`: what the caller may do in this room (manage, invite, change roles, remove whom, change its settings), by the rules the server enforces, so a client shows only the controls that will work.',
        params: RoomParamsSchema,
        querystring: PageQuerySchema,
        response: {
          200: z.object({ members: z.array(MembershipSchema), rights: RoomRightsSchema }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const actorId = requireUser(request).id;
      const [members, rights] = await Promise.all([
        engine.listMembers(actorId, request.params.roomId, request.query),
        engine.roomRights(actorId, request.params.roomId),
      ]);
      return { members, rights };
    },
  );

  app.post(
    '/rooms/:roomId/members',
    {
      config: { access: { signedIn: 'mine', guest: 'denied', admin: 'visible' } },
      schema: {
        tags,
        summary: 'Invite someone into a room',
        params: RoomParamsSchema,
        body: z.object({ userId: IdSchema }),
        response: { 200: MembershipSchema, ...errorResponses },
      },
    },
    async (request) =>
      engine.inviteToRoom(requireUser(request).id, request.params.roomId, request.body.userId),
  );

  app.patch(
    '/rooms/:roomId/members/:userId',
    {
      config: { access: { signedIn: 'mine', admin: 'visible' } },
      schema: {
        tags,
        summary: "Change a member's room role (room owners, admins)",
        params: MemberParamsSchema,
        body: z.object({ role: MemberRoleSchema }),
        response: { 200: MembershipSchema, ...errorResponses },
      },
    },
    async (request) =>
      engine.setMemberRole(
        requireUser(request).id,
        request.params.roomId,
        request.params.userId,
        request.body.role,
      ),
  );

  app.delete(
    '/rooms/:roomId/members/:userId',
    {
      config: { access: { signedIn: 'mine', admin: 'visible' } },
      schema: {
        tags,
        summary: 'Remove someone from a room (room owners and moderators, admins)',
        params: MemberParamsSchema,
        response: { 204: NoContentSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      await engine.removeFromRoom(requireUser(request).id, request.params.roomId, request.params.userId);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/rooms/:roomId/read',
    {
      config: { access: { signedIn: 'mine' } },
      schema: {
        tags,
        summary: 'Set my read marker: to a message, or to the newest one when none is given',
        params: RoomParamsSchema,
        body: z.object({ messageId: IdSchema.optional() }).nullish(),
        response: { 200: MembershipSchema, ...errorResponses },
      },
    },
    async (request) =>
      engine.markRead(requireUser(request).id, request.params.roomId, request.body?.messageId),
  );

  app.patch(
    '/rooms/:roomId/preferences',
    {
      config: { access: { signedIn: 'mine' } },
      schema: {
        tags,
        summary: 'Change my own view of a room: favourite, notification level, muted',
        description:
          'Seen by nobody else and announced to nobody. `notify: default` follows the room kind: every message in direct rooms and groups, mentions in channels.',
        params: RoomParamsSchema,
        body: UpdateRoomPreferencesInputSchema,
        response: { 200: RoomSummarySchema, ...errorResponses },
      },
    },
    async (request) =>
      engine.setRoomPreferences(requireUser(request).id, request.params.roomId, request.body),
  );

  app.get(
    '/rooms/:roomId/events',
    {
      config: { access: { signedIn: 'visible', guest: 'mine' } },
      schema: {
        tags,
        summary: 'Room events after a sequence number: what a client missed (resume over REST)',
        params: RoomParamsSchema,
        querystring: EventsQuerySchema,
        response: {
          200: z.object({
            events: z.array(RoomEventSchema),
            hasMore: z.boolean().describe('more events follow the last one; ask again with its seq'),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { afterSeq, limit } = request.query;
      const events = await engine.eventsSince(
        requireUser(request).id,
        request.params.roomId,
        afterSeq,
        limit + 1,
      );
      return { events: events.slice(0, limit), hasMore: events.length > limit };
    },
  );
}
