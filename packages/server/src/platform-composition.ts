import { readFile } from 'node:fs/promises';
import type { Bridge, BridgeLink } from '@kaiwa/bridge';
import {
  type BlobStore,
  type ChatEngine,
  type ChatStore,
  NotFoundError,
  type PlatformAdapter,
  type PlatformWebhookRequest,
  type PlatformWebhookResponse,
  type Room,
  ULID_PATTERN,
  type User,
  UsernameSchema,
} from '@kaiwa/core';
import type { TeamsAdapter } from '@kaiwa/platform-teams';
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
 */

export const BRIDGE_PLATFORMS = ['slack', 'discord', 'telegram', 'teams'] as const;
export type BridgePlatform = (typeof BRIDGE_PLATFORMS)[number];

const ENV_REFERENCE = /^env:([A-Za-z_][A-Za-z0-9_]*)$/;
const secret = z
  .string({ error: 'must be an env:VAR_NAME reference' })
  .regex(ENV_REFERENCE, 'must be an env:VAR_NAME reference (secrets are not written in the bridge file)');
const port = z
  .number({ error: 'must be a port number' })
  .int({ error: 'must be a port number' })
  .min(0, { error: 'must be a port number' })
  .max(65_535, { error: 'must be a port number' });
const host = z.string().trim().min(1, 'must not be empty');
const path = z.string().regex(/^\/\S*$/, 'must be a path starting with /');
const httpUrl = z.string().regex(/^https?:\/\/\S+$/i, 'must be an http:// or https:// URL');
const count = (maximum: number) =>
  z
    .number({ error: 'must be a whole number' })
    .int({ error: 'must be a whole number' })
    .min(0, { error: 'must be at least 0' })
    .max(maximum, { error: `must be at most ${maximum}` });

/** Options as each adapter's README documents them, with secrets as env references. */
const platformSchemas = {
  slack: z.strictObject({
    botToken: secret,
    receiver: z.discriminatedUnion(
      'type',
      [
        z.strictObject({ type: z.literal('socket'), appToken: secret }),
        z.strictObject({
          type: z.literal('http'),
          signingSecret: secret,
          port: port.optional(),
          host: host.optional(),
          path: path.optional(),
        }),
        // Events API POSTs on the Kaiwa server's own port: /api/v1/platforms/slack/events.
        z.strictObject({ type: z.literal('mounted'), signingSecret: secret }),
      ],
      {
        error:
          'must be { type: socket, appToken }, { type: http, signingSecret, port?, host?, path? } or { type: mounted, signingSecret }',
      },
    ),
    slackApiUrl: httpUrl.optional(),
    retryConfig: z.strictObject({ retries: count(20) }).optional(),
  }),
  discord: z.strictObject({
    token: secret,
    apiUrl: httpUrl.optional(),
    webhooks: z
      .union([z.boolean(), z.strictObject({ name: z.string().trim().min(1).max(80).optional() })], {
        error: 'must be true, false or { name }',
      })
      .optional(),
    answerCommandsInPlace: z.boolean().optional(),
    acceptAttempts: count(100).optional(),
  }),
  telegram: z.strictObject({
    token: secret,
    receiver: z
      .discriminatedUnion(
        'type',
        [
          z.strictObject({ type: z.literal('polling') }),
          z.strictObject({
            type: z.literal('webhook'),
            secretToken: secret,
            path: path.optional(),
            port: port.optional(),
            host: host.optional(),
            publicUrl: httpUrl.optional(),
          }),
          // Webhook POSTs on the Kaiwa server's own port: /api/v1/platforms/telegram/events.
          z.strictObject({
            type: z.literal('mounted'),
            secretToken: secret,
            webhookUrl: httpUrl.optional(),
          }),
        ],
        {
          error:
            'must be { type: polling }, { type: webhook, secretToken, path?, port?, host?, publicUrl? } or { type: mounted, secretToken, webhookUrl? }',
        },
      )
      .optional(),
    apiRoot: httpUrl.optional(),
    retry: z
      .strictObject({
        attempts: count(20).optional(),
        maxRetryAfterMs: count(3_600_000).optional(),
        backoffMs: count(600_000).optional(),
      })
      .optional(),
  }),
  teams: z.strictObject({
    auth: z
      .strictObject({
        MicrosoftAppId: secret.optional(),
        MicrosoftAppPassword: secret.optional(),
        MicrosoftAppType: z
          .enum(['MultiTenant', 'SingleTenant', 'UserAssignedMSI'], {
            error: 'must be MultiTenant, SingleTenant or UserAssignedMSI',
          })
          .optional(),
        MicrosoftAppTenantId: z.string().trim().min(1).optional(),
      })
      .optional(),
    serviceUrl: httpUrl.optional(),
    tenantId: z.string().trim().min(1).optional(),
    botId: z.string().trim().min(1).optional(),
    messageFormat: z.enum(['card', 'text'], { error: 'must be card or text' }).optional(),
    maxRetries: count(20).optional(),
    /** The messaging endpoint the Bot Framework posts to (Teams has no polling). */
    listen: z
      .strictObject({ port: port.optional(), host: host.optional(), path: path.optional() })
      .optional(),
    /** `{ type: mounted }`: the messaging endpoint is /api/v1/platforms/teams/events on the server's port. */
    receiver: z
      .strictObject({ type: z.literal('mounted') }, { error: 'must be { type: mounted }' })
      .optional(),
  }),
};

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
    slack: platformSchemas.slack.optional(),
    discord: platformSchemas.discord.optional(),
    telegram: platformSchemas.telegram.optional(),
    teams: platformSchemas.teams.optional(),
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
export type BridgeFile = z.output<typeof BridgeFileSchema>;

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

