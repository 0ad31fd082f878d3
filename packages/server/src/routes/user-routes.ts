import {
  type ApiKeyRecord,
  NON_GUEST_ROLES,
  UpdateUserInputSchema,
  UsernameSchema,
  UserSchema,
} from '@kaiwa/core';
import { z } from 'zod';
import {
  ApiKeyParamsSchema,
  ApiKeySchema,
  CreateAccountBodySchema,
  CreateApiKeyBodySchema,
  errorResponses,
  NoContentSchema,
  UserListQuerySchema,
  UserParamsSchema,
} from '../http/api-schemas.js';
import { requireSelfOrAdmin, requireUser } from '../http/authentication.js';
import { HttpError } from '../http/http-error.js';
import type { ApiInstance, RouteContext } from './route-context.js';

const tags = ['users'];
const adminOnly = ['admin'] as const;

/** API keys as the API shows them: never the hash. */
function publicApiKey({ keyHash: _keyHash, ...apiKey }: ApiKeyRecord) {
  return apiKey;
}

/** The user directory, profiles, and admin-only account management (including bots and their API keys). */
export function registerUserRoutes(
  app: ApiInstance,
  { engine, accounts, audit, config }: RouteContext,
): void {
  app.get(
    '/users',
    {
      // Guests see the people they meet in rooms, not the whole directory.
      config: {
        roles: NON_GUEST_ROLES,
        access: { signedIn: 'allowed', guest: 'denied' },
      },
      schema: {
        tags,
        summary: 'List users',
        querystring: UserListQuerySchema,
        response: { 200: z.object({ users: z.array(UserSchema) }), ...errorResponses },
      },
    },
    async (request) => {
      const { includeDeactivated, ...query } = request.query;
      if (includeDeactivated && requireUser(request).role !== 'admin') {
        throw new HttpError(403, 'forbidden', 'only admins list deactivated accounts');
      }
      return { users: await engine.listUsers({ ...query, includeDeactivated: includeDeactivated === true }) };
    },
  );

  app.get(
    '/users/:userId',
    {
      config: { access: { signedIn: 'allowed' } },
      schema: {
        tags,
        summary: 'One user',
        params: UserParamsSchema,
        response: { 200: UserSchema, ...errorResponses },
      },
    },
    async (request) => engine.getUser(request.params.userId),
  );

  app.get(
    '/users/by-username/:username',
    {
      config: { access: { signedIn: 'allowed' } },
      schema: {
        tags,
        summary: 'One user by username',
        params: z.object({ username: UsernameSchema }),
        response: { 200: UserSchema, ...errorResponses },
      },
    },
    async (request) => engine.getUserByUsername(request.params.username),
  );

  app.patch(
    '/users/:userId',
    {
      config: { access: { signedIn: 'mine', admin: 'allowed' } },
      schema: {
        tags,
        summary: 'Change a display name (yourself), or a role or forced password change (admins)',
        params: UserParamsSchema,
        body: UpdateUserInputSchema,
        response: { 200: UserSchema, ...errorResponses },
      },
    },
    async (request) => {
      const actor = requireUser(request);
      // Core lets people clear their own forced password change; over HTTP that goes through change-password.
      if (actor.role !== 'admin' && request.body.forcePasswordChange !== undefined) {
        throw new HttpError(403, 'forbidden', 'update user: only admins set forcePasswordChange');
      }
      const { role, forcePasswordChange } = request.body;
      if (role === undefined && forcePasswordChange === undefined) {
        return engine.updateUser(actor.id, request.params.userId, request.body);
      }
      return audit.around(
        {
          action: role !== undefined ? 'user.role_changed' : 'user.force_password_change_set',
          actorId: actor.id,
          target: { type: 'user', id: request.params.userId },
          details: { role, forcePasswordChange },
          request,
        },
        () => engine.updateUser(actor.id, request.params.userId, request.body),
      );
    },
  );

  if (config.accountsEnabled) {
    app.post(
      '/users',
      {
        config: { roles: adminOnly, access: { admin: 'allowed' } },
        schema: {
          tags,
          summary: 'Create a user or a bot (admins)',
          description:
            'Without a password, people get a one-time password (returned once) that they must change at first ' +
            'sign-in. Bots get no password: create an API key for them.',
          body: CreateAccountBodySchema,
          response: {
            201: z.object({ user: UserSchema, oneTimePassword: z.string().optional() }),
            ...errorResponses,
          },
        },
      },
      async (request, reply) => {
        const { user, password } = await audit.around(
          {
            action: 'user.created',
            actorId: requireUser(request).id,
            details: { username: request.body.username, role: request.body.role },
            request,
          },
          () => accounts.createAccount(request.body),
          (created) => ({ target: { type: 'user', id: created.user.id } }),
        );
        return reply.status(201).send({ user, ...(password ? { oneTimePassword: password } : {}) });
      },
    );

    app.post(
      '/users/:userId/reset-password',
      {
        config: { roles: adminOnly, access: { admin: 'allowed' } },
        schema: {
          tags,
          summary: 'Give a user a new one-time password and sign them out everywhere (admins)',
          params: UserParamsSchema,
          response: { 200: z.object({ user: UserSchema, oneTimePassword: z.string() }), ...errorResponses },
        },
      },
      async (request) => {
        const actorId = requireUser(request).id;
        const { user, password } = await audit.around(
          {
            action: 'user.password_reset',
            actorId,
            target: { type: 'user', id: request.params.userId },
            request,
          },
          () => accounts.resetPassword(request.params.userId, actorId),
        );
        return { user, oneTimePassword: password };
      },
    );
  }

  app.post(
    '/users/:userId/deactivate',
    {
      config: { roles: adminOnly, access: { admin: ['others', 'hidden'] } },
      schema: {
        tags,
        summary:
          'Deactivate an account (admins): it cannot sign in, every session and socket ends, its messages stay',
        params: UserParamsSchema,
        response: { 200: UserSchema, ...errorResponses },
      },
    },
    async (request) => {
      const actorId = requireUser(request).id;
      return audit.around(
        { action: 'user.deactivated', actorId, target: { type: 'user', id: request.params.userId }, request },
        () => engine.deactivateUser(actorId, request.params.userId),
      );
    },
  );

  app.post(
    '/users/:userId/reactivate',
    {
      config: { roles: adminOnly, access: { admin: ['others', 'hidden'] } },
      schema: {
        tags,
        summary: 'Let a deactivated account sign in again (admins)',
        params: UserParamsSchema,
        response: { 200: UserSchema, ...errorResponses },
      },
    },
    async (request) => {
      const actorId = requireUser(request).id;
      return audit.around(
        { action: 'user.reactivated', actorId, target: { type: 'user', id: request.params.userId }, request },
        () => engine.reactivateUser(actorId, request.params.userId),
      );
    },
  );

  app.get(
    '/users/:userId/api-keys',
    {
      config: { access: { admin: 'allowed', bot: 'mine' } },
      schema: {
        tags,
        summary: "A bot's API keys, without the keys themselves (admins, or the bot)",
        params: UserParamsSchema,
        response: { 200: z.object({ apiKeys: z.array(ApiKeySchema) }), ...errorResponses },
      },
    },
    async (request) => {
      requireSelfOrAdmin(requireUser(request), request.params.userId, 'list API keys');
      return { apiKeys: (await accounts.listApiKeys(request.params.userId)).map(publicApiKey) };
    },
  );

  app.post(
    '/users/:userId/api-keys',
    {
      config: { roles: adminOnly, access: { admin: 'allowed' } },
      schema: {
        tags,
        summary: 'Create an API key for a bot (admins); the key is shown only in this answer',
        params: UserParamsSchema,
        body: CreateApiKeyBodySchema,
        response: { 201: z.object({ apiKey: ApiKeySchema, key: z.string() }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { apiKey, key } = await audit.around(
        {
          action: 'api_key.created',
          actorId: requireUser(request).id,
          details: { userId: request.params.userId, name: request.body.name, signing: false },
          request,
        },
        () => accounts.createApiKey(request.params.userId, request.body.name),
        (created) => ({ target: { type: 'api_key', id: created.apiKey.id } }),
      );
      return reply.status(201).send({ apiKey: publicApiKey(apiKey), key });
    },
  );

  app.delete(
    '/users/:userId/api-keys/:apiKeyId',
    {
      config: { roles: adminOnly, access: { admin: 'allowed' } },
      schema: {
        tags,
        summary: 'Revoke an API key (admins)',
        params: ApiKeyParamsSchema,
        response: { 204: NoContentSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      await audit.around(
        {
          action: 'api_key.revoked',
          actorId: requireUser(request).id,
          target: { type: 'api_key', id: request.params.apiKeyId },
          details: { userId: request.params.userId },
          request,
        },
        () => accounts.revokeApiKey(request.params.userId, request.params.apiKeyId),
      );
      return reply.status(204).send(null);
    },
  );
}
