import { readFile, realpath } from 'node:fs/promises';
import { isAbsolute, join, normalize, sep } from 'node:path';
import { Cron } from 'croner';
import semver from 'semver';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { describeIssues, PluginError, type PluginIssue } from './errors.js';

const name = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'lower-case letters, digits and dashes, up to 32');

/** Rooms named in the manifest (by id or channel name), and/or every room the plugin's bot user is a member of. */
const RoomScopeSchema = z.strictObject({
  rooms: z.array(z.string().min(1).max(200)).max(100).default([]),
  roomsAddedTo: z.boolean().default(false),
});

const SettingSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('string'),
    title: z.string().max(100).optional(),
    description: z.string().max(1000).optional(),
    required: z.boolean().default(false),
    default: z.string().optional(),
    enum: z.array(z.string()).min(1).optional(),
    minLength: z.int().nonnegative().optional(),
    maxLength: z.int().positive().max(100_000).default(1000),
    /** Shown masked in the admin UI and never logged. */
    secret: z.boolean().default(false),
  }),
  z.strictObject({
    type: z.enum(['number', 'integer']),
    title: z.string().max(100).optional(),
    description: z.string().max(1000).optional(),
    required: z.boolean().default(false),
    default: z.number().optional(),
    minimum: z.number().optional(),
    maximum: z.number().optional(),
  }),
  z.strictObject({
    type: z.literal('boolean'),
    title: z.string().max(100).optional(),
    description: z.string().max(1000).optional(),
    required: z.boolean().default(false),
    default: z.boolean().optional(),
  }),
]);

/**
 * A job's schedule: standard 5-field cron read by croner in UTC (day-of-month and day-of-week OR-ed, as cron
 * does). Five fields keep the shortest interval at one minute; a schedule that never comes (`0 0 30 2 *`) is
 * refused too.
 */
const ScheduleSchema = z
  .string()
  .min(1)
  .max(100)
  .superRefine((schedule, context) => {
    let next: Date | null;
    try {
      next = parsePluginSchedule(schedule).nextRun();
    } catch (error) {
      context.addIssue({
        code: 'custom',
        message: `not a 5-field cron schedule (minute hour day month weekday, UTC): ${(error as Error).message}`,
      });
      return;
    }
    if (next === null) context.addIssue({ code: 'custom', message: 'this schedule never comes' });
  });

/**
 * A scheduled job's schedule as croner reads it: 5 fields, UTC, never started (the caller asks it for times).
 *
 * @throws Error from croner for a pattern it cannot read.
 * @example
 * parsePluginSchedule('*\/5 * * * *').nextRun(new Date('2026-12-07T09:01:00Z')); // 2026-12-07T09:05:00.000Z
 */
export function parsePluginSchedule(schedule: string): Cron {
  return new Cron(schedule, { mode: '5-part', timezone: 'UTC', paused: true });
}

