import { createHash } from 'node:crypto';
import type { Bus, WorkflowRun } from '@kaiwa/core';
import type { StepType } from '@kaiwa/workflow';
import {
  context,
  type Link,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type { IdGenerator } from '@opentelemetry/sdk-trace-base';
import { recordSpanError } from './trace-span-error.js';

/*
 * A workflow run is a trace of its own: its trace id is derived from the run id, so every instance and
 * every restart that works on the run adds to the same trace. The span of the part of the run a process
 * executes (`workflow run <workflow id>`) is a root; the first part's span id is derived from the run id
 * too, so a part resumed later (after a restart, or on another instance) links to it without storing
 * anything. Steps are children of their run's span; each try is one span.
 */

/** Ids the next root span takes, set only around one synchronous `startSpan`. */
let forcedIds: { traceId: string; spanId: string | undefined } | undefined;

/** The provider's id generator: the SDK's random ids, except for workflow runs (see above). */
export function workflowAwareIdGenerator(random: IdGenerator): IdGenerator {
  return {
    generateTraceId: () => forcedIds?.traceId ?? random.generateTraceId(),
    generateSpanId: () => {
      const spanId = forcedIds?.spanId;
      if (forcedIds) forcedIds.spanId = undefined;
      return spanId ?? random.generateSpanId();
    },
  };
}

function runIds(runId: string): { traceId: string; firstSpanId: string } {
  const digest = createHash('sha256').update(`kaiwa-workflow-run:${runId}`).digest('hex');
  return { traceId: digest.slice(0, 32), firstSpanId: digest.slice(32, 48) };
}

const FINISHED = new Set(['succeeded', 'failed', 'cancelled']);
const processStarted = Date.now() - performance.now();
const openRuns = new Map<string, Span>();

function openRunSpan(run: WorkflowRun, tracer: Tracer): Span {
  const { traceId, firstSpanId } = runIds(run.id);
  // Started before this process was: an earlier part of the run ran elsewhere (or before a restart).
  const resumed = run.startedAt !== null && Date.parse(run.startedAt) < processStarted;
  const links: Link[] = [];
  if (resumed) {
    const earlier: SpanContext = {
      traceId,
      spanId: firstSpanId,
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    };
    links.push({ context: earlier, attributes: { 'kaiwa.link': 'earlier part of the run' } });
  }
  const trigger = trace.getSpan(context.active())?.spanContext();
  if (trigger && trigger.traceId !== traceId) {
    links.push({ context: trigger, attributes: { 'kaiwa.link': 'trigger' } });
  }
  forcedIds = { traceId, spanId: resumed ? undefined : firstSpanId };
  try {
    return tracer.startSpan(
      `workflow run ${run.workflowId}`,
      {
        kind: SpanKind.INTERNAL,
        root: true,
        links,
        attributes: {
          'kaiwa.workflow.id': run.workflowId,
          'kaiwa.workflow.version': run.workflowVersion,
          'kaiwa.workflow.run_id': run.id,
          'kaiwa.workflow.resumed': resumed,
        },
      },
      ROOT_CONTEXT,
    );
  } finally {
    forcedIds = undefined;
  }
}

/**
 * The workflow engine's bus: the run announcements it publishes open the span of the run's part executed
 * here (`running`) and close it (`succeeded`, `failed`, `cancelled`).
 */
export function traceWorkflowRuns(bus: Bus, tracer: Tracer): Bus {
  const observe = (run: WorkflowRun) => {
    const open = openRuns.get(run.id);
    if (FINISHED.has(run.status)) {
      if (!open) return;
      openRuns.delete(run.id);
      open.setAttribute('kaiwa.workflow.status', run.status);
      if (run.status === 'failed') {
        open.setStatus({ code: SpanStatusCode.ERROR });
        if (run.error?.code) open.setAttribute('error.type', run.error.code);
      }
      open.end();
    } else if (run.status === 'running' && !open) {
      openRuns.set(run.id, openRunSpan(run, tracer));
      // A bounded memory: a run this process stopped executing without an end (taken over) is dropped.
      if (openRuns.size > 10_000) {
        const [oldestId, oldest] = openRuns.entries().next().value as [string, Span];
        openRuns.delete(oldestId);
        oldest.end();
      }
    }
  };
  return {
    publish(event, options) {
      if (event.type === 'workflow.run.updated') observe(event.payload.run);
      return bus.publish(event, options);
    },
    subscribe: (listener) => bus.subscribe(listener),
    close() {
      for (const span of openRuns.values()) span.end();
      openRuns.clear();
      return bus.close();
    },
  };
}

/** Step types whose tries are spans (`workflow step ocr`), children of their run's span. */
export function tracedStepTypes(steps: StepType[], tracer: Tracer): StepType[] {
  return steps.map((step): StepType => {
    const traced: StepType = Object.create(step);
    traced.run = (input, stepContext) => {
      const runSpan = openRuns.get(stepContext.runId);
      const parent = runSpan ? trace.setSpan(ROOT_CONTEXT, runSpan) : context.active();
      return tracer.startActiveSpan(
        `workflow step ${step.type}`,
        {
          kind: SpanKind.INTERNAL,
          attributes: {
            'kaiwa.workflow.id': stepContext.workflowId,
            'kaiwa.workflow.run_id': stepContext.runId,
            'kaiwa.workflow.step_id': stepContext.stepId,
            'kaiwa.workflow.step_type': step.type,
            'kaiwa.workflow.attempt': stepContext.attempt,
          },
        },
        parent,
        async (span) => {
          try {
            return await step.run(input, stepContext);
          } catch (error) {
            recordSpanError(span, error);
            throw error;
          } finally {
            span.end();
          }
        },
      );
    };
    return traced;
  });
}
