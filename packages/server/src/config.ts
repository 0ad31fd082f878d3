import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RoomNameSchema } from '@kaiwa/core';
import { missingOcrLanguages } from '@kaiwa/workflow-steps';
import { z } from 'zod';
import { type ClamdAddress, parseClamdAddress } from './files/clamav-scanner.js';
import {
  DEFAULT_USER_RATE_LIMITS,
  parseUserRateLimits,
  type UserRateLimitSettings,
} from './limits/user-rate-limits.js';
import { readTracingSettings, type TracingSettings } from './operations/tracing-settings.js';
import { parseRealtimeLimits, type RealtimeLimits } from './realtime/limits.js';

/*
 * Server settings come from environment variables and, optionally, a JSON file named by KAIWA_CONFIG whose
 * keys are the same variable names. The environment wins over the file, the file over the defaults. Every
 * wrong setting is reported at once, each naming its variable.
 */

export const NODE_ENVIRONMENTS = ['development', 'production', 'test'] as const;
export type NodeEnvironment = (typeof NODE_ENVIRONMENTS)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Upload types allowed unless KAIWA_UPLOAD_ALLOWED_TYPES says otherwise. */
export const DEFAULT_UPLOAD_TYPES = [
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'image/avif',
  'image/bmp',
  'image/tiff',
  'application/pdf',
  'text/plain',
  'application/zip',
  'application/gzip',
  'application/x-7z-compressed',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  'application/vnd.oasis.opendocument.text',
  'application/vnd.oasis.opendocument.spreadsheet',
  'application/vnd.oasis.opendocument.presentation',
  'application/x-cfb',
  'application/rtf',
  'audio/mpeg',
  'audio/ogg',
  'audio/wav',
  'audio/webm',
  'audio/mp4',
  'audio/x-m4a',
  'audio/flac',
  'video/mp4',
  'video/webm',
] as const;

/** An S3-compatible bucket for uploads; credentials come from the AWS SDK's usual sources (AWS_* env). */
export interface S3BlobSettings {
  kind: 's3';
  bucket: string;
  region: string;
  /** MinIO, Ceph, R2 or another S3-compatible server; unset for AWS S3. */
  endpoint: string | undefined;
  prefix: string;
  forcePathStyle: boolean;
  /** Downloads answer with a redirect to a short-lived pre-signed URL instead of streaming through Kaiwa. */
  presignedDownloads: boolean;
}

/** `memory`: one instance; `redis`/`nats`: every instance on the same URL and channel shares events. */
export interface BusSettings {
  kind: 'memory' | 'redis' | 'nats';
  /** `redis://…`/`rediss://…`, or `nats://…` (several, comma-separated, for a cluster); undefined for memory. */
  url: string | undefined;
  /** Redis channel or NATS subject (and key prefix for presence); instances must agree on it. */
  channel: string;
}

/** The resolved settings `buildServer` runs on. */
export interface ServerConfig {
  port: number;
  host: string;
  /** A SQLite file path (or `:memory:`), a `postgres://` URL or a `mysql://` URL. */
  databaseUrl: string;
  /** PostgreSQL read replicas (`postgres://` URLs) for reads that may lag: search, directories, old history. */
  databaseReplicaUrls: string[];
  dataDirectory: string;
  uploadDirectory: string;
  /** Where file bytes live: the upload directory (default) or an S3-compatible bucket. */
  blobStore: { kind: 'fs' } | S3BlobSettings;
  /** How instances share events: in-process (one instance), Redis pub/sub or NATS (several instances). */
  bus: BusSettings;
  maxUploadBytes: number;
  /** MIME types (`image/png`) or wildcards (`image/*`) an upload may have, judged from its content. */
  uploadAllowedTypes: string[];
  /** Signs access tokens; when unset, one is generated and kept in `<dataDirectory>/jwt-secret`. */
  jwtSecret: string | undefined;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  /** False: no passwords; people pick a nickname (local use only). */
  accountsEnabled: boolean;
  allowAnonymousInProduction: boolean;
  /** Role of nickname users when accounts are off. */
  anonymousRole: 'member' | 'guest';
  /** Channels every new member joins (created by the first to arrive); guests join none. */
  defaultChannels: string[];
  allowSignup: boolean;
  /** Origins allowed to call the API from a browser; empty: same origin only; `*`: any. */
  corsOrigins: string[];
  slowQueryMs: number;
  /** Login attempts per client address and minute. */
  loginRateLimitPerMinute: number;
  /** Trust X-Forwarded-* from this many proxies in front (0: none). */
  trustProxy: number;
  /**
   * Callers who must sign their requests with a signing key (docs/security.md): `admin` for every
   * admin-only route, `bot` for every request of a bot.
   */
  requireSignedRequests: ('admin' | 'bot')[];
  /** Per-user limits on messages, uploads, workflow runs and searches (docs/configuration.md). */
  userRateLimits: UserRateLimitSettings;
  /** Overrides of the realtime server's limits (framesPerSecond and friends). */
  realtimeLimits: Partial<RealtimeLimits>;
  /** Connection hygiene (docs/configuration.md, "Timeouts and connection limits"). */
  http: HttpLimits;
  /** When set, `/metrics` wants `Authorization: Bearer <token>`. */
  metricsToken: string | undefined;
  /**
   * When set, metrics are also served at `http://127.0.0.1:<port>/metrics`, reachable from this machine
   * only, and the main port serves `/metrics` only with `metricsToken`. Production needs this or the token.
   */
  metricsPort: number | undefined;
  /** Error tracking with Sentry (SENTRY_DSN); undefined: off, and `@sentry/node` is never loaded. */
  errorTracking?: ErrorTrackingSettings | undefined;
  /** OpenTelemetry tracing (the standard OTEL_* variables); undefined: off, and no SDK is loaded. */
  tracing?: TracingSettings | undefined;
  /**
   * SQLite's `synchronous` setting: `full` (the default) makes every acknowledged write durable through a
   * power cut or OS crash; `full-async` is as durable but syncs the WAL off the event loop (the store's
   * `synchronous` option); `normal` is faster but can lose the last commits then (never consistency).
   */
  sqliteSynchronous: 'full' | 'full-async' | 'normal';
  /** Where the built web UI lives; a placeholder page is served while it is missing. */
  uiDirectory: string;
  logLevel: LogLevel;
  nodeEnvironment: NodeEnvironment;
  /** The in-chat assistant; undefined (off) unless KAIWA_LLM_BASE_URL is set. */
  assistant: AssistantConfig | undefined;
  /** The assistant's username (KAIWA_ASSISTANT_USERNAME), told to clients also while no model is set. */
  assistantUsername?: string;
  /** Workflow definitions loaded at start and incoming webhook secrets (docs/workflows.md). */
  workflows: WorkflowSettings;
  /** The bridge file (platform adapters and room links, packages/bridge/README.md); undefined: no bridge. */
  bridgeFile?: string | undefined;
  /** Malware scanning of uploads with clamd; undefined (off) unless KAIWA_CLAMAV is set. */
  malwareScan?: MalwareScanSettings | undefined;
  /** Speech-to-text for voice messages and text-to-speech for "Read aloud"; both off by default. */
  voice: VoiceSettings;
  /** The embedding model of the knowledge base (KAIWA_EMBEDDINGS); undefined: knowledge is off. */
  embeddings?: EmbeddingSettings | undefined;
  /** How knowledge reads images and scanned PDF pages (KAIWA_OCR_*). */
  ocr: OcrSettings;
  /** Plugins (KAIWA_PLUGIN_DIR); undefined: none. */
  plugins?: PluginSettings | undefined;
}

