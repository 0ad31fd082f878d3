import { ValidationError } from '@kaiwa/core';
import { ExpressionError } from '@kaiwa/workflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conditionStep } from './condition-step.js';
import { openStepHarness, runStep, type StepHarness } from './test-support/step-harness.js';

let harness: StepHarness;
beforeAll(async () => {
  harness = await openStepHarness();
});
afterAll(async () => {
  await harness?.close();
});

describe('condition step', () => {
  it('evaluates an expression over its values', async () => {
    const values = { amount: 1234.5, currency: 'EUR', text: 'Invoice number INV-2026-0042' };
    expect(
      await runStep(
        conditionStep,
        { expression: 'amount > 1000 && currency == "EUR"', values },
        harness.context(),
      ),
    ).toEqual({ result: true });
    expect(
      await runStep(conditionStep, { expression: 'contains(text, "INV-2027")', values }, harness.context()),
    ).toEqual({ result: false });
  });

  it('accepts a boolean the engine already computed', async () => {
    expect(await runStep(conditionStep, { value: true }, harness.context())).toEqual({ result: true });
    await expect(runStep(conditionStep, { value: 'yes' }, harness.context())).rejects.toThrow(
      /value: must give true or false, not string/,
    );
  });

  it('fails cleanly on non-boolean results, unknown names and bad syntax', async () => {
    await expect(
      runStep(conditionStep, { expression: 'amount + 1', values: { amount: 1 } }, harness.context()),
    ).rejects.toThrow(/expression: must give true or false, not number/);
    await expect(
      runStep(conditionStep, { expression: 'missing > 1' }, harness.context()),
    ).rejects.toBeInstanceOf(ExpressionError);
    await expect(
      runStep(conditionStep, { expression: 'amount >', values: { amount: 1 } }, harness.context()),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(runStep(conditionStep, { expression: 'a', value: true }, harness.context())).rejects.toThrow(
      /either expression or value/,
    );
    await expect(
      runStep(conditionStep, { expression: 'a', values: { 'not-ok': 1 } }, harness.context()),
    ).rejects.toThrow(/values.not-ok/);
  });
});
