import { ValidationError } from '@kaiwa/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openStepHarness, runStep, type StepHarness } from './test-support/step-harness.js';
import { createValidateStep, validateStep } from './validate-step.js';

let harness: StepHarness;
beforeAll(async () => {
  harness = await openStepHarness();
});
afterAll(async () => {
  await harness?.close();
});

const invoiceSchema = {
  type: 'object',
  properties: {
    amount: { type: 'number', exclusiveMinimum: 0 },
    date: { type: 'string', format: 'date' },
    lines: {
      type: 'array',
      items: { type: 'object', properties: { sku: { type: 'string' } }, required: ['sku'] },
    },
  },
  required: ['amount', 'date'],
};

describe('validate step', () => {
  it('passes data that matches a JSON Schema', async () => {
    const data = { amount: 1234.5, date: '2026-11-25' };
    expect(await runStep(validateStep, { data, schema: invoiceSchema }, harness.context())).toEqual({
      valid: true,
      data,
    });
  });

  it('lists every bad path', async () => {
    const error = await runStep(
      validateStep,
      { data: { amount: -1, date: '2026-02-30', lines: [{}] }, schema: invoiceSchema },
      harness.context(),
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues.map((issue) => issue.path)).toEqual([
      ['data', 'amount'],
      ['data', 'date'],
      ['data', 'lines', '0', 'sku'],
    ]);
  });

  it('refuses schemas strict mode rejects', async () => {
    await expect(
      runStep(validateStep, { data: 1, schema: { type: 'number', minimun: 1 } }, harness.context()),
    ).rejects.toThrow(/schema: not a valid JSON Schema/);
    await expect(runStep(validateStep, { data: 1 }, harness.context())).rejects.toThrow(
      /either schema or schemaName/,
    );
  });

  it('uses registered zod schemas by name', async () => {
    const step = createValidateStep({
      schemas: {
        invoice: z.object({ amount: z.coerce.number().positive(), currency: z.string().default('EUR') }),
      },
    });
    expect(
      await runStep(step, { data: { amount: '12.5' }, schemaName: 'invoice' }, harness.context()),
    ).toEqual({
      valid: true,
      data: { amount: 12.5, currency: 'EUR' },
    });
    const error = await runStep(
      step,
      { data: { amount: 0 }, schemaName: 'invoice' },
      harness.context(),
    ).catch((e) => e);
    expect((error as ValidationError).issues[0]?.path).toEqual(['data', 'amount']);
    await expect(runStep(step, { data: {}, schemaName: 'order' }, harness.context())).rejects.toThrow(
      /no schema named "order"; known: invoice/,
    );
  });
});
