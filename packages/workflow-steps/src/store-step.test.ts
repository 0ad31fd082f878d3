import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ForbiddenError, type Project, ValidationError } from '@kaiwa/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeStep, ticketKey } from './store-step.js';
import { openStepHarness, runStep, type StepHarness } from './test-support/step-harness.js';

let harness: StepHarness;
let project: Project;

beforeAll(async () => {
  harness = await openStepHarness();
  project = await harness.engine.createProject(harness.admin.id, { name: 'Accounts payable' });
});
afterAll(async () => {
  await harness?.close();
});

async function readAll(key: string): Promise<Buffer> {
  return Buffer.from(await new Response(await harness.blobs.get(key)).arrayBuffer());
}

describe('store step', () => {
  it('creates and updates tickets through the engine, as the actor', async () => {
    const context = harness.context();
    const created = await runStep(
      storeStep,
      {
        action: 'ticket.create',
        projectId: project.id,
        title: 'Pay INV-1',
        labels: ['invoice', 'invoice'],
        dueDate: '2026-12-01',
      },
      context,
    );
    if (created.action === 'file') throw new Error('expected a ticket');
    expect(created.ticket).toMatchObject({
      title: 'Pay INV-1',
      labels: ['invoice', ticketKey(context.runId, context.stepId)],
      reporterId: harness.admin.id,
      dueDate: '2026-12-01',
    });
    expect(await harness.engine.getTicket(harness.admin.id, created.ticketId)).toEqual(created.ticket);

    const updated = await runStep(
      storeStep,
      { action: 'ticket.update', ticketId: created.ticketId, patch: { status: 'done' } },
      harness.context(),
    );
    expect(updated).toMatchObject({
      action: 'ticket.update',
      ticketId: created.ticketId,
      ticket: { status: 'done' },
    });
  });

  it('creates one ticket however often the same step of the same run runs', async () => {
    const input = { action: 'ticket.create', projectId: project.id, title: 'Pay INV-2', labels: ['invoice'] };
    const context = harness.context({ stepId: 'ticket' });
    const first = await runStep(storeStep, input, context);
    const retried = await runStep(storeStep, input, { ...context, attempt: 2 });
    const resumed = await runStep(storeStep, input, { ...context, attempt: 1 });
    expect(retried).toEqual(first);
    expect(resumed).toEqual(first);
    const other = await runStep(storeStep, input, { ...context, stepId: 'second-ticket' });
    const nextRun = await runStep(storeStep, input, harness.context({ stepId: 'ticket' }));
    const ids = new Set([first, other, nextRun].map((output) => (output as { ticketId: string }).ticketId));
    expect(ids.size).toBe(3);
    const titled = (await harness.engine.listTickets(harness.admin.id, { projectId: project.id })).filter(
      (ticket) => ticket.title === 'Pay INV-2',
    );
    expect(titled).toHaveLength(3);
  });

  it('keeps one of the 20 labels for its key, and ignores a lookalike ticket of someone else', async () => {
    const labels = Array.from({ length: 20 }, (_, index) => `l${index}`);
    await expect(
      runStep(
        storeStep,
        { action: 'ticket.create', projectId: project.id, title: 'x', labels },
        harness.context(),
      ),
    ).rejects.toMatchObject({ issues: [expect.objectContaining({ path: ['labels'] })] });

    const context = harness.context({ stepId: 'planted' });
    const planted = await harness.engine.createTicket(harness.admin.id, {
      projectId: project.id,
      title: 'planted',
      labels: [ticketKey(context.runId, 'planted')],
    });
    // Same key, but reported by another user than the run's actor: not the step's ticket.
    const actor = await harness.engine.createUser({ username: 'actor', role: 'admin' });
    const output = await runStep(
      storeStep,
      { action: 'ticket.create', projectId: project.id, title: 'real' },
      { ...context, actorId: actor.id },
    );
    expect((output as { ticketId: string }).ticketId).not.toBe(planted.id);
    expect(output).toMatchObject({ ticket: { title: 'real', reporterId: actor.id } });
  });

  it('applies the engine permissions: a guest cannot create tickets', async () => {
    const guest = await harness.engine.createUser({ username: 'guest', role: 'guest' });
    await expect(
      runStep(
        storeStep,
        { action: 'ticket.create', projectId: project.id, title: 'x' },
        harness.context({ actorId: guest.id }),
      ),
    ).rejects.toBeInstanceOf(ForbiddenError);
  });

  it('saves text as a blob with its file record', async () => {
    const output = await runStep(
      storeStep,
      { action: 'file', name: 'summary.txt', text: 'Invoice 請求書 INV-1', projectId: project.id },
      harness.context(),
    );
    if (output.action !== 'file') throw new Error('expected a file');
    const bytes = Buffer.from('Invoice 請求書 INV-1', 'utf8');
    expect(output.file).toMatchObject({
      name: 'summary.txt',
      mimeType: 'text/plain',
      size: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      projectId: project.id,
    });
    expect(await readAll(output.file.storageKey)).toEqual(bytes);
  });

  it('copies the bytes of an earlier blob', async () => {
    await harness.blobs.put('uploads/scan.png', Buffer.from('not really a png'));
    const output = await runStep(
      storeStep,
      {
        action: 'file',
        name: 'scan.png',
        mimeType: 'image/png',
        key: 'uploads/scan.png',
        projectId: project.id,
      },
      harness.context(),
    );
    if (output.action !== 'file') throw new Error('expected a file');
    expect(output.file.storageKey).not.toBe('uploads/scan.png');
    expect((await readAll(output.file.storageKey)).toString()).toBe('not really a png');
  });

  it('leaves no blob behind when the record is refused', async () => {
    const context = harness.context();
    const error = await runStep(
      storeStep,
      { action: 'file', name: 'x.txt', text: 'x', projectId: '01JDQ6R0Q7ZK4M3B8Y2V5N1C9X' },
      context,
    ).catch((caught: unknown) => caught);
    expect((error as ValidationError).issues[0]?.path).toEqual(['projectId']);
    // The blob was written before the record was refused, then deleted: nothing under the run's folder.
    const left = await readdir(join(harness.blobs.directory, 'workflows', context.runId)).catch(() => []);
    expect(left.filter((name) => !name.startsWith('.'))).toEqual([]);
    await expect(
      runStep(storeStep, { action: 'file', name: 'x.txt', text: 'x' }, harness.context()),
    ).rejects.toBeInstanceOf(ValidationError);
  });
});