/** Where plugins are installed and how they run (docs/configuration.md, "Plugins"). */
export interface PluginSettings {
  /** Every folder in it is a plugin (a manifest and its bundled entry). */
  directory: string;
  /** Start plugins even where their network cannot be cut off (no `unshare`): an accepted risk. */
  acceptUnisolatedNetwork: boolean;
  /** The container engine's API socket for plugins whose manifest says `runtime: container`; unset: found. */
  containerSocket?: string | undefined;
}

/** OCR of images and scans for knowledge (docs/configuration.md, "Knowledge"). */
export interface OcrSettings {
  /** tesseract language codes, each with its trained data installed. @example ['eng', 'jpn'] */
  languages: string[];
  /** Most scanned PDF pages, or pages of a multi-page TIFF, read of one document. */
  maxPages: number;
  /** Deadline for one image or page. */
  pageTimeoutMs: number;
  /** Most pixels of one image or rendered page. */
  maxPixels: number;
}

/** Where knowledge gets its vectors (docs/configuration.md, "Knowledge"). */
export type EmbeddingSettings =
  | {
      kind: 'openai-compatible';
      /** @example 'http://127.0.0.1:11434/v1' */
      baseUrl: string;
      model: string;
      apiKey: string | undefined;
      /** Asks for shorter vectors where the model supports it; undefined: the model's own size. */
      dimensions: number | undefined;
    }
  | {
      kind: 'transformers';
      /** The folder holding model folders (nothing is downloaded). */
      modelDirectory: string;
      /** The model's folder in it, e.g. `Xenova/multilingual-e5-small`. */
      model: string;
    };

/** Where errors are reported (docs/configuration.md, "Error tracking"). */
export interface ErrorTrackingSettings {
  /** @example 'https://public-key@o0.ingest.sentry.io/42' */
  dsn: string;
  /** SENTRY_ENVIRONMENT, else NODE_ENV. */
  environment: string;
  /** SENTRY_RELEASE; undefined: `kaiwa-server@<version>`. */
  release: string | undefined;
}

/** The voice backends (docs/configuration.md, "Voice"); `@kaiwa/voice` is loaded only when one is set. */
export interface VoiceSettings {
  /** KAIWA_TRANSCRIBER; undefined: voice messages get no transcript. */
  transcriber: TranscriberSettings | undefined;
  /** KAIWA_SYNTHESIZER; undefined: `POST /api/v1/speech` answers 501. */
  synthesizer: SynthesizerSettings | undefined;
}

export type TranscriberSettings =
  | { kind: 'pocketsphinx'; language: string | undefined }
  | {
      kind: 'whisper.cpp';
      /** A ggml Whisper model file, resolved against the working folder. @example '/models/ggml-base.bin' */
      modelPath: string;
      language: string | undefined;
    }
  | {
      kind: 'openai-compatible';
      /** @example 'http://127.0.0.1:8080/v1' */
      baseUrl: string;
      model: string;
      apiKey: string | undefined;
      /** Spoken language when a room sets none; undefined: the backend detects it. */
      language: string | undefined;
    };

export type SynthesizerSettings =
  | { kind: 'mespeak' | 'espeak-ng' | 'flite'; voice: string | undefined }
  | {
      kind: 'openai-compatible';
      baseUrl: string;
      model: string;
      voice: string | undefined;
      apiKey: string | undefined;
    };

const LOCAL_SYNTHESIZERS = ['mespeak', 'espeak-ng', 'flite'] as const;
const HTTP_URL = /^https?:\/\/\S+$/i;

/** How uploads are scanned (docs/configuration.md, "Malware scanning"). */
export interface MalwareScanSettings {
  address: ClamdAddress;
  /** `deny` (fail closed): no verdict, no upload (503). `allow`: keep the file and log a warning. */
  onError: 'deny' | 'allow';
  /** For one scan, connecting included. */
  timeoutMs: number;
}

/** How long a client may take, and how many connections one address may hold. */
export interface HttpLimits {
  /** A whole request, body included, must arrive within this long (slow uploads included). */
  requestTimeoutMs: number;
  /** The request line and headers must arrive within this long. */
  headersTimeoutMs: number;
  /** An idle keep-alive connection is closed after this long. */
  keepAliveTimeoutMs: number;
  /** A connection on which nothing moves for this long is closed (WebSockets excepted: they have pings). */
  idleTimeoutMs: number;
  /** Open connections (HTTP and WebSocket) per client address; 0: no cap. Loopback is never capped. */
  maxConnectionsPerAddress: number;
}

/** Settings of the workflow engine in the server. */
export interface WorkflowSettings {
  /** A folder of `*.json`/`*.yaml`/`*.yml` definitions defined at start (when changed); undefined: none. */
  directory: string | undefined;
  /** Shared secrets of incoming webhooks by workflow id; `*` serves every workflow without its own. */
  webhookSecrets: Record<string, string>;
  /** How far a webhook's timestamp may lie from now. */
  webhookToleranceSeconds: number;
}

