import type { DatabasePoolStatus } from '@kaiwa/store-kysely';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Node's default gauges that end in `_total`, which Prometheus reserves for counters (`promtool check metrics`
 * flags them). Each is the sum of the gauge of the same name without `_total` (by type), which stays.
 */
const MISNAMED_DEFAULT_GAUGES = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

import { QUEUE_COUNT_LIMIT, type QueueBacklog } from './platform-queue-backlog.js';

/** Where the gauges read their values. */
export interface MetricSources {
  busStatus?: () => { kind: string; connected: boolean };
  outbox?: () => Promise<QueueBacklog>;
  inbox?: () => Promise<QueueBacklog>;
  knowledgePassages?: () => Promise<number>;
  /** The database connection pools (none on SQLite). */
  databasePools?: () => DatabasePoolStatus[];
}

/**
 * The Prometheus metrics of one server. Each server has its own registry (so tests and several servers in
 * one process do not collide); the realtime module registers its connection gauge in the same registry.
 */
export class ServerMetrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<'method' | 'route' | 'status_code'>;
  readonly httpRequestDuration: Histogram<'method' | 'route' | 'status_code'>;
  readonly messagesSent: Counter;
  readonly storeQueryDuration: Histogram<'repository' | 'method'>;
  readonly slowStoreQueries: Counter<'repository' | 'method'>;
  readonly uploads: Counter<'outcome'>;
  readonly uploadedBytes: Counter;
  readonly uploadScans: Counter<'result'>;
  readonly uploadScanDuration: Histogram<'result'>;
  readonly errors: Counter<'code'>;
  readonly workflowRuns: Counter<'status'>;
  readonly workflowRunDuration: Histogram<'status'>;
  readonly workflowSteps: Counter<'type' | 'status'>;
  readonly workflowStepAttemptDuration: Histogram<'type' | 'outcome'>;
  readonly workflowStepRetries: Counter<'type'>;
  readonly llmRequests: Counter<'model' | 'operation' | 'outcome'>;
  readonly llmTokens: Counter<'model' | 'kind'>;
  readonly llmRequestDuration: Histogram<'model' | 'operation'>;
  readonly llmTimeToFirstToken: Histogram<'model'>;
  readonly busConnected: Gauge<'kind'>;
  readonly busPublished: Counter<'outcome'>;
  readonly busDelivered: Counter;
  readonly busDeliveryLag: Histogram<'kind'>;
  readonly busDeliveryClockSkew: Counter<'kind'>;
  readonly databaseAvailable: Gauge;
  readonly databasePoolConnections: Gauge<'pool' | 'state'>;
  readonly databasePoolWaiting: Gauge<'pool'>;
  readonly databasePoolMax: Gauge<'pool'>;
  readonly platformOutboxPending: Gauge;
  readonly platformOutboxOldestAge: Gauge;
  readonly platformInboxPending: Gauge;
  readonly platformInboxOldestAge: Gauge;
  readonly ocrPages: Counter;
  readonly knowledgePassages: Gauge;
  /** What the gauges read at each scrape; set once the server is composed ({@link ServerMetrics.watch}). */
  #sources: MetricSources = {};

  /**
   * Tells the gauges where to read at each scrape. A source that fails (the database is away) leaves the
   * gauge at its last value rather than failing the whole scrape.
   */
  watch(sources: MetricSources): void {
    this.#sources = { ...this.#sources, ...sources };
  }

  async #read<T>(source: (() => Promise<T>) | undefined): Promise<T | undefined> {
    if (!source) return undefined;
    try {
      return await source();
    } catch {
      return undefined;
    }
  }

  /** Sets a pool gauge afresh from the pools' status now (a replica removed since leaves no series). */
  #setPoolGauge<Label extends string>(
    gauge: Gauge<Label>,
    values: (status: DatabasePoolStatus) => [Partial<Record<Label, string>>, number][],
  ): void {
    const pools = this.#sources.databasePools?.();
    if (!pools) return;
    gauge.reset();
    for (const status of pools) for (const [labels, value] of values(status)) gauge.set(labels, value);
  }

  constructor(options: { collectProcessMetrics?: boolean } = {}) {
    const registry = new Registry();
    this.registry = registry;
    if (options.collectProcessMetrics ?? true) {
      collectDefaultMetrics({ register: registry });
      for (const name of MISNAMED_DEFAULT_GAUGES) registry.removeSingleMetric(name);
    }
    this.httpRequests = new Counter({
      name: 'kaiwa_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status code.',
      labelNames: ['method', 'route', 'status_code'],
      registers: [registry],
    });
    this.httpRequestDuration = new Histogram({
      name: 'kaiwa_http_request_duration_seconds',
      help: 'Time to answer HTTP requests, by method, route pattern and status code.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    this.messagesSent = new Counter({
      name: 'kaiwa_messages_sent_total',
      help: 'Chat messages created.',
      registers: [registry],
    });
    this.storeQueryDuration = new Histogram({
      name: 'kaiwa_store_query_duration_seconds',
      help: 'Time spent in storage repository calls, by repository and method.',
      labelNames: ['repository', 'method'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
    this.slowStoreQueries = new Counter({
      name: 'kaiwa_store_slow_queries_total',
      help: 'Storage repository calls slower than KAIWA_SLOW_QUERY_MS.',
      labelNames: ['repository', 'method'],
      registers: [registry],
    });
    this.uploads = new Counter({
      name: 'kaiwa_uploads_total',
      help: 'File uploads, by outcome (stored, rejected_type, too_large, denied, infected, scanner_unavailable, failed).',
      labelNames: ['outcome'],
      registers: [registry],
    });
    this.uploadedBytes = new Counter({
      name: 'kaiwa_uploaded_bytes_total',
      help: 'Bytes of stored uploads.',
      registers: [registry],
    });
    this.uploadScans = new Counter({
      name: 'kaiwa_upload_scans_total',
      help: 'Malware scans of uploads, by result (clean, infected, error: no verdict, see KAIWA_CLAMAV_ON_ERROR).',
      labelNames: ['result'],
      registers: [registry],
    });
    this.uploadScanDuration = new Histogram({
      name: 'kaiwa_upload_scan_duration_seconds',
      help: 'Time to scan an upload for malware, by result.',
      labelNames: ['result'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
    this.errors = new Counter({
      name: 'kaiwa_errors_total',
      help: 'Error answers, by error code.',
      labelNames: ['code'],
      registers: [registry],
    });
    this.workflowRuns = new Counter({
      name: 'kaiwa_workflow_runs_total',
      help: 'Workflow runs finished by this instance, by status (succeeded, failed, cancelled).',
      labelNames: ['status'],
      registers: [registry],
    });
    this.workflowRunDuration = new Histogram({
      name: 'kaiwa_workflow_run_duration_seconds',
      help: 'Time from the start of a workflow run to its end, by status.',
      labelNames: ['status'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
      registers: [registry],
    });
    this.workflowSteps = new Counter({
      name: 'kaiwa_workflow_steps_total',
      help: 'Workflow steps ended, by step type and status (succeeded, failed, skipped, cancelled).',
      labelNames: ['type', 'status'],
      registers: [registry],
    });
    this.workflowStepAttemptDuration = new Histogram({
      name: 'kaiwa_workflow_step_attempt_duration_seconds',
      help: 'Time of one try of a workflow step (OCR, transcription, an LLM call, ...), by step type and outcome.',
      labelNames: ['type', 'outcome'],
      buckets: [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers: [registry],
    });
    this.workflowStepRetries = new Counter({
      name: 'kaiwa_workflow_step_retries_total',
      help: 'Tries of workflow steps after the first (retries), by step type.',
      labelNames: ['type'],
      registers: [registry],
    });
    this.llmRequests = new Counter({
      name: 'kaiwa_llm_requests_total',
      help: 'Chat model calls, by model, operation (generate, stream) and outcome (ok, error, aborted).',
      labelNames: ['model', 'operation', 'outcome'],
      registers: [registry],
    });
    this.llmTokens = new Counter({
      name: 'kaiwa_llm_tokens_total',
      help: 'Tokens the chat model reported, by model and kind (input, output).',
      labelNames: ['model', 'kind'],
      registers: [registry],
    });
    this.llmRequestDuration = new Histogram({
      name: 'kaiwa_llm_request_duration_seconds',
      help: 'Time of a chat model call to its last token, by model and operation.',
      labelNames: ['model', 'operation'],
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120],
      registers: [registry],
    });
    this.llmTimeToFirstToken = new Histogram({
      name: 'kaiwa_llm_time_to_first_token_seconds',
      help: 'Time from a streamed chat model call to its first text, by model.',
      labelNames: ['model'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30],
      registers: [registry],
    });
    this.busConnected = new Gauge({
      name: 'kaiwa_bus_connected',
      help: 'Whether the event bus is connected (1) or not (0), by kind (memory, redis, nats).',
      labelNames: ['kind'],
      registers: [registry],
      collect: () => {
        const status = this.#sources.busStatus?.();
        if (!status) return;
        this.busConnected.reset();
        this.busConnected.set({ kind: status.kind }, status.connected ? 1 : 0);
      },
    });
    this.busPublished = new Counter({
      name: 'kaiwa_bus_published_events_total',
      help: 'Events this instance published on the bus, by outcome (ok, error).',
      labelNames: ['outcome'],
      registers: [registry],
    });
    this.busDelivered = new Counter({
      name: 'kaiwa_bus_delivered_events_total',
      help: "Events the bus delivered to this instance (its own and other instances' ones).",
      registers: [registry],
    });
    this.busDeliveryLag = new Histogram({
      name: 'kaiwa_bus_delivery_lag_seconds',
      help: "Time from another instance's publishing of an event to its delivery here (this clock minus the publisher's, 1 ms resolution; below 0 counts as 0), by bus kind.",
      labelNames: ['kind'],
      buckets: [0.0001, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    this.busDeliveryClockSkew = new Counter({
      name: 'kaiwa_bus_delivery_clock_skew_total',
      help: "Deliveries from another instance stamped later than this instance's clock (the hosts' clocks disagree), by bus kind; their lag counts as 0.",
      labelNames: ['kind'],
      registers: [registry],
    });
    this.databaseAvailable = new Gauge({
      name: 'kaiwa_database_available',
      help: 'Whether the database answers (1) or this instance is answering 503 for want of it (0).',
      registers: [registry],
    });
    this.databaseAvailable.set(1);
    // Each gauge reads the pools itself: prom-client collects the metrics of a scrape in no set order.
    this.databasePoolConnections = new Gauge({
      name: 'kaiwa_database_pool_connections',
      help: 'Open connections of the database pool, by pool (primary, replica-N) and state (idle, in_use); none on SQLite.',
      labelNames: ['pool', 'state'],
      registers: [registry],
      collect: () =>
        this.#setPoolGauge(this.databasePoolConnections, (status) => [
          [{ pool: status.pool, state: 'idle' }, status.idle],
          [{ pool: status.pool, state: 'in_use' }, status.open - status.idle],
        ]),
    });
    this.databasePoolWaiting = new Gauge({
      name: 'kaiwa_database_pool_waiting_requests',
      help: 'Requests waiting for a database connection because every connection of the pool is in use, by pool.',
      labelNames: ['pool'],
      registers: [registry],
      collect: () =>
        this.#setPoolGauge(this.databasePoolWaiting, (status) => [[{ pool: status.pool }, status.waiting]]),
    });
    this.databasePoolMax = new Gauge({
      name: 'kaiwa_database_pool_max_connections',
      help: 'The most connections the database pool opens, by pool.',
      labelNames: ['pool'],
      registers: [registry],
      collect: () =>
        this.#setPoolGauge(this.databasePoolMax, (status) => [[{ pool: status.pool }, status.max]]),
    });
    this.platformOutboxPending = new Gauge({
      name: 'kaiwa_platform_outbox_pending',
      help: `Outbound platform calls (bridge, notify steps) waiting for delivery, counted up to ${QUEUE_COUNT_LIMIT}.`,
      registers: [registry],
      collect: async () => {
        const outbox = await this.#read(this.#sources.outbox);
        if (outbox === undefined) return;
        this.platformOutboxPending.set(outbox.pending);
        this.platformOutboxOldestAge.set(outbox.oldestAgeSeconds);
      },
    });
    this.platformOutboxOldestAge = new Gauge({
      name: 'kaiwa_platform_outbox_oldest_pending_age_seconds',
      help: 'Age of the oldest outbound platform call still waiting for delivery (0: none waits).',
      registers: [registry],
    });
    this.platformInboxPending = new Gauge({
      name: 'kaiwa_platform_inbox_pending',
      help: `Inbound platform events (bridge) recorded but not handled yet, counted up to ${QUEUE_COUNT_LIMIT}.`,
      registers: [registry],
      collect: async () => {
        const inbox = await this.#read(this.#sources.inbox);
        if (inbox === undefined) return;
        this.platformInboxPending.set(inbox.pending);
        this.platformInboxOldestAge.set(inbox.oldestAgeSeconds);
      },
    });
    this.platformInboxOldestAge = new Gauge({
      name: 'kaiwa_platform_inbox_oldest_pending_age_seconds',
      help: 'Age of the oldest inbound platform event not handled yet, since it was received (0: none waits).',
      registers: [registry],
    });
    this.ocrPages = new Counter({
      name: 'kaiwa_ocr_pages_total',
      help: 'Images and PDF pages read by the ocr workflow step (its time is kaiwa_workflow_step_attempt_duration_seconds{type="ocr"}).',
      registers: [registry],
    });
    this.knowledgePassages = new Gauge({
      name: 'kaiwa_knowledge_passages',
      help: 'Knowledge passages indexed, over all rooms (only with KAIWA_EMBEDDINGS).',
      registers: [registry],
      collect: async () => {
        const count = await this.#read(this.#sources.knowledgePassages);
        if (count !== undefined) this.knowledgePassages.set(count);
      },
    });
  }
}
