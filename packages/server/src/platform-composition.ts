import { readFile } from 'node:fs/promises';
import type { Bridge, BridgeLink } from '@kaiwa/bridge';
import {
  type BlobStore,
  type ChatEngine,
  type ChatStore,
  NotFoundError,
  type PlatformAdapter,
  type PlatformAdapterDescriptor,
  type PlatformWebhookHandler,
  type Room,
  ULID_PATTERN,
  type User,
  UsernameSchema,
} from '@kaiwa/core';
import type { FastifyBaseLogger } from 'fastify';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/*
 * The bridge file (KAIWA_BRIDGE_FILE) names the platforms the server connects to and the links between Kaiwa
 * rooms and their channels. Secrets are never written in it: they are `env:VAR_NAME` references, resolved
 * from the environment when the server starts, and only the variable names ever appear in messages.
 *
 * The bridge, the bot runtime and each platform's adapter (with its SDK: discord.js, botbuilder, @slack/bolt,
 * telegraf) are imported only here, when a bridge file is read, and only for the platforms it configures:
 * a server without one never loads them (packages/server/src/lazy-dependencies.test.ts checks).
 *
 * The server declares no platform's options itself: each adapter package exports a descriptor with the zod
 * schema of its settings (which still reads last release's key names, reported as deprecations), the paths
 * of its secrets and the factory, and a platform's section of the file is checked against it.
 */

export const BRIDGE_PLATFORMS = ['slack', 'discord', 'telegram', 'teams'] as const;
export type BridgePlatform = (typeof BRIDGE_PLATFORMS)[number];

const ENV_REFERENCE = /^env:([A-Za-z_][A-Za-z0-9_]*)$/;

/**
 * Each platform's adapter descriptor, imported when the bridge file configures the platform (and only then).
 */
const DESCRIPTORS: Record<BridgePlatform, () => Promise<PlatformAdapterDescriptor>> = {
  slack: async () => (await import('@kaiwa/platform-slack')).slackAdapterDescriptor,
  discord: async () => (await import('@kaiwa/platform-discord')).discordAdapterDescriptor,
  telegram: async () => (await import('@kaiwa/platform-telegram')).telegramAdapterDescriptor,
  teams: async () => (await import('@kaiwa/platform-teams')).teamsAdapterDescriptor,
};

/** A platform's section, checked in shape here and in detail by its adapter's descriptor. */
const platformSection = z.record(z.string(), z.unknown(), {
  error: "must be an object with the platform's settings",
});

const channelSchema = z.strictObject({
  platform: z.string().min(1, 'must not be empty'),
  // Telegram chat ids are numbers; YAML reads them as such.
  channelId: z.union([z.string().trim().min(1, 'must not be empty'), z.number().int().transform(String)], {
    error: 'must be a channel id',
  }),
});

export const BridgeFileSchema = z.strictObject({
  /** The Kaiwa bot user the bridge writes as; created with role `bot` when missing. */
  username: UsernameSchema.default('bridge'),
  displayName: z.string().trim().min(1).max(64).optional(),
  platforms: z.strictObject({
    slack: platformSection.optional(),
    discord: platformSection.optional(),
    telegram: platformSection.optional(),
    teams: platformSection.optional(),
  }),
  links: z
    .array(
      z.strictObject({
        id: z.string().regex(/^[\w.-]{1,64}$/, 'must be 1–64 letters, digits, dots, dashes or underscores'),
        /** A Kaiwa room by name or id. */
        room: z.string().trim().min(1, 'must name a Kaiwa room'),
        // Empty unlinks every channel the link had: the store keeps links across restarts.
        channels: z.array(channelSchema),
      }),
    )
    .default([]),
});
/** A checked bridge file: each configured platform's settings as its adapter descriptor's schema gave them. */
export type BridgeFile = Omit<z.output<typeof BridgeFileSchema>, 'platforms'> & {
  platforms: Partial<Record<BridgePlatform, Record<string, unknown>>>;
  /** One line per deprecated key the file uses, with its path: `platforms.slack.botToken: deprecated, …`. */
  deprecations: string[];
};

/** The bridge file is unreadable or wrong; `problems` has one line per problem, each naming its field. */
export class BridgeFileError extends Error {
  readonly problems: string[];

  constructor(file: string, problems: string[]) {
    super(`KAIWA_BRIDGE_FILE: ${file}: ${problems.join('; ')}`);
    this.name = 'BridgeFileError';
    this.problems = problems;
  }
}

/**
 * Reads and checks a bridge file (JSON, or YAML for `.yaml`/`.yml`) and resolves its `env:` references.
 * Every problem is reported at once with its path, e.g. `links.0.channels.1.platform: …`.
 *
 * @throws BridgeFileError
 * @example
 * const settings = await readBridgeFile('/etc/kaiwa/bridge.yaml', process.env);
 */
