import type { Bus, ChatEvent } from '@kaiwa/core';
import type { StepType } from '@kaiwa/workflow';
import type { ServerMetrics } from './server-metrics.js';

/**
 * Step types whose tries are timed: each call of `run` is one try, observed by step type and outcome
 * (`ok`, `error`); a try after the first counts as a retry.
 */
export function instrumentStepTypes(steps: StepType[], metrics: ServerMetrics): StepType[] {
  return steps.map((step): StepType => {
    const timed: StepType = Object.create(step);
    timed.run = async (input, context) => {
      if (context.attempt > 1) metrics.workflowStepRetries.inc({ type: step.type });
      const stopTimer = metrics.workflowStepAttemptDuration.startTimer({ type: step.type });
      try {
        const output = await step.run(input, context);
        stopTimer({ outcome: 'ok' });
        if (step.type === 'ocr') metrics.ocrPages.inc(pagesRead(output));
        return output;
      } catch (error) {
        stopTimer({ outcome: 'error' });
        throw error;
      }
    };
    return timed;
  });
}

/** Pages an `ocr` step's output holds (`{ pages: [...] }`; an image is one page). */
function pagesRead(output: unknown): number {
  const pages = (output as { pages?: unknown } | null)?.pages;
  return Array.isArray(pages) ? pages.length : 0;
}

const FINISHED = new Set(['succeeded', 'failed', 'cancelled', 'skipped']);

/**
 * The workflow engine's bus, counting the runs and steps it announces as ended (the engine announces every
 * change of a run or step it executes, so each instance counts the runs it executed).
 */
export function countWorkflowOutcomes(bus: Bus, metrics: ServerMetrics): Bus {
  const counted = new Set<string>();
  const countOnce = (key: string) => {
    if (counted.has(key)) return false;
    counted.add(key);
    // A bounded memory of what was counted: announcements of one end come close together.
    if (counted.size > 10_000) counted.delete(counted.values().next().value as string);
    return true;
  };
  const observe = (event: ChatEvent) => {
    if (event.type === 'workflow.run.updated') {
      const { run } = event.payload;
      if (!FINISHED.has(run.status) || !countOnce(`run:${run.id}`)) return;
      metrics.workflowRuns.inc({ status: run.status });
      if (run.startedAt && run.finishedAt) {
        const seconds = (Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1000;
        if (seconds >= 0) metrics.workflowRunDuration.observe({ status: run.status }, seconds);
      }
    } else if (event.type === 'workflow.step.updated') {
      const { runId, step } = event.payload;
      if (!FINISHED.has(step.status) || !countOnce(`step:${runId}:${step.stepId}`)) return;
      metrics.workflowSteps.inc({ type: step.type, status: step.status });
    }
  };
  return {
    publish(event, options) {
      observe(event);
      return bus.publish(event, options);
    },
    subscribe: (listener) => bus.subscribe(listener),
    close: () => bus.close(),
  };
}
