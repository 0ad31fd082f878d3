import type { Bus, ChatEvent, ChatStore } from '@kaiwa/core';
import { ChatEngine, ForbiddenError, InProcessBus, NotFoundError, ValidationError } from '@kaiwa/core';
import { createSqliteStore } from '@kaiwa/store-kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineStepType, type StepType } from './step-type.js';
import { WorkflowEngine, type WorkflowEngineConfig } from './workflow-engine.js';

/** What the test step types did, in the order they did it. */
interface Trace {
  intervals: Map<string, { start: number; end: number }>;
  attempts: Map<string, number[]>;
  aborted: Set<string>;
}

function stepTypes(trace: Trace): StepType[] {
  const key = (context: { runId: string; stepId: string }) => context.stepId;
  return [
    defineStepType({
      type: 'wait',
      description: 'Waits, honouring the signal',
      input: z.object({ ms: z.number().int().min(0), value: z.unknown().optional() }),
      run: async ({ ms, value }, context) => {
        const start = performance.now();
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, ms);
          context.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            trace.aborted.add(key(context));
            reject(context.signal.reason);
          });
        });
        trace.intervals.set(key(context), { start, end: performance.now() });
        return { value: value ?? null, stepId: context.stepId };
      },
    }),
    defineStepType({
      type: 'stubborn',
      description: 'Waits and ignores the signal',
      input: z.object({ ms: z.number() }),
      run: async ({ ms }) => {
        await new Promise((resolve) => setTimeout(resolve, ms));
        return { late: true };
      },
    }),
    defineStepType({
      type: 'fail',
      description: 'Fails its first `times` tries with an error of the given code',
      input: z.object({ times: z.number().int(), code: z.string().optional(), name: z.string().optional() }),
      run: async ({ times, code, name }, context) => {
        const tries = trace.attempts.get(key(context)) ?? [];
        tries.push(performance.now());
        trace.attempts.set(key(context), tries);
        if (tries.length <= times) {
          const error = Object.assign(new Error(`try ${tries.length} failed`), code ? { code } : {});
          if (name) error.name = name;
          throw error;
        }
        return { tries: tries.length };
      },
    }),
    defineStepType({
      type: 'echo',
      description: 'Returns its input',
      input: z.object({
        text: z.string().optional(),
        value: z.unknown().optional(),
        count: z.number().optional(),
      }),
      run: async (input) => input,
    }),
  ];
}

interface Harness {
  store: ChatStore;
  bus: Bus;
  engine: ChatEngine;
  workflows: WorkflowEngine;
  actorId: string;
  trace: Trace;
  events: ChatEvent[];
}

const open: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
});

async function harness(config: Partial<WorkflowEngineConfig> = {}): Promise<Harness> {
  const store = await createSqliteStore({ filename: ':memory:' });
  await store.migrate();
  const bus = new InProcessBus();
  const engine = new ChatEngine({ store, bus });
  const actor = await engine.createUser({ username: 'flow' });
  const trace: Trace = { intervals: new Map(), attempts: new Map(), aborted: new Set() };
  const workflows = new WorkflowEngine({
    store,
    bus,
    services: { chat: engine, store },
    steps: stepTypes(trace),
    ...config,
  });
  const events: ChatEvent[] = [];
  bus.subscribe((event) => events.push(event));
  open.push(async () => {
    await workflows.close();
    engine.close();
    await store.close();
  });
  return { store, bus, engine, workflows, actorId: actor.id, trace, events };
}

async function runOnce(h: Harness, steps: unknown[], trigger: unknown = {}) {
  const id = `wf-${Math.random().toString(36).slice(2, 8)}`;
  await h.workflows.define({ id, name: 'Test', steps }, h.actorId);
  const run = await h.workflows.start(id, { actorId: h.actorId, trigger });
  return h.workflows.waitForRun(run.id, { timeoutMs: 10_000 });
}

