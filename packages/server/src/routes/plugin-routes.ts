import { KaiwaBaseError } from '@kaiwa/core';
import type { PluginError } from '@kaiwa/plugins';
import { z } from 'zod';
import { errorResponses, RoomParamsSchema } from '../http/api-schemas.js';
import { requireUser } from '../http/authentication.js';
import { HttpError } from '../http/http-error.js';
import type { PluginService } from '../plugin-composition.js';
import type { ApiInstance, RouteContext } from './route-context.js';

const tags = ['plugins'];
const adminOnly = ['admin'] as const;

export const PluginSummarySchema = z.object({
  id: z.string(),
  version: z.string(),
  state: z.string().describe('stopped, starting, running, restarting or failed'),
  botUsername: z.string().describe('the bot user the plugin acts as'),
  lastProblem: z
    .object({ type: z.string(), detail: z.string(), at: z.string() })
    .nullable()
    .describe('the last crash, refusal or timeout since it was started'),
});

const PluginJobRunSchema = z.object({
  pluginId: z.string(),
  job: z.string().describe("the job's name, as the manifest declares it"),
  scheduledAt: z.string().describe('the slot the schedule named (UTC)'),
  status: z
    .enum(['running', 'done', 'failed'])
    .describe('running: claimed and not finished (or its instance died)'),
  instanceId: z.string().describe('the server instance that claimed the slot and ran it'),
  claimedAt: z.string(),
  finishedAt: z.string().nullable(),
  durationMs: z.number().nullable(),
  reason: z.string().nullable().describe('why it failed'),
});

const JobRunsQuerySchema = z.object({
  job: z.string().min(1).max(64).optional().describe('only the runs of this job'),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

const CommandSchema = z.object({ name: z.string(), description: z.string(), pluginId: z.string() });

const RunCommandBodySchema = z.object({
  command: z
    .string()
    .trim()
    .regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'must be a command name without the slash, e.g. hello'),
  args: z.string().max(4000).default(''),
  threadRootId: z.string().optional(),
});

export const PluginParamsSchema = z.object({ pluginId: z.string().min(1).max(64) });

export function requirePlugins(plugins: PluginService | undefined): PluginService {
  if (!plugins)
    throw new HttpError(404, 'plugins_off', 'plugins are off on this server (KAIWA_PLUGIN_DIR is unset)');
  return plugins;
}

/** A plugin's failure as the caller should see it; the plugin's own fault is never the caller's 500. */
function httpErrorOf(error: PluginError): HttpError {
  switch (error.code) {
    case 'not_found':
      return new HttpError(404, 'not_found', error.message);
    case 'not_running':
      return new HttpError(503, 'plugin_unavailable', error.message);
    case 'timeout':
      return new HttpError(504, 'plugin_timeout', error.message);
    case 'capability_denied':
      return new HttpError(403, 'forbidden', error.message);
    case 'invalid_settings':
      return new HttpError(400, 'invalid_settings', error.message, { issues: error.issues });
    case 'invalid_response':
      return new HttpError(502, 'plugin_invalid_response', error.message, { issues: error.issues });
    default:
      return new HttpError(502, 'plugin_failed', error.message, { code: error.code });
  }
}

/** Runs a call to a plugin, turning its `PluginError` into the HTTP answer the caller should see. */
export async function pluginCall<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    // By name, not `PluginError.isInstance`: @kaiwa/plugins stays unloaded on a server without plugins.
    if (KaiwaBaseError.isInstance(error) && (error as Error).name === 'PluginError') {
      throw httpErrorOf(error as PluginError);
    }
    throw error;
  }
}

/**
 * Plugins: the slash commands they offer (`GET /commands`), running one in a room (`POST
 * /rooms/:roomId/commands`), and for admins the list of plugins with their state, start and stop.
 */
export function registerPluginRoutes(app: ApiInstance, { plugins, audit }: RouteContext): void {
  app.get(
    '/commands',
    {
      config: { access: { signedIn: 'allowed' } },
      schema: {
        tags,
        summary: 'The slash commands running plugins offer',
        response: { 200: z.object({ commands: z.array(CommandSchema) }), ...errorResponses },
      },
    },
    async () => ({ commands: plugins?.commands() ?? [] }),
  );

  app.post(
    '/rooms/:roomId/commands',
    {
      config: { userRateLimit: 'messages', access: { signedIn: 'mine' } },
      schema: {
        tags,
        summary:
          "Runs a plugin's slash command in a room I belong to; the plugin's reply is posted there by its bot user",
        params: RoomParamsSchema,
        body: RunCommandBodySchema,
        response: {
          200: z.object({ reply: z.string().optional(), messageId: z.string().optional() }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const service = requirePlugins(plugins);
      const { command, args, threadRootId } = request.body;
      return pluginCall(() =>
        service.runCommand({
          userId: requireUser(request).id,
          roomId: request.params.roomId,
          command,
          args,
          ...(threadRootId ? { threadRootId } : {}),
        }),
      );
    },
  );

  app.get(
    '/plugins',
    {
      config: { roles: adminOnly, access: { admin: 'allowed' } },
      schema: {
        tags,
        summary: 'The installed plugins and their state (admins)',
        response: { 200: z.object({ plugins: z.array(PluginSummarySchema) }), ...errorResponses },
      },
    },
    async () => ({ plugins: plugins?.list() ?? [] }),
  );

  app.get(
    '/plugins/:pluginId/jobs',
    {
      config: { roles: adminOnly, access: { admin: 'allowed' } },
      schema: {
        tags,
        summary:
          "A plugin's scheduled job runs, latest first: which instance ran each slot and how it went (admins)",
        params: PluginParamsSchema,
        querystring: JobRunsQuerySchema,
        response: { 200: z.object({ runs: z.array(PluginJobRunSchema) }), ...errorResponses },
      },
    },
    async (request) => {
      const { pluginId } = request.params;
      const { job, limit } = request.query;
      const runs = await requirePlugins(plugins).jobRuns(pluginId, { limit, ...(job ? { job } : {}) });
      if (!runs) throw new HttpError(404, 'not_found', `no plugin "${pluginId}"`);
      return { runs };
    },
  );

  for (const action of ['start', 'stop'] as const) {
    app.post(
      `/plugins/:pluginId/${action}`,
      {
        config: { roles: adminOnly, access: { admin: 'allowed' } },
        schema: {
          tags,
          summary: action === 'start' ? 'Starts a plugin (admins)' : 'Stops a plugin (admins)',
          params: PluginParamsSchema,
          response: { 200: PluginSummarySchema, ...errorResponses },
        },
      },
      async (request) => {
        const service = requirePlugins(plugins);
        const { pluginId } = request.params;
        await audit.around(
          {
            action: action === 'start' ? 'plugin.started' : 'plugin.stopped',
            actorId: requireUser(request).id,
            target: { type: 'plugin', id: pluginId },
            request,
          },
          () =>
            pluginCall(() =>
              action === 'start' ? service.startPlugin(pluginId) : service.stopPlugin(pluginId),
            ),
        );
        const summary = service.list().find((plugin) => plugin.id === pluginId);
        if (!summary) throw new HttpError(404, 'not_found', `no plugin "${pluginId}"`);
        return summary;
      },
    );
  }
}
