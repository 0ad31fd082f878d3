import { describe, expect, it } from 'vitest';
import {
  applyWorkflowProgress,
  describeWorkflowError,
  formatDuration,
  isFinished,
  isWorkflowProgressFrame,
  mergeRunDetails,
  mergeRunViews,
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

describe('workflow progress frames', () => {
  const run = (status: WorkflowRunView['status'], updatedAt: string): WorkflowRunView => ({
    id: 'run-1',
    workflowId: 'w',
    workflowVersion: 1,
    status,
    actorId: 'u',
    error: null,
    createdAt: at(0),
    startedAt: at(0),
    finishedAt: null,
    updatedAt,
  });

  it('applies run and step changes of the shown run, in position order, and ignores older news', () => {
    const details = {
      run: run('running', at(10)),
      steps: [{ ...step('b', 'pending'), position: 1, updatedAt: at(10) }],
    };
    expect(isWorkflowProgressFrame({ type: 'workflow.step.updated' })).toBe(true);
    expect(isWorkflowProgressFrame({ type: 'presence.updated' })).toBe(false);

    const started = applyWorkflowProgress(details, {
      type: 'workflow.step.updated',
      runId: 'run-1',
      step: { ...step('a', 'running'), position: 0, updatedAt: at(20) },
    });
    expect(started.steps.map((each) => [each.stepId, each.status])).toEqual([
      ['a', 'running'],
      ['b', 'pending'],
    ]);
    const done = applyWorkflowProgress(started, {
      type: 'workflow.step.updated',
      runId: 'run-1',
      step: { ...step('a', 'succeeded'), position: 0, updatedAt: at(30) },
    });
    expect(done.steps[0]?.status).toBe('succeeded');
    // A late REST answer or a reordered frame does not take a step back.
    const stale = {
      type: 'workflow.step.updated' as const,
      runId: 'run-1',
      step: { ...step('a', 'running'), updatedAt: at(25) },
    };
    expect(applyWorkflowProgress(done, stale)).toBe(done);
    const otherRun = { ...stale, runId: 'run-2', step: { ...stale.step, updatedAt: at(99) } };
    expect(applyWorkflowProgress(done, otherRun)).toBe(done);

    const finished = applyWorkflowProgress(done, {
      type: 'workflow.run.updated',
      run: run('succeeded', at(40)),
    });
    expect(finished.run.status).toBe('succeeded');
    expect(
      applyWorkflowProgress(finished, { type: 'workflow.run.updated', run: run('running', at(15)) }),
    ).toBe(finished);
  });

  it('takes a REST answer without undoing newer pushed changes', () => {
    const pushed = {
      run: run('succeeded', at(40)),
      steps: [{ ...step('a', 'succeeded'), updatedAt: at(30) }],
    };
    const answer = {
      run: run('running', at(20)),
      steps: [
        { ...step('a', 'running'), updatedAt: at(20) },
        { ...step('b', 'pending'), position: 1, updatedAt: at(20) },
      ],
    };
    expect(mergeRunDetails(null, answer)).toBe(answer);
    const merged = mergeRunDetails(pushed, answer);
    expect(merged.run.status).toBe('succeeded');
    expect(merged.steps.map((each) => [each.stepId, each.status])).toEqual([
      ['a', 'succeeded'],
      ['b', 'pending'],
    ]);
  });

  it('merges runs into the list unless a newer state is known', () => {
    const list = mergeRunViews(new Map(), [run('running', at(10))]);
    const newer = mergeRunViews(list, [run('succeeded', at(20))]);
    expect(newer.get('run-1')?.status).toBe('succeeded');
    expect(mergeRunViews(newer, [run('running', at(10))]).get('run-1')?.status).toBe('succeeded');
  });
});
