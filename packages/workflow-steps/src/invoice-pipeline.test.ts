import type { Project, Room } from '@kaiwa/core';
import { parseWorkflowDefinition, WorkflowEngine } from '@kaiwa/workflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtInStepTypes } from './built-in-step-types.js';
import { createOcrStep, type OcrStep } from './ocr/ocr-step.js';
import { openStepHarness, postgresSkipReason, type StepHarness } from './test-support/step-harness.js';
import { renderTextPng } from './test-support/test-documents.js';

/*
 * The key acceptance test: an invoice image rendered here → upload → OCR → regex extraction → number/date
 * conversion → JSON Schema validation → condition → ticket → room messages, run by the real workflow engine
 * on a real SQLite store, asserting on what ends up stored.
 */

const definition = JSON.stringify({
  id: 'invoice',
  name: 'Invoice intake',
  steps: [
    { id: 'upload', type: 'upload', input: { key: '{{ trigger.key }}' } },
    {
      id: 'ocr',
      type: 'ocr',
      input: { key: '{{ steps.upload.key }}', mimeType: '{{ steps.upload.mimeType }}', languages: ['eng'] },
    },
    {
      id: 'fields',
      type: 'extract',
      input: {
        mode: 'regex',
        text: '{{ steps.ocr.text }}',
        pattern:
          'Invoice number\\s+(?<number>INV-\\d{4}-\\d{4})[\\s\\S]*?Date\\s+(?<date>\\S+)[\\s\\S]*?Total\\s+(?<amount>[\\d.,]+)\\s*(?<currency>[A-Z]{3})',
      },
    },
    {
      id: 'invoice',
      type: 'transform',
      input: {
        mode: 'map',
        map: {
          number: '{{ steps.fields.fields.number }}',
          amount: '{{ steps.fields.fields.amount }}',
          currency: '{{ steps.fields.fields.currency }}',
          date: '{{ steps.fields.fields.date }}',
        },
        convert: { amount: 'number', date: 'date' },
      },
    },
    {
      id: 'check',
      type: 'validate',
      input: {
        data: '{{ steps.invoice }}',
        schema: {
          type: 'object',
          properties: {
            number: { type: 'string', pattern: '^INV-\\d{4}-\\d{4}$' },
            amount: { type: 'number', exclusiveMinimum: 0 },
            currency: { type: 'string', pattern: '^[A-Z]{3}$' },
            date: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' },
          },
          required: ['number', 'amount', 'currency', 'date'],
          additionalProperties: false,
        },
      },
    },
    {
      id: 'ticket',
      type: 'store',
      input: {
        action: 'ticket.create',
        projectId: '{{ trigger.projectId }}',
        title:
          'Pay invoice {{ steps.invoice.number }}: {{ steps.fields.fields.amount }} {{ steps.invoice.currency }}',
        description:
          'Invoice dated {{ steps.invoice.date }}, amount {{ steps.invoice.amount }}.\n\n{{ steps.ocr.text }}',
        dueDate: '{{ steps.invoice.date }}',
        labels: ['invoice'],
      },
    },
    {
      id: 'tell',
      type: 'notify',
      input: {
        roomId: '{{ trigger.roomId }}',
        text: 'Invoice {{ steps.invoice.number }} over {{ steps.fields.fields.amount }} {{ steps.invoice.currency }} is ticket {{ steps.ticket.ticketId }}',
      },
    },
    {
      id: 'large',
      type: 'condition',
      dependsOn: ['check'],
      input: { expression: 'amount > 1000', values: { amount: '{{ steps.invoice.amount }}' } },
    },
    {
      id: 'approve',
      type: 'notify',
      dependsOn: ['large'],
      when: 'steps.large.result',
      input: { roomId: '{{ trigger.roomId }}', text: 'Invoice {{ steps.invoice.number }} needs approval' },
    },
  ],
});

let ocr: OcrStep;

beforeAll(() => {
  // One OCR worker for every dialect: starting one costs more than reading the invoice.
  ocr = createOcrStep({ maxWorkers: 1 });
});

afterAll(async () => {
  await ocr?.close();
});

const postgresSkip = postgresSkipReason();
if (postgresSkip) console.info(`invoice pipeline on PostgreSQL skipped: ${postgresSkip}`);

