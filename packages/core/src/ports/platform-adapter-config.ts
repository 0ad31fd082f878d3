/*
 * One configuration vocabulary for every platform adapter, and the descriptor each adapter package exports so
 * a host (the Kaiwa server) can validate a platform's settings and create its adapter without knowing the
 * platform: `token`, `apiUrl`, `logger`, `retry` and, where a platform has more than one real way to receive,
 * `receiver`. Webhooks cross the port as web-standard `Request` and `Response`.
 */

import { z } from 'zod';
import type { PlatformAdapter, PlatformName } from './platform-adapter.js';

/**
 * Where an adapter logs: pino's call shape (fields first, then the message), so a pino or Fastify logger is
 * one as it is.
 *
 * @example
 * const adapter = createTelegramAdapter({ token, logger: app.log });
 */
export interface PlatformLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** Logs nothing. */
export const silentPlatformLogger: PlatformLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

/** Logs warnings and errors to the console, tagged with the platform: the adapters' default. */
export function consolePlatformLogger(platform: PlatformName): PlatformLogger {
  const tag = `[kaiwa/platform-${platform}]`;
  return {
    debug() {},
    info() {},
    warn: (fields, message) => console.warn(tag, message, fields),
    error: (fields, message) => console.error(tag, message, fields),
  };
}

/**
 * How an adapter retries a platform call that was rate limited (429 with Retry-After, always waited out up to
 * `maxRetryAfterMs`) or failed in a way a retry can help (5xx, network). Each adapter documents its defaults.
 */
export interface PlatformRetryConfig {
  /** Tries of one call in all, the first included: 1 means no retry. */
  maxAttempts?: number | undefined;
  /** Waits after failures that did not say how long to wait: `initialMs`, doubling up to `maxMs`. */
  backoff?: { initialMs?: number | undefined; maxMs?: number | undefined } | undefined;
  /** Longest wait the platform may ask for; adapters say whether a longer one fails or is capped. */
  maxRetryAfterMs?: number | undefined;
}

/**
 * The options every platform adapter's config starts from; `<Platform>AdapterConfig` extends it with the
 * platform's own.
 */
export interface PlatformAdapterBaseConfig {
  /** The bot's credential: Slack bot token, Discord bot token, Telegram bot token, Teams app password. */
  token: string;
  /** Base URL of the platform API; the platform's own by default. Tests and self-hosted gateways set it. */
  apiUrl?: string;
  /** Defaults to warnings and errors on the console. */
  logger?: PlatformLogger;
  retry?: PlatformRetryConfig;
}

/** What a host gives every adapter it creates from a descriptor, besides the validated config. */
export interface PlatformAdapterDeps {
  logger?: PlatformLogger;
}

/**
 * An adapter that receives through webhooks the host serves: the host turns each request into a web
 * `Request` (the body's bytes exactly as received, since signatures are computed over them) and sends the
 * `Response` back as it is.
 *
 * @example
 * const response = await telegram.handleWebhook(new Request(url, { method: 'POST', headers, body: rawBody }));
 */
export interface PlatformWebhookHandler {
  handleWebhook(request: Request): Promise<Response>;
}

/**
 * What an adapter package exports so a host can configure its platform from data (a bridge file): the
 * platform's name, the zod schema of its settings (which also reads last release's key names, reporting them
 * through `deprecations`), the paths of its secret fields, and the factory.
 *
 * @example
 * const { slackAdapterDescriptor: descriptor } = await import('@kaiwa/platform-slack');
 * const config = descriptor.configSchema.parse(settings);
 * const slack = descriptor.create(config, { logger });
 * if (descriptor.webhook?.receives(config)) mount(slack);
 */
export interface PlatformAdapterDescriptor<
  Config = unknown,
  Adapter extends PlatformAdapter = PlatformAdapter,
> {
  readonly platform: PlatformName;
  /** Validates serialisable settings (no logger, no callbacks) into the config `create` takes. */
  readonly configSchema: z.ZodType<Config>;
  /**
   * Dotted paths of the fields that hold secrets, old key names included, so a host can insist they come from
   * the environment rather than a file.
   */
  readonly secrets: readonly string[];
  /** One line per deprecated key the raw settings use, `<path>: <what to write instead>`. */
  deprecations(settings: unknown): string[];
  create(config: Config, deps?: PlatformAdapterDeps): Adapter & Partial<PlatformWebhookHandler>;
  /** Present when the platform can deliver to a webhook the host serves. */
  readonly webhook?: {
    /** Whether this config receives through the host's webhook (Telegram long polling does not). */
    receives(config: Config): boolean;
  };
}

/** The schema of {@link PlatformRetryConfig}, for adapters' config schemas. */
export const platformRetryConfigSchema = z.strictObject({
  maxAttempts: z.number().int().min(1).max(21).optional(),
  backoff: z
    .strictObject({
      initialMs: z.number().int().min(0).max(600_000).optional(),
      maxMs: z.number().int().min(0).max(600_000).optional(),
    })
    .optional(),
  maxRetryAfterMs: z.number().int().min(0).max(3_600_000).optional(),
});

/** `apiUrl`: an http(s) URL. */
export const platformApiUrlSchema = z
  .string()
  .regex(/^https?:\/\/\S+$/i, 'must be an http:// or https:// URL');

/**
 * Moves last release's keys to their new names in a copy of `settings`, for a config schema's preprocess.
 * `renames` maps an old key to its new one; when both are given the new one wins. Pass `report` to hear
 * about each old key used, as `<old>: deprecated, write <new>`.
 *
 * @example
 * z.preprocess((raw) => renameConfigKeys(raw, { botToken: 'token' }), schema);
 */
export function renameConfigKeys(
  settings: unknown,
  renames: Readonly<Record<string, string>>,
  report?: (message: string) => void,
): unknown {
  if (settings === null || typeof settings !== 'object' || Array.isArray(settings)) return settings;
  const copy: Record<string, unknown> = { ...(settings as Record<string, unknown>) };
  for (const [old, current] of Object.entries(renames)) {
    if (!(old in copy)) continue;
    report?.(`${old}: deprecated, write ${current}`);
    if (!(current in copy)) copy[current] = copy[old];
    delete copy[old];
  }
  return copy;
}
