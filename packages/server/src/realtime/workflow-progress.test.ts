import { createId, InProcessBus, type WorkflowStepRecord } from '@kaiwa/core';
import { defineStepType, WorkflowEngine } from '@kaiwa/workflow';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type Chat, type Frame, openChat, type Served, serve, sleep, TestClient } from './test-support.js';

/*
 * Workflow progress over the WebSocket: the bus's `workflow.run.updated` / `workflow.step.updated` events
 * reach the run's actor and admins (real engine, real store, real sockets), nobody else.
 */

const echoStep = defineStepType({
  type: 'test.echo',
  description: 'returns its input',
  input: z.object({ value: z.unknown() }),
  run: async (input) => input,
});

const definition = {
  id: 'two-steps',
  name: 'Two steps',
  steps: [
    { id: 'first', type: 'test.echo', input: { value: 1 } },
    { id: 'second', type: 'test.echo', input: { value: '{{ steps.first.value }}' } },
  ],
};

describe('realtime: workflow progress', () => {
  let chat: Chat;
  let served: Served | undefined;
  let workflows: WorkflowEngine;
  let bus: InProcessBus;

  beforeEach(async () => {
    bus = new InProcessBus();
    chat = await openChat({ bus });
    const admin = await chat.engine.createUser({ username: 'dana', role: 'admin' });
    chat.tokens.set('token-dana', admin);
    workflows = new WorkflowEngine({
      store: chat.store,
      bus,
      services: { chat: chat.engine, store: chat.store },
      steps: [echoStep],
    });
    await workflows.define(definition, admin.id);
  });

  afterEach(async () => {
    await workflows.close();
    await served?.stop();
    served = undefined;
    await chat.close();
  });

  const isFinal = (frame: Frame) =>
    frame.type === 'workflow.run.updated' && (frame.run as { status: string }).status === 'succeeded';

  it('sends run and step updates to the actor and to admins, not to other members', async () => {
    served = await serve(chat);
    const alice = await TestClient.as(served.url, 'token-alice');
    const dana = await TestClient.as(served.url, 'token-dana');
    const bob = await TestClient.as(served.url, 'token-bob');

    const run = await workflows.start('two-steps', { actorId: chat.alice.id });
    const final = await alice.waitFor(isFinal);
    await dana.waitFor(isFinal);
    await sleep(50);

    expect(final).toEqual({
      type: 'workflow.run.updated',
      run: expect.objectContaining({ id: run.id, workflowId: 'two-steps', actorId: chat.alice.id }),
    });
    // The engine's claim is internal, as in the REST API.
    expect(final.run).not.toHaveProperty('claimedBy');
    const steps = alice.frames.filter((frame) => frame.type === 'workflow.step.updated');
    const second = steps.findLast((frame) => (frame.step as { stepId: string }).stepId === 'second');
    expect(second).toEqual({
      type: 'workflow.step.updated',
      runId: run.id,
      step: expect.objectContaining({ stepId: 'second', status: 'succeeded', output: { value: 1 } }),
    });
    expect(second?.step).not.toHaveProperty('runId');
    // Every step reported succeeded before the run did.
    const finalIndex = alice.frames.indexOf(final);
    for (const stepId of ['first', 'second']) {
      const succeeded = alice.frames.findIndex(
        (frame) =>
          frame.type === 'workflow.step.updated' &&
          (frame.step as WorkflowStepRecord).stepId === stepId &&
          (frame.step as WorkflowStepRecord).status === 'succeeded',
      );
      expect(succeeded).toBeGreaterThan(-1);
      expect(succeeded).toBeLessThan(finalIndex);
    }
    const progress = (frames: Frame[]) =>
      frames.filter((frame) => frame.type.startsWith('workflow.')).map((frame) => JSON.stringify(frame));
    expect(progress(dana.frames)).toEqual(progress(alice.frames));
    expect(progress(bob.frames)).toEqual([]);
  });

  it('finds the actor of a run it has not seen start, in the store; an unknown run goes to admins only', async () => {
    const run = await workflows.start('two-steps', { actorId: chat.alice.id });
    const { steps } = await workflows.waitForRun(run.id, { timeoutMs: 5_000 });
    // The realtime server starts after the run, as another instance would: it never saw the run's events.
    served = await serve(chat);
    const alice = await TestClient.as(served.url, 'token-alice');
    const dana = await TestClient.as(served.url, 'token-dana');
    const bob = await TestClient.as(served.url, 'token-bob');

    const step = steps[0]!;
    await bus.publish({ type: 'workflow.step.updated', payload: { runId: run.id, step } });
    const unknownRunId = createId();
    await bus.publish({
      type: 'workflow.step.updated',
      payload: { runId: unknownRunId, step: { ...step, runId: unknownRunId } },
    });
    const seen = await alice.waitFor((frame) => frame.type === 'workflow.step.updated');
    expect(seen).toMatchObject({ runId: run.id, step: { stepId: 'first', status: 'succeeded' } });
    await dana.waitFor((frame) => frame.runId === unknownRunId);
    await sleep(50);
    expect(alice.frames.filter((frame) => frame.type === 'workflow.step.updated')).toHaveLength(1);
    expect(dana.frames.filter((frame) => frame.type === 'workflow.step.updated').map((f) => f.runId)).toEqual(
      [run.id, unknownRunId],
    );
    expect(bob.frames.some((frame) => frame.type.startsWith('workflow.'))).toBe(false);
  });
});
