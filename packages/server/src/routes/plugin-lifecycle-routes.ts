import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { KaiwaBaseError, ValidationError } from '@kaiwa/core';
import type { PluginError, PluginUpgradeRolledBackError } from '@kaiwa/plugins';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { errorResponses } from '../http/api-schemas.js';
import { requireUser } from '../http/authentication.js';
import { HttpError } from '../http/http-error.js';
import type { PluginService } from '../plugin-composition.js';
import type { UploadedTarball } from '../plugin-lifecycle-service.js';
import { PluginSummarySchema } from './plugin-routes.js';
import type { ApiInstance, RouteContext } from './route-context.js';

const tags = ['plugins'];
const adminOnly = ['admin'] as const;

/** The largest plugin tarball taken, compressed. */
const MAX_TARBALL_BYTES = 32 * 1024 * 1024;

const PluginParamsSchema = z.object({ pluginId: z.string().min(1).max(64) });

const Sha256FieldSchema = z
  .string()
  .trim()
  .regex(/^[0-9a-fA-F]{64}$/, 'the SHA-256 of the tarball, 64 hexadecimal digits');

const InstallationSchema = z.object({
  enabled: z.boolean().describe('whether an admin wants it running; honoured when the server starts'),
  sha256: z.string().nullable().describe('of the tarball installed; null for a folder placed by hand'),
  installedAt: z.string(),
  updatedAt: z.string(),
});

const InstalledPluginSchema = PluginSummarySchema.extend({ installation: InstallationSchema });

const UpgradedPluginSchema = InstalledPluginSchema.extend({
  fromVersion: z.string(),
  toVersion: z.string(),
  migrated: z.boolean().describe('whether the new version had a migration hook, and ran it'),
});

const UninstallQuerySchema = z.object({
  keepData: z
    .enum(['true', 'false'])
    .default('false')
    .transform((value) => value === 'true')
    .describe("keep the plugin's key-value storage and job runs (for a later install); default false"),
});

const UploadDescription =
  'multipart/form-data with the field `sha256` (the SHA-256 of the tarball, hex) and one file: the plugin as ' +
  `a .tgz (or .tar), its manifest at the top or in one folder holding everything (npm pack's package/), at most ${MAX_TARBALL_BYTES} bytes. ` +
  'Checked before anything changes: the checksum, every entry (no absolute path, no "..", no links, no device files; at most 2000 entries and 64 MiB unpacked), and the manifest (400 naming every problem in `details.issues`).';

function requirePlugins(plugins: PluginService | undefined): PluginService {
  if (!plugins)
    throw new HttpError(404, 'plugins_off', 'plugins are off on this server (KAIWA_PLUGIN_DIR is unset)');
  return plugins;
}

/** A lifecycle failure as the admin should see it: what was wrong with the tarball, or what came of it. */
function lifecycleHttpError(error: PluginError): HttpError {
  const issues = { issues: error.issues };
  switch (error.code) {
    case 'checksum_mismatch':
    case 'invalid_package':
    case 'invalid_manifest':
    case 'incompatible_engine':
      return new HttpError(400, error.code, error.message, issues);
    case 'already_installed':
      return new HttpError(409, 'already_installed', error.message, {
        pluginId: error.pluginId,
        upgrade: `/api/v1/plugins/${error.pluginId}/upgrade`,
      });
    case 'not_an_upgrade':
      return new HttpError(409, 'not_an_upgrade', error.message, issues);
    case 'not_found':
      return new HttpError(404, 'not_found', error.message);
    case 'rolled_back': {
      const rolledBack = error as PluginUpgradeRolledBackError;
      return new HttpError(422, 'upgrade_rolled_back', error.message, {
        stage: rolledBack.stage,
        reason: rolledBack.reason,
        failedVersion: rolledBack.failedVersion,
        restoredVersion: rolledBack.restoredVersion,
        ...(rolledBack.restoreError ? { restoreError: rolledBack.restoreError } : {}),
      });
    }
    default:
      return new HttpError(422, 'plugin_start_failed', error.message, { code: error.code });
  }
}

