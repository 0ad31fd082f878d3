import { ValidationError } from '@kaiwa/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStepHarness, runStep, type StepHarness } from './test-support/step-harness.js';
import { transformStep } from './transform-step.js';

let harness: StepHarness;
beforeAll(async () => {
  harness = await openStepHarness();
});
afterAll(async () => {
  await harness?.close();
});

describe('transform step', () => {
  it('maps fields and converts numbers and dates', async () => {
    const output = await runStep(
      transformStep,
      {
        mode: 'map',
        map: { amount: '1,234.50', date: '25.11.2026', currency: 'EUR', nested: { keep: true } },
        convert: { amount: 'number', date: 'date' },
      },
      harness.context(),
    );
    expect(output).toEqual({ amount: 1234.5, date: '2026-11-25', currency: 'EUR', nested: { keep: true } });
  });

  it('names the field that does not convert', async () => {
    const error = await runStep(
      transformStep,
      { mode: 'map', map: { amount: 'n/a' }, convert: { amount: 'number' } },
      harness.context(),
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues[0]?.path).toEqual(['map', 'amount']);
  });

  it('yields text from a template', async () => {
    expect(
      await runStep(
        transformStep,
        { mode: 'template', template: '  Invoice INV-1 \n', trim: true },
        harness.context(),
      ),
    ).toEqual({
      text: 'Invoice INV-1',
    });
    await expect(runStep(transformStep, { mode: 'shout' }, harness.context())).rejects.toBeInstanceOf(
      ValidationError,
    );
  });
});