/** Checks parsed bridge settings and resolves their `env:` references; see {@link readBridgeFile}. */
export function parseBridgeFile(
  raw: unknown,
  env: Record<string, string | undefined> = process.env,
  file = 'bridge file',
): BridgeFile {
  const result = BridgeFileSchema.safeParse(raw);
  if (!result.success) throw new BridgeFileError(file, result.error.issues.flatMap(describeIssue));
  const settings = result.data;
  const problems: string[] = [];
  if (settings.platforms.teams?.listen !== undefined && settings.platforms.teams.receiver !== undefined) {
    problems.push(
      'platforms.teams.receiver: a mounted endpoint has no listen of its own; remove one of them',
    );
  }
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
  const resolved = resolveReferences(settings, env, [], problems) as BridgeFile;
  if (problems.length > 0) throw new BridgeFileError(file, problems);
  return resolved;
}

function describeIssue(issue: z.core.$ZodIssue): string[] {
  const at = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) =>
      at === 'platforms'
        ? `platforms.${key}: unknown platform (known: ${BRIDGE_PLATFORMS.join(', ')})`
        : `${at ? `${at}.` : ''}${key}: unknown field`,
    );
  }
  return [`${at || 'file'}: ${issue.message}`];
}

/** Replaces every `env:NAME` string by the variable's value; a missing variable is a problem at its path. */
function resolveReferences(
  value: unknown,
  env: Record<string, string | undefined>,
  at: (string | number)[],
  problems: string[],
): unknown {
  if (typeof value === 'string') {
    const name = ENV_REFERENCE.exec(value)?.[1];
    if (name === undefined) return value;
    const resolved = env[name];
    if (resolved === undefined || resolved === '') {
      problems.push(`${at.join('.')}: environment variable ${name} is not set`);
    }
    return resolved;
  }
  if (Array.isArray(value))
    return value.map((item, index) => resolveReferences(item, env, [...at, index], problems));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, resolveReferences(item, env, [...at, key], problems)]),
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

/** An adapter whose inbound webhook the server serves on its own port (the `mounted` receiver). */
export interface MountedWebhook {
  handleWebhook(request: PlatformWebhookRequest): Promise<PlatformWebhookResponse>;
}

/** The platform adapters and the bridge as the server runs them. */
export interface PlatformComposition {
  /** The configured platform adapters by name (`slack`, `telegram`, …), for workflow `notify` steps. */
  platforms: ReadonlyMap<string, PlatformAdapter>;
  /** The adapters configured with the `mounted` receiver, by platform name, for the webhook routes. */
  webhooks: ReadonlyMap<string, MountedWebhook>;
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

