import { UserSchema } from '@kaiwa/core';
import { z } from 'zod';
import {
  AnonymousBodySchema,
  ChangePasswordBodySchema,
  errorResponses,
  LoginBodySchema,
  LogoutBodySchema,
  NoContentSchema,
  RefreshBodySchema,
  SessionSchema,
  SignupBodySchema,
} from '../http/api-schemas.js';
import { requireUser } from '../http/authentication.js';
import { unauthorized } from '../http/http-error.js';
import type { ApiInstance, RouteContext } from './route-context.js';

const tags = ['auth'];

/** Sign-in, tokens, password change and sign-up; nickname sign-in instead when accounts are off. */
export function registerAuthRoutes(
  app: ApiInstance,
  { accounts, audit, config, assistant }: RouteContext,
): void {
  const rateLimit = { max: config.loginRateLimitPerMinute, timeWindow: '1 minute' };

  app.get(
    '/server',
    {
      config: { auth: 'public', access: { everyone: 'allowed' } },
      schema: {
        tags,
        summary: 'What this server offers: how people sign in, upload limits, whether the assistant answers',
        response: {
          200: z.object({
            accountsEnabled: z.boolean(),
            signupEnabled: z.boolean(),
            maxUploadBytes: z.number().int(),
            uploadAllowedTypes: z.array(z.string()),
            assistantEnabled: z
              .boolean()
              .describe(
                'whether an assistant model is configured (KAIWA_LLM_BASE_URL), so @assistant answers',
              ),
            assistantUsername: z
              .string()
              .describe(
                "the assistant's username (a mention of it, or a direct room with it, asks the assistant)",
              ),
          }),
        },
      },
    },
    async () => ({
      accountsEnabled: config.accountsEnabled,
      signupEnabled: config.accountsEnabled && config.allowSignup,
      maxUploadBytes: config.maxUploadBytes,
      uploadAllowedTypes: config.uploadAllowedTypes,
      assistantEnabled: assistant !== undefined,
      assistantUsername: assistant?.botUser.username ?? config.assistantUsername ?? 'assistant',
    }),
  );

  app.get(
    '/auth/me',
    {
      config: { duringPasswordChange: true, access: { signedIn: 'allowed', passwordChange: 'allowed' } },
      schema: { tags, summary: 'The signed-in user', response: { 200: UserSchema, ...errorResponses } },
    },
    async (request) => requireUser(request),
  );

  app.post(
    '/auth/logout',
    {
      config: { auth: 'optional', duringPasswordChange: true, access: { everyone: 'allowed' } },
      schema: {
        tags,
        summary: 'Sign out one session (by its refresh token) or every session',
        body: LogoutBodySchema,
        response: { 204: NoContentSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const body = request.body ?? {};
      if (body.allSessions && !request.user)
        throw unauthorized('signing out everywhere needs an access token');
      await accounts.logout({ ...body, userId: request.user?.id, sessionId: request.sessionId ?? undefined });
      await audit.record({
        action: 'auth.logout',
        actorId: request.user?.id ?? null,
        ...(request.user ? { target: { type: 'user', id: request.user.id } } : {}),
        details: { allSessions: body.allSessions === true },
        request,
      });
      return reply.status(204).send(null);
    },
  );

  if (!config.accountsEnabled) {
    app.post(
      '/auth/anonymous',
      {
        config: { auth: 'public', rateLimit, access: { everyone: 'allowed' } },
        schema: {
          tags,
          summary: 'Sign in with a nickname (only when accounts are off, for local use)',
          body: AnonymousBodySchema,
          response: { 200: SessionSchema, ...errorResponses },
        },
      },
      async (request) =>
        audit.around(
          { action: 'auth.anonymous_login', request },
          () => accounts.signInAnonymously(request.body.nickname),
          (session) => ({ actorId: session.user.id, target: { type: 'user', id: session.user.id } }),
        ),
    );
    // Tokens from a nickname sign-in are refreshed like any other.
    registerRefresh(app, accounts);
    return;
  }

  app.post(
    '/auth/login',
    {
      config: { auth: 'public', rateLimit, access: { everyone: 'allowed' } },
      schema: {
        tags,
        summary: 'Sign in with username and password',
        body: LoginBodySchema,
        response: { 200: SessionSchema, ...errorResponses },
      },
    },
    // The username tried is recorded, also when the sign-in fails; the password never.
    async (request) =>
      audit.around(
        {
          action: 'auth.login',
          target: { type: 'user', id: null },
          details: { username: request.body.username },
          request,
        },
        () => accounts.login(request.body.username, request.body.password),
        (session) => ({ actorId: session.user.id, target: { type: 'user', id: session.user.id } }),
      ),
  );

  registerRefresh(app, accounts);

  app.post(
    '/auth/change-password',
    {
      config: {
        duringPasswordChange: true,
        rateLimit,
        access: { signedIn: 'allowed', bot: 'denied', passwordChange: 'allowed' },
      },
      schema: {
        tags,
        summary: 'Change your password; signs out your other sessions and returns a new one',
        body: ChangePasswordBodySchema,
        response: { 200: SessionSchema, ...errorResponses },
      },
    },
    async (request) => {
      const user = requireUser(request);
      return audit.around(
        { action: 'auth.password_changed', actorId: user.id, target: { type: 'user', id: user.id }, request },
        () => accounts.changePassword(user, request.body.currentPassword, request.body.newPassword),
      );
    },
  );

  if (config.allowSignup) {
    app.post(
      '/auth/signup',
      {
        config: { auth: 'public', rateLimit, access: { everyone: 'allowed' } },
        schema: {
          tags,
          summary: 'Create a member account and sign in',
          body: SignupBodySchema,
          response: { 201: SessionSchema, ...errorResponses },
        },
      },
      async (request, reply) => {
        const session = await audit.around(
          { action: 'auth.signup', details: { username: request.body.username }, request },
          () => accounts.signup(request.body),
          (created) => ({ actorId: created.user.id, target: { type: 'user', id: created.user.id } }),
        );
        return reply.status(201).send(session);
      },
    );
  }
}

function registerRefresh(app: ApiInstance, accounts: RouteContext['accounts']): void {
  app.post(
    '/auth/refresh',
    {
      config: {
        auth: 'public',
        rateLimit: { max: 60, timeWindow: '1 minute' },
        access: { everyone: 'allowed' },
      },
      schema: {
        tags,
        summary: 'Trade a refresh token for a new access and refresh token (the old one is spent)',
        body: RefreshBodySchema,
        response: { 200: SessionSchema, ...errorResponses },
      },
    },
    async (request) => accounts.refresh(request.body.refreshToken),
  );
}
