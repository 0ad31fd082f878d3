import { checkPluginJobRunInput, type PluginJobRun, type PluginJobRunStore } from '@kaiwa/core';

/*
 * The port, `PluginJobRunStore`, lives in `@kaiwa/core` (ports in core) so the database-backed one in
 * `@kaiwa/store-kysely` implements it without depending on the plugin host; it is re-exported here.
 */
export type { PluginJobRunStore } from '@kaiwa/core';

/**
 * A {@link PluginJobRunStore} in memory: claims are once within this process only, for tests and
 * single-instance development. With several instances the server keeps job runs in its database
 * (`@kaiwa/store-kysely`'s `pluginJobRuns`), or every instance would run every slot.
 *
 * @example
 * const runs = createMemoryPluginJobRunStore();
 * await runs.claim({ pluginId: 'hello', job: 'digest', scheduledAt }, { instanceId: 'dev', claimedAt });
 */
export function createMemoryPluginJobRunStore(): PluginJobRunStore {
  const runs = new Map<string, PluginJobRun>();
  const keyOf = (slot: { pluginId: string; job: string; scheduledAt: string }) =>
    JSON.stringify([slot.pluginId, slot.job, slot.scheduledAt]);
  return {
    async claim(slot, claim) {
      checkPluginJobRunInput({ slot, claim });
      const key = keyOf(slot);
      if (runs.has(key)) return false;
      runs.set(key, {
        pluginId: slot.pluginId,
        job: slot.job,
        scheduledAt: slot.scheduledAt,
        status: 'running',
        instanceId: claim.instanceId,
        claimedAt: claim.claimedAt,
        finishedAt: null,
        durationMs: null,
        reason: null,
      });
      return true;
    },
    async finish(slot, outcome) {
      checkPluginJobRunInput({ slot, outcome });
      const run = runs.get(keyOf(slot));
      if (run?.status !== 'running') return;
      run.status = outcome.status;
      run.finishedAt = outcome.finishedAt;
      run.durationMs = outcome.durationMs;
      run.reason = outcome.status === 'failed' ? outcome.reason : null;
    },
    async get(slot) {
      checkPluginJobRunInput({ slot });
      const run = runs.get(keyOf(slot));
      return run && { ...run };
    },
    async list(pluginId, options = {}) {
      checkPluginJobRunInput({ pluginId, list: options });
      return [...runs.values()]
        .filter((run) => run.pluginId === pluginId && (options.job === undefined || run.job === options.job))
        .sort((a, b) =>
          a.scheduledAt === b.scheduledAt ? (a.job < b.job ? -1 : 1) : a.scheduledAt < b.scheduledAt ? 1 : -1,
        )
        .slice(0, options.limit ?? 50)
        .map((run) => ({ ...run }));
    },
    async prune(before) {
      checkPluginJobRunInput({ before });
      let deleted = 0;
      for (const [key, run] of runs) {
        if (run.scheduledAt < before) {
          runs.delete(key);
          deleted++;
        }
      }
      return deleted;
    },
    async clear(pluginId) {
      checkPluginJobRunInput({ pluginId });
      for (const [key, run] of runs) if (run.pluginId === pluginId) runs.delete(key);
    },
  };
}
