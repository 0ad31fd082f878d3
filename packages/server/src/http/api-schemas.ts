import {
  DateSchema,
  DisplayNameSchema,
  FileRecordSchema,
  IdSchema,
  JsonValueSchema,
  MembershipSchema,
  MessageSchema,
  ProjectSchema,
  ProjectStatusSchema,
  RoomEventSchema,
  RoomPreferencesSchema,
  RoomSchema,
  TicketPrioritySchema,
  TicketSchema,
  TicketStatusSchema,
  UsernameSchema,
  UserRoleSchema,
  UserSchema,
} from '@kaiwa/core';
import { RoomRightsSchema } from '@kaiwa/protocol';
import { z } from 'zod';
import { MAX_PASSWORD_LENGTH } from '../auth/passwords.js';
import { ErrorResponseSchema } from './error-handler.js';

/*
 * Request and response schemas of the HTTP API. Entities are core's schemas; what is here wraps them in
 * pages and adds what only HTTP has (query strings, sessions, API keys). The OpenAPI document is generated
 * from these, with the named ones as components.
 */

/** Schemas that appear as named components in the OpenAPI document. */
export const apiSchemaRegistry = z.registry<{ id: string; description?: string }>();

export const SessionSchema = z.object({
  tokenType: z.literal('Bearer'),
  accessToken: z.string().describe('JWT for `Authorization: Bearer …`, valid for `expiresIn` seconds'),
  expiresIn: z.number().int(),
  accessTokenExpiresAt: z.string(),
  refreshToken: z.string().describe('single use: trade it at /auth/refresh for a new pair'),
  refreshTokenExpiresAt: z.string(),
  user: UserSchema,
});

