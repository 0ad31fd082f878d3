import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ChatEngine,
  type ChatStore,
  createId,
  InProcessBus,
  type WorkflowRun,
  type WorkflowStepRecord,
} from '@kaiwa/core';
import { createPostgresStore, createSqliteStore } from '@kaiwa/store-kysely';
import { defineStepType, WorkflowEngine } from '@kaiwa/workflow';
import pg from 'pg';
import { z } from 'zod';

/*
 * Engine overhead of a 10-step no-op workflow, against two baselines measured in the same run:
 * - bare functions: the same 10 no-op step functions awaited one after another (no storage at all);
 * - bare writes: the same stored transitions the engine makes, written straight through the repositories
 *   (a transaction with the run and its 10 step records, run → running, each step → running → succeeded
 *   with its output, run → succeeded): the floor of what a durable run costs on that database.
 * The engine level is `start` + `waitForRun`, one run at a time and with `concurrency` runs in flight.
 */

export const STEPS = 10;

export interface WorkflowBenchSettings {
  /** Runs measured one at a time, per level. */
  runs: number;
  /** Runs measured with `concurrency` in flight. */
  concurrentRuns: number;
  concurrency: number;
  warmup: number;
  /** Levels take turns this many times. */
  rounds: number;
  /** PostgreSQL commits cost more: its run counts are scaled by this. */
  postgresScale: number;
}

export const FULL_SETTINGS: WorkflowBenchSettings = {
  runs: 300,
  concurrentRuns: 600,
  concurrency: 16,
  warmup: 20,
  rounds: 5,
  postgresScale: 0.3,
};
export const QUICK_SETTINGS: WorkflowBenchSettings = {
  runs: 30,
  concurrentRuns: 60,
  concurrency: 8,
  warmup: 5,
  rounds: 2,
  postgresScale: 0.5,
};

export interface LevelResult {
  level: string;
  runs: number;
  runsPerSecond: number;
  meanRunMs: number;
}

export interface DialectResult {
  dialect: 'sqlite' | 'postgres';
  description: string;
  levels: LevelResult[];
  /** Engine (one at a time) minus bare functions, per step. */
  overheadPerStepMs: number;
  /** Engine (one at a time) minus bare writes, per step: scheduling, checks and events. */
  overheadOverWritesPerStepMs: number;
  /** The machine's 1-minute load average when the dialect's measurements ended. */
  loadAverage: number;
}

export interface WorkflowBenchResult {
  date: string;
  node: string;
  settings: WorkflowBenchSettings;
  dialects: DialectResult[];
}

const noop = defineStepType({
  type: 'noop',
  description: 'Does nothing',
  input: z.object({ index: z.number(), previous: z.unknown().optional() }),
  run: async ({ index }) => ({ index }),
});

const DEFINITION = {
  id: 'bench-noop',
  name: 'Ten no-op steps',
  steps: Array.from({ length: STEPS }, (_, index) => ({
    id: `s${index}`,
    type: 'noop',
    input: index === 0 ? { index } : { index, previous: `{{ steps.s${index - 1}.index }}` },
  })),
};

async function time(runs: number, concurrency: number, once: () => Promise<void>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, runs) }, async () => {
      while (next < runs) {
        next++;
        await once();
      }
    }),
  );
  return performance.now() - started;
}

function level(name: string, runs: number, elapsedMs: number, concurrency: number): LevelResult {
  return {
    level: name,
    runs,
    runsPerSecond: (runs / elapsedMs) * 1000,
    // With several in flight, the mean time one run takes from start to finish.
    meanRunMs: (elapsedMs / runs) * concurrency,
  };
}

/** The engine's stored transitions for one run, written directly. */
async function bareWrites(store: ChatStore, actorId: string): Promise<void> {
  const at = () => new Date().toISOString();
  const now = at();
  const run: WorkflowRun = {
    id: createId(),
    workflowId: DEFINITION.id,
    workflowVersion: 1,
    status: 'pending',
    actorId,
    trigger: null,
    error: null,
    createdAt: now,
    startedAt: null,
    finishedAt: null,
    updatedAt: now,
    claimedBy: 'bench',
    claimedUntil: now,
  };
  const steps: WorkflowStepRecord[] = DEFINITION.steps.map((step, position) => ({
    runId: run.id,
    stepId: step.id,
    position,
    type: 'noop',
    status: 'pending',
    attempts: 0,
    output: null,
    error: null,
    startedAt: null,
    finishedAt: null,
    updatedAt: now,
  }));
  await store.transaction(async (tx) => {
    await tx.workflows.insertRun(run);
    await tx.workflows.insertSteps(steps);
  });
  await store.workflows.updateRun(
    run.id,
    { status: 'running', startedAt: at(), updatedAt: at() },
    { onlyIf: ['pending'] },
  );
  for (const [index, step] of steps.entries()) {
    await store.workflows.updateStep(run.id, step.stepId, {
      status: 'running',
      attempts: 1,
      startedAt: at(),
      updatedAt: at(),
    });
    const output = await noop.run({ index }, undefined as never);
    await store.workflows.updateStep(run.id, step.stepId, {
      status: 'succeeded',
      output,
      finishedAt: at(),
      updatedAt: at(),
    });
  }
  await store.workflows.updateRun(
    run.id,
    { status: 'succeeded', finishedAt: at(), updatedAt: at() },
    { onlyIf: ['running'] },
  );
}

