import type { Logger } from 'kysely';

/** One statement the store ran, for slow-query logs and metrics. */
export interface StoreQueryEvent {
  /** The SQL as sent, with placeholders (`?`, `$1`) where values go; values are never included. */
  sql: string;
  /** Wall time from sending the statement to its result (or error), in milliseconds. */
  durationMs: number;
  /** Set when the statement failed; the error still reaches the caller as usual. */
  error?: unknown;
}

/**
 * Called after every statement, transaction control (`begin`, `commit`, `rollback`) included. Keep it
 * cheap: it runs on the query path. What it throws is ignored, so a broken listener cannot fail queries.
 */
export type StoreQueryListener = (event: StoreQueryEvent) => void;

/** Options every store factory takes. */
export interface StoreObservability {
  /**
   * Hears every statement the store runs, with its duration and error, through kysely's `log` hook.
   * Leave it out and kysely does no timing at all.
   *
   * @example
   * const store = await createSqliteStore({
   *   filename: 'chat.db',
   *   onQuery: ({ sql, durationMs, error }) => {
   *     if (error !== undefined || durationMs > 100) logger.warn({ sql, durationMs, error }, 'slow query');
   *   },
   * });
   */
  onQuery?: StoreQueryListener;
}

/** Kysely's `log` option for `onQuery`, or nothing when there is no listener. */
export function queryLogOption(onQuery: StoreQueryListener | undefined): { log?: Logger } {
  if (onQuery === undefined) return {};
  return {
    log: (event) => {
      const report: StoreQueryEvent = { sql: event.query.sql, durationMs: event.queryDurationMillis };
      if (event.level === 'error') report.error = event.error;
      try {
        onQuery(report);
      } catch {
        // Kysely would turn a throwing logger into a failed query, after the statement ran.
      }
    },
  };
}