const statuses = (steps: { stepId: string; status: string }[]) =>
  Object.fromEntries(steps.map((step) => [step.stepId, step.status]));

describe('WorkflowEngine scheduling', () => {
  it('runs steps in order by default and feeds outputs forward', async () => {
    const h = await harness();
    const { run, steps } = await runOnce(
      h,
      [
        { id: 'first', type: 'echo', input: { text: 'hello {{ trigger.name }}' } },
        { id: 'second', type: 'echo', input: { text: '{{ steps.first.text }}!', count: '{{ 1 + 2 }}' } },
      ],
      { name: '世界' },
    );
    expect(run.status).toBe('succeeded');
    expect(steps[1]!.output).toEqual({ text: 'hello 世界!', count: 3 });
    expect(steps[0]!.finishedAt! <= steps[1]!.startedAt!).toBe(true);
  });

  it('runs independent branches at the same time and joins them', async () => {
    const h = await harness();
    const started = performance.now();
    const { run, steps } = await runOnce(h, [
      { id: 'a', type: 'wait', dependsOn: [], input: { ms: 200, value: 'A' } },
      { id: 'b', type: 'wait', dependsOn: [], input: { ms: 200, value: 'B' } },
      {
        id: 'join',
        type: 'echo',
        dependsOn: ['a', 'b'],
        input: { text: '{{ steps.a.value }}{{ steps.b.value }}' },
      },
    ]);
    const elapsed = performance.now() - started;
    expect(run.status).toBe('succeeded');
    const a = h.trace.intervals.get('a')!;
    const b = h.trace.intervals.get('b')!;
    const overlap = Math.min(a.end, b.end) - Math.max(a.start, b.start);
    expect(overlap).toBeGreaterThan(150);
    // Run one after the other they could not overlap at all, and would take at least 400 ms.
    expect(elapsed).toBeLessThan(1500);
    expect(steps[2]!.output).toEqual({ text: 'AB' });
  });

  it('skips a step whose condition is false, and its dependants, but runs a join after a branch', async () => {
    const h = await harness();
    const { run, steps } = await runOnce(
      h,
      [
        { id: 'check', type: 'echo', input: { count: '{{ trigger.amount }}' } },
        {
          id: 'big',
          type: 'echo',
          dependsOn: ['check'],
          when: 'steps.check.count > 100',
          input: { text: 'big' },
        },
        { id: 'afterBig', type: 'echo', dependsOn: ['big'], input: { text: 'x' } },
        {
          id: 'small',
          type: 'echo',
          dependsOn: ['check'],
          when: 'steps.check.count <= 100',
          input: { text: 'small' },
        },
        { id: 'join', type: 'echo', dependsOn: ['big', 'small'], input: { text: '{{ steps.small.text }}' } },
      ],
      { amount: 42 },
    );
    expect(run.status).toBe('succeeded');
    expect(statuses(steps)).toEqual({
      check: 'succeeded',
      big: 'skipped',
      afterBig: 'skipped',
      small: 'succeeded',
      join: 'succeeded',
    });
    expect(steps[4]!.output).toEqual({ text: 'small' });
  });

  it('announces every transition after storing it', async () => {
    const h = await harness();
    const seen: Promise<void>[] = [];
    h.bus.subscribe((event) => {
      if (event.type !== 'workflow.step.updated') return;
      const { runId, step } = event.payload;
      seen.push(
        h.store.workflows.listSteps(runId).then((stored) => {
          const now = stored.find((record) => record.stepId === step.stepId)!;
          // Stored no later than announced: the stored record is this one or a newer one.
          expect(now.updatedAt >= step.updatedAt).toBe(true);
        }),
      );
    });
    const { run } = await runOnce(h, [
      { id: 'one', type: 'echo', input: { text: 'a' } },
      { id: 'two', type: 'echo', input: { text: 'b' } },
    ]);
    await Promise.all(seen);
    const runEvents = h.events.filter((event) => event.type === 'workflow.run.updated');
    expect(runEvents.map((event) => (event.payload as { run: { status: string } }).run.status)).toEqual([
      'pending',
      'running',
      'succeeded',
    ]);
    const stepEvents = h.events.filter((event) => event.type === 'workflow.step.updated');
    expect(stepEvents.length).toBe(4);
    expect(run.status).toBe('succeeded');
  });
});