async function bareFunctions(): Promise<void> {
  for (let index = 0; index < STEPS; index++) await noop.run({ index }, undefined as never);
}

async function measure(
  dialect: 'sqlite' | 'postgres',
  description: string,
  store: ChatStore,
  settings: WorkflowBenchSettings,
  log: (line: string) => void,
): Promise<DialectResult> {
  await store.migrate();
  const bus = new InProcessBus();
  const engine = new ChatEngine({ store, bus });
  const workflows = new WorkflowEngine({ store, bus, services: { chat: engine, store }, steps: [noop] });
  try {
    const actor = await engine.createUser({ username: `bench-${randomBytes(3).toString('hex')}` });
    await workflows.define(DEFINITION, actor.id);
    const engineRun = async () => {
      const run = await workflows.start(DEFINITION.id, { actorId: actor.id });
      const { run: finished } = await workflows.waitForRun(run.id);
      if (finished.status !== 'succeeded') throw new Error(`run ${run.id} ${finished.status}`);
    };
    const scale = dialect === 'postgres' ? settings.postgresScale : 1;
    const runs = Math.max(1, Math.round(settings.runs * scale));
    const concurrentRuns = Math.max(1, Math.round(settings.concurrentRuns * scale));
    const { concurrency, warmup, rounds } = settings;
    const direct = () => bareWrites(store, actor.id);
    const plan: { name: string; runs: number; concurrency: number; once: () => Promise<void> }[] = [
      { name: 'bare functions', runs, concurrency: 1, once: bareFunctions },
      { name: 'bare writes (same rows, repositories)', runs, concurrency: 1, once: direct },
      { name: 'engine, one run at a time', runs, concurrency: 1, once: engineRun },
      { name: `bare writes, ${concurrency} runs in flight`, runs: concurrentRuns, concurrency, once: direct },
      { name: `engine, ${concurrency} runs in flight`, runs: concurrentRuns, concurrency, once: engineRun },
    ];
    for (const entry of plan) await time(warmup, 1, entry.once);
    // Levels take turns in several rounds, so a disturbance on a shared machine hits them alike.
    const elapsed = plan.map(() => 0);
    for (let round = 0; round < rounds; round++) {
      for (const [index, entry] of plan.entries()) {
        elapsed[index]! += await time(Math.ceil(entry.runs / rounds), entry.concurrency, entry.once);
      }
    }
    const levels = plan.map((entry, index) =>
      level(entry.name, Math.ceil(entry.runs / rounds) * rounds, elapsed[index]!, entry.concurrency),
    );
    for (const each of levels)
      log(
        `${dialect}: ${each.level}: ${each.runsPerSecond.toFixed(0)} runs/s, ${each.meanRunMs.toFixed(3)} ms/run`,
      );
    const [functions, writes, sequential] = levels as [LevelResult, LevelResult, LevelResult];
    return {
      dialect,
      description,
      levels,
      overheadPerStepMs: (sequential.meanRunMs - functions.meanRunMs) / STEPS,
      overheadOverWritesPerStepMs: (sequential.meanRunMs - writes.meanRunMs) / STEPS,
      loadAverage: loadavg()[0] ?? 0,
    };
  } finally {
    await workflows.close();
    engine.close();
  }
}

export async function runWorkflowBench(options: {
  settings: WorkflowBenchSettings;
  postgresUrl?: string | undefined;
  log: (line: string) => void;
}): Promise<WorkflowBenchResult> {
  const { settings, log } = options;
  const dialects: DialectResult[] = [];

  const directory = mkdtempSync(join(tmpdir(), 'kaiwa-workflow-bench-'));
  try {
    const store = await createSqliteStore({ filename: join(directory, 'bench.db') });
    try {
      dialects.push(
        await measure(
          'sqlite',
          'SQLite (better-sqlite3, file, WAL, synchronous=NORMAL)',
          store,
          settings,
          log,
        ),
      );
    } finally {
      await store.close();
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }

  if (options.postgresUrl) {
    const schema = `kaiwa_wfbench_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: options.postgresUrl });
    await admin.connect();
    try {
      await admin.query(`create schema ${schema}`);
      const version = (
        await admin.query<{ server_version: string }>('show server_version')
      ).rows[0]?.server_version?.split(' ')[0];
      const pool = new pg.Pool({
        connectionString: options.postgresUrl,
        options: `-c search_path=${schema}`,
        max: 10,
      });
      const store = await createPostgresStore({ pool });
      try {
        dialects.push(
          await measure(
            'postgres',
            `PostgreSQL ${version ?? ''} (local, TCP, synchronous_commit=on)`,
            store,
            settings,
            log,
          ),
        );
      } finally {
        await store.close();
      }
    } finally {
      await admin.query(`drop schema if exists ${schema} cascade`);
      await admin.end();
    }
  } else {
    log('postgres: skipped (set KAIWA_BENCH_PG_URL or KAIWA_TEST_PG_URL to include it)');
  }
  return { date: new Date().toISOString(), node: process.version, settings, dialects };
}
