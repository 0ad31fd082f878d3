import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { constants as zlibConstants } from 'node:zlib';
import fastifyCompress from '@fastify/compress';
import fastifyCors from '@fastify/cors';
import fastifyHelmet from '@fastify/helmet';
import fastifyMultipart from '@fastify/multipart';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import {
  type BlobStore,
  ChatEngine,
  type ChatStore,
  type EmbeddingModel,
  type Synthesizer,
  type TextRecognizer,
  type Transcriber,
} from '@kaiwa/core';
import type { Assistant } from '@kaiwa/llm';
import { KyselyChatStore } from '@kaiwa/store-kysely';
import type { StepType } from '@kaiwa/workflow';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Redis } from 'ioredis';
import { composeAssistant, createAssistantChatModel } from './assistant-composition.js';
import { installAdminActionAudit, recordPlatformConfiguration } from './audit/admin-action-audit.js';
import { AuditLog } from './audit/audit-log.js';
import { registerAuditRoutes } from './audit/audit-routes.js';
import { AccountService } from './auth/account-service.js';
import { SessionRevocations } from './auth/session-revocations.js';
import { loadTokenSecret } from './auth/token-secret.js';
import { AccessTokens } from './auth/tokens.js';
import type { ServerConfig } from './config.js';
import { createErrorTracker, type ErrorTracker, installErrorTracking } from './error-tracking.js';
import { installAuthentication } from './http/authentication.js';
import { installConnectionLimits } from './http/connection-limits.js';
import { clientErrorHandler, frameworkErrorHandler, installErrorHandling } from './http/error-handler.js';
import { installJsonBodyParser } from './http/json-body.js';
import { documentObject, documentRoute } from './http/openapi-document.js';
import {
  installRequestSigning,
  nonceStore,
  RequestSigning,
  registerSigningKeyRoutes,
} from './http/request-signing.js';
import { composeKnowledge, type KnowledgeService, knowledgeStoreOf } from './knowledge-composition.js';
import { UserRateLimiter } from './limits/user-rate-limits.js';
import { instrumentBus } from './operations/instrument-bus.js';
import { listenForMetrics, type MetricsListener } from './operations/metrics-listener.js';
import { inboxBacklog, outboxBacklog } from './operations/platform-queue-backlog.js';
import { ServerMetrics } from './operations/server-metrics.js';
import { traceServices } from './operations/trace-services.js';
import type { Tracing } from './operations/tracing.js';
import type { TracingSettings } from './operations/tracing-settings.js';
import { composePlatforms, type PlatformComposition } from './platform-composition.js';
import {
  composePlugins,
  type PluginService,
  pluginJobRunsOf,
  pluginSettingsOf,
  pluginStorageOf,
} from './plugin-composition.js';
import { pluginInstallationsOf } from './plugin-lifecycle-service.js';
import { composeRealtime, type RealtimeServer } from './realtime-composition.js';
import { registerAssistantRoutes } from './routes/assistant-routes.js';
import { registerAuthRoutes } from './routes/auth-routes.js';
import { registerFileRoutes } from './routes/file-routes.js';
import { registerKnowledgeRoutes } from './routes/knowledge-routes.js';
import { registerMessageRoutes } from './routes/message-routes.js';
import { registerCspReportRoute, registerOperationsRoutes } from './routes/operations-routes.js';
import { registerPlatformWebhookRoutes } from './routes/platform-webhook-routes.js';
import { registerPluginHttpRoutes } from './routes/plugin-http-routes.js';
import { registerPluginLifecycleRoutes } from './routes/plugin-lifecycle-routes.js';
import { registerPluginRoutes } from './routes/plugin-routes.js';
import { registerPluginSettingsRoutes } from './routes/plugin-settings-routes.js';
import { registerRoomRoutes } from './routes/room-routes.js';
import type { ApiInstance, RouteContext } from './routes/route-context.js';
import { registerUserRoutes } from './routes/user-routes.js';
import { registerVoiceRoutes } from './routes/voice-routes.js';
import { registerWorkRoutes } from './routes/work-routes.js';
import { registerWorkflowRoutes } from './routes/workflow-routes.js';
import { openSharedState, type SharedState } from './scale/bus-composition.js';
import { openBlobStore } from './storage/open-blob-store.js';
import { describeDatabase, openStore } from './storage/open-store.js';
import { timedStore } from './storage/timed-store.js';
import { composeVoice, type VoiceService } from './voice-composition.js';
import { registerWebUi } from './web/web-ui.js';
import { composeWorkflows, type WorkflowComposition } from './workflow-composition.js';

