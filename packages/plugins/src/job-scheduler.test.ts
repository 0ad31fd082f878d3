import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PluginJobRunStore } from '@kaiwa/core';
import { createSqliteStore, type KyselyChatStore } from '@kaiwa/store-kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PluginError } from './errors.js';
import { createMemoryPluginJobRunStore } from './job-run-store.js';
import { type PluginJobEvent, PluginJobScheduler } from './job-scheduler.js';
import { PluginHost } from './plugin-host.js';
import { createProcessRuntime } from './process-runtime.js';
import { buildPluginFolder } from './test-support/build-plugin.js';
import { createFakePorts } from './test-support/fake-ports.js';
import { ManualClock } from './test-support/manual-clock.js';

const fixture = fileURLToPath(new URL('./test-fixtures/jobs', import.meta.url));
const minute = (value: number) => new Date(Date.UTC(2026, 11, 7, 9, value));
const slot = (job: string, value: number) => ({
  pluginId: 'jobs',
  job,
  scheduledAt: minute(value).toISOString(),
});

/** A host running the jobs fixture in a real child process, over fake chat ports. */
async function startHost(folder: string) {
  const fake = createFakePorts();
  // Where unshare is not permitted, these tests are about jobs, not the network: accept that.
  const host = new PluginHost({
    ports: fake.ports,
    runtime: createProcessRuntime({ acceptUnisolatedNetwork: true }),
    engineVersion: '0.1.0',
  });
  await host.add(folder);
  await host.start('jobs');
  return { host, storage: fake.ports.storage };
}

/**
 * One instance for a describe block: the jobs fixture in a real child process (built before its tests, stopped
 * after) and a scheduler on a hand-moved clock from 09:00:30 over an in-memory run store.
 */
function scheduledJobsPlugin() {
  const instance = {
    runs: createMemoryPluginJobRunStore(),
    events: [] as PluginJobEvent[],
    clock: new ManualClock(new Date(Date.UTC(2026, 11, 7, 9, 0, 30))),
    folder: '',
    host: undefined as unknown as PluginHost,
    storage: undefined as unknown as ReturnType<typeof createFakePorts>['ports']['storage'],
    scheduler: undefined as unknown as PluginJobScheduler,
  };
  beforeAll(async () => {
    instance.folder = await buildPluginFolder(fixture);
    ({ host: instance.host, storage: instance.storage } = await startHost(instance.folder));
    instance.scheduler = new PluginJobScheduler({
      host: instance.host,
      runs: instance.runs,
      instanceId: 'instance-a',
      clock: instance.clock,
      onEvent: (event) => instance.events.push(event),
    });
    instance.scheduler.start();
  }, 30_000);
  afterAll(async () => {
    await instance.scheduler?.close();
    await instance.host?.stopAll();
    if (instance.folder) await rm(instance.folder, { recursive: true, force: true });
  });
  return instance;
}

