import { z } from 'zod';
import { errorResponses } from '../http/api-schemas.js';
import { requireUser } from '../http/authentication.js';
import { HttpError } from '../http/http-error.js';
import { PluginParamsSchema, pluginCall, requirePlugins } from './plugin-routes.js';
import type { ApiInstance, RouteContext } from './route-context.js';

const tags = ['plugins'];
const adminOnly = ['admin'] as const;

const SettingValueSchema = z.union([z.string().max(100_000), z.number(), z.boolean()]);

const SettingDefinitionSchema = z.object({
  key: z.string().describe('the name the plugin reads it by'),
  type: z.enum(['string', 'number', 'integer', 'boolean']),
  title: z.string().optional().describe('the label to show'),
  description: z.string().optional().describe('help text to show under the field'),
  required: z.boolean(),
  default: SettingValueSchema.optional().describe(
    'what the plugin gets when none is saved (never a secret’s)',
  ),
  enum: z.array(z.string()).optional().describe('the only values a string setting may take'),
  minLength: z.number().optional(),
  maxLength: z.number().optional(),
  minimum: z.number().optional(),
  maximum: z.number().optional(),
  secret: z.boolean().describe('never answered; shown masked'),
});

const PluginSettingsSchema = z.object({
  pluginId: z.string(),
  definitions: z.array(SettingDefinitionSchema).describe("the manifest's settings, in its order"),
  values: z
    .record(z.string(), SettingValueSchema)
    .describe('what the plugin gets: the saved value, else the default; secret settings are left out'),
  secretsSet: z.array(z.string()).describe('secret settings that have a saved value'),
  updatedAt: z.string().nullable().describe('when they were last saved; null: never (defaults)'),
  updatedBy: z.string().nullable().describe('the admin who saved them'),
  state: z.string().describe('the plugin’s state (after a save: after its restart)'),
});

const PutSettingsBodySchema = z.object({
  values: z
    .record(z.string().max(64), SettingValueSchema)
    .describe(
      'every setting to save; one left out gets its default, except a secret one, which keeps its saved value',
    ),
});

/**
 * Plugin settings for admins: the settings schema a plugin's manifest declares with the values it runs with
 * (`GET /plugins/:pluginId/settings`), and saving new ones (`PUT`), checked against that schema (400
 * `invalid_settings` naming each bad key), stored in the database, applied by restarting the plugin when it
 * runs, and audited (`plugin.configured`, with the keys that changed and never their values).
 */
export function registerPluginSettingsRoutes(app: ApiInstance, { plugins, audit }: RouteContext): void {
  app.get(
    '/plugins/:pluginId/settings',
    {
      config: { roles: adminOnly, access: { admin: 'allowed' } },
      schema: {
        tags,
        summary:
          "A plugin's settings schema and the values it runs with; secrets are never answered (admins)",
        params: PluginParamsSchema,
        response: { 200: PluginSettingsSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { pluginId } = request.params;
      const view = await requirePlugins(plugins).settingsOf(pluginId);
      if (!view) throw new HttpError(404, 'not_found', `no plugin "${pluginId}"`);
      return view;
    },
  );

  app.put(
    '/plugins/:pluginId/settings',
    {
      config: { roles: adminOnly, access: { admin: 'allowed' } },
      schema: {
        tags,
        summary:
          "Saves a plugin's settings, checked against its manifest, and restarts it with them if it runs (admins; audited)",
        params: PluginParamsSchema,
        body: PutSettingsBodySchema,
        response: { 200: PluginSettingsSchema, ...errorResponses },
      },
    },
    async (request) => {
      const service = requirePlugins(plugins);
      const { pluginId } = request.params;
      const actorId = requireUser(request).id;
      const { view } = await audit.around(
        { action: 'plugin.configured', actorId, target: { type: 'plugin', id: pluginId }, request },
        () => pluginCall(() => service.configure(pluginId, request.body.values, actorId)),
        ({ changed, view: after }) => ({ details: { changed, state: after.state } }),
      );
      return view;
    },
  );
}