export const API_PREFIX = '/api/v1';
/** Largest JSON body; messages are at most 64 KiB of text plus 16 KiB of metadata. */
export const JSON_BODY_LIMIT = 1024 * 1024;

export interface BuildServerOptions {
  /** Use this store instead of opening `config.databaseUrl`; it is migrated, and left open on close. */
  store?: ChatStore;
  /** Use this blob store instead of a directory at `config.uploadDirectory`. */
  blobs?: BlobStore;
  /** Fastify logger settings; defaults to pino at `config.logLevel` with secrets redacted. */
  logger?: FastifyServerOptions['logger'];
  /**
   * Receives the one-time password of the first admin, made on a first start; it is never logged.
   * Defaults to printing it on standard output.
   */
  announce?: (text: string) => void;
  clock?: () => Date;
  /** Workflow step types besides the built-ins. */
  workflowSteps?: StepType[];
  /** Use this transcriber instead of KAIWA_TRANSCRIBER's (tests, embedding apps). */
  transcriber?: Transcriber;
  /** Use this synthesizer instead of KAIWA_SYNTHESIZER's. */
  synthesizer?: Synthesizer;
  /** Use this embedding model for knowledge instead of KAIWA_EMBEDDINGS's (turns knowledge on). */
  embedder?: EmbeddingModel;
  /** Knowledge reads images and scans with this instead of tesseract.js; null: no OCR. */
  textRecognizer?: TextRecognizer | null;
}

/** A composed server: the Fastify app and everything behind it. */
export interface KaiwaServer {
  app: FastifyInstance;
  config: ServerConfig;
  engine: ChatEngine;
  /** The store as the engine uses it (timed). */
  store: ChatStore;
  blobs: BlobStore;
  accounts: AccountService;
  /** The audit log of security-relevant actions (docs/security.md). */
  audit: AuditLog;
  /** Signing keys and the signed-request checks (docs/security.md). */
  signing: RequestSigning;
  metrics: ServerMetrics;
  realtime: RealtimeServer;
  /** The in-chat assistant; undefined unless KAIWA_LLM_BASE_URL is set. */
  assistant: Assistant | undefined;
  /** The workflow engine and its triggers (docs/workflows.md). */
  workflows: WorkflowComposition;
  /** Platform adapters and the bridge; undefined unless KAIWA_BRIDGE_FILE is set. */
  platforms: PlatformComposition | undefined;
  /** Transcription and reading aloud; undefined unless KAIWA_TRANSCRIBER or KAIWA_SYNTHESIZER is set. */
  voice: VoiceService | undefined;
  /** Knowledge indexing and retrieval; undefined unless KAIWA_EMBEDDINGS is set. */
  knowledge: KnowledgeService | undefined;
  /** Plugins; undefined unless KAIWA_PLUGIN_DIR is set. */
  plugins: PluginService | undefined;
  /** Set when this start created the first admin. */
  firstAdmin: { username: string; password: string } | undefined;
  /** Starts listening on `config.host:config.port`; returns the address, e.g. `http://127.0.0.1:3000`. */
  listen(): Promise<string>;
  /**
   * Shuts down gracefully: stops accepting connections, closes WebSockets with 1001 "going away", lets
   * in-flight requests finish, then closes the store. Safe to call twice.
   */
  close(): Promise<void>;
}

/**
 * Composes the Kaiwa server from its configuration: store (migrated), engine, blob store, accounts,
 * security and HTTP plumbing, the REST API under /api/v1 with its OpenAPI document, operations endpoints,
 * the web UI and the realtime WebSocket endpoint at /ws. The app is ready for `inject` when this resolves.
 *
 * @example
 * const server = await buildServer(loadConfig());
 * console.log(`listening on ${await server.listen()}`);
 * process.on('SIGTERM', () => server.close());
 */