describe('PluginJobScheduler with a real plugin process', () => {
  const jobs = scheduledJobsPlugin();
  const { runs, events, clock } = jobs;

  it('arms one timer per declared job and runs each at its slots, recording the outcome', async () => {
    expect(clock.pending).toBe(3);
    clock.advanceTo(minute(1));
    await jobs.scheduler.settled();
    expect(await runs.get(slot('tick', 1))).toMatchObject({
      status: 'done',
      instanceId: 'instance-a',
      claimedAt: minute(1).toISOString(),
      reason: null,
      durationMs: expect.any(Number),
    });
    // The plugin ran it: its handler wrote the slot's time.
    expect(await jobs.storage.get('jobs', `tick:${minute(1).toISOString()}`)).toBe(true);
    // `stuck` is every other minute: nothing at 09:01.
    expect(await runs.get(slot('stuck', 1))).toBeUndefined();
    expect(clock.pending).toBe(3);
  });

  it('records a job that throws as failed, with its reason, and runs its next slot', async () => {
    expect(await runs.get(slot('flaky', 1))).toMatchObject({
      status: 'failed',
      reason: expect.stringContaining('flaky at minute 1'),
    });
    clock.advanceTo(minute(2));
    await jobs.scheduler.settled();
    expect(await runs.get(slot('flaky', 2))).toMatchObject({ status: 'done', reason: null });
    expect(await runs.get(slot('stuck', 2))).toMatchObject({ status: 'done' });
    expect(events).toContainEqual({
      type: 'job-failed',
      slot: slot('flaky', 1),
      durationMs: expect.any(Number),
      reason: expect.stringContaining('flaky at minute 1'),
    });
  });

  it('records a job that hangs as failed at its deadline, and runs its next slot', async () => {
    // A minute at a time, each slot's runs finished before the next (a run still going skips its next slot).
    for (const value of [3, 4]) {
      clock.advanceTo(minute(value));
      await jobs.scheduler.settled();
    }
    const hung = await runs.get(slot('stuck', 4));
    expect(hung).toMatchObject({ status: 'failed', reason: expect.stringContaining('within 500 ms') });
    expect(hung?.durationMs).toBeGreaterThanOrEqual(450);
    // Meanwhile the other jobs ran (09:03 and 09:04), and the next slot of the hung one runs as usual.
    expect(await runs.get(slot('tick', 3))).toMatchObject({ status: 'done' });
    expect(await runs.get(slot('tick', 4))).toMatchObject({ status: 'done' });
    for (const value of [5, 6]) {
      clock.advanceTo(minute(value));
      await jobs.scheduler.settled();
    }
    expect(await runs.get(slot('stuck', 6))).toMatchObject({ status: 'done' });
    expect(jobs.host.list()).toEqual([{ id: 'jobs', state: 'running', version: '0.0.1' }]);
  });

  it('skips a slot its timer woke too late for (the process was paused); later slots run', async () => {
    clock.jump(new Date(Date.UTC(2026, 11, 7, 9, 8, 30)));
    clock.advanceTo(new Date(Date.UTC(2026, 11, 7, 9, 8, 30)));
    await jobs.scheduler.settled();
    expect(events).toContainEqual({ type: 'job-skipped', slot: slot('tick', 7), reason: 'missed' });
    expect(await runs.get(slot('tick', 7))).toBeUndefined();
    // Not replayed: the slots slept through (09:08 for tick) are gone, the next is 09:09.
    expect(await runs.get(slot('tick', 8))).toBeUndefined();
    clock.advanceTo(minute(9));
    await jobs.scheduler.settled();
    expect(await runs.get(slot('tick', 9))).toMatchObject({ status: 'done' });
  });

  it('refuses a job the manifest does not declare, before the plugin hears of it', async () => {
    const refused = await jobs.host
      .runJob({ pluginId: 'jobs', job: 'secret', scheduledAt: minute(9).toISOString() })
      .catch((error: unknown) => error);
    expect(PluginError.isInstance(refused)).toBe(true);
    expect(refused).toMatchObject({ code: 'capability_denied', pluginId: 'jobs' });
    expect((refused as Error).message).toContain('capabilities.scheduledJobs');
  });

  it('does not replay slots missed while no scheduler ran, and stops without a stray timer', async () => {
    await jobs.scheduler.close();
    expect(clock.pending).toBe(0);
    clock.advanceTo(minute(20));
    const later = new PluginJobScheduler({ host: jobs.host, runs, instanceId: 'instance-a', clock });
    later.start();
    clock.advanceTo(minute(21));
    await later.settled();
    await later.close();
    expect(clock.pending).toBe(0);
    const ticks = (await runs.list('jobs', { job: 'tick', limit: 100 })).map((run) => run.scheduledAt);
    expect(ticks).toEqual([21, 9, 6, 5, 4, 3, 2, 1].map((value) => minute(value).toISOString()));
  });
});

