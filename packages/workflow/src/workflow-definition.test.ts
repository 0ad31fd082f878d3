import { ValidationError } from '@kaiwa/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineStepType } from './step-type.js';
import { StepTypeRegistry } from './step-type-registry.js';
import {
  parseWorkflowDefinition,
  resolveDependencies,
  validateWorkflowDefinition,
  type WorkflowDefinition,
} from './workflow-definition.js';

const registry = new StepTypeRegistry(
  ['ocr', 'extract', 'notify', 'store'].map((type) =>
    defineStepType({
      type,
      description: type,
      input: z.record(z.string(), z.unknown()),
      run: async () => ({}),
    }),
  ),
);

describe('validateWorkflowDefinition', () => {
  it('accepts a sound definition', () => {
    const result = validateWorkflowDefinition(
      {
        id: 'invoice',
        name: 'Invoice',
        trigger: { type: 'file', mimeType: 'image/*' },
        steps: [
          { id: 'ocr', type: 'ocr', input: { fileId: '{{ trigger.file.id }}' } },
          { id: 'extract', type: 'extract', input: { text: '{{ steps.ocr.text }}' } },
          {
            id: 'store',
            type: 'store',
            when: 'steps.extract.amount > 0',
            input: { a: '{{ steps.extract.amount }}' },
          },
          { id: 'notify', type: 'notify', dependsOn: ['ocr'], input: { text: 'Read {{ steps.ocr.text }}' } },
        ],
      },
      registry,
    );
    expect(result).toMatchObject({ ok: true });
  });

  it('reports every issue at once, each with its path', () => {
    const result = validateWorkflowDefinition(
      {
        id: 'invoice',
        name: 'Invoice',
        steps: [
          { id: 'ocr', type: 'ocr' },
          { id: 'extract', type: 'extrakt', input: { text: '{{ steps.ocr.text }}' } },
          { id: 'store', type: 'store', dependsOn: ['ocrr'] },
          { id: 'ocr', type: 'notify', dependsOn: [] },
          { id: 'early', type: 'notify', dependsOn: [], input: { text: '{{ steps.extract.amount }}' } },
          { id: 'ghost', type: 'notify', dependsOn: [], when: 'steps.nobody.ok' },
          { id: 'broken', type: 'notify', dependsOn: [], input: { text: '{{ 1 + }}' } },
          { id: 'stranger', type: 'notify', dependsOn: [], input: { text: '{{ secrets.key }}' } },
          { id: 'fallsOver', type: 'notify', dependsOn: [], onError: { fallback: 'nothing' } },
        ],
      },
      registry,
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const byPath = Object.fromEntries(result.issues.map((issue) => [issue.path, issue.message]));
    expect(byPath['steps[1].type']).toBe('unknown step type "extrakt"');
    expect(byPath['steps[2].dependsOn[0]']).toBe('unknown step "ocrr"');
    expect(byPath['steps[3].id']).toBe('duplicate step id "ocr"');
    expect(byPath['steps[4].input.text']).toBe(
      'step "extract" does not run before "early"; add it to dependsOn',
    );
    expect(byPath['steps[5].when']).toBe('unknown step "nobody" in "steps.nobody"');
    expect(byPath['steps[6].input.text']).toBeDefined();
    expect(byPath['steps[7].input.text']).toMatch(/unknown name "secrets"/);
    expect(byPath['steps[8].onError.fallback']).toBe('unknown step "nothing"');
    expect(result.issues.length).toBe(8);
  });

  it('names a dependency cycle', () => {
    const result = validateWorkflowDefinition(
      {
        id: 'loop',
        name: 'Loop',
        steps: [
          { id: 'a', type: 'ocr', dependsOn: ['c'] },
          { id: 'b', type: 'ocr', dependsOn: ['a'] },
          { id: 'c', type: 'ocr', dependsOn: ['b'] },
        ],
      },
      registry,
    );
    expect(result).toEqual({
      ok: false,
      issues: [{ path: 'steps[0].dependsOn', message: 'dependency cycle: a → b → c → a' }],
    });
  });

  it('reports schema errors together with graph errors', () => {
    const result = validateWorkflowDefinition(
      {
        id: 'Bad Id',
        name: '',
        steps: [
          { id: 'a', type: 'nope', timeoutMs: -1 },
          { id: 'b', type: 'ocr', dependsOn: ['zzz'], retry: { attempts: 0, backoffMs: 10 } },
        ],
      },
      registry,
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const paths = result.issues.map((issue) => issue.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'id',
        'name',
        'steps[0].timeoutMs',
        'steps[1].retry.attempts',
        'steps[0].type',
        'steps[1].dependsOn[0]',
      ]),
    );
  });

  it('checks fallback rules and triggers', () => {
    const result = validateWorkflowDefinition(
      {
        id: 'fb',
        name: 'Fallbacks',
        trigger: { type: 'cron', schedule: 'every day' },
        steps: [
          { id: 'a', type: 'ocr', onError: { fallback: 'a' } },
          { id: 'b', type: 'ocr', onError: { fallback: 'c' } },
          { id: 'c', type: 'ocr', dependsOn: ['a'] },
          { id: 'd', type: 'ocr', dependsOn: ['c'] },
        ],
      },
      registry,
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const byPath = Object.fromEntries(result.issues.map((issue) => [issue.path, issue.message]));
    expect(byPath['trigger.schedule']).toMatch(/not a valid schedule/);
    expect(byPath['steps[0].onError.fallback']).toBe('a step cannot be its own fallback');
    expect(byPath['steps[2].dependsOn']).toMatch(/fallback step/);
    expect(byPath['steps[3].dependsOn[0]']).toMatch(/"c" is a fallback step/);
  });
});

describe('resolveDependencies', () => {
  it('makes steps sequential by default, parallel with dependsOn: [], and frees fallbacks', () => {
    const definition: WorkflowDefinition = {
      id: 'x',
      name: 'x',
      steps: [
        { id: 'a', type: 'ocr' },
        { id: 'b', type: 'ocr', onError: { fallback: 'f' } },
        { id: 'f', type: 'ocr' },
        { id: 'c', type: 'ocr' },
        { id: 'd', type: 'ocr', dependsOn: [] },
      ],
    };
    expect(Object.fromEntries(resolveDependencies(definition))).toEqual({
      a: [],
      b: ['a'],
      f: [],
      c: ['b'],
      d: [],
    });
  });
});

describe('parseWorkflowDefinition', () => {
  it('reads YAML and JSON', () => {
    const yaml = `
id: invoice
name: Invoice 請求書
trigger: { type: command }
steps:
  - id: ocr
    type: ocr
    input: { fileId: "{{ trigger.args[0] }}" }
    retry: { attempts: 3, backoffMs: 100, jitter: true }
  - id: notify
    type: notify
    onError: continue
`;
    const definition = parseWorkflowDefinition(yaml, 'yaml');
    expect(definition.steps.map((step) => step.id)).toEqual(['ocr', 'notify']);
    expect(definition.steps[1]!.onError).toBe('continue');
    expect(parseWorkflowDefinition(JSON.stringify(definition), 'json')).toEqual(definition);
  });

  it('throws a ValidationError for bad syntax and for a bad shape', () => {
    expect(() => parseWorkflowDefinition('{ "id": ', 'json')).toThrow(ValidationError);
    expect(() => parseWorkflowDefinition('id: [unclosed', 'yaml')).toThrow(ValidationError);
    const error = (() => {
      try {
        parseWorkflowDefinition('id: x\nname: x\nsteps: []\n', 'yaml');
      } catch (caught) {
        return caught as ValidationError;
      }
    })();
    expect(error?.issues[0]?.path).toEqual(['steps']);
  });
});