export const LLM_PRESETS = ['none', 'elyza', 'elyza-fast'] as const;
export type LlmPreset = (typeof LLM_PRESETS)[number];

/** Settings of the in-chat assistant (docs/ai.md). */
export interface AssistantConfig {
  /** OpenAI-compatible endpoint, e.g. `http://127.0.0.1:11434/v1`. */
  baseUrl: string;
  /** Model name the server knows; for the ELYZA presets it defaults to ELYZA's model id. */
  model: string;
  apiKey: string | undefined;
  /** Username of the bot user the assistant speaks as. */
  username: string;
  /** `elyza`/`elyza-fast`: send ELYZA's Llama-2 prompt format to /completions, with its system prompt. */
  preset: LlmPreset;
  /** Context window of the model, in estimated tokens. */
  contextTokens: number;
  /** Most tokens per answer. */
  maxTokens: number;
  /** Questions one user may ask per minute. */
  requestsPerMinute: number;
  /** Per attempt, in milliseconds. */
  timeoutMs: number;
}

/**
 * Settings that work but need the operator's attention, one line each naming its variable; `kaiwa start`
 * prints them on standard error.
 *
 * @example startupWarnings(loadConfig({ env: { KAIWA_TRUST_PROXY: '1' } })) // ['KAIWA_TRUST_PROXY=1: …']
 */
export function startupWarnings(config: ServerConfig): string[] {
  const warnings: string[] = [];
  if (config.trustProxy > 0) {
    const proxies = config.trustProxy === 1 ? 'the proxy' : `the ${config.trustProxy} proxies`;
    warnings.push(
      `KAIWA_TRUST_PROXY=${config.trustProxy}: X-Forwarded-For is trusted, so port ${config.port} must be ` +
        `reachable only through ${proxies} in front (bind HOST to a private address or firewall the port); ` +
        'a client that reaches it directly can forge its address and get around per-address rate limits',
    );
  }
  return warnings;
}