export async function buildServer(
  config: ServerConfig,
  options: BuildServerOptions = {},
): Promise<KaiwaServer> {
  // Before the logger: its lines carry the trace and span ids. The SDK loads only when OTEL_* turn it on.
  const tracing: Tracing | undefined = config.tracing
    ? await startTracing(config.tracing, () => app)
    : undefined;
  const app: FastifyInstance = Fastify({
    logger: options.logger ?? {
      level: config.logLevel,
      redact: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie'],
      ...(tracing ? { mixin: tracing.logFields } : {}),
    },
    // Request ids: the caller's X-Request-Id when it is sane, otherwise a new one; echoed back on the answer.
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
    },
    requestIdHeader: false,
    // Trust X-Forwarded-For from as many proxies as configured: hop 0 is the nearest.
    trustProxy: config.trustProxy > 0 ? (_address: string, hop: number) => hop < config.trustProxy : false,
    bodyLimit: JSON_BODY_LIMIT,
    routerOptions: { maxParamLength: 200 },
    // The error handling answers 503 while closing, in the one error format.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // Idle sockets, slow headers and bodies that trickle in are cut off (installConnectionLimits below).
    connectionTimeout: config.http.idleTimeoutMs,
    keepAliveTimeout: config.http.keepAliveTimeoutMs,
    requestTimeout: config.http.requestTimeoutMs,
    // Node looks for requests over their time every 30 s by default, far too rarely for short timeouts.
    http: {
      connectionsCheckingInterval: Math.min(
        5_000,
        Math.max(250, Math.min(config.http.headersTimeoutMs, config.http.requestTimeoutMs) / 2),
      ),
    },
    // Failures before any route runs (router, HTTP parser) use the one error format too.
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
  });
  installConnectionLimits(app.server, config.http, { behindProxy: config.trustProxy > 0 });
  const metrics = new ServerMetrics();
  const ownsStore = options.store === undefined;
  let rawStore: ChatStore | undefined;
  let closeBlobs: (() => Promise<void>) | undefined;
  let shared: SharedState | undefined;
  let errorTracker: ErrorTracker | undefined;
  try {
    tracing?.traceHttp(app);
    // First, so its hooks reach every route; `@sentry/node` loads only here.
    if (config.errorTracking) {
      errorTracker = await createErrorTracker(config.errorTracking);
      installErrorTracking(app, errorTracker);
    }
    const openedErrorTracker = errorTracker;
    rawStore =
      options.store ??
      (await openStore(config.databaseUrl, {
        replicaUrls: config.databaseReplicaUrls,
        sqliteSynchronous: config.sqliteSynchronous,
        ...(tracing ? { onQuery: tracing.onStoreQuery } : {}),
        // One line per outage, however many requests fail meanwhile (those log a short warn each).
        onAvailabilityChange: (change) => {
          metrics.databaseAvailable.set(change.available ? 1 : 0);
          return change.available
            ? app.log.info({ unavailableMs: change.unavailableMs }, 'the database answers again')
            : app.log.warn({ err: change.error }, 'the database is not reachable; answering 503 meanwhile');
        },
      }));
    await rawStore.migrate();
    const openedStore = rawStore;
    const timed = timedStore(openedStore, {
      metrics,
      slowQueryMs: config.slowQueryMs,
      onSlowQuery: (query) => app.log.warn(query, 'slow storage query'),
    });
    const store = tracing ? tracing.traceStore(timed) : timed;
    const audit = new AuditLog({
      repository: store.audit,
      ...(options.clock ? { clock: options.clock } : {}),
      onError: (error, record) =>
        app.log.error({ err: error, action: record.action }, 'could not write an audit log entry'),
    });
    const openedBlobs = options.blobs
      ? { blobs: options.blobs, presigner: undefined, close: async () => {} }
      : await openBlobStore(config);
    closeBlobs = openedBlobs.close;
    const { blobs, presigner } = openedBlobs;
    const { secret } = loadTokenSecret(config.jwtSecret, config.dataDirectory);
    shared = await openSharedState(config.bus, app.log);
    const openedShared = shared;
    const countedBus = instrumentBus(shared.bus, metrics, config.bus.kind);
    const bus = tracing ? tracing.traceBus(countedBus, config.bus.kind) : countedBus;
    const signing = new RequestSigning({
      store,
      serverSecret: secret,
      requirements: config.requireSignedRequests,
      // In Redis when the bus is Redis, so a request replayed to another instance is refused too.
      nonces: nonceStore(shared.rateLimitRedis, `${config.bus.channel}:signature-nonce:`, (error) =>
        app.log.warn({ err: error }, 'signature nonces: Redis unreachable, checking in memory'),
      ),
      ...(options.clock ? { clock: options.clock } : {}),
    });
    const revocations = new SessionRevocations({
      lifetimeMs: config.accessTokenTtlSeconds * 1000,
      ...(options.clock ? { clock: options.clock } : {}),
      onResyncError: (error) => app.log.warn({ err: error }, 'could not reload revoked sessions'),
    });
    const userLimits = new UserRateLimiter({
      limits: config.userRateLimits,
      ...(shared.rateLimitRedis ? { redis: shared.rateLimitRedis as Redis } : {}),
      keyPrefix: config.bus.channel,
    });
    const untracedEngine = new ChatEngine({
      store,
      bus,
      onSessionsRevoked: (revocation) => revocations.apply(revocation),
      defaultChannels: config.defaultChannels,
      ...(options.clock ? { clock: options.clock } : {}),
      onPublishError: (error, event) =>
        app.log.error({ err: error, event: event.type }, 'could not publish an event; it is stored'),
    });
    const engine = tracing ? tracing.traceEngine(untracedEngine) : untracedEngine;
    engine.events.on('message.created', () => metrics.messagesSent.inc());
    const accounts = new AccountService({
      engine,
      store,
      accessTokens: new AccessTokens(secret, config.accessTokenTtlSeconds),
      refreshTokenTtlSeconds: config.refreshTokenTtlSeconds,
      revocations,
      anonymousRole: config.anonymousRole,
      ...(options.clock ? { clock: options.clock } : {}),
    });

    const knowledge = await composeKnowledge({
      engine,
      blobs,
      vectors: knowledgeStoreOf(openedStore),
      settings: config.embeddings,
      logger: app.log,
      maxDocumentBytes: config.maxUploadBytes,
      ocr: config.ocr,
      ...(options.embedder ? { embedder: options.embedder } : {}),
      ...(options.textRecognizer !== undefined ? { textRecognizer: options.textRecognizer } : {}),
    });
    const voice = await composeVoice({
      engine,
      blobs,
      settings: config.voice,
      logger: app.log,
      maxAudioBytes: config.maxUploadBytes,
      ...(options.transcriber ? { transcriber: options.transcriber } : {}),
      ...(options.synthesizer ? { synthesizer: options.synthesizer } : {}),
    });
    // Voice messages ask the assistant by their transcript; its answers to them are spoken where rooms say.
    const assistant = config.assistant
      ? await composeAssistant(engine, config.assistant, app.log, knowledge?.forAssistant(), metrics, {
          voiceTranscripts: voice?.transcriber !== undefined,
          ...(tracing ? { tracing } : {}),
        })
      : undefined;
    if (assistant) voice?.speakRepliesOf(assistant.botUser.id);
    // Questions to the assistant are not knowledge, as its answers are not: no answer cites an earlier question.
    if (assistant) knowledge?.knowledge.ignoreQuestionsTo(assistant.botUser.id);
    const plugins = await composePlugins({
      engine,
      settings: config.plugins,
      logger: app.log,
      storage: pluginStorageOf(openedStore),
      jobRuns: pluginJobRunsOf(openedStore),
      settingsStore: pluginSettingsOf(openedStore),
      installations: pluginInstallationsOf(openedStore),
    });
    const context: RouteContext = {
      config,
      voice,
      knowledge,
      plugins,
      engine,
      store,
      accounts,
      audit,
      signing,
      userLimits,
      blobs,
      presigner,
      metrics,
      assistant,
      busStatus: () => openedShared.status(),
    };
    // Before the workflows, so `notify` steps can post to platform channels.
    const platforms = config.bridgeFile
      ? await composePlatforms({ engine, store, blobs, file: config.bridgeFile, logger: app.log })
      : undefined;
    if (tracing) traceServices(tracing, { voice, knowledge, plugins, platforms });
    const workflows = composeWorkflows({
      engine,
      store,
      bus,
      blobs,
      settings: config.workflows,
      ocr: config.ocr,
      metrics,
      ...(tracing ? { tracing } : {}),
      logger: app.log,
      ...(config.assistant
        ? { chatModel: await createAssistantChatModel(config.assistant, { metrics, tracing }) }
        : {}),
      ...(options.workflowSteps || plugins
        ? { steps: [...(options.workflowSteps ?? []), ...(plugins?.stepTypes() ?? [])] }
        : {}),
      ...(platforms ? { platforms: platforms.platforms } : {}),
      ...(voice?.transcriber ? { transcriber: voice.transcriber } : {}),
      ...(voice?.synthesizer ? { synthesizer: voice.synthesizer } : {}),
    });
    // Step types of plugins installed later are registered as they come.
    plugins?.followStepTypes((stepType) => workflows.engine.registry.register(stepType));
    await composeApp(app, context, shared.rateLimitRedis, workflows, platforms);
    metrics.watch({
      busStatus: () => openedShared.status(),
      outbox: () => outboxBacklog(openedStore, options.clock ?? (() => new Date())),
      inbox: () => inboxBacklog(openedStore, options.clock ?? (() => new Date())),
      ...(knowledge ? { knowledgePassages: () => knowledge.chunkCount() } : {}),
      databasePools: () => (openedStore instanceof KyselyChatStore ? openedStore.poolStatus() : []),
    });

    const realtime = composeRealtime({
      server: app.server,
      engine,
      authenticate: (token) => accounts.authenticate(token),
      registry: metrics.registry,
      logger: app.log,
      presence: shared.presence,
      revocations,
      limits: config.realtimeLimits,
      limitUser: (userId, action) => userLimits.consume(userId, action),
      workflowRunActor: async (runId: string) => (await store.workflows.findRun(runId))?.actorId,
      ...(tracing ? { traceFrame: tracing.traceFrame } : {}),
    });
    // Sockets first: an HTTP server does not finish closing while upgraded connections are open.
    app.addHook('preClose', async () => {
      await platforms?.close();
      await workflows.close();
      await assistant?.stop();
      await voice?.close();
      await knowledge?.close();
      await plugins?.close();
      await realtime.close();
    });
    app.addHook('onClose', async () => {
      accounts.stop();
      engine.close();
      await openedShared.close();
      await openedBlobs.close();
      if (ownsStore) await openedStore.close();
      await openedErrorTracker?.close();
      await tracing?.close();
    });
    await accounts.start();
    await app.ready();

    const firstAdmin = config.accountsEnabled ? await accounts.bootstrapFirstAdmin() : undefined;
    if (firstAdmin) (options.announce ?? printToStdout)(firstAdminNotice(firstAdmin));
    // Definitions from the workflow directory are defined in the name of the first admin there is.
    const [admin] = await engine.listUsers({ role: 'admin', limit: 1 });
    await workflows.start(admin?.id);
    // After the first admin: the bridge's bot user must not be the first user of a fresh database.
    await platforms?.start(admin?.id);
    voice?.start();
    await knowledge?.start();
    await plugins?.start();
    if (platforms && config.bridgeFile) {
      await recordPlatformConfiguration(audit, config.bridgeFile, [...platforms.platforms.keys()]);
    }
    app.log.info(
      {
        database: describeDatabase(config.databaseUrl),
        uploads:
          config.blobStore.kind === 's3'
            ? `s3://${config.blobStore.bucket}/${config.blobStore.prefix}`
            : config.uploadDirectory,
        accounts: config.accountsEnabled,
        bus: config.bus.kind,
        assistant: config.assistant ? `${config.assistant.username} (${config.assistant.model})` : 'off',
        transcriber: voice?.transcriber ? voice.transcriber.provider : 'off',
        synthesizer: voice?.synthesizer ? voice.synthesizer.provider : 'off',
      },
      'kaiwa server composed',
    );

    let closing: Promise<void> | undefined;
    /** The local metrics port (KAIWA_METRICS_PORT), opened by listen(). */
    let metricsListener: MetricsListener | undefined;
    return {
      app,
      config,
      engine,
      store,
      blobs,
      accounts,
      audit,
      signing,
      metrics,
      realtime,
      assistant,
      workflows,
      platforms,
      voice,
      knowledge,
      plugins,
      firstAdmin,
      async listen() {
        await app.listen({ port: config.port, host: config.host });
        if (config.metricsPort !== undefined && !metricsListener) {
          metricsListener = await listenForMetrics(metrics.registry, config.metricsPort).catch(
            async (error: unknown) => {
              await app.close();
              throw error;
            },
          );
          app.log.info({ url: `${metricsListener.url}/metrics` }, 'metrics served on the local port');
        }
        const address = app.server.address() as AddressInfo;
        const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
        return `http://${host}:${address.port}`;
      },
      close() {
        closing ??= Promise.all([app.close(), metricsListener?.close()]).then(() => undefined);
        return closing;
      },
    };
  } catch (error) {
    await app.close().catch(() => undefined);
    await shared?.close().catch(() => undefined);
    await closeBlobs?.().catch(() => undefined);
    if (ownsStore) await rawStore?.close().catch(() => undefined);
    await errorTracker?.close().catch(() => undefined);
    await tracing?.close().catch(() => undefined);
    throw error;
  }
}