export async function readBridgeFile(
  file: string,
  env: Record<string, string | undefined> = process.env,
): Promise<BridgeFile> {
  let raw: unknown;
  try {
    const text = await readFile(file, 'utf8');
    raw = /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code
      ? `cannot be read (${(error as NodeJS.ErrnoException).code})`
      : `is not valid ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'} (${(error as Error).message})`;
    throw new BridgeFileError(file, [reason]);
  }
  return parseBridgeFile(raw, env, file);
}

/**
 * Checks parsed bridge settings and resolves their `env:` references; see {@link readBridgeFile}. Each
 * configured platform's section is checked by its adapter's descriptor, imported here.
 *
 * @throws BridgeFileError
 */
export async function parseBridgeFile(
  raw: unknown,
  env: Record<string, string | undefined> = process.env,
  file = 'bridge file',
): Promise<BridgeFile> {
  const result = BridgeFileSchema.safeParse(raw);
  const problems = result.success ? [] : result.error.issues.flatMap((issue) => describeIssue(issue));
  const settings = result.success ? result.data : undefined;
  if (settings !== undefined) {
    for (const [index, link] of settings.links.entries()) {
      if (settings.links.findIndex((other) => other.id === link.id) !== index) {
        problems.push(`links.${index}.id: "${link.id}" is used by another link`);
      }
      for (const [position, channel] of link.channels.entries()) {
        const at = `links.${index}.channels.${position}.platform`;
        if (!(BRIDGE_PLATFORMS as readonly string[]).includes(channel.platform)) {
          problems.push(
            `${at}: unknown platform "${channel.platform}" (known: ${BRIDGE_PLATFORMS.join(', ')}; the Kaiwa side is "room")`,
          );
        } else if (settings.platforms[channel.platform as BridgePlatform] === undefined) {
          problems.push(`${at}: "${channel.platform}" is not configured under platforms`);
        }
      }
    }
  }
  const { platforms: _platforms, ...rest } = settings ?? {};
  const resolved = resolveReferences(rest, env, [], problems, new Set()) as Omit<BridgeFile, 'platforms'>;
  // The platforms' sections are checked even when something else is wrong, so every problem shows at once.
  const platforms: BridgeFile['platforms'] = {};
  const deprecations: string[] = [];
  const sections = (raw as { platforms?: unknown } | null)?.platforms;
  for (const platform of BRIDGE_PLATFORMS) {
    const section = (sections as Record<string, unknown> | undefined)?.[platform];
    if (section === null || typeof section !== 'object' || Array.isArray(section)) continue;
    const checked = await checkPlatformSettings(platform, section, env, problems);
    deprecations.push(...checked.deprecations);
    if (checked.config !== undefined) platforms[platform] = checked.config;
  }
  if (problems.length > 0 || settings === undefined) throw new BridgeFileError(file, problems);
  return { ...resolved, platforms, deprecations };
}

/**
 * One platform's section against its adapter's descriptor: secrets must be `env:` references, references are
 * resolved, then the descriptor's schema checks the rest (a field whose variable is missing is reported once).
 */
async function checkPlatformSettings(
  platform: BridgePlatform,
  section: object,
  env: Record<string, string | undefined>,
  problems: string[],
): Promise<{ config: Record<string, unknown> | undefined; deprecations: string[] }> {
  const descriptor = await DESCRIPTORS[platform]();
  const at = `platforms.${platform}`;
  for (const path of descriptor.secrets) {
    const value = path
      .split('.')
      .reduce<unknown>((value, key) => (value as Record<string, unknown>)?.[key], section);
    if (value !== undefined && !(typeof value === 'string' && ENV_REFERENCE.test(value))) {
      problems.push(
        `${at}.${path}: must be an env:VAR_NAME reference (secrets are not written in the bridge file)`,
      );
    }
  }
  const deprecations = descriptor.deprecations(section).map((line) => `${at}.${line}`);
  const unresolved = new Set<string>();
  const resolved = resolveReferences(section, env, ['platforms', platform], problems, unresolved);
  const result = descriptor.configSchema.safeParse(resolved);
  if (result.success) return { config: result.data as Record<string, unknown>, deprecations };
  for (const issue of result.error.issues) {
    const path = [at, ...issue.path.map(String)].join('.');
    if (!unresolved.has(path)) problems.push(...describeIssue(issue, at));
  }
  return { config: undefined, deprecations };
}

