import type { ServerFrames, WorkflowRunStatus, WorkflowStepStatus } from '@kaiwa/protocol';
import { t } from './i18n';

/*
 * What the Workflows view shows of runs and their steps, kept apart from the components so it can be
 * tested without a browser: the shapes the REST API answers with, durations, labels and error lines.
 */

export type { WorkflowRunStatus, WorkflowStepStatus } from '@kaiwa/protocol';

export interface WorkflowErrorInfo {
  name: string;
  message: string;
  code?: string;
  issues?: { path: (string | number)[]; message: string }[];
  stepId?: string;
}

export interface WorkflowSummary {
  id: string;
  version: number;
  name: string;
  definition: { description?: string; trigger?: { type: string }; steps?: unknown[] };
  createdAt: string;
}

export interface WorkflowRunView {
  id: string;
  workflowId: string;
  workflowVersion: number;
  status: WorkflowRunStatus;
  actorId: string;
  error: WorkflowErrorInfo | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  updatedAt: string;
}

export interface WorkflowStepView {
  stepId: string;
  position: number;
  type: string;
  status: WorkflowStepStatus;
  attempts: number;
  output: unknown;
  error: WorkflowErrorInfo | null;
  startedAt: string | null;
  finishedAt: string | null;
  updatedAt?: string;
}

export interface WorkflowRunDetailsView {
  run: WorkflowRunView;
  steps: WorkflowStepView[];
}

/**
 * How often the view asks again while the WebSocket is down; while it is up, the server pushes every change
 * of the runs the user may see (`workflow.run.updated`, `workflow.step.updated`).
 */
export const WORKFLOW_POLL_MS = 2_000;

/** The pushed progress of a run, as docs/protocol.md describes it. */
/**
 * A change to a run or a step: @kaiwa/protocol's `workflow.run.updated` and `workflow.step.updated` frames
 * (which fit this shape), or a REST answer put in the same shape.
 */
export type WorkflowProgressFrame =
  | { type: 'workflow.run.updated'; run: WorkflowRunView }
  | { type: 'workflow.step.updated'; runId: string; step: WorkflowStepView };

// The frames the server pushes must fit the shape the view merges.
type Fits<T extends WorkflowProgressFrame> = T;
type ServerWorkflowProgressFrame = Fits<
  ServerFrames['workflow.run.updated'] | ServerFrames['workflow.step.updated']
>;

export function isWorkflowProgressFrame(frame: { type: string }): frame is ServerWorkflowProgressFrame {
  return frame.type === 'workflow.run.updated' || frame.type === 'workflow.step.updated';
}

/** Whether `incoming` is not older than `current` (frames and REST answers may cross on the way). */
function isNotOlder(current: { updatedAt?: string } | undefined, incoming: { updatedAt?: string }): boolean {
  return !current?.updatedAt || !incoming.updatedAt || incoming.updatedAt >= current.updatedAt;
}

/** The runs with `changed` put in, each unless a newer state of it is already known. */
export function mergeRunViews(
  runs: ReadonlyMap<string, WorkflowRunView>,
  changed: WorkflowRunView[],
): Map<string, WorkflowRunView> {
  const next = new Map(runs);
  for (const run of changed) if (isNotOlder(next.get(run.id), run)) next.set(run.id, run);
  return next;
}

/** A run's timeline with a pushed change applied; a frame of another run, or older news, changes nothing. */
export function applyWorkflowProgress(
  details: WorkflowRunDetailsView,
  frame: WorkflowProgressFrame,
): WorkflowRunDetailsView {
  if (frame.type === 'workflow.run.updated') {
    if (frame.run.id !== details.run.id || !isNotOlder(details.run, frame.run)) return details;
    return { ...details, run: frame.run };
  }
  if (frame.runId !== details.run.id) return details;
  const index = details.steps.findIndex((step) => step.stepId === frame.step.stepId);
  if (index !== -1 && !isNotOlder(details.steps[index], frame.step)) return details;
  const steps =
    index === -1
      ? [...details.steps, frame.step].sort((a, b) => a.position - b.position)
      : details.steps.map((step, position) => (position === index ? frame.step : step));
  return { ...details, steps };
}

/** A status in words, in the UI's language: `Succeeded`. */
export function statusLabel(status: WorkflowStepStatus): string {
  return t(`workflows.status.${status}`);
}