describe.each([
  { dialect: 'sqlite' as const, skip: undefined },
  { dialect: 'postgres' as const, skip: postgresSkip },
])('invoice pipeline on $dialect', ({ dialect, skip }) => {
  let harness: StepHarness;
  let workflows: WorkflowEngine;
  let project: Project;
  let room: Room;

  beforeAll(async () => {
    if (skip) return;
    harness = await openStepHarness({ dialect });
    workflows = new WorkflowEngine({
      store: harness.store,
      bus: harness.bus,
      services: harness.services,
      steps: builtInStepTypes({ ocr }),
      onError: () => {},
    });
    project = await harness.engine.createProject(harness.admin.id, { name: 'Accounts payable' });
    room = await harness.engine.createRoom(harness.admin.id, { kind: 'channel', name: 'accounting' });
  });

  afterAll(async () => {
    await workflows?.close();
    await harness?.close();
  });

  it.skipIf(skip)('turns an invoice image into a ticket and a room message', async () => {
    const image = renderTextPng([
      'ACME Widgets GmbH',
      'Invoice number INV-2026-0042',
      'Date 2026-11-25',
      'Total 1,234.50 EUR',
    ]);
    await harness.blobs.put('uploads/invoice-0042', image);
    await workflows.define(parseWorkflowDefinition(definition, 'json'), harness.admin.id);

    const started = await workflows.start('invoice', {
      actorId: harness.admin.id,
      trigger: { key: 'uploads/invoice-0042', projectId: project.id, roomId: room.id },
    });
    const { run, steps } = await workflows.waitForRun(started.id, { timeoutMs: 20_000 });
    expect(run.error).toBeNull();
    expect(run.status).toBe('succeeded');
    expect(Object.fromEntries(steps.map((step) => [step.stepId, step.status]))).toEqual({
      upload: 'succeeded',
      ocr: 'succeeded',
      fields: 'succeeded',
      invoice: 'succeeded',
      check: 'succeeded',
      ticket: 'succeeded',
      tell: 'succeeded',
      large: 'succeeded',
      approve: 'succeeded',
    });
    expect(steps.find((step) => step.stepId === 'invoice')?.output).toEqual({
      number: 'INV-2026-0042',
      amount: 1234.5,
      currency: 'EUR',
      date: '2026-11-25',
    });

    const [ticket, ...others] = await harness.engine.listTickets(harness.admin.id, { projectId: project.id });
    expect(others).toEqual([]);
    expect(ticket).toMatchObject({
      title: 'Pay invoice INV-2026-0042: 1,234.50 EUR',
      dueDate: '2026-11-25',
      // The second label is the store step's key, which keeps a retried step from creating another ticket.
      labels: ['invoice', expect.stringMatching(/^workflow-[0-9a-f]{24}$/)],
      status: 'open',
      reporterId: harness.admin.id,
    });
    expect(ticket?.description).toContain('amount 1234.5');
    expect(ticket?.description).toContain('Invoice number INV-2026-0042');

    const history = await harness.engine.history(harness.admin.id, { roomId: room.id, limit: 10 });
    expect(history.messages.map((message) => message.text).sort()).toEqual([
      'Invoice INV-2026-0042 needs approval',
      `Invoice INV-2026-0042 over 1,234.50 EUR is ticket ${ticket?.id}`,
    ]);
  });

  it.skipIf(skip)(
    'fails at the step that finds the problem, naming the field, and files nothing',
    async () => {
      const runInvoice = async (key: string, lines: string[]) => {
        await harness.blobs.put(key, renderTextPng(lines));
        const started = await workflows.start('invoice', {
          actorId: harness.admin.id,
          trigger: { key, projectId: project.id, roomId: room.id },
        });
        return workflows.waitForRun(started.id, { timeoutMs: 20_000 });
      };

      // A zero total converts fine but breaks the schema's exclusiveMinimum.
      const zero = await runInvoice('uploads/invoice-0043', [
        'ACME Widgets GmbH',
        'Invoice number INV-2026-0043',
        'Date 2026-11-26',
        'Total 0.00 EUR',
      ]);
      expect(zero.run.status).toBe('failed');
      const check = zero.steps.find((step) => step.status === 'failed');
      expect(check?.stepId).toBe('check');
      expect(JSON.stringify(check?.error)).toContain('amount');

      // 2026-11-31 does not exist: the transform refuses it before validation.
      const badDate = await runInvoice('uploads/invoice-0044', [
        'ACME Widgets GmbH',
        'Invoice number INV-2026-0044',
        'Date 2026-11-31',
        'Total 10.00 EUR',
      ]);
      expect(badDate.run.status).toBe('failed');
      const transform = badDate.steps.find((step) => step.status === 'failed');
      expect(transform?.stepId).toBe('invoice');
      expect(JSON.stringify(transform?.error)).toContain('date');

      expect(await harness.engine.listTickets(harness.admin.id, { projectId: project.id })).toHaveLength(1);
    },
  );
});
