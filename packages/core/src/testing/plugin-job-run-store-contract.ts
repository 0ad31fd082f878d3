import { randomBytes } from 'node:crypto';
import { beforeAll, expect, it } from 'vitest';
import { ValidationError } from '../errors.js';
import type { PluginJobRunStore, PluginJobSlot } from '../ports/plugin-job-run-store.js';
import {
  describeStoreContract,
  type StoreContractOptions,
  type StoreUnderTest,
} from './store-contract-suite.js';

/** A PluginJobRunStore under test, with what closes it. */
export type PluginJobRunStoreUnderTest = StoreUnderTest<PluginJobRunStore>;

export type PluginJobRunStoreContractOptions = StoreContractOptions<PluginJobRunStore>;

/**
 * The conformance suite of `PluginJobRunStore`: a slot is claimed once (also by racing claims from two
 * instances where the store has a `peer`), slots differing in plugin, job or time are apart, outcomes are
 * recorded once (done, or failed with a reason) with their duration, `list` is newest first and filtered,
 * `prune` and `clear` delete what they should, and bad input throws `ValidationError` naming the field.
 *
 * @example
 * pluginJobRunStoreContract({
 *   name: 'memory',
 *   open: async () => ({ store: createMemoryPluginJobRunStore(), close: async () => {} }),
 * });
 */