/**
 * Loads the OpenTelemetry SDK (a dynamic import: nothing of it is loaded while tracing is off) and starts
 * it; export failures are logged once, never thrown.
 */
async function startTracing(settings: TracingSettings, app: () => FastifyInstance): Promise<Tracing> {
  const tracing = await import('./operations/tracing.js');
  return tracing.startTracing(settings, {
    onExportProblem: (problem) =>
      problem.ok
        ? app().log.info('traces are exported again')
        : app().log.warn(
            { err: problem.error },
            'could not export traces; spans are dropped until the OTLP endpoint answers',
          ),
  });
}

async function composeApp(
  app: FastifyInstance,
  context: RouteContext,
  /** Redis connection for rate-limit counters shared by all instances; local counters without one. */
  rateLimitRedis: unknown,
  workflows: WorkflowComposition,
  platforms?: PlatformComposition,
): Promise<void> {
  const { config, metrics } = context;
  const production = config.nodeEnvironment === 'production';
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // Before any plugin: encapsulated plugins take the handlers their parent has when they are registered.
  installErrorHandling(app, metrics);
  installJsonBodyParser(app);

  await app.register(fastifyHelmet, {
    enableCSPNonces: true,
    global: true,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        'default-src': ["'self'"],
        'script-src': ["'self'"],
        'style-src': ["'self'"],
        'img-src': ["'self'", 'data:', 'blob:', ...downloadOrigins(config)],
        'font-src': ["'self'", 'data:'],
        'connect-src': ["'self'"],
        'worker-src': ["'self'"],
        'manifest-src': ["'self'"],
        'media-src': ["'self'", 'blob:', ...downloadOrigins(config)],
        'object-src': ["'none'"],
        'base-uri': ["'self'"],
        'form-action': ["'self'"],
        'frame-ancestors': ["'none'"],
        'script-src-attr': ["'none'"],
        'report-uri': [`${API_PREFIX}/csp-report`],
        // Browsers on plain-HTTP local installs would otherwise try https:// for every asset.
        ...(production ? { 'upgrade-insecure-requests': [] } : {}),
      },
    },
    strictTransportSecurity: production ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginEmbedderPolicy: false,
  });
  // Helmet has no Permissions-Policy; the chat needs the microphone and camera only from itself.
  app.addHook('onSend', async (request, reply) => {
    reply.header(
      'permissions-policy',
      'camera=(self), microphone=(self), geolocation=(), payment=(), usb=()',
    );
    reply.header('x-request-id', request.id);
  });

  await app.register(fastifyCompress, {
    global: true,
    threshold: 1024,
    encodings: ['br', 'gzip'],
    // Quality 11 (the default) costs far too much CPU for dynamic answers; 4 is close to gzip in speed.
    brotliOptions: { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 4 } },
  });
  await app.register(fastifyCors, {
    origin: config.corsOrigins.includes('*')
      ? true
      : config.corsOrigins.length > 0
        ? config.corsOrigins
        : false,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type', 'x-api-key', 'x-request-id'],
    exposedHeaders: [
      'x-request-id',
      'retry-after',
      'content-disposition',
      'x-ratelimit-limit',
      'x-ratelimit-remaining',
    ],
    maxAge: 600,
  });
  await app.register(fastifyRateLimit, {
    global: false,
    ...(rateLimitRedis
      ? // While Redis is away, requests pass unlimited rather than fail.
        { redis: rateLimitRedis, nameSpace: `${config.bus.channel}:rate-limit:`, skipOnError: true }
      : {}),
    errorResponseBuilder: (_request, context) => {
      const error = new Error(`too many requests; try again in ${context.after}`) as Error & {
        statusCode: number;
        code: string;
      };
      error.statusCode = context.statusCode;
      return error;
    },
  });
  await app.register(fastifyMultipart, {
    limits: {
      fileSize: config.maxUploadBytes,
      files: 1,
      fields: 10,
      fieldSize: 1024,
      parts: 12,
      headerPairs: 100,
    },
    throwFileSizeLimit: true,
  });
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Kaiwa API',
        version: '1',
        description:
          'REST API of the Kaiwa reference server. Every failure answers `{"error":{"code","message","details"}}`. ' +
          'Live events come over the WebSocket at /ws.',
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT or bot API key' },
          apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-Api-Key' },
        },
      },
      security: [{ bearerAuth: [] }, { apiKeyHeader: [] }],
    },
    transform: documentRoute,
    transformObject: documentObject,
  });
  // BaseLayout leaves out swagger-ui's top bar: its logo is an SVG with an inline <style> that the CSP refuses
  // (and reports) on every load, and its box for loading another document is not wanted either. The page
  // then needs nothing inline, so the site-wide CSP covers it unchanged.
  await app.register(fastifySwaggerUi, {
    routePrefix: '/api/docs',
    uiConfig: { layout: 'BaseLayout' },
    theme: { title: 'Kaiwa API' },
  });

  app.addHook('onResponse', async (request, reply) => {
    const labels = {
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status_code: String(reply.statusCode),
    };
    metrics.httpRequests.inc(labels);
    metrics.httpRequestDuration.observe(labels, reply.elapsedTime / 1000);
  });

  const api: ApiInstance = app.withTypeProvider<ZodTypeProvider>();
  await api.register(
    async (routes) => {
      // First: a signed request's user is known before the authentication hook runs.
      installRequestSigning(routes, context.signing);
      installAuthentication(routes, context.accounts, context.userLimits);
      installAdminActionAudit(routes, context.audit);
      registerAuthRoutes(routes, context);
      registerUserRoutes(routes, context);
      registerRoomRoutes(routes, context);
      registerAssistantRoutes(routes, context);
      registerMessageRoutes(routes, context);
      registerVoiceRoutes(routes, context);
      registerKnowledgeRoutes(routes, context);
      registerPluginRoutes(routes, context);
      registerPluginLifecycleRoutes(routes, context);
      registerPluginSettingsRoutes(routes, context);
      registerWorkRoutes(routes, context);
      registerFileRoutes(routes, context);
      await registerWorkflowRoutes(routes, workflows, context.audit);
      await registerPlatformWebhookRoutes(routes, platforms);
      registerCspReportRoute(routes);
      registerAuditRoutes(routes, context.audit);
      registerSigningKeyRoutes(routes, context.signing, context.audit);
    },
    { prefix: API_PREFIX },
  );
  // Plugins' own routes at /plugins/<id>/…, outside the API (so none can shadow an API route), with the same
  // credentials, signing and error format.
  await api.register(async (routes) => {
    installRequestSigning(routes, context.signing);
    installAuthentication(routes, context.accounts, context.userLimits);
    registerPluginHttpRoutes(routes, context);
  });
  registerOperationsRoutes(api, context);
  await registerWebUi(app, config.uiDirectory, config.accountsEnabled);
}

/** The bridge's outbox (consumer `bridge`): how many calls wait, and for how long the oldest has. */
function firstAdminNotice({ username, password }: { username: string; password: string }): string {
  const line = '='.repeat(72);
  return [
    line,
    'Kaiwa: first start, an administrator account was created.',
    `  username:           ${username}`,
    `  one-time password:  ${password}`,
    'Sign in with it and choose a new password; it is shown only this once.',
    line,
    '',
  ].join('\n');
}

function printToStdout(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** Where pre-signed downloads point, so the CSP lets images and media load from there. */
function downloadOrigins(config: ServerConfig): string[] {
  const settings = config.blobStore;
  if (settings.kind !== 's3' || !settings.presignedDownloads) return [];
  if (settings.endpoint) return [new URL(settings.endpoint).origin];
  return [
    settings.forcePathStyle
      ? `https://s3.${settings.region}.amazonaws.com`
      : `https://${settings.bucket}.s3.${settings.region}.amazonaws.com`,
  ];
}
