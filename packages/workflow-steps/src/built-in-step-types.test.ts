import { StepTypeRegistry, validateWorkflowDefinition } from '@kaiwa/workflow';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { builtInStepTypes } from './built-in-step-types.js';
import { createOcrStep } from './ocr/ocr-step.js';

describe('builtInStepTypes', () => {
  it('registers the twelve built-ins under their names', () => {
    const registry = new StepTypeRegistry(builtInStepTypes());
    expect(registry.list().map((step) => step.type)).toEqual([
      'analyze',
      'condition',
      'extract',
      'load',
      'notify',
      'ocr',
      'store',
      'synthesize',
      'transcribe',
      'transform',
      'upload',
      'validate',
    ]);
    for (const step of registry.list()) {
      expect(step.description.length).toBeGreaterThan(10);
      expect(step.retryable).toBeTypeOf('function');
    }
  });

  it('takes an own ocr step and named zod schemas', async () => {
    const ocr = createOcrStep({ maxPages: 2 });
    const steps = builtInStepTypes({ ocr, validate: { schemas: { positive: z.number().positive() } } });
    expect(steps.find((step) => step.type === 'ocr')).toBe(ocr);
    const validate = steps.find((step) => step.type === 'validate');
    const context = {} as Parameters<NonNullable<typeof validate>['run']>[1];
    await expect(validate?.run({ data: 3, schemaName: 'positive' }, context)).resolves.toEqual({
      valid: true,
      data: 3,
    });
    await ocr.close();
  });

  it('lets the definition checker find bad step types and references', () => {
    const registry = new StepTypeRegistry(builtInStepTypes());
    const result = validateWorkflowDefinition(
      {
        id: 'invoice',
        name: 'Invoice',
        steps: [
          { id: 'ocr', type: 'ocr', input: { key: '{{ trigger.key }}' } },
          { id: 'fields', type: 'extrakt', input: { text: '{{ steps.ocr.text }}' } },
          { id: 'tell', type: 'notify', input: { text: '{{ steps.nope.text }}' } },
        ],
      },
      registry,
    );
    expect(result.ok).toBe(false);
    if (!result.ok) {
      const paths = result.issues.map((issue) => issue.path).join(' ');
      expect(paths).toContain('steps[1].type');
      expect(paths).toContain('steps[2].input');
    }
  });
});