  const adapters = await createPlatformAdapters(settings, logger);
  const [{ KaiwaRoomsAdapter }, { createBridge }] = await Promise.all([
    import('@kaiwa/bot'),
    import('@kaiwa/bridge'),
  ]);
  const webhooks = new Map<string, MountedWebhook>();
  const mounted = {
    slack: settings.platforms.slack?.receiver.type === 'mounted',
    telegram: settings.platforms.telegram?.receiver?.type === 'mounted',
    teams: settings.platforms.teams?.receiver?.type === 'mounted',
  };
  for (const [platform, isMounted] of Object.entries(mounted)) {
    const adapter = adapters.get(platform) as (PlatformAdapter & Partial<MountedWebhook>) | undefined;
    if (isMounted && adapter?.handleWebhook) webhooks.set(platform, adapter as unknown as MountedWebhook);
  }
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
          const teams = adapters.get('teams') as TeamsAdapter | undefined;
          const listen = settings.platforms.teams?.listen;
          if (teams && listen) {
            const { url } = await teams.listen(listen);
            logger.info({ url }, 'Teams messaging endpoint listening');
          }
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
 * One adapter per configured platform; none connects before the bridge starts. Each adapter package is
 * imported here, so only the configured platforms' SDKs are ever loaded.
 */
async function createPlatformAdapters(
  settings: BridgeFile,
  logger: FastifyBaseLogger,
): Promise<Map<string, PlatformAdapter>> {
  const { slack, discord, telegram, teams } = settings.platforms;
  const adapters = new Map<string, PlatformAdapter>();
  const report = (platform: string) => (error: unknown) =>
    logger.warn({ err: error, platform }, 'platform adapter error');
  if (slack) {
    const { createSlackAdapter } = await import('@kaiwa/platform-slack');
    adapters.set(
      'slack',
      createSlackAdapter({
        botToken: slack.botToken,
        receiver: slack.receiver,
        // The Web API client wants the trailing slash.
        ...(slack.slackApiUrl ? { slackApiUrl: slack.slackApiUrl.replace(/\/?$/, '/') } : {}),
        ...(slack.retryConfig ? { retryConfig: slack.retryConfig } : {}),
      }),
    );
  }
  if (discord) {
    const { createDiscordAdapter } = await import('@kaiwa/platform-discord');
    adapters.set(
      'discord',
      createDiscordAdapter({
        token: discord.token,
        ...(discord.apiUrl ? { apiUrl: discord.apiUrl } : {}),
        ...(discord.webhooks !== undefined ? { webhooks: discord.webhooks } : {}),
        ...(discord.answerCommandsInPlace !== undefined
          ? { answerCommandsInPlace: discord.answerCommandsInPlace }
          : {}),
        ...(discord.acceptAttempts !== undefined ? { acceptAttempts: discord.acceptAttempts } : {}),
        onError: report('discord'),
      }),
    );
  }
  if (telegram) {
    const { createTelegramAdapter } = await import('@kaiwa/platform-telegram');
    adapters.set(
      'telegram',
      createTelegramAdapter({
        token: telegram.token,
        ...(telegram.receiver ? { receiver: telegram.receiver } : {}),
        ...(telegram.apiRoot ? { apiRoot: telegram.apiRoot } : {}),
        ...(telegram.retry ? { retry: telegram.retry } : {}),
        logger: {
          error: (message: unknown, ...rest: unknown[]) =>
            logger.error({ platform: 'telegram', err: rest[0] }, String(message)),
          warn: (message: unknown, ...rest: unknown[]) =>
            logger.warn({ platform: 'telegram', err: rest[0] }, String(message)),
        },
      }),
    );
  }
  if (teams) {
    const { createTeamsAdapter } = await import('@kaiwa/platform-teams');
    const { listen: _listen, receiver: _receiver, ...options } = teams;
    adapters.set('teams', createTeamsAdapter({ ...stripUndefined(options), onError: report('teams') }));
  }
  return adapters;
}

/** Drops undefined members, for options typed with exactOptionalPropertyTypes. */
function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as T;
}
