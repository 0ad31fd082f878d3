import type { ChatStore, StoreRepositories } from '@kaiwa/core';
import type { StoreQueryListener } from '@kaiwa/store-kysely';
import { context, SpanKind, type Tracer, trace } from '@opentelemetry/api';
import { REPOSITORY_NAMES } from '../storage/timed-store.js';
import { traceMethods } from './trace-methods.js';
import { recordSpanError } from './trace-span-error.js';

const SYSTEMS: Record<string, string> = { sqlite: 'sqlite', postgres: 'postgresql', mysql: 'mysql' };

/**
 * The store with a span per repository call (`store messages.create`, attributes `kaiwa.store.repository`
 * and `kaiwa.store.method`), inside transactions too. Arguments and results are never recorded. Calls made
 * outside any trace (background polling) or inside one that is not sampled get no span (and cost nothing).
 */
export function tracedStore(store: ChatStore, tracer: Tracer): ChatStore {
  const system = SYSTEMS[store.dialect] ?? store.dialect;
  const traced = (repositories: StoreRepositories): StoreRepositories => {
    const wrapped = {} as Record<string, unknown>;
    for (const name of REPOSITORY_NAMES) {
      wrapped[name] = tracedRepository(name, repositories[name], tracer, system);
    }
    return wrapped as unknown as StoreRepositories;
  };
  const repositories = traced(store);
  return {
    ...repositories,
    lagTolerant: store.lagTolerant === store ? repositories : traced(store.lagTolerant),
    get dialect() {
      return store.dialect;
    },
    transaction: (work) =>
      store.transaction((tx) => work({ ...traced(tx), savepoint: (inner) => tx.savepoint(inner) })),
    migrate: () => store.migrate(),
    close: () => store.close(),
  };
}

function tracedRepository<T extends object>(
  repository: string,
  target: T,
  tracer: Tracer,
  system: string,
): T {
  return traceMethods(target, tracer, (method) => ({
    name: `store ${repository}.${method}`,
    attributes: {
      'db.system.name': system,
      'kaiwa.store.repository': repository,
      'kaiwa.store.method': method,
    },
  }));
}

/** `SELECT`, `INSERT`, … and the first table the statement names; nothing else of the SQL is kept. */
function describeStatement(sql: string): { operation: string; table: string | undefined } {
  const operation = /^\s*(?:with\b[\s\S]*?\)\s*)?([a-z]+)/i.exec(sql)?.[1]?.toUpperCase() ?? 'SQL';
  const table = /\b(?:from|into|update|join)\s+["`]?([a-z_][\w]*)["`]?/i.exec(sql)?.[1];
  return { operation, table };
}

/**
 * The store factories' `onQuery`: a client span per statement (transaction control included), a child of
 * the repository call that ran it, named `SELECT messages`, with `db.operation.name` and
 * `db.collection.name`. The statement's text is not recorded: its values are parameters, but a few
 * statements inline constants, and the operation and table are what one looks for in a trace anyway.
 */
export function storeStatementSpans(tracer: Tracer): StoreQueryListener {
  return ({ sql, durationMs, error }) => {
    const active = context.active();
    if (!trace.getSpan(active)?.isRecording()) return;
    const { operation, table } = describeStatement(sql);
    const end = performance.timeOrigin + performance.now();
    const span = tracer.startSpan(
      table ? `${operation} ${table}` : operation,
      {
        kind: SpanKind.CLIENT,
        startTime: end - durationMs,
        attributes: { 'db.operation.name': operation, ...(table ? { 'db.collection.name': table } : {}) },
      },
      active,
    );
    if (error !== undefined) recordSpanError(span, error);
    span.end(end);
  };
}