export function isFinished(status: WorkflowStepStatus): boolean {
  return status !== 'pending' && status !== 'running';
}

/**
 * How long something took (or has been taking, while it runs): `850 ms`, `12.3 s`, `4 min 05 s`,
 * `2 h 03 min`; empty when it has not started.
 */
export function formatDuration(
  startedAt: string | null,
  finishedAt: string | null,
  now = Date.now(),
): string {
  if (!startedAt) return '';
  const start = Date.parse(startedAt);
  const end = finishedAt ? Date.parse(finishedAt) : now;
  if (Number.isNaN(start) || Number.isNaN(end)) return '';
  const ms = Math.max(0, end - start);
  if (ms < 1_000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  const seconds = Math.floor(ms / 1_000);
  if (seconds < 3_600) return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, '0')} s`;
  return `${Math.floor(seconds / 3_600)} h ${String(Math.floor((seconds % 3_600) / 60)).padStart(2, '0')} min`;
}

/** One line for an error: its message, the first bad field when there is one, and its code. */
export function describeWorkflowError(error: WorkflowErrorInfo | null): string {
  if (!error) return '';
  const issue = error.issues?.[0];
  const field = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : undefined;
  const message =
    field && !error.message.includes(issue!.message) ? `${error.message} (${field})` : error.message;
  const code = error.code && error.code !== 'validation_failed' ? ` [${error.code}]` : '';
  const step = error.stepId ? t('workflows.stepPrefix', { step: error.stepId }) : '';
  return `${step}${message}${code}`;
}

/** Counts of steps by status, for the run's summary line: `2 succeeded · 1 running · 1 waiting`. */
export function stepSummary(steps: WorkflowStepView[]): string {
  const counts = new Map<WorkflowStepStatus, number>();
  for (const step of steps) counts.set(step.status, (counts.get(step.status) ?? 0) + 1);
  const order: WorkflowStepStatus[] = ['succeeded', 'running', 'pending', 'failed', 'skipped', 'cancelled'];
  return order
    .filter((status) => counts.has(status))
    .map((status) => t(`workflows.stepCount.${status}`, { count: counts.get(status) ?? 0 }))
    .join(' · ');
}

/** Newest first, for the list of runs (ids are ULIDs, so they sort by start time). */
export function newestFirst(runs: WorkflowRunView[]): WorkflowRunView[] {
  return [...runs].sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

/** A short, bounded preview of a step's output. */
export function previewOutput(output: unknown, maxLength = 200): string {
  if (output === null || output === undefined) return '';
  let text: string;
  try {
    text = typeof output === 'string' ? output : JSON.stringify(output);
  } catch {
    return '';
  }
  return text.length > maxLength ? `${text.slice(0, maxLength - 1)}…` : text;
}

/** A run's timeline as the REST API answered, without undoing newer changes pushed meanwhile. */
export function mergeRunDetails(
  current: WorkflowRunDetailsView | null,
  answer: WorkflowRunDetailsView,
): WorkflowRunDetailsView {
  if (current?.run.id !== answer.run.id) return answer;
  let merged = applyWorkflowProgress(current, { type: 'workflow.run.updated', run: answer.run });
  for (const step of answer.steps) {
    merged = applyWorkflowProgress(merged, { type: 'workflow.step.updated', runId: answer.run.id, step });
  }
  return merged;
}

/** What `metadata.workflow` of a message a workflow run posted holds (set by the server, never by a client). */
export interface WorkflowMessageOrigin {
  workflowId: string;
  runId: string;
  startedBy: string;
}

/**
 * The run behind a message, when a bot posted it for a workflow: the server's workflow bot puts
 * `{ workflowId, runId, startedBy }` in `metadata.workflow`. A person's message never counts, whatever its
 * metadata says, so nobody can pass their own words off as a workflow's.
 */
export function workflowOriginOf(
  message: { metadata?: Record<string, unknown> },
  author: { role: string } | undefined,
): WorkflowMessageOrigin | undefined {
  if (author?.role !== 'bot') return undefined;
  const origin = message.metadata?.workflow as Partial<WorkflowMessageOrigin> | undefined;
  if (typeof origin !== 'object' || origin === null) return undefined;
  const { workflowId, runId, startedBy } = origin;
  if (typeof workflowId !== 'string' || typeof runId !== 'string' || typeof startedBy !== 'string')
    return undefined;
  return { workflowId, runId, startedBy };
}