const isPluginError = (error: unknown): error is PluginError =>
  // By name, not `PluginError.isInstance`: @kaiwa/plugins stays unloaded on a server without plugins.
  KaiwaBaseError.isInstance(error) && (error as Error).name === 'PluginError';

async function lifecycleCall<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw isPluginError(error) ? lifecycleHttpError(error) : error;
  }
}

/**
 * Reads a tarball upload: the `sha256` field and one file, spooled to a temporary folder (the caller removes
 * it). Throws `ValidationError` naming `sha256` or `file`, 413 past {@link MAX_TARBALL_BYTES}.
 */
async function readTarballUpload(request: FastifyRequest): Promise<UploadedTarball & { folder: string }> {
  if (!request.isMultipart()) {
    throw new HttpError(
      415,
      'unsupported_media_type',
      'send multipart/form-data with the field sha256 and one file',
    );
  }
  const folder = await mkdtemp(join(tmpdir(), 'kaiwa-plugin-upload-'));
  try {
    const file = join(folder, 'plugin.tgz');
    let sha256: string | undefined;
    let received = false;
    for await (const part of request.parts({ limits: { fileSize: MAX_TARBALL_BYTES, files: 1 } })) {
      if (part.type === 'file') {
        await pipeline(part.file, createWriteStream(file));
        received = true;
      } else if (part.fieldname === 'sha256' && typeof part.value === 'string') {
        sha256 = part.value;
      }
    }
    const issues: { path: string[]; message: string }[] = [];
    const checked = Sha256FieldSchema.safeParse(sha256);
    if (!checked.success) {
      issues.push({
        path: ['sha256'],
        message:
          sha256 === undefined
            ? 'required: the SHA-256 of the tarball'
            : (checked.error.issues[0]?.message ?? 'invalid'),
      });
    }
    if (!received) issues.push({ path: ['file'], message: 'attach the plugin tarball' });
    if (issues.length > 0 || !checked.success) throw new ValidationError(issues);
    return { folder, file, sha256: checked.data.toLowerCase() };
  } catch (error) {
    await rm(folder, { recursive: true, force: true });
    throw error;
  }
}

/**
 * The lifecycle of plugins, for admins: install from a tarball (`POST /plugins`), upgrade with rollback (`POST
 * /plugins/:pluginId/upgrade`) and uninstall (`DELETE /plugins/:pluginId`), each in the audit log.
 */