describe('WorkflowEngine failures', () => {
  it('retries with exponential backoff until a try succeeds', async () => {
    const h = await harness();
    const { run, steps } = await runOnce(h, [
      { id: 'flaky', type: 'fail', input: { times: 2 }, retry: { attempts: 3, backoffMs: 50, factor: 2 } },
    ]);
    expect(run.status).toBe('succeeded');
    expect(steps[0]!.attempts).toBe(3);
    const tries = h.trace.attempts.get('flaky')!;
    const gaps = tries.slice(1).map((at, index) => at - tries[index]!);
    expect(gaps[0]).toBeGreaterThanOrEqual(48);
    // Upper bounds leave room for a busy machine; the lower bounds show the policy is kept.
    expect(gaps[0]).toBeLessThan(50 + 200);
    expect(gaps[1]).toBeGreaterThanOrEqual(98);
    expect(gaps[1]).toBeLessThan(100 + 200);
  });

  it('keeps jittered waits within [delay / 2, delay] and caps them at maxBackoffMs', async () => {
    const h = await harness();
    const { run, steps } = await runOnce(h, [
      {
        id: 'flaky',
        type: 'fail',
        input: { times: 3 },
        retry: { attempts: 4, backoffMs: 80, factor: 3, maxBackoffMs: 120, jitter: true },
      },
    ]);
    expect(run.status).toBe('succeeded');
    expect(steps[0]!.attempts).toBe(4);
    const tries = h.trace.attempts.get('flaky')!;
    const gaps = tries.slice(1).map((at, index) => at - tries[index]!);
    // Policy delays 80, 240 → 120 (cap), 120; with jitter each in [half, full].
    expect(gaps[0]).toBeGreaterThanOrEqual(38);
    expect(gaps[0]).toBeLessThan(80 + 200);
    for (const gap of gaps.slice(1)) {
      expect(gap).toBeGreaterThanOrEqual(58);
      expect(gap).toBeLessThan(120 + 200);
    }
  });

  it('gives up after the last attempt and fails the run with the step error', async () => {
    const h = await harness();
    const { run, steps } = await runOnce(h, [
      {
        id: 'doomed',
        type: 'fail',
        input: { times: 10, code: 'ECONNRESET' },
        retry: { attempts: 2, backoffMs: 1 },
      },
      { id: 'never', type: 'echo', input: { text: 'x' } },
    ]);
    expect(run.status).toBe('failed');
    expect(run.error).toMatchObject({ stepId: 'doomed', code: 'ECONNRESET', message: 'try 2 failed' });
    expect(statuses(steps)).toEqual({ doomed: 'failed', never: 'cancelled' });
    expect(steps[0]!.attempts).toBe(2);
  });

  it('retries only the errors listed in retryOn', async () => {
    const h = await harness();
    const listed = await runOnce(h, [
      {
        id: 'busy',
        type: 'fail',
        input: { times: 1, code: 'EBUSY' },
        retry: { attempts: 3, backoffMs: 1, retryOn: ['EBUSY', 'timeout'] },
      },
    ]);
    expect(listed.run.status).toBe('succeeded');
    const other = await runOnce(h, [
      {
        id: 'denied',
        type: 'fail',
        input: { times: 1, code: 'EACCES' },
        retry: { attempts: 3, backoffMs: 1, retryOn: ['EBUSY'] },
      },
    ]);
    expect(other.run.status).toBe('failed');
    expect(other.steps[0]!.attempts).toBe(1);
  });

  it('fails a step whose input breaks its schema, naming the field, without retrying', async () => {
    const h = await harness();
    const { run, steps } = await runOnce(
      h,
      [
        {
          id: 'bad',
          type: 'wait',
          input: { ms: '{{ trigger.label }}' },
          retry: { attempts: 3, backoffMs: 1 },
        },
      ],
      { label: 'soon' },
    );
    expect(run.status).toBe('failed');
    expect(steps[0]!.error?.name).toBe('ValidationError');
    expect(steps[0]!.error?.issues?.[0]?.path).toEqual(['ms']);
    expect(h.trace.intervals.size).toBe(0);
  });

  it('times a step out, also one that ignores its signal', async () => {
    const h = await harness();
    const started = performance.now();
    const { run, steps } = await runOnce(h, [
      { id: 'slow', type: 'wait', input: { ms: 5000 }, timeoutMs: 100, onError: 'continue' },
      {
        id: 'deaf',
        type: 'stubborn',
        dependsOn: [],
        input: { ms: 5000 },
        timeoutMs: 100,
        onError: 'continue',
      },
    ]);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(run.status).toBe('succeeded');
    expect(statuses(steps)).toEqual({ slow: 'failed', deaf: 'failed' });
    expect(steps[0]!.error).toMatchObject({ name: 'StepTimeoutError', code: 'timeout' });
    expect(h.trace.aborted.has('slow')).toBe(true);
    expect(steps[1]!.error?.code).toBe('timeout');
  });

  it('passes over a failed step with onError continue', async () => {
    const h = await harness();
    const { run, steps } = await runOnce(h, [
      { id: 'optional', type: 'fail', input: { times: 5 }, onError: 'continue' },
      { id: 'next', type: 'echo', input: { value: '{{ steps.optional }}' } },
    ]);
    expect(run.status).toBe('succeeded');
    expect(statuses(steps)).toEqual({ optional: 'failed', next: 'succeeded' });
    expect(steps[1]!.output).toEqual({ value: null });
  });

  it('runs a fallback whose output stands in for the failed step', async () => {
    const h = await harness();
    const { run, steps } = await runOnce(h, [
      { id: 'fetch', type: 'fail', input: { times: 5 }, onError: { fallback: 'cached' } },
      { id: 'cached', type: 'echo', input: { text: 'from cache' } },
      { id: 'use', type: 'echo', dependsOn: ['fetch'], input: { text: 'got {{ steps.fetch.text }}' } },
      { id: 'spare', type: 'echo', onError: { fallback: 'unused' }, dependsOn: [], input: { text: 'fine' } },
      { id: 'unused', type: 'echo', input: { text: 'never' } },
    ]);
    expect(run.status).toBe('succeeded');
    expect(statuses(steps)).toEqual({
      fetch: 'failed',
      cached: 'succeeded',
      use: 'succeeded',
      spare: 'succeeded',
      unused: 'skipped',
    });
    expect(steps[2]!.output).toEqual({ text: 'got from cache' });
  });

  it('cancels a run: running steps are aborted, the rest never start', async () => {
    const h = await harness();
    await h.workflows.define(
      {
        id: 'long',
        name: 'Long',
        steps: [
          { id: 'slow', type: 'wait', input: { ms: 5000 } },
          { id: 'later', type: 'echo', input: { text: 'x' } },
        ],
      },
      h.actorId,
    );
    const started = await h.workflows.start('long', { actorId: h.actorId });
    await waitFor(async () => (await h.workflows.getRun(started.id))?.steps[0]?.status === 'running');
    const stranger = await h.engine.createUser({ username: 'stranger' });
    await expect(h.workflows.cancel(started.id, stranger.id)).rejects.toBeInstanceOf(ForbiddenError);
    const cancelled = await h.workflows.cancel(started.id, h.actorId);
    expect(cancelled.status).toBe('cancelled');
    const { steps } = await h.workflows.waitForRun(started.id, { timeoutMs: 2000 });
    expect(statuses(steps)).toEqual({ slow: 'cancelled', later: 'cancelled' });
    expect(h.trace.aborted.has('slow')).toBe(true);
    // Cancelling again is a no-op.
    expect((await h.workflows.cancel(started.id, h.actorId)).status).toBe('cancelled');
  });

  it('rejects unknown workflows, actors and invalid definitions with typed errors', async () => {
    const h = await harness();
    await expect(h.workflows.start('missing', { actorId: h.actorId })).rejects.toBeInstanceOf(NotFoundError);
    await expect(
      h.workflows.define(
        { id: 'ok', name: 'x', steps: [{ id: 'a', type: 'echo' }] },
        '01JDQ6R0Q7ZK4M3B8Y2V5N1C9X',
      ),
    ).rejects.toBeInstanceOf(NotFoundError);
    const error = await h.workflows
      .define({ id: 'bad', name: 'x', steps: [{ id: 'a', type: 'nope' }] }, h.actorId)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues).toEqual([
      { path: ['steps[0].type'], message: 'unknown step type "nope"' },
    ]);
  });

  it('versions definitions; a run keeps the version it started with', async () => {
    const h = await harness();
    const first = await h.workflows.define(
      { id: 'v', name: 'One', steps: [{ id: 'a', type: 'echo' }] },
      h.actorId,
    );
    const second = await h.workflows.define(
      { id: 'v', name: 'Two', steps: [{ id: 'b', type: 'echo' }] },
      h.actorId,
    );
    expect([first.version, second.version]).toEqual([1, 2]);
    const run = await h.workflows.start('v', { actorId: h.actorId });
    expect(run.workflowVersion).toBe(2);
    expect((await h.workflows.listDefinitions()).map((record) => [record.id, record.version])).toEqual([
      ['v', 2],
    ]);
    await h.workflows.waitForRun(run.id);
    expect((await h.workflows.listRuns({ workflowId: 'v', status: 'succeeded', limit: 10 })).length).toBe(1);
  });
});