export const ApiKeySchema = z.object({
  id: IdSchema,
  userId: IdSchema,
  name: z.string(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});

export const RoomSummarySchema = z.object({
  room: RoomSchema,
  membership: MembershipSchema,
  unreadCount: z.number().int().min(0),
  mentionCount: z
    .number()
    .int()
    .min(0)
    .describe('unread messages that mention me, @room or @here (thread replies included)'),
  preferences: RoomPreferencesSchema,
  rights: RoomRightsSchema,
});

export const MessagePageSchema = z.object({
  messages: z.array(MessageSchema).describe('oldest first'),
  hasMore: z.boolean().describe('more messages exist beyond this page in the direction asked'),
});

// Recursive, so it must be a component of its own for references to it to resolve.
apiSchemaRegistry.add(JsonValueSchema, { id: 'JsonValue' });
apiSchemaRegistry.add(UserSchema, { id: 'User' });
apiSchemaRegistry.add(RoomSchema, { id: 'Room' });
apiSchemaRegistry.add(MembershipSchema, { id: 'Membership' });
apiSchemaRegistry.add(MessageSchema, { id: 'Message' });
apiSchemaRegistry.add(ProjectSchema, { id: 'Project' });
apiSchemaRegistry.add(TicketSchema, { id: 'Ticket' });
apiSchemaRegistry.add(FileRecordSchema, { id: 'FileRecord' });
apiSchemaRegistry.add(RoomEventSchema, { id: 'RoomEvent' });
apiSchemaRegistry.add(SessionSchema, { id: 'Session' });
apiSchemaRegistry.add(ApiKeySchema, { id: 'ApiKey' });
apiSchemaRegistry.add(RoomSummarySchema, { id: 'RoomSummary' });
apiSchemaRegistry.add(RoomRightsSchema, { id: 'RoomRights' });
apiSchemaRegistry.add(MessagePageSchema, { id: 'MessagePage' });
apiSchemaRegistry.add(ErrorResponseSchema, { id: 'Error' });

/** Error answers every route may give, in the one error format. */
export const errorResponses = { '4xx': ErrorResponseSchema, '5xx': ErrorResponseSchema } as const;

/** For 204 answers: no body. */
export const NoContentSchema = z.null().describe('no content');

// ---------------------------------------------------------------- query strings

/** Query strings arrive as text; numbers are coerced and checked. */
const limit = (maximum: number) => z.coerce.number().int().min(1).max(maximum).optional();

export const PageQuerySchema = z.object({
  after: IdSchema.optional().describe('items after this id (the last id of the previous page)'),
  limit: limit(200),
});

export const UserListQuerySchema = PageQuerySchema.extend({
  role: UserRoleSchema.optional(),
  includeDeactivated: z
    .enum(['true', 'false'])
    .transform((value) => value === 'true')
    .optional()
    .describe('admins: also list deactivated accounts'),
});

export const HistoryQueryStringSchema = z.object({
  before: IdSchema.optional().describe('messages older than this id'),
  after: IdSchema.optional().describe('messages newer than this id'),
  threadRootId: IdSchema.optional().describe("page this thread's replies instead of the room timeline"),
  limit: limit(200),
});

export const EventsQuerySchema = z.object({
  afterSeq: z.coerce.number().int().min(0).default(0).describe('the last sequence number the client has'),
  limit: z.coerce.number().int().min(1).max(500).default(200),
});

export const SearchQueryStringSchema = z.object({
  query: z.string().trim().min(1).max(256),
  roomId: IdSchema.optional(),
  before: IdSchema.optional(),
  limit: limit(100),
});

export const ProjectQueryStringSchema = PageQuerySchema.extend({
  status: ProjectStatusSchema.optional(),
  ownerId: IdSchema.optional(),
});

export const TicketQueryStringSchema = PageQuerySchema.extend({
  projectId: IdSchema.optional(),
  status: TicketStatusSchema.optional(),
  priority: TicketPrioritySchema.optional(),
  assigneeId: IdSchema.optional(),
  dueBefore: DateSchema.optional(),
});

export const FileQueryStringSchema = PageQuerySchema.extend({
  roomId: IdSchema.optional(),
  projectId: IdSchema.optional(),
  ticketId: IdSchema.optional(),
  mimeType: z.string().max(255).optional().describe('exact (image/png) or a wildcard (image/*)'),
});

// ---------------------------------------------------------------- path parameters

export const UserParamsSchema = z.object({ userId: IdSchema });
export const RoomParamsSchema = z.object({ roomId: IdSchema });
export const MessageParamsSchema = z.object({ messageId: IdSchema });
export const ProjectParamsSchema = z.object({ projectId: IdSchema });
export const TicketParamsSchema = z.object({ ticketId: IdSchema });
export const FileParamsSchema = z.object({ fileId: IdSchema });

// ---------------------------------------------------------------- bodies

const password = z.string().min(1).max(MAX_PASSWORD_LENGTH);

export const LoginBodySchema = z.object({ username: z.string().trim().min(1).max(64), password });
export const RefreshBodySchema = z.object({ refreshToken: z.string().min(1).max(512) });
export const LogoutBodySchema = z
  .object({
    refreshToken: z.string().min(1).max(512).optional().describe('signs out the session it belongs to'),
    allSessions: z.boolean().optional().describe('signs the caller out everywhere (needs an access token)'),
  })
  // Fastify hands a request without a body to validation as null.
  .nullish();
export const ChangePasswordBodySchema = z.object({ currentPassword: password, newPassword: password });
export const SignupBodySchema = z.object({
  username: UsernameSchema,
  password,
  displayName: DisplayNameSchema.optional(),
});
export const AnonymousBodySchema = z.object({ nickname: DisplayNameSchema.max(32) });

export const CreateAccountBodySchema = z.object({
  username: UsernameSchema,
  displayName: DisplayNameSchema.optional(),
  role: UserRoleSchema.default('member'),
  password: password
    .optional()
    .describe('leave out for a one-time password that must be changed at first sign-in; bots have none'),
});
export const CreateApiKeyBodySchema = z.object({ name: z.string().trim().min(1).max(64) });
export const ApiKeyParamsSchema = z.object({ userId: IdSchema, apiKeyId: IdSchema });