describe('a plugin handling a job its manifest does not declare', () => {
  it('is refused at start, naming capabilities.scheduledJobs', async () => {
    const folder = await buildPluginFolder(fixture);
    try {
      const manifestPath = join(folder, 'kaiwa-plugin.json');
      const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
      manifest.capabilities.scheduledJobs = manifest.capabilities.scheduledJobs.filter(
        (job: { name: string }) => job.name !== 'stuck',
      );
      await writeFile(manifestPath, JSON.stringify(manifest));
      const host = new PluginHost({
        ports: createFakePorts().ports,
        runtime: createProcessRuntime({ acceptUnisolatedNetwork: true }),
        engineVersion: '0.1.0',
      });
      await host.add(folder);
      const refused = await host.start('jobs').catch((error: unknown) => error);
      expect(refused).toMatchObject({
        code: 'start_failed',
        issues: [{ path: ['capabilities', 'scheduledJobs'], message: '"stuck" not declared' }],
      });
      await host.stopAll();
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  }, 30_000);
});

describe('two instances sharing one SQLite database file', () => {
  let directory: string;
  let folder: string;
  const instances: {
    host: PluginHost;
    storage: ReturnType<typeof createFakePorts>['ports']['storage'];
    store: KyselyChatStore;
    clock: ManualClock;
    scheduler: PluginJobScheduler;
    events: PluginJobEvent[];
  }[] = [];

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'kaiwa-plugin-jobs-'));
    folder = await buildPluginFolder(fixture);
    const filename = join(directory, 'kaiwa.db');
    for (const name of ['instance-a', 'instance-b']) {
      // Each instance opens the file on its own connection, as two servers would.
      const store = await createSqliteStore({ filename });
      await store.migrate();
      const { host, storage } = await startHost(folder);
      const clock = new ManualClock(new Date(Date.UTC(2026, 11, 7, 9, 0, 30)));
      const events: PluginJobEvent[] = [];
      const scheduler = new PluginJobScheduler({
        host,
        runs: store.pluginJobRuns,
        instanceId: name,
        clock,
        onEvent: (event) => events.push(event),
      });
      scheduler.start();
      instances.push({ host, storage, store, clock, scheduler, events });
    }
  }, 60_000);

  afterAll(async () => {
    for (const instance of instances) {
      await instance.scheduler.close();
      await instance.host.stopAll();
      await instance.store.close();
    }
    await rm(directory, { recursive: true, force: true });
    await rm(folder, { recursive: true, force: true });
  });

  it('runs each slot on exactly one of them, and records it once', async () => {
    const runs: PluginJobRunStore = instances[0]!.store.pluginJobRuns;
    for (const value of [1, 2, 3, 4, 5]) {
      // Both wake at the same slot and claim at once; the one whose claim lands first runs it.
      for (const instance of value % 2 === 0 ? instances : [...instances].reverse()) {
        instance.clock.advanceTo(minute(value));
      }
      await Promise.all(instances.map((instance) => instance.scheduler.settled()));
    }
    for (const value of [1, 2, 3, 4, 5]) {
      const run = await runs.get(slot('tick', value));
      expect(run?.status, `09:0${value}`).toBe('done');
      // The tick handler of exactly one instance's plugin wrote the slot.
      const key = `tick:${minute(value).toISOString()}`;
      const ranOn = [];
      for (const instance of instances) {
        if ((await instance.storage.get('jobs', key)) === true) ranOn.push(instance);
      }
      expect(ranOn, `09:0${value}`).toHaveLength(1);
      expect(run?.instanceId).toBe(
        ranOn[0]!.scheduler === instances[0]!.scheduler ? 'instance-a' : 'instance-b',
      );
    }
    // Every slot of every job: one instance ran it, the other was told it was claimed elsewhere.
    const ran = instances.flatMap((instance) =>
      instance.events.filter((event) => event.type === 'job-done' || event.type === 'job-failed'),
    );
    const skipped = instances.flatMap((instance) =>
      instance.events.filter((event) => event.type === 'job-skipped' && event.reason === 'claimed_elsewhere'),
    );
    // tick and flaky at five slots, stuck at 09:02 and 09:04.
    expect(ran).toHaveLength(12);
    expect(skipped).toHaveLength(12);
    expect(new Set(ran.map((event) => JSON.stringify(event.slot))).size).toBe(12);
    expect((await runs.list('jobs', { limit: 100 })).length).toBe(12);
  }, 30_000);
});

describe('PluginJobScheduler following its host', () => {
  const jobs = scheduledJobsPlugin();
  const { runs, events, clock } = jobs;

  it('skips a slot while its previous run is still going here (runs of one job never overlap)', async () => {
    for (const value of [1, 2, 3, 4]) {
      clock.advanceTo(minute(value));
      if (value < 4) await jobs.scheduler.settled();
    }
    // `stuck` hangs at 09:04 until its 500 ms deadline: its 09:06 slot comes while that run is still going.
    clock.advanceTo(minute(6));
    expect(events).toContainEqual({ type: 'job-skipped', slot: slot('stuck', 6), reason: 'still_running' });
    await jobs.scheduler.settled();
    expect(await runs.get(slot('stuck', 2))).toMatchObject({ status: 'done' });
    expect(await runs.get(slot('stuck', 4))).toMatchObject({ status: 'failed' });
    expect(await runs.get(slot('stuck', 6))).toBeUndefined();
  });

  it('drops the timers of an uninstalled plugin and arms those of one installed while it runs', async () => {
    expect(clock.pending).toBe(3);
    await jobs.host.remove('jobs');
    jobs.scheduler.sync();
    expect(clock.pending).toBe(0);
    clock.advanceTo(minute(7));
    await jobs.scheduler.settled();
    expect(await runs.get(slot('tick', 7))).toBeUndefined();

    await jobs.host.add(jobs.folder);
    await jobs.host.start('jobs');
    jobs.scheduler.sync();
    expect(clock.pending).toBe(3);
    // Syncing again arms nothing twice.
    jobs.scheduler.sync();
    expect(clock.pending).toBe(3);
    clock.advanceTo(minute(8));
    await jobs.scheduler.settled();
    expect(await runs.get(slot('tick', 8))).toMatchObject({ status: 'done' });
  }, 30_000);
});