export function registerPluginLifecycleRoutes(app: ApiInstance, { plugins, audit }: RouteContext): void {
  const summaryOf = (service: PluginService, pluginId: string) => {
    const summary = service.list().find((plugin) => plugin.id === pluginId);
    if (!summary) throw new HttpError(404, 'not_found', `no plugin "${pluginId}"`);
    return summary;
  };

  app.post(
    '/plugins',
    {
      config: { roles: adminOnly, access: { admin: 'allowed' } },
      schema: {
        tags,
        summary: 'Installs a plugin from a tarball and starts it (admins)',
        description: `${UploadDescription} A plugin id installed already answers 409 (upgrade it instead).`,
        consumes: ['multipart/form-data'],
        response: { 201: InstalledPluginSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const service = requirePlugins(plugins);
      const actorId = requireUser(request).id;
      const upload = await readTarballUpload(request);
      try {
        const installation = await audit.around(
          {
            action: 'plugin.installed',
            actorId,
            target: { type: 'plugin', id: null },
            details: { sha256: upload.sha256 },
            request,
          },
          () => lifecycleCall(() => service.lifecycle.install(actorId, upload)),
          (installed) => ({
            target: { type: 'plugin', id: installed.pluginId },
            details: { version: installed.version },
          }),
        );
        const { pluginId: _id, version: _version, ...rest } = installation;
        return reply.status(201).send({ ...summaryOf(service, installation.pluginId), installation: rest });
      } finally {
        await rm(upload.folder, { recursive: true, force: true });
      }
    },
  );

  app.post(
    '/plugins/:pluginId/upgrade',
    {
      config: { roles: adminOnly, access: { admin: 'allowed' } },
      schema: {
        tags,
        summary: 'Upgrades a plugin from a tarball of a higher version, rolling back on failure (admins)',
        description:
          `${UploadDescription} The new version starts, runs its migration hook ({ fromVersion, toVersion }) and ` +
          'must answer a health check; when one fails it is stopped, the old folder put back and the old version ' +
          'started again, and the answer is 422 `upgrade_rolled_back` naming the stage and the reason. The old ' +
          'folder is kept as `.backup-<id>` in the plugin folder.',
        consumes: ['multipart/form-data'],
        params: PluginParamsSchema,
        response: { 200: UpgradedPluginSchema, ...errorResponses },
      },
    },
    async (request) => {
      const service = requirePlugins(plugins);
      const actorId = requireUser(request).id;
      const { pluginId } = request.params;
      const upload = await readTarballUpload(request);
      try {
        const upgraded = await audit.around(
          {
            action: 'plugin.upgraded',
            actorId,
            target: { type: 'plugin', id: pluginId },
            details: { sha256: upload.sha256 },
            request,
          },
          async () => {
            try {
              return await service.lifecycle.upgrade(actorId, pluginId, upload);
            } catch (error) {
              if (isPluginError(error) && error.code === 'rolled_back') {
                const rolledBack = error as PluginUpgradeRolledBackError;
                await audit.record({
                  action: 'plugin.rolled_back',
                  actorId,
                  target: { type: 'plugin', id: pluginId },
                  outcome: rolledBack.restoreError ? 'failure' : 'success',
                  details: {
                    stage: rolledBack.stage,
                    reason: rolledBack.reason,
                    failedVersion: rolledBack.failedVersion,
                    restoredVersion: rolledBack.restoredVersion,
                    ...(rolledBack.restoreError ? { restoreError: rolledBack.restoreError } : {}),
                  },
                  request,
                });
              }
              throw isPluginError(error) ? lifecycleHttpError(error) : error;
            }
          },
          (result) => ({ details: { fromVersion: result.fromVersion, toVersion: result.toVersion } }),
        );
        const { pluginId: _id, version: _version, ...rest } = upgraded.installation;
        return {
          ...summaryOf(service, pluginId),
          installation: rest,
          fromVersion: upgraded.fromVersion,
          toVersion: upgraded.toVersion,
          migrated: upgraded.migrated,
        };
      } finally {
        await rm(upload.folder, { recursive: true, force: true });
      }
    },
  );

  app.delete(
    '/plugins/:pluginId',
    {
      config: { roles: adminOnly, access: { admin: 'allowed' } },
      schema: {
        tags,
        summary: 'Uninstalls a plugin: stops it, removes its folder and, unless keepData, its data (admins)',
        description:
          "Its bot user is deactivated (its messages stay). Without keepData=true the plugin's key-value storage " +
          'and scheduled job runs are deleted from the database.',
        params: PluginParamsSchema,
        querystring: UninstallQuerySchema,
        response: {
          200: z.object({ id: z.string(), version: z.string().nullable(), keptData: z.boolean() }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const service = requirePlugins(plugins);
      const actorId = requireUser(request).id;
      const { pluginId } = request.params;
      const { keepData } = request.query;
      const { version } = await audit.around(
        {
          action: 'plugin.uninstalled',
          actorId,
          target: { type: 'plugin', id: pluginId },
          details: { keepData },
          request,
        },
        () => lifecycleCall(() => service.lifecycle.uninstall(actorId, pluginId, keepData)),
        (result) => ({ details: { version: result.version } }),
      );
      return { id: pluginId, version: version ?? null, keptData: keepData };
    },
  );
}