describe('WorkflowEngine durability', () => {
  it('resumes a run left by a closed engine without re-running finished steps', async () => {
    const h = await harness({ instanceId: 'first' });
    let calls = 0;
    const counting = defineStepType({
      type: 'count',
      description: 'Counts its calls',
      input: z.object({}),
      run: async () => ({ call: ++calls }),
    });
    h.workflows.register(counting);
    await h.workflows.define(
      {
        id: 'resume',
        name: 'Resume',
        steps: [
          { id: 'one', type: 'count' },
          { id: 'two', type: 'wait', input: { ms: 5000 } },
          { id: 'three', type: 'echo', input: { value: '{{ steps.one.call }}' } },
        ],
      },
      h.actorId,
    );
    const run = await h.workflows.start('resume', { actorId: h.actorId });
    await waitFor(async () => (await h.workflows.getRun(run.id))?.steps[1]?.status === 'running');
    await h.workflows.close();
    const left = await h.workflows.getRun(run.id);
    expect(left?.run.status).toBe('running');
    expect(left?.run.claimedBy).toBeNull();

    // A second engine on the same store, with a quicker `wait` so the test stays short.
    const trace: Trace = { intervals: new Map(), attempts: new Map(), aborted: new Set() };
    const quick = stepTypes(trace).map((stepType) =>
      stepType.type === 'wait' ? { ...stepType, run: async () => ({ value: 'quick' }) } : stepType,
    );
    const second = new WorkflowEngine({
      store: h.store,
      bus: h.bus,
      services: { chat: h.engine, store: h.store },
      steps: [...quick, counting],
      instanceId: 'second',
    });
    open.push(() => second.close());
    expect(await second.resumeUnfinished()).toBe(1);
    const { run: finished, steps } = await second.waitForRun(run.id);
    expect(finished.status).toBe('succeeded');
    expect(calls).toBe(1);
    expect(steps[1]!.attempts).toBe(2);
    expect(steps[2]!.output).toEqual({ value: 1 });
  });

  it('takes over runs nobody holds on its own when resumeEveryMs is set', async () => {
    const h = await harness();
    await h.workflows.define(
      { id: 'orphan', name: 'Orphan', steps: [{ id: 'a', type: 'wait', input: { ms: 5000 } }] },
      h.actorId,
    );
    const run = await h.workflows.start('orphan', { actorId: h.actorId });
    await waitFor(async () => (await h.workflows.getRun(run.id))?.steps[0]?.status === 'running');
    await h.workflows.close();
    const quick = stepTypes(h.trace).map((stepType) =>
      stepType.type === 'wait' ? { ...stepType, run: async () => ({ value: 'quick' }) } : stepType,
    );
    const watcher = new WorkflowEngine({
      store: h.store,
      bus: h.bus,
      services: { chat: h.engine, store: h.store },
      steps: quick,
      resumeEveryMs: 20,
    });
    open.push(() => watcher.close());
    await waitFor(async () => (await watcher.getRun(run.id))?.run.status === 'succeeded');
  });

  it('does not resume a run another live engine holds', async () => {
    const h = await harness({ leaseMs: 60_000 });
    await h.workflows.define(
      { id: 'held', name: 'Held', steps: [{ id: 'a', type: 'wait', input: { ms: 300 } }] },
      h.actorId,
    );
    const run = await h.workflows.start('held', { actorId: h.actorId });
    const other = new WorkflowEngine({
      store: h.store,
      bus: h.bus,
      services: { chat: h.engine, store: h.store },
      steps: stepTypes(h.trace),
    });
    open.push(() => other.close());
    expect(await other.resumeUnfinished()).toBe(0);
    // The other engine can still wait for it: it watches the store.
    expect((await other.waitForRun(run.id, { timeoutMs: 5000 })).run.status).toBe('succeeded');
  });
});