const CapabilitiesSchema = z.strictObject({
  messages: z
    .strictObject({ read: RoomScopeSchema.optional(), post: RoomScopeSchema.optional() })
    .default({}),
  slashCommands: z
    .array(z.strictObject({ name, description: z.string().max(200).default('') }))
    .max(50)
    .default([]),
  /** New messages in the rooms the plugin may read. */
  messageEvents: z.boolean().default(false),
  workflowSteps: z
    .array(
      z.strictObject({
        type: z.string().regex(/^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+$/, 'dotted, e.g. "hello.greet"'),
        description: z.string().max(200).default(''),
      }),
    )
    .max(50)
    .default([]),
  /**
   * Served at `/plugins/<id><path>`. Segments are literal (`A-Z a-z 0-9 - . _ ~`) or `:name`, a path parameter
   * taking one whole segment; matched exactly (no trailing slash), a literal segment before a parameter. Only
   * signed-in users reach a route unless it says `public: true` (webhooks, for instance): then anyone may call
   * it, and the plugin sees who did when they signed in.
   */
  httpRoutes: z
    .array(
      z.strictObject({
        method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
        path: z
          .string()
          .max(200)
          .regex(
            /^\/$|^(\/([A-Za-z0-9\-._~]+|:[A-Za-z_][A-Za-z0-9_]{0,31}))+$/,
            'starts with "/"; segments of URL path characters, or ":name" parameters; no empty segment',
          ),
        public: z.boolean().default(false),
      }),
    )
    .max(50)
    .default([]),
  /**
   * Jobs the plugin runs on a schedule: standard 5-field cron (minute hour day-of-month month day-of-week, or
   * a nickname such as `@hourly`), in UTC, so at most once a minute. Each slot runs on one instance.
   */
  scheduledJobs: z
    .array(z.strictObject({ name, schedule: ScheduleSchema }))
    .max(20)
    .default([]),
  /**
   * Hosts the plugin may send HTTP requests to, through Kaiwa (`http.fetch`; a plugin has no network of its
   * own): `host` or `host:port` (HTTPS, port 443 unless named), `*.domain` (any name under the domain, not the
   * domain itself), or `http://host[:port]` to allow plain HTTP to that host (port 80 unless named). A name that
   * resolves to a private, loopback or link-local address is refused; such an address is reachable only when
   * declared as the literal address (`http://127.0.0.1:8080`). None by default.
   */
  network: z
    .strictObject({
      outbound: z
        .array(
          z
            .string()
            .regex(
              /^(http:\/\/)?(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*(:\d{1,5})?$/i,
              'a host name, optionally :port, optionally after "http://"',
            )
            .refine((entry) => {
              const port = /:(\d+)$/.exec(entry)?.[1];
              return port === undefined || (Number(port) >= 1 && Number(port) <= 65_535);
            }, 'a port from 1 to 65535')
            .refine(
              (entry) => !entry.toLowerCase().startsWith('http://*.'),
              'plain http is allowed for a named host, not a wildcard',
            ),
        )
        .max(50)
        .default([]),
    })
    .default({ outbound: [] }),
  storage: z
    .strictObject({
      quotaBytes: z
        .int()
        .nonnegative()
        .max(100 * 1024 * 1024),
    })
    .default({ quotaBytes: 0 }),
});

const relativeEntry = z
  .string()
  .min(1)
  .refine((entry) => !isAbsolute(entry) && !normalize(entry).split(/[\\/]/).includes('..'), {
    message: 'a path inside the plugin folder',
  });

/**
 * A plugin's manifest, `kaiwa-plugin.json` or `kaiwa-plugin.yaml` in its folder. Unknown keys are errors, so a
 * misspelt capability is named instead of silently granting nothing.
 */
export const PluginManifestSchema = z
  .strictObject({
    id: z.string().regex(/^[a-z][a-z0-9-]{1,63}$/, 'lower-case letters, digits and dashes, 2 to 64'),
    name: z.string().min(1).max(100).optional(),
    description: z.string().max(1000).optional(),
    version: z
      .string()
      .refine((value) => semver.valid(value) !== null, { message: 'a semver version, e.g. 1.2.3' }),
    engines: z.strictObject({
      kaiwa: z
        .string()
        .refine((value) => semver.validRange(value) !== null, { message: 'a semver range, e.g. ^0.1.0' }),
    }),
    entry: relativeEntry,
    runtime: z.enum(['container', 'process']).default('process'),
    capabilities: CapabilitiesSchema.default(() => CapabilitiesSchema.parse({})),
    settings: z.record(z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]{0,63}$/), SettingSchema).default({}),
    limits: z
      .strictObject({
        /** V8 heap limit of the plugin process, MiB. */
        memoryMb: z.int().min(16).max(4096).default(128),
        /** Deadline of one call to the plugin, ms. */
        callTimeoutMs: z.int().min(10).max(120_000).default(5_000),
      })
      .default({ memoryMb: 128, callTimeoutMs: 5_000 }),
  })
  .superRefine((manifest, context) => {
    for (const [index, step] of manifest.capabilities.workflowSteps.entries()) {
      if (!step.type.startsWith(`${manifest.id}.`)) {
        context.addIssue({
          code: 'custom',
          path: ['capabilities', 'workflowSteps', index, 'type'],
          message: `step types are named under the plugin's id: "${manifest.id}.…"`,
        });
      }
    }
    const routeKeys = new Set<string>();
    for (const [index, route] of manifest.capabilities.httpRoutes.entries()) {
      // `/items/:id` and `/items/:name` would answer the same requests: the same route.
      const key = `${route.method} ${route.path.replace(/:[^/]+/g, ':')}`;
      if (routeKeys.has(key)) {
        context.addIssue({
          code: 'custom',
          path: ['capabilities', 'httpRoutes', index, 'path'],
          message: `${route.method} ${route.path} is declared twice`,
        });
      }
      routeKeys.add(key);
      const names = [...route.path.matchAll(/:([^/]+)/g)].map((match) => match[1]);
      if (new Set(names).size !== names.length) {
        context.addIssue({
          code: 'custom',
          path: ['capabilities', 'httpRoutes', index, 'path'],
          message: 'a parameter name is used twice',
        });
      }
    }
    const jobNames = new Set<string>();
    for (const [index, job] of manifest.capabilities.scheduledJobs.entries()) {
      if (jobNames.has(job.name)) {
        context.addIssue({
          code: 'custom',
          path: ['capabilities', 'scheduledJobs', index, 'name'],
          message: `"${job.name}" is declared twice`,
        });
      }
      jobNames.add(job.name);
    }
    for (const [key, setting] of Object.entries(manifest.settings)) {
      if (setting.default === undefined) continue;
      for (const issue of checkSetting(setting, setting.default)) {
        context.addIssue({ code: 'custom', path: ['settings', key, 'default'], message: issue });
      }
    }
  });

