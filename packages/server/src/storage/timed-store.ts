import type { ChatStore, StoreRepositories } from '@kaiwa/core';
import type { ServerMetrics } from '../operations/server-metrics.js';

/** The repositories a ChatStore has; a new one in core must be added here to be measured and traced. */
export const REPOSITORY_NAMES = [
  'users',
  'rooms',
  'memberships',
  'messages',
  'reactions',
  'roomEvents',
  'projects',
  'tickets',
  'files',
  'accounts',
  'roomSettings',
  'workflows',
  'platformInbox',
  'platformOutbox',
  'bridges',
  'audit',
] as const satisfies readonly (keyof StoreRepositories)[];

export interface SlowQuery {
  repository: string;
  method: string;
  durationMs: number;
}

export interface TimedStoreOptions {
  metrics: ServerMetrics;
  /** Calls at or above this many milliseconds are reported to `onSlowQuery`; 0 turns reports off. */
  slowQueryMs: number;
  onSlowQuery: (query: SlowQuery) => void;
}

/**
 * Wraps a ChatStore so every repository call is timed, inside transactions too. The kysely store factories
 * take no query hook, so queries are measured at the repository boundary: one repository call is usually
 * one SQL statement, and the label says which call it was.
 *
 * @example const store = timedStore(await openStore(url), { metrics, slowQueryMs: 200, onSlowQuery: log });
 */
export function timedStore(store: ChatStore, options: TimedStoreOptions): ChatStore {
  const timedRepositories = (repositories: StoreRepositories): StoreRepositories => {
    const wrapped = {} as Record<string, unknown>;
    for (const name of REPOSITORY_NAMES) wrapped[name] = timedRepository(name, repositories[name], options);
    return wrapped as unknown as StoreRepositories;
  };
  const timed = timedRepositories(store);
  return {
    ...timed,
    // Replica reads are timed under the same labels: a slow replica shows up as slow reads.
    lagTolerant: store.lagTolerant === store ? timed : timedRepositories(store.lagTolerant),
    get dialect() {
      return store.dialect;
    },
    transaction: (work) =>
      store.transaction((tx) =>
        work({ ...timedRepositories(tx), savepoint: (inner) => tx.savepoint(inner) }),
      ),
    migrate: () => store.migrate(),
    close: () => store.close(),
  };
}

function timedRepository<T extends object>(
  repositoryName: string,
  repository: T,
  options: TimedStoreOptions,
): T {
  const wrappers = new Map<string, (...args: unknown[]) => Promise<unknown>>();
  return new Proxy(repository, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      let timed = wrappers.get(property);
      if (!timed) {
        const method = property;
        timed = async (...args: unknown[]) => {
          const started = process.hrtime.bigint();
          try {
            // Looked up on every call, so a method replaced later (a test double) is the one measured.
            const current = Reflect.get(target, method) as (...callArgs: unknown[]) => Promise<unknown>;
            return await current.apply(target, args);
          } finally {
            observe(repositoryName, method, process.hrtime.bigint() - started, options);
          }
        };
        wrappers.set(property, timed);
      }
      return timed;
    },
  });
}

function observe(repository: string, method: string, elapsed: bigint, options: TimedStoreOptions): void {
  const seconds = Number(elapsed) / 1e9;
  options.metrics.storeQueryDuration.observe({ repository, method }, seconds);
  const durationMs = seconds * 1000;
  if (options.slowQueryMs > 0 && durationMs >= options.slowQueryMs) {
    options.metrics.slowStoreQueries.inc({ repository, method });
    options.onSlowQuery({ repository, method, durationMs: Math.round(durationMs * 10) / 10 });
  }
}