describe('WorkflowEngine across engines', () => {
  it('stops a run cancelled by another engine at its next claim renewal', async () => {
    const h = await harness({ leaseMs: 90 });
    await h.workflows.define(
      { id: 'remote', name: 'Remote', steps: [{ id: 'slow', type: 'wait', input: { ms: 5000 } }] },
      h.actorId,
    );
    const run = await h.workflows.start('remote', { actorId: h.actorId });
    await waitFor(async () => (await h.workflows.getRun(run.id))?.steps[0]?.status === 'running');
    const other = new WorkflowEngine({
      store: h.store,
      bus: h.bus,
      services: { chat: h.engine, store: h.store },
      steps: stepTypes(h.trace),
    });
    open.push(() => other.close());
    const started = performance.now();
    expect((await other.cancel(run.id, h.actorId)).status).toBe('cancelled');
    const { run: finished, steps } = await h.workflows.waitForRun(run.id, { timeoutMs: 2000 });
    expect(performance.now() - started).toBeLessThan(3000);
    expect(finished.status).toBe('cancelled');
    expect(steps[0]!.status).toBe('cancelled');
    await waitFor(async () => h.trace.aborted.has('slow'));
  });

  it('fails a step whose output is not JSON or too large', async () => {
    const h = await harness();
    h.workflows.register(
      defineStepType({
        type: 'huge',
        description: 'Returns two megabytes',
        input: z.object({}),
        run: async () => ({ data: 'x'.repeat(2 * 1024 * 1024) }),
      }),
    );
    const { run, steps } = await runOnce(h, [{ id: 'big', type: 'huge' }]);
    expect(run.status).toBe('failed');
    expect(steps[0]!.error).toMatchObject({ name: 'ValidationError', issues: [{ path: ['output'] }] });
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