export type PluginManifest = z.output<typeof PluginManifestSchema>;
export type PluginManifestInput = z.input<typeof PluginManifestSchema>;
export type PluginCapabilities = PluginManifest['capabilities'];
export type SettingDefinition = z.output<typeof SettingSchema>;

/**
 * Checks a manifest (already parsed from JSON or YAML). Every problem is named with its path.
 *
 * @example
 * const manifest = parsePluginManifest({ id: 'hello', version: '1.0.0', engines: { kaiwa: '^0.1.0' }, entry: 'index.js' });
 */
export function parsePluginManifest(
  value: unknown,
  options: { engineVersion?: string } = {},
): PluginManifest {
  const parsed = PluginManifestSchema.safeParse(value);
  if (!parsed.success) {
    const issues: PluginIssue[] = parsed.error.issues.map((issue) => ({
      path: issue.path.map((part) => (typeof part === 'number' ? part : String(part))),
      message: issue.message,
    }));
    throw new PluginError('invalid_manifest', `invalid plugin manifest: ${describeIssues(issues)}`, {
      issues,
    });
  }
  const manifest = parsed.data;
  if (options.engineVersion && !semver.satisfies(options.engineVersion, manifest.engines.kaiwa)) {
    throw new PluginError(
      'incompatible_engine',
      `plugin "${manifest.id}" needs Kaiwa ${manifest.engines.kaiwa}, this is ${options.engineVersion}`,
      {
        pluginId: manifest.id,
        issues: [{ path: ['engines', 'kaiwa'], message: `excludes ${options.engineVersion}` }],
      },
    );
  }
  return manifest;
}

export const MANIFEST_FILES = ['kaiwa-plugin.json', 'kaiwa-plugin.yaml', 'kaiwa-plugin.yml'] as const;

/** A plugin folder as the host uses it: its real path (symbolic links resolved) and its checked manifest. */
export interface PluginPackage {
  folder: string;
  manifest: PluginManifest;
  /** The entry file's real path, inside `folder`. */
  entryPath: string;
}

/**
 * Reads and checks the manifest in a plugin folder, and that its entry file is inside the folder.
 *
 * @example
 * const plugin = await loadPluginPackage('/srv/kaiwa/plugins/hello', { engineVersion: '0.1.0' });
 */
