import type {
  PlatformAdapter,
  PlatformCapabilities,
  PlatformMessageRef,
  PlatformOutboundMessage,
  PlatformTarget,
  Room,
} from '@kaiwa/core';
import { ForbiddenError, PlatformError, ValidationError } from '@kaiwa/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MissingServiceError } from './errors.js';
import { notifyStep } from './notify-step.js';
import { openStepHarness, runStep, type StepHarness } from './test-support/step-harness.js';

/**
 * A platform adapter that keeps what it is sent in memory: the smallest real implementation of the port,
 * standing in for Slack/Discord (whose adapters have their own tests against local servers).
 */
class MemoryPlatformAdapter implements PlatformAdapter {
  readonly platform = 'memory';
  readonly capabilities: PlatformCapabilities = {
    edit: false,
    delete: false,
    reactions: false,
    threads: true,
    uploads: false,
    customAuthor: false,
    maxTextLength: 4_000,
    maxUploadBytes: 0,
  };
  readonly self = undefined;
  readonly sent: { target: PlatformTarget; message: PlatformOutboundMessage }[] = [];
  failWith: PlatformError | undefined;

  async connect(): Promise<void> {}
  async disconnect(): Promise<void> {}
  async send(target: PlatformTarget, message: PlatformOutboundMessage): Promise<PlatformMessageRef[]> {
    if (this.failWith) throw this.failWith;
    this.sent.push({ target, message });
    return [{ ...target, messageId: `m${this.sent.length}` }];
  }
  async edit(): Promise<void> {
    throw new PlatformError(this.platform, 'unsupported', 'no edits');
  }
  async delete(): Promise<void> {
    throw new PlatformError(this.platform, 'unsupported', 'no deletes');
  }
  async react(): Promise<void> {}
  async unreact(): Promise<void> {}
}

let harness: StepHarness;
let room: Room;

beforeAll(async () => {
  harness = await openStepHarness();
  room = await harness.engine.createRoom(harness.admin.id, { kind: 'channel', name: 'invoices' });
});
afterAll(async () => {
  await harness?.close();
});

describe('notify step', () => {
  it('posts to a room as the actor, once per run and step even when retried', async () => {
    const context = harness.context({ stepId: 'tell' });
    const first = await runStep(notifyStep, { roomId: room.id, text: 'Invoice **INV-1** filed' }, context);
    const retried = await runStep(
      notifyStep,
      { roomId: room.id, text: 'Invoice **INV-1** filed' },
      { ...context, attempt: 2 },
    );
    expect(retried).toEqual(first);
    const history = await harness.engine.history(harness.admin.id, { roomId: room.id, limit: 10 });
    expect(history.messages.map((message) => message.text)).toEqual(['Invoice **INV-1** filed']);
    expect(history.messages[0]).toMatchObject({
      authorId: harness.admin.id,
      metadata: { workflowRunId: context.runId, workflowId: 'test' },
    });
  });

  it('respects room permissions', async () => {
    const outsider = await harness.engine.createUser({ username: 'outsider' });
    const secret = await harness.engine.createRoom(harness.admin.id, { kind: 'group', name: 'secret' });
    const error = await runStep(
      notifyStep,
      { roomId: secret.id, text: 'hi' },
      harness.context({ actorId: outsider.id }),
    ).catch((caught: unknown) => caught);
    expect(error instanceof ForbiddenError || (error as { code?: string }).code === 'not_found').toBe(true);
  });

  it('sends to a platform channel through its adapter', async () => {
    const adapter = new MemoryPlatformAdapter();
    const context = harness.context({
      services: { ...harness.services, platforms: new Map([['memory', adapter]]) },
    });
    const output = await runStep(
      notifyStep,
      { platform: 'memory', channelId: 'C1', threadId: 'T1', text: 'Done' },
      context,
    );
    expect(output).toEqual({
      platform: 'memory',
      channelId: 'C1',
      messages: [{ channelId: 'C1', threadId: 'T1', messageId: 'm1' }],
    });
    expect(adapter.sent).toEqual([
      { target: { channelId: 'C1', threadId: 'T1' }, message: { text: 'Done' } },
    ]);

    adapter.failWith = new PlatformError('memory', 'rate_limited', 'slow down', { retryAfterMs: 500 });
    const limited = await runStep(
      notifyStep,
      { platform: 'memory', channelId: 'C1', text: 'x' },
      context,
    ).catch((e) => e);
    expect(notifyStep.retryable?.(limited)).toBe(true);
    adapter.failWith = new PlatformError('memory', 'forbidden', 'not in channel');
    const forbidden = await runStep(
      notifyStep,
      { platform: 'memory', channelId: 'C1', text: 'x' },
      context,
    ).catch((e) => e);
    expect(notifyStep.retryable?.(forbidden)).toBe(false);

    await expect(
      runStep(notifyStep, { platform: 'slack', channelId: 'C1', text: 'x' }, context),
    ).rejects.toThrow(/platform: no platform adapter named "slack"; known: memory/);
  });

  it('checks its input', async () => {
    await expect(runStep(notifyStep, { text: 'x' }, harness.context())).rejects.toThrow(
      /either roomId or platform/,
    );
    await expect(runStep(notifyStep, { platform: 'memory', text: 'x' }, harness.context())).rejects.toThrow(
      /needs channelId/,
    );
    await expect(
      runStep(notifyStep, { roomId: room.id, text: '   ' }, harness.context()),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(
      runStep(notifyStep, { platform: 'memory', channelId: 'C', text: 'x' }, harness.context()),
    ).rejects.toBeInstanceOf(MissingServiceError);
  });
});
