import {
  checkPluginJobRunInput,
  type PluginJobOutcome,
  type PluginJobRun,
  type PluginJobRunStatus,
  type PluginJobRunStore,
  type PluginJobSlot,
} from '@kaiwa/core';
import type { Selectable } from 'kysely';
import type { PluginJobRunsTable } from '../../database.js';
import type { RepositoryContext } from '../repository-context.js';

/**
 * Plugins' scheduled job runs on kysely. A claim is the store's insert-once on the primary key (plugin, job,
 * scheduled time): of any number of instances claiming one slot, one inserts and the others see the
 * duplicate, on every dialect. The outcome is an update of the row while it is still `running`, so a late or
 * second outcome changes nothing.
 */
export class KyselyPluginJobRunStore implements PluginJobRunStore {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  async claim(slot: PluginJobSlot, claim: { instanceId: string; claimedAt: string }): Promise<boolean> {
    checkPluginJobRunInput({ slot, claim });
    return this.#context.adapter.insertOnce(this.#context.db, {
      table: 'plugin_job_runs',
      row: {
        plugin_id: slot.pluginId,
        job: slot.job,
        scheduled_at: slot.scheduledAt,
        instance_id: claim.instanceId,
        status: 'running',
        claimed_at: claim.claimedAt,
      },
      key: { name: 'plugin_job_runs_pkey', columns: ['plugin_id', 'job', 'scheduled_at'] },
    });
  }

  async finish(slot: PluginJobSlot, outcome: PluginJobOutcome): Promise<void> {
    checkPluginJobRunInput({ slot, outcome });
    await this.#context.db
      .updateTable('plugin_job_runs')
      .set({
        status: outcome.status,
        finished_at: outcome.finishedAt,
        duration_ms: outcome.durationMs,
        reason: outcome.status === 'failed' ? outcome.reason : null,
      })
      .where('plugin_id', '=', slot.pluginId)
      .where('job', '=', slot.job)
      .where('scheduled_at', '=', slot.scheduledAt)
      .where('status', '=', 'running')
      .execute();
  }

  async get(slot: PluginJobSlot): Promise<PluginJobRun | undefined> {
    checkPluginJobRunInput({ slot });
    const row = await this.#context.db
      .selectFrom('plugin_job_runs')
      .selectAll()
      .where('plugin_id', '=', slot.pluginId)
      .where('job', '=', slot.job)
      .where('scheduled_at', '=', slot.scheduledAt)
      .executeTakeFirst();
    return row === undefined ? undefined : toRun(row);
  }

  async list(pluginId: string, options: { job?: string; limit?: number } = {}): Promise<PluginJobRun[]> {
    checkPluginJobRunInput({ pluginId, list: options });
    let query = this.#context.db
      .selectFrom('plugin_job_runs')
      .selectAll()
      .where('plugin_id', '=', pluginId)
      .orderBy('scheduled_at', 'desc')
      .orderBy('job', 'asc')
      .limit(options.limit ?? 50);
    if (options.job !== undefined) query = query.where('job', '=', options.job);
    return (await query.execute()).map(toRun);
  }

  async prune(before: string): Promise<number> {
    checkPluginJobRunInput({ before });
    const result = await this.#context.db
      .deleteFrom('plugin_job_runs')
      .where('scheduled_at', '<', before)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async clear(pluginId: string): Promise<void> {
    checkPluginJobRunInput({ pluginId });
    await this.#context.db.deleteFrom('plugin_job_runs').where('plugin_id', '=', pluginId).execute();
  }
}

function toRun(row: Selectable<PluginJobRunsTable>): PluginJobRun {
  return {
    pluginId: row.plugin_id,
    job: row.job,
    scheduledAt: row.scheduled_at,
    status: row.status as PluginJobRunStatus,
    instanceId: row.instance_id,
    claimedAt: row.claimed_at,
    finishedAt: row.finished_at,
    durationMs: row.duration_ms === null ? null : Number(row.duration_ms),
    reason: row.reason,
  };
}