export async function loadPluginPackage(
  folder: string,
  options: { engineVersion?: string } = {},
): Promise<PluginPackage> {
  const root = await realpath(folder);
  for (const file of MANIFEST_FILES) {
    let text: string;
    try {
      text = await readFile(join(root, file), 'utf8');
    } catch {
      continue;
    }
    let document: unknown;
    try {
      document = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
    } catch (error) {
      throw new PluginError(
        'invalid_manifest',
        `${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}`,
        {
          cause: error,
          issues: [{ path: [], message: (error as Error).message }],
        },
      );
    }
    const manifest = parsePluginManifest(document, options);
    let entryPath: string;
    try {
      entryPath = await realpath(join(root, manifest.entry));
    } catch (error) {
      throw new PluginError('invalid_manifest', `entry "${manifest.entry}" does not exist`, {
        pluginId: manifest.id,
        cause: error,
        issues: [{ path: ['entry'], message: 'no such file' }],
      });
    }
    if (!entryPath.startsWith(root + sep)) {
      throw new PluginError('invalid_manifest', `entry "${manifest.entry}" leads outside the plugin folder`, {
        pluginId: manifest.id,
        issues: [{ path: ['entry'], message: 'leads outside the plugin folder' }],
      });
    }
    return { folder: root, manifest, entryPath };
  }
  throw new PluginError('invalid_manifest', `no ${MANIFEST_FILES.join(' or ')} in ${root}`, {
    issues: [{ path: [], message: 'manifest file missing' }],
  });
}

/** Problems of one settings value against its definition, as messages. */
function checkSetting(setting: SettingDefinition, value: unknown): string[] {
  switch (setting.type) {
    case 'string': {
      if (typeof value !== 'string') return ['must be a string'];
      const problems: string[] = [];
      if (setting.enum && !setting.enum.includes(value))
        problems.push(`must be one of ${setting.enum.join(', ')}`);
      if (setting.minLength !== undefined && value.length < setting.minLength) {
        problems.push(`at least ${setting.minLength} characters`);
      }
      if (value.length > setting.maxLength) problems.push(`at most ${setting.maxLength} characters`);
      return problems;
    }
    case 'number':
    case 'integer': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return ['must be a number'];
      if (setting.type === 'integer' && !Number.isInteger(value)) return ['must be an integer'];
      const problems: string[] = [];
      if (setting.minimum !== undefined && value < setting.minimum)
        problems.push(`at least ${setting.minimum}`);
      if (setting.maximum !== undefined && value > setting.maximum)
        problems.push(`at most ${setting.maximum}`);
      return problems;
    }
    case 'boolean':
      return typeof value === 'boolean' ? [] : ['must be true or false'];
  }
}

/**
 * Checks an admin's settings against the manifest's settings schema and fills in defaults. Every problem is
 * named; keys the schema does not know are problems too.
 *
 * @example
 * const settings = resolvePluginSettings(manifest, { greeting: 'Hi' }); // { greeting: 'Hi', shout: false }
 */
export function resolvePluginSettings(
  manifest: PluginManifest,
  values: Record<string, unknown> = {},
): Record<string, string | number | boolean> {
  const issues: PluginIssue[] = [];
  const settings: Record<string, string | number | boolean> = {};
  for (const key of Object.keys(values)) {
    if (!(key in manifest.settings)) issues.push({ path: [key], message: 'not a setting of this plugin' });
  }
  for (const [key, setting] of Object.entries(manifest.settings)) {
    const value = values[key] ?? setting.default;
    if (value === undefined) {
      if (setting.required) issues.push({ path: [key], message: 'required' });
      continue;
    }
    const problems = checkSetting(setting, value);
    for (const message of problems) issues.push({ path: [key], message });
    if (problems.length === 0) settings[key] = value as string | number | boolean;
  }
  if (issues.length > 0) {
    throw new PluginError(
      'invalid_settings',
      `invalid settings for "${manifest.id}": ${describeIssues(issues)}`,
      {
        pluginId: manifest.id,
        issues,
      },
    );
  }
  return settings;
}
