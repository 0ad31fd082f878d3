import { describe, expect, it } from 'vitest';
import {
  describeWorkflowError,
  formatDuration,
  isFinished,
  newestFirst,
  previewOutput,
  stepSummary,
  type WorkflowRunView,
  type WorkflowStepView,
} from './workflows-timeline';

const at = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms).toISOString();

function step(stepId: string, status: WorkflowStepView['status']): WorkflowStepView {
  return {
    stepId,
    position: 0,
    type: 'x',
    status,
    attempts: 1,
    output: null,
    error: null,
    startedAt: null,
    finishedAt: null,
  };
}

describe('workflows timeline', () => {
  it('formats durations, also of steps still running', () => {
    expect(formatDuration(null, null)).toBe('');
    expect(formatDuration(at(0), at(850))).toBe('850 ms');
    expect(formatDuration(at(0), at(12_345))).toBe('12.3 s');
    expect(formatDuration(at(0), at(245_000))).toBe('4 min 05 s');
    expect(formatDuration(at(0), at(7_380_000))).toBe('2 h 03 min');
    expect(formatDuration(at(0), null, Date.parse(at(1_500)))).toBe('1.5 s');
    expect(formatDuration('not a date', null)).toBe('');
  });

  it('describes errors in one line with the first bad field', () => {
    expect(describeWorkflowError(null)).toBe('');
    expect(
      describeWorkflowError({
        name: 'ValidationError',
        message: 'invalid input',
        code: 'validation_failed',
        issues: [{ path: ['amount'], message: 'must be a number' }],
      }),
    ).toBe('invalid input (amount: must be a number)');
    expect(
      describeWorkflowError({ name: 'Error', message: 'timed out', code: 'timeout', stepId: 'ocr' }),
    ).toBe('step ocr: timed out [timeout]');
  });

  it('summarises steps, sorts runs and previews outputs', () => {
    expect(
      stepSummary([
        step('a', 'succeeded'),
        step('b', 'succeeded'),
        step('c', 'running'),
        step('d', 'pending'),
      ]),
    ).toBe('2 succeeded · 1 running · 1 waiting');
    const run = (id: string) => ({ id }) as WorkflowRunView;
    expect(newestFirst([run('01A'), run('01C'), run('01B')]).map((each) => each.id)).toEqual([
      '01C',
      '01B',
      '01A',
    ]);
    expect(previewOutput({ text: 'x'.repeat(500) }, 20)).toHaveLength(20);
    expect(previewOutput(null)).toBe('');
    expect(previewOutput('plain')).toBe('plain');
    expect(isFinished('skipped')).toBe(true);
    expect(isFinished('running')).toBe(false);
  });
});