export function pluginJobRunStoreContract(options: PluginJobRunStoreContractOptions): void {
  describeStoreContract('PluginJobRunStore', options, (opened) => {
    let store: PluginJobRunStore;
    // Every test claims under plugin ids of its own, so the tests share one store.
    const newPlugin = () => `p-${randomBytes(6).toString('hex')}`;
    const at = (minute: number) => new Date(Date.UTC(2026, 11, 7, 9, minute)).toISOString();
    const claimedBy = (instanceId: string) => ({ instanceId, claimedAt: new Date().toISOString() });

    beforeAll(() => {
      store = opened.store;
    });

    it('claims a slot once and records who claimed it', async () => {
      const slot: PluginJobSlot = { pluginId: newPlugin(), job: 'digest', scheduledAt: at(0) };
      expect(await store.get(slot)).toBeUndefined();
      const claimedAt = new Date(Date.UTC(2026, 11, 7, 9, 0, 0, 5)).toISOString();
      expect(await store.claim(slot, { instanceId: 'instance-a', claimedAt })).toBe(true);
      expect(await store.claim(slot, claimedBy('instance-b'))).toBe(false);
      expect(await store.claim(slot, claimedBy('instance-a'))).toBe(false);
      expect(await store.get(slot)).toEqual({
        ...slot,
        status: 'running',
        instanceId: 'instance-a',
        claimedAt,
        finishedAt: null,
        durationMs: null,
        reason: null,
      });
    });

    it('keeps slots of other plugins, jobs and times apart', async () => {
      const pluginId = newPlugin();
      const slot = { pluginId, job: 'digest', scheduledAt: at(1) };
      expect(await store.claim(slot, claimedBy('a'))).toBe(true);
      expect(await store.claim({ ...slot, job: 'cleanup' }, claimedBy('a'))).toBe(true);
      expect(await store.claim({ ...slot, scheduledAt: at(2) }, claimedBy('a'))).toBe(true);
      expect(await store.claim({ ...slot, pluginId: newPlugin() }, claimedBy('a'))).toBe(true);
      expect(await store.claim(slot, claimedBy('b'))).toBe(false);
    });

    it('lets exactly one of many racing claims win, across instances', async () => {
      const slot = { pluginId: newPlugin(), job: 'digest', scheduledAt: at(3) };
      const other = opened.peer ?? store;
      const claims = await Promise.all(
        Array.from({ length: 12 }, (_, index) =>
          (index % 2 === 0 ? store : other).claim(slot, claimedBy(`instance-${index}`)),
        ),
      );
      expect(claims.filter(Boolean)).toHaveLength(1);
      const winner = claims.indexOf(true);
      expect((await other.get(slot))?.instanceId).toBe(`instance-${winner}`);
    });

    it('records an outcome once: done, or failed with its reason, with the duration', async () => {
      const pluginId = newPlugin();
      const done = { pluginId, job: 'digest', scheduledAt: at(4) };
      const failed = { pluginId, job: 'digest', scheduledAt: at(5) };
      const finishedAt = new Date(Date.UTC(2026, 11, 7, 9, 5, 1)).toISOString();
      await store.claim(done, claimedBy('a'));
      await store.claim(failed, claimedBy('a'));
      await store.finish(done, { status: 'done', finishedAt, durationMs: 42 });
      const reason = 'plugin "x" did not answer "jobs.run" within 2000 ms — 😀';
      await store.finish(failed, { status: 'failed', finishedAt, durationMs: 2000, reason });
      expect(await store.get(done)).toMatchObject({
        status: 'done',
        finishedAt,
        durationMs: 42,
        reason: null,
      });
      expect(await store.get(failed)).toMatchObject({
        status: 'failed',
        finishedAt,
        durationMs: 2000,
        reason,
      });
      // A second outcome changes nothing; an unclaimed slot gets no run.
      await store.finish(done, { status: 'failed', finishedAt, durationMs: 1, reason: 'late' });
      expect(await store.get(done)).toMatchObject({ status: 'done', durationMs: 42, reason: null });
      const unclaimed = { pluginId, job: 'digest', scheduledAt: at(6) };
      await store.finish(unclaimed, { status: 'done', finishedAt, durationMs: 1 });
      expect(await store.get(unclaimed)).toBeUndefined();
    });

    it('lists a plugin’s runs newest first, by job, within a limit', async () => {
      const pluginId = newPlugin();
      for (const [job, minute] of [
        ['digest', 10],
        ['cleanup', 11],
        ['digest', 12],
        ['digest', 13],
      ] as const) {
        await store.claim({ pluginId, job, scheduledAt: at(minute) }, claimedBy('a'));
      }
      await store.claim({ pluginId: newPlugin(), job: 'digest', scheduledAt: at(14) }, claimedBy('a'));
      const all = await store.list(pluginId);
      expect(all.map((run) => [run.job, run.scheduledAt])).toEqual([
        ['digest', at(13)],
        ['digest', at(12)],
        ['cleanup', at(11)],
        ['digest', at(10)],
      ]);
      expect((await store.list(pluginId, { job: 'digest', limit: 2 })).map((run) => run.scheduledAt)).toEqual(
        [at(13), at(12)],
      );
      expect(await store.list(pluginId, { job: 'never' })).toEqual([]);
    });

    it('prunes runs scheduled before a time, and clears one plugin', async () => {
      const pluginId = newPlugin();
      const kept = newPlugin();
      // Years apart from the other tests' slots, so pruning here removes only this test's old runs.
      const old = new Date(Date.UTC(2001, 0, 1)).toISOString();
      const older = new Date(Date.UTC(2000, 0, 1)).toISOString();
      await store.claim({ pluginId, job: 'digest', scheduledAt: older }, claimedBy('a'));
      await store.claim({ pluginId, job: 'digest', scheduledAt: old }, claimedBy('a'));
      await store.claim({ pluginId, job: 'digest', scheduledAt: at(20) }, claimedBy('a'));
      await store.claim({ pluginId: kept, job: 'digest', scheduledAt: at(20) }, claimedBy('a'));
      expect(await store.prune(old)).toBe(1);
      expect((await store.list(pluginId)).map((run) => run.scheduledAt)).toEqual([at(20), old]);
      await store.clear(pluginId);
      expect(await store.list(pluginId)).toEqual([]);
      expect(await store.list(kept)).toHaveLength(1);
      // A cleared slot can be claimed again.
      expect(await store.claim({ pluginId, job: 'digest', scheduledAt: at(20) }, claimedBy('b'))).toBe(true);
    });

    it('throws ValidationError naming the field for bad input', async () => {
      const slot = { pluginId: newPlugin(), job: 'digest', scheduledAt: at(30) };
      const field = async (work: Promise<unknown>) => {
        const error = await work.then(
          () => undefined,
          (caught: unknown) => caught,
        );
        expect(error).toBeInstanceOf(ValidationError);
        return (error as ValidationError).issues[0]?.path.join('.');
      };
      expect(await field(store.claim({ ...slot, pluginId: '' }, claimedBy('a')))).toBe('pluginId');
      expect(await field(store.claim({ ...slot, job: 'Not A Job' }, claimedBy('a')))).toBe('job');
      expect(await field(store.claim({ ...slot, scheduledAt: '2026-12-07 09:00' }, claimedBy('a')))).toBe(
        'scheduledAt',
      );
      expect(await field(store.claim(slot, { instanceId: '', claimedAt: at(30) }))).toBe('instanceId');
      await store.claim(slot, claimedBy('a'));
      expect(
        await field(
          store.finish(slot, {
            status: 'failed',
            finishedAt: at(31),
            durationMs: 1,
            reason: 'x'.repeat(1001),
          }),
        ),
      ).toBe('outcome.reason');
      expect(await field(store.finish(slot, { status: 'done', finishedAt: at(31), durationMs: -1 }))).toBe(
        'outcome.durationMs',
      );
      expect(await field(store.prune('yesterday'))).toBe('before');
      expect(await field(store.list(slot.pluginId, { limit: 0 }))).toBe('limit');
      // Nothing of the refused calls was written.
      expect(await store.get(slot)).toMatchObject({ status: 'running' });
    });
  });
}