/** Raised when settings are wrong; `problems` has one line per setting, each naming its variable. */
export class ConfigError extends Error {
  readonly problems: string[];

  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

const booleanWords: Record<string, boolean> = {
  true: true,
  '1': true,
  yes: true,
  on: true,
  false: false,
  '0': false,
  no: false,
  off: false,
};

const booleanSetting = z.preprocess(
  (value) => (typeof value === 'string' ? (booleanWords[value.trim().toLowerCase()] ?? value) : value),
  z.boolean({ error: 'must be true or false' }),
);

/** `what` completes "must be …", e.g. `a port number`. */
const wholeNumber = (minimum: number, maximum: number, what: string) =>
  z.preprocess(
    (value) => (typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value),
    z
      .number({ error: `must be ${what}` })
      .int({ error: `must be ${what}` })
      .min(minimum, { error: `must be at least ${minimum}` })
      .max(maximum, { error: `must be at most ${maximum}` }),
  );

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, kb: 1000, mb: 1000 ** 2, gb: 1000 ** 3 };
const BINARY_UNITS: Record<string, number> = { kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** `26214400`, `25MiB`, `25 MB`, `512kb`. */
export function parseByteSize(value: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  if (!match) return undefined;
  const unit = match[2]!.toLowerCase();
  const factor = SIZE_UNITS[unit] ?? BINARY_UNITS[unit];
  if (factor === undefined) return undefined;
  return Math.floor(Number(match[1]) * factor);
}

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `900` (seconds), `15m`, `12h`, `30d`. */
export function parseDuration(value: string): number | undefined {
  const match = /^\s*(\d+)\s*([smhd]?)\s*$/i.exec(value);
  if (!match) return undefined;
  return Number(match[1]) * DURATION_UNITS[match[2]?.toLowerCase() || 's']!;
}

const byteSize = z.preprocess(
  (value) => (typeof value === 'string' ? (parseByteSize(value) ?? value) : value),
  z
    .number({ error: 'must be a size in bytes such as 26214400 or 25MiB' })
    .int({ error: 'must be a whole number of bytes' })
    .min(1, { error: 'must be at least 1 byte' })
    .max(4 * 1024 ** 3, { error: 'must be at most 4 GiB' }),
);

const duration = (minimum: number, maximum: number) =>
  z.preprocess(
    (value) => (typeof value === 'string' ? (parseDuration(value) ?? value) : value),
    z
      .number({ error: 'must be a duration such as 900, 15m, 12h or 30d' })
      .int({ error: 'must be a whole number of seconds' })
      .min(minimum, { error: `must be at least ${minimum} seconds` })
      .max(maximum, { error: `must be at most ${maximum} seconds` }),
  );

const list = <Item extends string>(item: z.ZodType<Item>) =>
  z.preprocess(
    (value) =>
      typeof value === 'string'
        ? value
            .split(',')
            .map((entry) => entry.trim())
            .filter((entry) => entry.length > 0)
        : value,
    z.array(item, { error: 'must be a comma-separated list' }),
  );

const mimePattern = z
  .string()
  .regex(
    /^[a-z0-9!#$&^_.+-]+\/(?:\*|[a-z0-9!#$&^_.+-]+)$/i,
    'must be MIME types such as image/png or image/*',
  );

const origin = z.string().refine((value) => value === '*' || /^https?:\/\/[^/\s]+$/i.test(value), {
  message: 'must be origins such as https://chat.example.com (scheme and host, no path) or *',
});

const databaseUrl = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .refine(
    (value) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(value) || /^(postgres(ql)?|mysql|mariadb):\/\//i.test(value),
    {
      message: 'must be a SQLite file path, a postgres:// URL or a mysql:// URL',
    },
  );

/** Every setting as read from the environment or the file, by variable name. */
const settingsSchema = z.object({
  PORT: wholeNumber(0, 65_535, 'a port number').default(3000),
  HOST: z.string().trim().min(1, 'must not be empty').default('0.0.0.0'),
  KAIWA_DATA_DIR: z.string().trim().min(1, 'must not be empty').default('.data'),
  KAIWA_DATABASE_URL: databaseUrl.optional(),
  KAIWA_DATABASE_REPLICA_URLS: list(
    z.string().regex(/^postgres(ql)?:\/\//i, 'must be postgres:// URLs of read replicas'),
  ).default([]),
  KAIWA_UPLOAD_DIR: z.string().trim().min(1, 'must not be empty').optional(),
  KAIWA_BLOB_STORE: z.enum(['fs', 's3'], { error: 'must be fs or s3' }).default('fs'),
  KAIWA_S3_BUCKET: z.string().trim().min(1, 'must not be empty').optional(),
  KAIWA_S3_REGION: z.string().trim().min(1, 'must not be empty').default('us-east-1'),
  KAIWA_S3_ENDPOINT: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  KAIWA_S3_PREFIX: z
    .string()
    .regex(/^(?:[A-Za-z0-9_.-]+\/)*$/, 'must be folder names ending with "/", such as kaiwa/uploads/')
    .default(''),
  KAIWA_S3_FORCE_PATH_STYLE: booleanSetting.optional(),
  KAIWA_S3_PRESIGNED_DOWNLOADS: booleanSetting.default(false),
  KAIWA_BUS: z
    .string()
    .trim()
    .regex(
      /^(memory|rediss?:\/\/\S+|nats:\/\/\S+)$/i,
      'must be memory, a redis:// (or rediss://) URL or nats:// URLs (comma-separated)',
    )
    .default('memory'),
  KAIWA_BUS_CHANNEL: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1–64 letters, digits, _ or -')
    .default('kaiwa'),
  KAIWA_MAX_UPLOAD_BYTES: byteSize.default(25 * 1024 * 1024),
  KAIWA_UPLOAD_ALLOWED_TYPES: list(mimePattern).optional(),
  KAIWA_JWT_SECRET: z
    .string()
    .min(32, 'must be at least 32 characters (use a long random string)')
    .optional(),
  KAIWA_ACCESS_TOKEN_TTL: duration(30, 86_400).default(15 * 60),
  KAIWA_REFRESH_TOKEN_TTL: duration(300, 366 * 86_400).default(30 * 86_400),
  KAIWA_ACCOUNTS: booleanSetting.default(true),
  KAIWA_ALLOW_ANONYMOUS_IN_PRODUCTION: booleanSetting.default(false),
  KAIWA_ANONYMOUS_ROLE: z.enum(['member', 'guest'], { error: 'must be member or guest' }).default('member'),
  KAIWA_ALLOW_SIGNUP: booleanSetting.default(false),
  KAIWA_DEFAULT_CHANNELS: z
    .preprocess(
      (value) => (typeof value === 'string' && value.trim().toLowerCase() === 'none' ? [] : value),
      list(RoomNameSchema),
    )
    .default(['general']),
  KAIWA_CORS_ORIGINS: list(origin).default([]),
  KAIWA_SLOW_QUERY_MS: wholeNumber(0, 600_000, 'a whole number of milliseconds').default(200),
  KAIWA_LOGIN_RATE_LIMIT: wholeNumber(1, 10_000, 'a whole number of attempts per minute').default(10),
  KAIWA_TRUST_PROXY: wholeNumber(0, 10, 'a whole number of proxies').default(0),
  KAIWA_REQUIRE_SIGNED_REQUESTS: list(
    z.enum(['admin', 'bot'], { error: 'must be admin, bot or both' }),
  ).default([]),
  KAIWA_USER_RATE_LIMITS: z
    .string()
    .superRefine((value, context) => {
      const parsed = parseUserRateLimits(value);
      if (!parsed.ok)
        for (const problem of parsed.problems) context.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
  KAIWA_REALTIME_LIMITS: z
    .string()
    .superRefine((value, context) => {
      const parsed = parseRealtimeLimits(value);
      if (!parsed.ok)
        for (const problem of parsed.problems) context.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
  KAIWA_REQUEST_TIMEOUT: duration(1, 3_600).default(120),
  KAIWA_HEADERS_TIMEOUT: duration(1, 600).default(15),
  KAIWA_KEEP_ALIVE_TIMEOUT: duration(1, 600).default(5),
  KAIWA_IDLE_TIMEOUT: duration(1, 3_600).default(60),
  KAIWA_MAX_CONNECTIONS_PER_ADDRESS: wholeNumber(
    0,
    1_000_000,
    'a whole number of connections (0: no cap)',
  ).default(256),
  KAIWA_METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  KAIWA_METRICS_PORT: wholeNumber(1, 65_535, 'a port number').optional(),
  SENTRY_DSN: z
    .string()
    .trim()
    .refine(isSentryDsn, {
      message: 'must be a Sentry DSN such as https://<public key>@o0.ingest.sentry.io/<project id>',
    })
    .optional(),
  SENTRY_ENVIRONMENT: z
    .string()
    .trim()
    .regex(/^[^\s/]{1,64}$/, 'must be 1–64 characters without spaces or "/", such as production')
    .optional(),
  SENTRY_RELEASE: z
    .string()
    .trim()
    .regex(/^[^\s/]{1,200}$/, 'must be 1–200 characters without spaces or "/", such as kaiwa@1.4.2')
    .optional(),
  KAIWA_SQLITE_SYNCHRONOUS: z
    .preprocess(
      (value) => (typeof value === 'string' ? value.trim().toLowerCase() : value),
      z.enum(['full', 'full-async', 'normal'], { error: 'must be full, full-async or normal' }),
    )
    .default('full'),
  KAIWA_UI_DIR: z.string().trim().min(1, 'must not be empty').optional(),
  KAIWA_LLM_BASE_URL: z
    .string()
    .trim()
    .regex(/^https?:\/\/\S+$/i, 'must be an http:// or https:// URL such as http://127.0.0.1:11434/v1')
    .optional(),
  KAIWA_LLM_MODEL: z.string().trim().min(1, 'must not be empty').optional(),
  KAIWA_LLM_API_KEY: z.string().min(1, 'must not be empty').optional(),
  KAIWA_LLM_PRESET: z
    .enum(LLM_PRESETS, { error: `must be one of ${LLM_PRESETS.join(', ')}` })
    .default('none'),
  KAIWA_LLM_CONTEXT_TOKENS: wholeNumber(256, 1_048_576, 'a whole number of tokens').default(4096),
  KAIWA_LLM_MAX_TOKENS: wholeNumber(1, 65_536, 'a whole number of tokens').default(512),
  KAIWA_LLM_TIMEOUT_MS: wholeNumber(1000, 600_000, 'a whole number of milliseconds').default(60_000),
  KAIWA_ASSISTANT_USERNAME: z
    .string()
    .trim()
    .regex(/^[a-z0-9][a-z0-9_.-]{1,31}$/i, 'must be a username such as assistant')
    .default('assistant'),
  KAIWA_ASSISTANT_RATE_LIMIT: wholeNumber(1, 10_000, 'a whole number of questions per minute').default(10),
  KAIWA_WORKFLOW_DIR: z.string().trim().min(1, 'must not be empty').optional(),
  KAIWA_WORKFLOW_WEBHOOK_SECRETS: list(
    z
      .string()
      .regex(
        /^(?:\*|[a-z0-9][a-z0-9_-]{0,63})=\S{16,}$/,
        'must be workflow-id=secret pairs (or *=secret for all), each secret at least 16 characters',
      ),
  ).default([]),
  KAIWA_WORKFLOW_WEBHOOK_TOLERANCE: duration(10, 86_400).default(300),
  KAIWA_BRIDGE_FILE: z.string().trim().min(1, 'must not be empty').optional(),
  KAIWA_CLAMAV: z
    .string()
    .refine((value) => parseClamdAddress(value) !== undefined, {
      message:
        "must be clamd's unix socket path such as /run/clamav/clamd.ctl or its host:port such as 127.0.0.1:3310",
    })
    .optional(),
  KAIWA_CLAMAV_ON_ERROR: z
    .enum(['deny', 'allow'], { error: 'must be deny (refuse uploads while clamd fails) or allow' })
    .default('deny'),
  KAIWA_TRANSCRIBER: z
    .string()
    .trim()
    .refine(
      (value) =>
        ['none', 'pocketsphinx', 'whisper.cpp'].includes(value.toLowerCase()) || HTTP_URL.test(value),
      {
        message:
          'must be none, pocketsphinx, whisper.cpp, or the base URL of an OpenAI-compatible server such as http://127.0.0.1:8080/v1',
      },
    )
    .default('none'),
  KAIWA_TRANSCRIBER_MODEL: z.string().trim().min(1, 'must not be empty').optional(),
  KAIWA_TRANSCRIBER_API_KEY: z.string().min(1, 'must not be empty').optional(),
  KAIWA_TRANSCRIBER_LANGUAGE: z
    .string()
    .trim()
    .regex(/^[a-z]{2,3}(?:-[a-z0-9]{2,8})*$/i, 'must be a language tag such as en or ja')
    .optional(),
  KAIWA_SYNTHESIZER: z
    .string()
    .trim()
    .refine(
      (value) => ['none', ...LOCAL_SYNTHESIZERS].includes(value.toLowerCase()) || HTTP_URL.test(value),
      {
        message: `must be none, ${LOCAL_SYNTHESIZERS.join(', ')}, or the base URL of an OpenAI-compatible server such as http://127.0.0.1:8880/v1`,
      },
    )
    .default('none'),
  KAIWA_SYNTHESIZER_MODEL: z.string().trim().min(1, 'must not be empty').optional(),
  KAIWA_SYNTHESIZER_VOICE: z.string().trim().min(1, 'must not be empty').optional(),
  KAIWA_SYNTHESIZER_API_KEY: z.string().min(1, 'must not be empty').optional(),
  KAIWA_CLAMAV_TIMEOUT_MS: wholeNumber(100, 600_000, 'a whole number of milliseconds').default(30_000),
  KAIWA_EMBEDDINGS: z
    .string()
    .trim()
    .refine((value) => ['none', 'transformers'].includes(value.toLowerCase()) || HTTP_URL.test(value), {
      message:
        'must be none, transformers (a local model folder), or the base URL of an OpenAI-compatible server such as http://127.0.0.1:11434/v1',
    })
    .default('none'),
  KAIWA_EMBEDDING_MODEL: z.string().trim().min(1, 'must not be empty').optional(),
  KAIWA_EMBEDDING_API_KEY: z.string().min(1, 'must not be empty').optional(),
  KAIWA_EMBEDDING_DIMENSIONS: wholeNumber(2, 8192, 'a whole number of dimensions').optional(),
  KAIWA_EMBEDDING_MODEL_DIR: z.string().trim().min(1, 'must not be empty').optional(),
  KAIWA_OCR_LANGUAGES: z
    .string()
    .trim()
    .toLowerCase()
    .regex(
      /^[a-z]{3}(?:_[a-z]+)?(?:\+[a-z]{3}(?:_[a-z]+)?)*$/,
      'must be tesseract language codes joined by +, such as eng or eng+deu',
    )
    .default('eng'),
  KAIWA_OCR_MAX_PAGES: wholeNumber(1, 10_000, 'a whole number of pages').default(50),
  KAIWA_OCR_PAGE_TIMEOUT: duration(1, 3_600).default(60),
  KAIWA_OCR_MAX_MEGAPIXELS: z
    .preprocess(
      (value) => (typeof value === 'string' && /^\s*\d+(?:\.\d+)?\s*$/.test(value) ? Number(value) : value),
      z
        .number({ error: 'must be a number of megapixels such as 25 or 0.5' })
        .min(0.01, { error: 'must be at least 0.01' })
        .max(1_000, { error: 'must be at most 1000' }),
    )
    .default(25),
  KAIWA_PLUGIN_DIR: z.string().trim().min(1, 'must not be empty').optional(),
  KAIWA_PLUGINS_ACCEPT_UNISOLATED_NETWORK: booleanSetting.default(false),
  KAIWA_PLUGIN_CONTAINER_SOCKET: z.string().trim().min(1, 'must not be empty').optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  NODE_ENV: z
    .enum(NODE_ENVIRONMENTS, { error: `must be one of ${NODE_ENVIRONMENTS.join(', ')}` })
    .default('development'),
});

export type SettingName = keyof z.input<typeof settingsSchema>;
export const SETTING_NAMES = Object.keys(settingsSchema.shape) as SettingName[];

export interface LoadConfigOptions {
  /** Defaults to `process.env`. */
  env?: Record<string, string | undefined>;
  /** Relative paths are resolved against this; defaults to `process.cwd()`. */
  cwd?: string;
}

/** Where the built UI is looked for by default: `<package>/ui/dist`, next to `src/` and `dist/`. */
export const DEFAULT_UI_DIRECTORY = fileURLToPath(new URL('../ui/dist/', import.meta.url));

function busSettings(setting: string, channel: string): BusSettings {
  if (/^rediss?:/i.test(setting)) return { kind: 'redis', url: setting, channel };
  if (/^nats:/i.test(setting)) return { kind: 'nats', url: setting, channel };
  return { kind: 'memory', url: undefined, channel };
}

/** KAIWA_CLAMAV and its companions; a relative socket path is taken from `cwd`. */
function malwareScanSettings(
  settings: z.output<typeof settingsSchema>,
  cwd: string,
): MalwareScanSettings | undefined {
  const address = settings.KAIWA_CLAMAV ? parseClamdAddress(settings.KAIWA_CLAMAV) : undefined;
  if (!address) return undefined;
  return {
    address: address.kind === 'unix' ? { kind: 'unix', path: resolve(cwd, address.path) } : address,
    onError: settings.KAIWA_CLAMAV_ON_ERROR,
    timeoutMs: settings.KAIWA_CLAMAV_TIMEOUT_MS,
  };
}

/**
 * Reads, validates and resolves the settings.
 * @throws ConfigError listing every wrong setting.
 *
 * @example
 * const config = loadConfig({ env: { ...process.env, PORT: '8080' } });
 */
export function loadConfig(options: LoadConfigOptions = {}): ServerConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const problems: string[] = [];

  const fileSettings: Record<string, unknown> = {};
  const configPath = env.KAIWA_CONFIG?.trim();
  if (configPath) {
    const path = resolve(cwd, configPath);
    try {
      const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        problems.push(`KAIWA_CONFIG: ${path} must hold a JSON object of settings`);
      } else {
        for (const [key, value] of Object.entries(parsed)) {
          if (!(SETTING_NAMES as string[]).includes(key)) {
            problems.push(`${key}: unknown setting in ${path} (known: ${SETTING_NAMES.join(', ')})`);
          } else if (value !== null) {
            // Numbers and booleans in JSON are taken as they are; strings go through the same parsing as env.
            fileSettings[key] = value;
          }
        }
      }
    } catch (error) {
      const reason = error instanceof SyntaxError ? `is not valid JSON (${error.message})` : 'cannot be read';
      problems.push(`KAIWA_CONFIG: ${path} ${reason}`);
    }
  }

  const merged: Record<string, unknown> = { ...fileSettings };
  for (const name of SETTING_NAMES) {
    const value = env[name];
    if (value !== undefined && value !== '') merged[name] = value;
  }
  const sourceOf = (name: string) =>
    env[name] !== undefined && env[name] !== '' ? 'environment' : configPath ? 'config file' : 'default';

  const result = settingsSchema.safeParse(merged);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const name = String(issue.path[0] ?? 'settings');
      const given = merged[name];
      const shown =
        given === undefined ||
        name === 'KAIWA_JWT_SECRET' ||
        name === 'KAIWA_METRICS_TOKEN' ||
        name === 'SENTRY_DSN' ||
        name === 'KAIWA_BUS' ||
        name === 'KAIWA_LLM_API_KEY' ||
        name === 'KAIWA_TRANSCRIBER_API_KEY' ||
        name === 'KAIWA_SYNTHESIZER_API_KEY' ||
        name === 'KAIWA_EMBEDDING_API_KEY' ||
        name === 'KAIWA_WORKFLOW_WEBHOOK_SECRETS'
          ? ''
          : ` (got ${JSON.stringify(given)} from the ${sourceOf(name)})`;
      const line = `${name}: ${issue.message}${shown}`;
      if (!problems.includes(line)) problems.push(line);
    }
    throw new ConfigError(problems);
  }
  const settings = result.data;

  if (
    !settings.KAIWA_ACCOUNTS &&
    settings.NODE_ENV === 'production' &&
    !settings.KAIWA_ALLOW_ANONYMOUS_IN_PRODUCTION
  ) {
    problems.push(
      'KAIWA_ACCOUNTS: accounts cannot be turned off with NODE_ENV=production, since anyone could then act as ' +
        'anyone; set KAIWA_ALLOW_ANONYMOUS_IN_PRODUCTION=true to force it',
    );
  }
  const llmModel =
    settings.KAIWA_LLM_MODEL ??
    (settings.KAIWA_LLM_PRESET === 'elyza'
      ? 'elyza/ELYZA-japanese-Llama-2-7b-instruct'
      : settings.KAIWA_LLM_PRESET === 'elyza-fast'
        ? 'elyza/ELYZA-japanese-Llama-2-7b-fast-instruct'
        : undefined);
  if (settings.KAIWA_LLM_BASE_URL && !llmModel) {
    problems.push(
      'KAIWA_LLM_MODEL: must be set when KAIWA_LLM_BASE_URL is (the model name the server knows)',
    );
  }
  const voice = voiceSettings(settings, problems, cwd);
  const embeddings = embeddingSettings(settings, problems, cwd);
  const ocrLanguages = [...new Set(settings.KAIWA_OCR_LANGUAGES.split('+'))];
  const missingLanguages = missingOcrLanguages(ocrLanguages);
  if (missingLanguages.length > 0) {
    problems.push(
      `KAIWA_OCR_LANGUAGES: no trained data is installed for ${missingLanguages.join(', ')} (OCR never downloads it; ` +
        `install ${missingLanguages.map((code) => `@tesseract.js-data/${code}`).join(', ')} next to the server, or leave ${missingLanguages.length === 1 ? 'it' : 'them'} out)`,
    );
  }
  const tracing = readTracingSettings(env, problems);
  if (
    settings.KAIWA_DATABASE_REPLICA_URLS.length > 0 &&
    !/^postgres(ql)?:\/\//i.test(settings.KAIWA_DATABASE_URL ?? '')
  ) {
    problems.push(
      'KAIWA_DATABASE_REPLICA_URLS: read replicas need KAIWA_DATABASE_URL to be a postgres:// URL',
    );
  }
  if (
    settings.NODE_ENV === 'production' &&
    !settings.KAIWA_METRICS_TOKEN &&
    settings.KAIWA_METRICS_PORT === undefined
  ) {
    problems.push(
      'KAIWA_METRICS_TOKEN: /metrics must not be open to everyone with NODE_ENV=production; set ' +
        'KAIWA_METRICS_TOKEN (a bearer token of at least 16 characters) or KAIWA_METRICS_PORT (metrics on ' +
        '127.0.0.1 only)',
    );
  }
  if (settings.KAIWA_METRICS_PORT !== undefined && settings.KAIWA_METRICS_PORT === settings.PORT) {
    problems.push('KAIWA_METRICS_PORT: must differ from PORT');
  }
  if (settings.KAIWA_BLOB_STORE === 's3' && !settings.KAIWA_S3_BUCKET) {
    problems.push('KAIWA_S3_BUCKET: must be set when KAIWA_BLOB_STORE is s3');
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const dataDirectory = resolve(cwd, settings.KAIWA_DATA_DIR);
  const databaseSetting = settings.KAIWA_DATABASE_URL ?? join(dataDirectory, 'kaiwa.sqlite');
  return {
    port: settings.PORT,
    host: settings.HOST,
    databaseUrl:
      isSqlitePath(databaseSetting) && !isAbsolute(databaseSetting) && databaseSetting !== ':memory:'
        ? resolve(cwd, databaseSetting)
        : databaseSetting,
    databaseReplicaUrls: settings.KAIWA_DATABASE_REPLICA_URLS,
    dataDirectory,
    uploadDirectory: resolve(cwd, settings.KAIWA_UPLOAD_DIR ?? join(dataDirectory, 'uploads')),
    blobStore:
      settings.KAIWA_BLOB_STORE === 's3'
        ? {
            kind: 's3',
            bucket: settings.KAIWA_S3_BUCKET ?? '',
            region: settings.KAIWA_S3_REGION,
            endpoint: settings.KAIWA_S3_ENDPOINT,
            prefix: settings.KAIWA_S3_PREFIX,
            // Custom endpoints (MinIO, local servers) usually serve buckets as paths, not subdomains.
            forcePathStyle: settings.KAIWA_S3_FORCE_PATH_STYLE ?? settings.KAIWA_S3_ENDPOINT !== undefined,
            presignedDownloads: settings.KAIWA_S3_PRESIGNED_DOWNLOADS,
          }
        : { kind: 'fs' },
    bus: busSettings(settings.KAIWA_BUS, settings.KAIWA_BUS_CHANNEL),
    maxUploadBytes: settings.KAIWA_MAX_UPLOAD_BYTES,
    uploadAllowedTypes: (settings.KAIWA_UPLOAD_ALLOWED_TYPES ?? [...DEFAULT_UPLOAD_TYPES]).map((type) =>
      type.toLowerCase(),
    ),
    jwtSecret: settings.KAIWA_JWT_SECRET,
    accessTokenTtlSeconds: settings.KAIWA_ACCESS_TOKEN_TTL,
    refreshTokenTtlSeconds: settings.KAIWA_REFRESH_TOKEN_TTL,
    accountsEnabled: settings.KAIWA_ACCOUNTS,
    allowAnonymousInProduction: settings.KAIWA_ALLOW_ANONYMOUS_IN_PRODUCTION,
    anonymousRole: settings.KAIWA_ANONYMOUS_ROLE,
    defaultChannels: settings.KAIWA_DEFAULT_CHANNELS,
    allowSignup: settings.KAIWA_ALLOW_SIGNUP,
    corsOrigins: settings.KAIWA_CORS_ORIGINS,
    slowQueryMs: settings.KAIWA_SLOW_QUERY_MS,
    loginRateLimitPerMinute: settings.KAIWA_LOGIN_RATE_LIMIT,
    trustProxy: settings.KAIWA_TRUST_PROXY,
    requireSignedRequests: [...new Set(settings.KAIWA_REQUIRE_SIGNED_REQUESTS)],
    userRateLimits: {
      ...DEFAULT_USER_RATE_LIMITS,
      ...(settings.KAIWA_USER_RATE_LIMITS
        ? (parseUserRateLimits(settings.KAIWA_USER_RATE_LIMITS) as { limits: Partial<UserRateLimitSettings> })
            .limits
        : {}),
    },
    realtimeLimits: settings.KAIWA_REALTIME_LIMITS
      ? (parseRealtimeLimits(settings.KAIWA_REALTIME_LIMITS) as { limits: Partial<RealtimeLimits> }).limits
      : {},
    http: {
      requestTimeoutMs: settings.KAIWA_REQUEST_TIMEOUT * 1000,
      headersTimeoutMs: settings.KAIWA_HEADERS_TIMEOUT * 1000,
      keepAliveTimeoutMs: settings.KAIWA_KEEP_ALIVE_TIMEOUT * 1000,
      idleTimeoutMs: settings.KAIWA_IDLE_TIMEOUT * 1000,
      maxConnectionsPerAddress: settings.KAIWA_MAX_CONNECTIONS_PER_ADDRESS,
    },
    metricsToken: settings.KAIWA_METRICS_TOKEN,
    metricsPort: settings.KAIWA_METRICS_PORT,
    errorTracking: settings.SENTRY_DSN
      ? {
          dsn: settings.SENTRY_DSN,
          environment: settings.SENTRY_ENVIRONMENT ?? settings.NODE_ENV,
          release: settings.SENTRY_RELEASE,
        }
      : undefined,
    tracing,
    sqliteSynchronous: settings.KAIWA_SQLITE_SYNCHRONOUS,
    uiDirectory: settings.KAIWA_UI_DIR ? resolve(cwd, settings.KAIWA_UI_DIR) : DEFAULT_UI_DIRECTORY,
    logLevel: settings.LOG_LEVEL,
    nodeEnvironment: settings.NODE_ENV,
    workflows: {
      directory: settings.KAIWA_WORKFLOW_DIR ? resolve(cwd, settings.KAIWA_WORKFLOW_DIR) : undefined,
      webhookSecrets: Object.fromEntries(
        settings.KAIWA_WORKFLOW_WEBHOOK_SECRETS.map((pair) => {
          const split = pair.indexOf('=');
          return [pair.slice(0, split), pair.slice(split + 1)];
        }),
      ),
      webhookToleranceSeconds: settings.KAIWA_WORKFLOW_WEBHOOK_TOLERANCE,
    },
    bridgeFile: settings.KAIWA_BRIDGE_FILE ? resolve(cwd, settings.KAIWA_BRIDGE_FILE) : undefined,
    malwareScan: malwareScanSettings(settings, cwd),
    voice,
    embeddings,
    ocr: {
      languages: ocrLanguages,
      maxPages: settings.KAIWA_OCR_MAX_PAGES,
      pageTimeoutMs: settings.KAIWA_OCR_PAGE_TIMEOUT * 1000,
      maxPixels: Math.round(settings.KAIWA_OCR_MAX_MEGAPIXELS * 1_000_000),
    },
    plugins: settings.KAIWA_PLUGIN_DIR
      ? {
          directory: resolve(cwd, settings.KAIWA_PLUGIN_DIR),
          acceptUnisolatedNetwork: settings.KAIWA_PLUGINS_ACCEPT_UNISOLATED_NETWORK,
          containerSocket: settings.KAIWA_PLUGIN_CONTAINER_SOCKET,
        }
      : undefined,
    assistantUsername: settings.KAIWA_ASSISTANT_USERNAME.toLowerCase(),
    assistant:
      settings.KAIWA_LLM_BASE_URL && llmModel
        ? {
            baseUrl: settings.KAIWA_LLM_BASE_URL,
            model: llmModel,
            apiKey: settings.KAIWA_LLM_API_KEY,
            username: settings.KAIWA_ASSISTANT_USERNAME.toLowerCase(),
            preset: settings.KAIWA_LLM_PRESET,
            contextTokens: settings.KAIWA_LLM_CONTEXT_TOKENS,
            maxTokens: settings.KAIWA_LLM_MAX_TOKENS,
            requestsPerMinute: settings.KAIWA_ASSISTANT_RATE_LIMIT,
            timeoutMs: settings.KAIWA_LLM_TIMEOUT_MS,
          }
        : undefined,
  };
}

function voiceSettings(
  settings: z.output<typeof settingsSchema>,
  problems: string[],
  cwd: string,
): VoiceSettings {
  const transcriberValue = settings.KAIWA_TRANSCRIBER;
  const language = settings.KAIWA_TRANSCRIBER_LANGUAGE?.toLowerCase();
  let transcriber: TranscriberSettings | undefined;
  if (transcriberValue.toLowerCase() === 'pocketsphinx') {
    transcriber = { kind: 'pocketsphinx', language };
  } else if (transcriberValue.toLowerCase() === 'whisper.cpp') {
    if (!settings.KAIWA_TRANSCRIBER_MODEL) {
      problems.push(
        'KAIWA_TRANSCRIBER_MODEL: must be set when KAIWA_TRANSCRIBER is whisper.cpp (the path of a ggml Whisper model, e.g. /models/ggml-base.bin)',
      );
    } else {
      transcriber = {
        kind: 'whisper.cpp',
        modelPath: resolve(cwd, settings.KAIWA_TRANSCRIBER_MODEL),
        language,
      };
    }
  } else if (HTTP_URL.test(transcriberValue)) {
    if (!settings.KAIWA_TRANSCRIBER_MODEL) {
      problems.push(
        'KAIWA_TRANSCRIBER_MODEL: must be set when KAIWA_TRANSCRIBER is a URL (the model name the server knows, e.g. whisper-1)',
      );
    } else {
      transcriber = {
        kind: 'openai-compatible',
        baseUrl: transcriberValue,
        model: settings.KAIWA_TRANSCRIBER_MODEL,
        apiKey: settings.KAIWA_TRANSCRIBER_API_KEY,
        language,
      };
    }
  }
  const synthesizerValue = settings.KAIWA_SYNTHESIZER;
  const local = LOCAL_SYNTHESIZERS.find((kind) => kind === synthesizerValue.toLowerCase());
  let synthesizer: SynthesizerSettings | undefined;
  if (local) {
    synthesizer = { kind: local, voice: settings.KAIWA_SYNTHESIZER_VOICE };
  } else if (HTTP_URL.test(synthesizerValue)) {
    if (!settings.KAIWA_SYNTHESIZER_MODEL) {
      problems.push(
        'KAIWA_SYNTHESIZER_MODEL: must be set when KAIWA_SYNTHESIZER is a URL (the model name the server knows, e.g. tts-1)',
      );
    } else {
      synthesizer = {
        kind: 'openai-compatible',
        baseUrl: synthesizerValue,
        model: settings.KAIWA_SYNTHESIZER_MODEL,
        voice: settings.KAIWA_SYNTHESIZER_VOICE,
        apiKey: settings.KAIWA_SYNTHESIZER_API_KEY,
      };
    }
  }
  return { transcriber, synthesizer };
}

function embeddingSettings(
  settings: z.output<typeof settingsSchema>,
  problems: string[],
  cwd: string,
): EmbeddingSettings | undefined {
  const value = settings.KAIWA_EMBEDDINGS;
  if (value.toLowerCase() === 'none') return undefined;
  const model = settings.KAIWA_EMBEDDING_MODEL;
  if (!model) {
    problems.push(
      `KAIWA_EMBEDDING_MODEL: must be set when KAIWA_EMBEDDINGS is ${value} (the embedding model's name, e.g. nomic-embed-text)`,
    );
    return undefined;
  }
  if (value.toLowerCase() === 'transformers') {
    if (!settings.KAIWA_EMBEDDING_MODEL_DIR) {
      problems.push(
        'KAIWA_EMBEDDING_MODEL_DIR: must be set when KAIWA_EMBEDDINGS is transformers (the folder holding the model folders)',
      );
      return undefined;
    }
    return {
      kind: 'transformers',
      modelDirectory: resolve(cwd, settings.KAIWA_EMBEDDING_MODEL_DIR),
      model,
    };
  }
  return {
    kind: 'openai-compatible',
    baseUrl: value,
    model,
    apiKey: settings.KAIWA_EMBEDDING_API_KEY,
    dimensions: settings.KAIWA_EMBEDDING_DIMENSIONS,
  };
}

/** True for a SQLite file path or `:memory:`, false for a database URL. */
/** `<protocol>://<public key>@<host>[:port]/[path/]<project id>`, the shape every Sentry SDK accepts. */
function isSentryDsn(value: string): boolean {
  try {
    const url = new URL(value);
    return (
      (url.protocol === 'https:' || url.protocol === 'http:') &&
      url.username !== '' &&
      /^\/(?:[^/]+\/)*\d+$/.test(url.pathname) &&
      url.search === '' &&
      url.hash === ''
    );
  } catch {
    return false;
  }
}

export function isSqlitePath(databaseUrl: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:\/\//i.test(databaseUrl);
}