function describeIssue(issue: z.core.$ZodIssue, prefix?: string): string[] {
  const at = [...(prefix ? [prefix] : []), ...issue.path.map(String)].join('.');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) =>
      at === 'platforms'
        ? `platforms.${key}: unknown platform (known: ${BRIDGE_PLATFORMS.join(', ')})`
        : `${at ? `${at}.` : ''}${key}: unknown field`,
    );
  }
  return [`${at || 'file'}: ${issue.message}`];
}

/**
 * Replaces every `env:NAME` string by the variable's value; a missing variable is a problem at its path,
 * and the path goes into `unresolved`.
 */
function resolveReferences(
  value: unknown,
  env: Record<string, string | undefined>,
  at: (string | number)[],
  problems: string[],
  unresolved: Set<string>,
): unknown {
  if (typeof value === 'string') {
    const name = ENV_REFERENCE.exec(value)?.[1];
    if (name === undefined) return value;
    const resolved = env[name];
    if (resolved === undefined || resolved === '') {
      problems.push(`${at.join('.')}: environment variable ${name} is not set`);
      unresolved.add(at.join('.'));
    }
    return resolved;
  }
  if (Array.isArray(value))
    return value.map((item, index) => resolveReferences(item, env, [...at, index], problems, unresolved));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [
        key,
        resolveReferences(item, env, [...at, key], problems, unresolved),
      ]),
    );
  }
  return value;
}

export interface PlatformCompositionConfig {
  engine: ChatEngine;
  store: ChatStore;
  blobs: BlobStore;
  /** The bridge file (KAIWA_BRIDGE_FILE). */
  file: string;
  /** Where `env:` references are looked up; defaults to `process.env`. */
  env?: Record<string, string | undefined>;
  logger: FastifyBaseLogger;
  /** Passed to the bridge's inbox and outbox (tests poll faster). */
  pollMs?: number;
  /** First wait before connecting again when a platform is down at start; doubles up to a minute. Default 1 s. */
  retryMs?: number;
}

/** The platform adapters and the bridge as the server runs them. */
export interface PlatformComposition {
  /** The configured platform adapters by name (`slack`, `telegram`, …), for workflow `notify` steps. */
  platforms: ReadonlyMap<string, PlatformAdapter>;
  /**
   * The adapters that receive through a webhook the server serves (their descriptor says so for their
   * config: Slack `http`, Telegram `webhook`, Teams always), by platform name, for the webhook routes.
   */
  webhooks: ReadonlyMap<string, PlatformWebhookHandler>;
  /** Set once `start` has run. */
  readonly bridge: Bridge | undefined;
  /** The Kaiwa user the bridge writes as; set once `start` has run. */
  readonly botUser: User | undefined;
  /**
   * Makes sure of the bot user (after the first admin exists: a first start counts users) and its
   * membership of the linked rooms (`actorId`, an admin, invites it to private groups), then connects
   * the platforms and starts relaying.
   */
  start(actorId: string | undefined): Promise<void>;
  /** Disconnects the platforms; what is queued goes out after the next start. */
  close(): Promise<void>;
}

/**
 * Reads the bridge file, creates the configured platform adapters and checks the linked rooms; nothing is
 * connected until `start`. The server refuses to start on any problem, listing each with its field path.
 *
 * @throws BridgeFileError
 * @example
 * const platforms = await composePlatforms({ engine, store, blobs, file: config.bridgeFile, logger: app.log });
 * await platforms.start(admin.id);
 */
