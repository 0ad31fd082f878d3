import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

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

  constructor(options: { collectProcessMetrics?: boolean } = {}) {
    const registry = new Registry();
    this.registry = registry;
    if (options.collectProcessMetrics ?? true) collectDefaultMetrics({ register: registry });
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
  }
}
