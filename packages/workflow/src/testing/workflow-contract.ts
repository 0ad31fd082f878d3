import { randomBytes } from 'node:crypto';
import type { ChatStore, WorkflowRun, WorkflowStepRecord } from '@kaiwa/core';
import { ChatEngine, ConflictError, createId, InProcessBus } from '@kaiwa/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineStepType } from '../step-type.js';
import type { WorkflowDefinition } from '../workflow-definition.js';
import { WorkflowEngine } from '../workflow-engine.js';

export interface WorkflowRepositoryContractOptions {
  /** Shown in the test names, e.g. `postgres`. */
  name: string;
  /** Opens a fresh, migrated store of its own; `close()` is called at the end. */
  open: () => Promise<ChatStore>;
  /** When set, the suite is skipped and this reason printed once. */
  skip?: string;
}

/**
 * The conformance suite of `WorkflowRepository`: definitions are versioned, runs and step records
 * round-trip with their JSON, conditional updates and claims behave as the workflow engine relies on, webhook
 * deliveries are accepted once, and a rolled-back transaction leaves nothing. It ends with a short engine run
 * (parallel branches, a retry) on the store.
 *
 * @example
 * workflowRepositoryContract({ name: 'sqlite', open: () => openTestStore('sqlite') });
 */
export function workflowRepositoryContract(options: WorkflowRepositoryContractOptions): void {
  if (options.skip) {
    console.info(`[${options.name}] workflow repository suite skipped: ${options.skip}`);
    describe.skip(`WorkflowRepository contract: ${options.name}`, () => {
      it('is skipped', () => {});
    });
    return;
  }

  describe(`WorkflowRepository contract: ${options.name}`, () => {
    let store: ChatStore;
    let engine: ChatEngine;
    let actorId: string;
    const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;
    const at = (second: number) => new Date(Date.UTC(2026, 10, 25, 9, 0, second)).toISOString();
    const definition = (id: string, name = 'Invoice'): WorkflowDefinition => ({
      id,
      name,
      steps: [{ id: 'ocr', type: 'noop', input: { text: '請求書 {{ trigger.file }}' } }],
    });
    const run = (workflowId: string, patch: Partial<WorkflowRun> = {}): WorkflowRun => ({
      id: createId(),
      workflowId,
      workflowVersion: 1,
      status: 'pending',
      actorId,
      trigger: { file: 'a.png', nested: { list: [1, '二', null] } },
      error: null,
      createdAt: at(0),
      startedAt: null,
      finishedAt: null,
      updatedAt: at(0),
      claimedBy: null,
      claimedUntil: null,
      ...patch,
    });
    const step = (runId: string, stepId: string, position: number): WorkflowStepRecord => ({
      runId,
      stepId,
      position,
      type: 'noop',
      status: 'pending',
      attempts: 0,
      output: null,
      error: null,
      startedAt: null,
      finishedAt: null,
      updatedAt: at(0),
    });

    beforeAll(async () => {
      store = await options.open();
      engine = new ChatEngine({ store });
      actorId = (await engine.createUser({ username: unique('flow') })).id;
    });
    afterAll(async () => {
      engine?.close();
      await store?.close();
    });

    it('keeps every version of a definition and lists the newest of each', async () => {
      const id = unique('wf');
      const other = unique('wf');
      const base = { name: 'Invoice', createdBy: actorId, createdAt: at(1) };
      await store.workflows.insertDefinition({ ...base, id, version: 1, definition: definition(id) });
      await store.workflows.insertDefinition({
        ...base,
        id,
        version: 2,
        name: 'Invoice v2',
        definition: definition(id, 'Invoice v2'),
      });
      await store.workflows.insertDefinition({
        ...base,
        id: other,
        version: 1,
        definition: definition(other),
      });
      const error = await store.workflows
        .insertDefinition({ ...base, id, version: 2, definition: definition(id) })
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ConflictError);
      expect((error as ConflictError).field).toBe('version');

      expect((await store.workflows.findDefinition(id))?.version).toBe(2);
      expect((await store.workflows.findDefinition(id, 1))?.name).toBe('Invoice');
      expect(await store.workflows.findDefinition(id, 3)).toBeUndefined();
      expect((await store.workflows.findDefinition(id))?.definition).toEqual(definition(id, 'Invoice v2'));
      const listed = (await store.workflows.listDefinitions({ limit: 200 })).filter((record) =>
        [id, other].includes(record.id),
      );
      expect(listed.map((record) => [record.id, record.version])).toEqual(
        [
          [id, 2],
          [other, 1],
        ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
      );
      const first = [id, other].sort()[0]!;
      const after = await store.workflows.listDefinitions({ after: first, limit: 200 });
      expect(after.some((record) => record.id === first)).toBe(false);
    });

    it('stores runs and steps with their JSON, in a transaction that rolls back whole', async () => {
      const workflowId = unique('wf');
      const stored = run(workflowId);
      await store.transaction(async (tx) => {
        await tx.workflows.insertRun(stored);
        await tx.workflows.insertSteps([step(stored.id, 'b', 1), step(stored.id, 'a', 0)]);
      });
      expect(await store.workflows.findRun(stored.id)).toEqual(stored);
      expect((await store.workflows.listSteps(stored.id)).map((record) => record.stepId)).toEqual(['a', 'b']);
      const duplicate = await store.workflows.insertRun(stored).catch((caught: unknown) => caught);
      expect(duplicate).toBeInstanceOf(ConflictError);

      const output = { text: 'ｶﾅ 😀 \u0000?', amount: 12.5, items: [{ ok: true }], none: null };
      await store.workflows.updateStep(stored.id, 'a', {
        status: 'succeeded',
        attempts: 2,
        output,
        error: { name: 'Error', message: 'first try failed', code: 'ECONNRESET' },
        startedAt: at(2),
        finishedAt: at(3),
        updatedAt: at(3),
      });
      const [a] = await store.workflows.listSteps(stored.id);
      expect(a).toEqual({
        ...step(stored.id, 'a', 0),
        status: 'succeeded',
        attempts: 2,
        output,
        error: { name: 'Error', message: 'first try failed', code: 'ECONNRESET' },
        startedAt: at(2),
        finishedAt: at(3),
        updatedAt: at(3),
      });

      const rolledBack = run(workflowId);
      await store
        .transaction(async (tx) => {
          await tx.workflows.insertRun(rolledBack);
          await tx.workflows.insertSteps([step(rolledBack.id, 'a', 0)]);
          throw new Error('abort');
        })
        .catch(() => undefined);
      expect(await store.workflows.findRun(rolledBack.id)).toBeUndefined();
      expect(await store.workflows.listSteps(rolledBack.id)).toEqual([]);
    });

    it('lists runs by workflow and status, in id order with a cursor', async () => {
      const workflowId = unique('wf');
      const runs = [
        run(workflowId),
        run(workflowId, { status: 'running' }),
        run(workflowId, { status: 'failed' }),
        run(unique('wf')),
      ];
      for (const each of runs) await store.workflows.insertRun(each);
      const all = await store.workflows.listRuns({ workflowId, limit: 10 });
      expect(all.map((each) => each.id)).toEqual(runs.slice(0, 3).map((each) => each.id));
      const unfinished = await store.workflows.listRuns({
        workflowId,
        status: ['pending', 'running'],
        limit: 10,
      });
      expect(unfinished.map((each) => each.status)).toEqual(['pending', 'running']);
      expect((await store.workflows.listRuns({ workflowId, status: 'failed', limit: 10 })).length).toBe(1);
      expect((await store.workflows.listRuns({ workflowId, actorId, limit: 10 })).length).toBe(3);
      expect(await store.workflows.listRuns({ workflowId, actorId: createId(), limit: 10 })).toEqual([]);
      const page = await store.workflows.listRuns({ workflowId, after: runs[0]!.id, limit: 1 });
      expect(page.map((each) => each.id)).toEqual([runs[1]!.id]);
    });

    it('updates a run only while its status allows', async () => {
      const stored = run(unique('wf'), { status: 'running' });
      await store.workflows.insertRun(stored);
      const finished = await store.workflows.updateRun(
        stored.id,
        { status: 'succeeded', finishedAt: at(5), updatedAt: at(5) },
        { onlyIf: ['pending', 'running'] },
      );
      expect(finished).toBe(true);
      const cancelled = await store.workflows.updateRun(
        stored.id,
        { status: 'cancelled', error: { name: 'Cancelled', message: 'by user' } },
        { onlyIf: ['pending', 'running'] },
      );
      expect(cancelled).toBe(false);
      const again = await store.workflows.findRun(stored.id);
      expect(again?.status).toBe('succeeded');
      expect(again?.error).toBeNull();
      expect(await store.workflows.updateRun(createId(), { status: 'failed' })).toBe(false);
    });

    it('lets one owner at a time claim an unfinished run', async () => {
      const stored = run(unique('wf'), { status: 'running' });
      await store.workflows.insertRun(stored);
      expect(await store.workflows.claimRun(stored.id, 'engine-a', at(30), at(0))).toBe(true);
      expect(await store.workflows.claimRun(stored.id, 'engine-b', at(30), at(10))).toBe(false);
      // The holder renews, also with the same deadline.
      expect(await store.workflows.claimRun(stored.id, 'engine-a', at(30), at(10))).toBe(true);
      // An expired claim can be taken over.
      expect(await store.workflows.claimRun(stored.id, 'engine-b', at(50), at(31))).toBe(true);
      expect((await store.workflows.findRun(stored.id))?.claimedBy).toBe('engine-b');
      await store.workflows.updateRun(stored.id, { status: 'succeeded' });
      expect(await store.workflows.claimRun(stored.id, 'engine-b', at(59), at(40))).toBe(false);
    });

    it('accepts a webhook delivery once and prunes old ones', async () => {
      const workflowId = unique('wf');
      expect(await store.workflows.recordWebhookDelivery(workflowId, 'd-1', at(1))).toBe(true);
      expect(await store.workflows.recordWebhookDelivery(workflowId, 'd-1', at(2))).toBe(false);
      expect(await store.workflows.recordWebhookDelivery(workflowId, 'd-2', at(3))).toBe(true);
      expect(await store.workflows.recordWebhookDelivery(unique('wf'), 'd-1', at(3))).toBe(true);
      // A duplicate inside a transaction leaves the transaction usable.
      await store.transaction(async (tx) => {
        expect(await tx.workflows.recordWebhookDelivery(workflowId, 'd-2', at(4))).toBe(false);
        expect(await tx.workflows.recordWebhookDelivery(workflowId, 'd-3', at(4))).toBe(true);
      });
      expect(await store.workflows.pruneWebhookDeliveries(at(2))).toBeGreaterThanOrEqual(1);
      expect(await store.workflows.recordWebhookDelivery(workflowId, 'd-1', at(5))).toBe(true);
    });

    it('runs a workflow end to end with parallel branches and a retry', async () => {
      let failures = 1;
      const workflows = new WorkflowEngine({
        store,
        bus: new InProcessBus(),
        services: { chat: engine, store },
        steps: [
          defineStepType({
            type: 'noop',
            description: 'Echoes its text after a short wait',
            input: z.object({ text: z.string() }),
            run: async ({ text }) => {
              await new Promise((resolve) => setTimeout(resolve, 20));
              return { text };
            },
          }),
          defineStepType({
            type: 'flaky',
            description: 'Fails once',
            input: z.object({}),
            run: async () => {
              if (failures-- > 0) throw new Error('flaky');
              return { ok: true };
            },
          }),
        ],
      });
      try {
        const id = unique('wf');
        await workflows.define(
          {
            id,
            name: 'End to end',
            steps: [
              { id: 'left', type: 'noop', dependsOn: [], input: { text: 'L {{ trigger.n }}' } },
              { id: 'right', type: 'flaky', dependsOn: [], retry: { attempts: 3, backoffMs: 5 } },
              {
                id: 'join',
                type: 'noop',
                dependsOn: ['left', 'right'],
                input: { text: '{{ steps.left.text }}+{{ steps.right.ok }}' },
              },
            ],
          },
          actorId,
        );
        const started = await workflows.start(id, { actorId, trigger: { n: 7 } });
        const { run: finished, steps } = await workflows.waitForRun(started.id, { timeoutMs: 10_000 });
        expect(finished.status).toBe('succeeded');
        expect(steps.map((record) => [record.stepId, record.status, record.attempts])).toEqual([
          ['left', 'succeeded', 1],
          ['right', 'succeeded', 2],
          ['join', 'succeeded', 1],
        ]);
        expect(steps[2]!.output).toEqual({ text: 'L 7+true' });
      } finally {
        await workflows.close();
      }
    });
  });
}
