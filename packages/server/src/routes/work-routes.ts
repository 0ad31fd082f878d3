import {
  CreateProjectInputSchema,
  CreateTicketInputSchema,
  ProjectSchema,
  TicketSchema,
  UpdateProjectInputSchema,
  UpdateTicketInputSchema,
} from '@kaiwa/core';
import { z } from 'zod';
import {
  errorResponses,
  ProjectParamsSchema,
  ProjectQueryStringSchema,
  TicketParamsSchema,
  TicketQueryStringSchema,
} from '../http/api-schemas.js';
import { requireUser } from '../http/authentication.js';
import type { ApiInstance, RouteContext } from './route-context.js';

/** Projects and their tickets; the engine keeps guests out. */
export function registerWorkRoutes(app: ApiInstance, { engine }: RouteContext): void {
  app.get(
    '/projects',
    {
      config: { access: { signedIn: 'allowed', guest: 'denied' } },
      schema: {
        tags: ['projects'],
        summary: 'List projects',
        querystring: ProjectQueryStringSchema,
        response: { 200: z.object({ projects: z.array(ProjectSchema) }), ...errorResponses },
      },
    },
    async (request) => ({ projects: await engine.listProjects(requireUser(request).id, request.query) }),
  );

  app.post(
    '/projects',
    {
      config: { access: { signedIn: 'allowed', guest: 'denied' } },
      schema: {
        tags: ['projects'],
        summary: 'Create a project; you become its owner',
        body: CreateProjectInputSchema,
        response: { 201: ProjectSchema, ...errorResponses },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await engine.createProject(requireUser(request).id, request.body)),
  );

  app.get(
    '/projects/:projectId',
    {
      config: { access: { signedIn: 'visible', guest: 'denied' } },
      schema: {
        tags: ['projects'],
        summary: 'One project',
        params: ProjectParamsSchema,
        response: { 200: ProjectSchema, ...errorResponses },
      },
    },
    async (request) => engine.getProject(requireUser(request).id, request.params.projectId),
  );

  app.patch(
    '/projects/:projectId',
    {
      config: { access: { signedIn: 'mine', guest: 'denied', moderator: 'visible', admin: 'visible' } },
      schema: {
        tags: ['projects'],
        summary: 'Edit a project (owner, moderators, admins)',
        params: ProjectParamsSchema,
        body: UpdateProjectInputSchema,
        response: { 200: ProjectSchema, ...errorResponses },
      },
    },
    async (request) => engine.updateProject(requireUser(request).id, request.params.projectId, request.body),
  );

  app.get(
    '/tickets',
    {
      config: { access: { signedIn: 'visible', guest: 'denied' } },
      schema: {
        tags: ['tickets'],
        summary: 'List tickets, filtered by project, status, priority, assignee or due date',
        querystring: TicketQueryStringSchema,
        response: { 200: z.object({ tickets: z.array(TicketSchema) }), ...errorResponses },
      },
    },
    async (request) => ({ tickets: await engine.listTickets(requireUser(request).id, request.query) }),
  );

  app.post(
    '/tickets',
    {
      config: { access: { signedIn: 'visible', guest: 'denied' } },
      schema: {
        tags: ['tickets'],
        summary: 'Create a ticket in a project',
        body: CreateTicketInputSchema,
        response: { 201: TicketSchema, ...errorResponses },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await engine.createTicket(requireUser(request).id, request.body)),
  );

  app.get(
    '/tickets/:ticketId',
    {
      config: { access: { signedIn: 'visible', guest: 'denied' } },
      schema: {
        tags: ['tickets'],
        summary: 'One ticket',
        params: TicketParamsSchema,
        response: { 200: TicketSchema, ...errorResponses },
      },
    },
    async (request) => engine.getTicket(requireUser(request).id, request.params.ticketId),
  );

  app.patch(
    '/tickets/:ticketId',
    {
      config: { access: { signedIn: 'mine', guest: 'denied', moderator: 'visible', admin: 'visible' } },
      schema: {
        tags: ['tickets'],
        summary: 'Edit a ticket (reporter, assignee, project owner, staff)',
        params: TicketParamsSchema,
        body: UpdateTicketInputSchema,
        response: { 200: TicketSchema, ...errorResponses },
      },
    },
    async (request) => engine.updateTicket(requireUser(request).id, request.params.ticketId, request.body),
  );
}