export async function composePlatforms(config: PlatformCompositionConfig): Promise<PlatformComposition> {
  const { engine, store, logger, file } = config;
  const settings = await readBridgeFile(file, config.env ?? process.env);
  const problems: string[] = [];
  const rooms: Room[] = [];
  for (const [index, link] of settings.links.entries()) {
    const room = ULID_PATTERN.test(link.room)
      ? ((await store.rooms.findById(link.room)) ?? (await store.rooms.findByName(link.room)))
      : await store.rooms.findByName(link.room);
    if (!room) problems.push(`links.${index}.room: no Kaiwa room named "${link.room}"`);
    else if (room.kind === 'direct') problems.push(`links.${index}.room: direct rooms cannot be bridged`);
    else if (room.archived) problems.push(`links.${index}.room: "${link.room}" is archived`);
    else rooms[index] = room;
  }
  const existing = await store.users.findByUsername(settings.username.toLowerCase());
  if (existing && existing.role !== 'bot') {
    problems.push(
      `username: "${settings.username}" belongs to a ${existing.role}, not a bot; choose another name`,
    );
  }
  if (problems.length > 0) throw new BridgeFileError(file, problems);

  for (const line of settings.deprecations) logger.warn({ file }, `KAIWA_BRIDGE_FILE: ${line}`);
  const { adapters, webhooks } = await createPlatformAdapters(settings, logger);
  const [{ KaiwaRoomsAdapter }, { createBridge }] = await Promise.all([
    import('@kaiwa/bot'),
    import('@kaiwa/bridge'),
  ]);
  const links: BridgeLink[] = settings.links.map((link, index) => ({
    id: link.id,
    endpoints: [
      { platform: 'kaiwa', channelId: rooms[index]!.id },
      ...link.channels.map((channel) => ({
        platform: channel.platform,
        channelId: String(channel.channelId),
      })),
    ],
  }));
  let bridge: Bridge | undefined;
  let botUser: User | undefined;
  let started = false;
  let closed = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let retrying: Promise<void> | undefined;
  const retryMs = config.retryMs ?? 1000;
  return {
    platforms: adapters,
    webhooks,
    get bridge() {
      return bridge;
    },
    get botUser() {
      return botUser;
    },
    async start(actorId) {
      if (started) return;
      started = true;
      botUser = existing ?? (await ensureBotUser(engine, settings.username, settings.displayName));
      for (const room of new Map(rooms.map((room) => [room.id, room])).values()) {
        if (await store.memberships.find(room.id, botUser.id)) continue;
        if (room.kind === 'channel') await engine.joinRoom(botUser.id, room.id);
        else if (actorId) await engine.inviteToRoom(actorId, room.id, botUser.id);
        else throw new BridgeFileError(file, [`links: no admin to add ${botUser.username} to ${room.name}`]);
      }
      // The file is the truth: channels taken out of a link since the last start are unlinked.
      for (const link of links) {
        for (const stored of await store.bridges.listEndpoints(link.id)) {
          const kept = link.endpoints.some(
            (endpoint) => endpoint.platform === stored.platform && endpoint.channelId === stored.channelId,
          );
          if (!kept) await store.bridges.removeEndpoint(link.id, stored.platform, stored.channelId);
        }
      }
      const kaiwa = new KaiwaRoomsAdapter({
        engine,
        botUserId: botUser.id,
        blobs: config.blobs,
        roomIds: rooms.map((room) => room.id),
        resumeKey: 'bridge',
      });
      const running = createBridge({
        store,
        adapters: [kaiwa, ...adapters.values()],
        links,
        ...(config.pollMs ? { inbox: { pollMs: config.pollMs }, outbox: { pollMs: config.pollMs } } : {}),
      });
      bridge = running;
      const connect = async () => {
        try {
          await running.start();
        } catch (error) {
          await running.stop().catch(() => undefined);
          throw error;
        }
        logger.info(
          { platforms: [...adapters.keys()], links: links.map((link) => link.id), user: botUser?.username },
          'bridge started',
        );
      };
      // A platform that is down must not keep the chat server down: connect again in the background.
      const attempt = async (failures: number): Promise<void> => {
        if (closed) return;
        try {
          await connect();
        } catch (error) {
          const delayMs = Math.min(retryMs * 2 ** failures, 60_000);
          logger.error({ err: error, retryInMs: delayMs }, 'the bridge could not connect; trying again');
          retryTimer = setTimeout(() => {
            retrying = attempt(failures + 1);
          }, delayMs);
          retryTimer.unref();
        }
      };
      await attempt(0);
    },
    async close() {
      closed = true;
      clearTimeout(retryTimer);
      await retrying;
      await bridge?.stop();
    },
  };
}

/** The bridge's bot user: found by name, or created with role `bot`. */
async function ensureBotUser(engine: ChatEngine, username: string, displayName?: string): Promise<User> {
  try {
    return await engine.getUserByUsername(username);
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
    return engine.createUser({ username, role: 'bot', ...(displayName ? { displayName } : {}) });
  }
}

/**
 * One adapter per configured platform, each created by its package's descriptor from the checked settings;
 * none connects before the bridge starts. Only the configured platforms' packages (and SDKs) are imported.
 */
async function createPlatformAdapters(
  settings: BridgeFile,
  logger: FastifyBaseLogger,
): Promise<{ adapters: Map<string, PlatformAdapter>; webhooks: Map<string, PlatformWebhookHandler> }> {
  const adapters = new Map<string, PlatformAdapter>();
  const webhooks = new Map<string, PlatformWebhookHandler>();
  for (const platform of BRIDGE_PLATFORMS) {
    const config = settings.platforms[platform];
    if (config === undefined) continue;
    const descriptor = await DESCRIPTORS[platform]();
    const adapter = descriptor.create(config, { logger: logger.child({ platform }) });
    adapters.set(platform, adapter);
    if (descriptor.webhook?.receives(config) && adapter.handleWebhook !== undefined) {
      webhooks.set(platform, adapter as PlatformWebhookHandler);
    }
  }
  return { adapters, webhooks };
}
