/*
 * Child process of the crash test (crash-resume.test.ts), run with `node --import tsx`:
 *   crash-child.ts start  <db file> <side-effects file>   defines and starts the workflow, then idles until killed
 *   crash-child.ts resume <db file> <side-effects file>   resumes unfinished runs and prints the finished run
 * Each step appends "<runId> <stepId>" to the side-effects file when it starts, then takes a while.
 */
import { appendFileSync } from 'node:fs';
import { ChatEngine, InProcessBus } from '@kaiwa/core';
import { createSqliteStore } from '@kaiwa/store-kysely';
import { z } from 'zod';
import { defineStepType } from '../step-type.js';
import { WorkflowEngine } from '../workflow-engine.js';

const [mode, filename, sideEffects] = process.argv.slice(2) as [string, string, string];
const LEASE_MS = 400;

const append = defineStepType({
  type: 'append',
  description: 'Appends a line to the side-effects file, then waits',
  input: z.object({ ms: z.number(), previous: z.unknown().optional() }),
  run: async ({ ms }, context) => {
    appendFileSync(sideEffects, `${context.runId} ${context.stepId}\n`);
    await new Promise((resolve) => setTimeout(resolve, ms));
    return { step: context.stepId, pid: process.pid };
  },
});

const store = await createSqliteStore({ filename });
await store.migrate();
const bus = new InProcessBus();
const engine = new ChatEngine({ store, bus });
const workflows = new WorkflowEngine({
  store,
  bus,
  services: { chat: engine, store },
  steps: [append],
  leaseMs: LEASE_MS,
  instanceId: `${mode}-${process.pid}`,
});

if (mode === 'start') {
  const user = await engine.createUser({ username: 'crash' });
  await workflows.define(
    {
      id: 'crash',
      name: 'Crash',
      steps: [
        { id: 's1', type: 'append', input: { ms: 50 } },
        { id: 's2', type: 'append', input: { ms: 50, previous: '{{ steps.s1 }}' } },
        { id: 's3', type: 'append', input: { ms: 400, previous: '{{ steps.s2 }}' } },
        { id: 's4', type: 'append', input: { ms: 50, previous: '{{ steps.s3 }}' } },
      ],
    },
    user.id,
  );
  const run = await workflows.start('crash', { actorId: user.id });
  process.stdout.write(`${JSON.stringify({ runId: run.id })}\n`);
  // Idle until the parent kills this process.
  setInterval(() => {}, 1000);
} else {
  // The killed process's claim runs out after LEASE_MS; until then the run is not ours to take.
  const deadline = Date.now() + 10_000;
  let resumed = 0;
  while (resumed === 0 && Date.now() < deadline) {
    resumed = await workflows.resumeUnfinished();
    if (resumed === 0) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const [run] = await workflows.listRuns({ workflowId: 'crash', limit: 1 });
  const details = await workflows.waitForRun(run!.id, { timeoutMs: 10_000 });
  process.stdout.write(`${JSON.stringify({ resumed, ...details })}\n`);
  await workflows.close();
  engine.close();
  await store.close();
}
