/*
 * What the Workflows view shows of runs and their steps, kept apart from the components so it can be
 * tested without a browser: the shapes the REST API answers with, durations, labels and error lines.
 */

export type WorkflowRunStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export type WorkflowStepStatus = WorkflowRunStatus | 'skipped';

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
}

export interface WorkflowRunDetailsView {
  run: WorkflowRunView;
  steps: WorkflowStepView[];
}

/** How often the view asks again while it is open; the server does not push workflow events to browsers. */
export const WORKFLOW_POLL_MS = 2_000;

export const STATUS_LABELS: Record<WorkflowStepStatus, string> = {
  pending: 'Waiting',
  running: 'Running',
  succeeded: 'Succeeded',
  failed: 'Failed',
  cancelled: 'Cancelled',
  skipped: 'Skipped',
};

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
  const step = error.stepId ? `step ${error.stepId}: ` : '';
  return `${step}${message}${code}`;
}

/** Counts of steps by status, for the run's summary line: `2 succeeded · 1 running · 1 waiting`. */
export function stepSummary(steps: WorkflowStepView[]): string {
  const counts = new Map<WorkflowStepStatus, number>();
  for (const step of steps) counts.set(step.status, (counts.get(step.status) ?? 0) + 1);
  const order: WorkflowStepStatus[] = ['succeeded', 'running', 'pending', 'failed', 'skipped', 'cancelled'];
  return order
    .filter((status) => counts.has(status))
    .map((status) => `${counts.get(status)} ${STATUS_LABELS[status].toLowerCase()}`)
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
