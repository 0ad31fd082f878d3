import type { FieldIssue } from '../errors.js';

/** A run is `pending` until an engine picks it up, then `running` until it ends one of three ways. */
export type WorkflowRunStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** A step also ends `skipped` (its `when` was false, or every dependency was skipped). */
export type WorkflowStepStatus = WorkflowRunStatus | 'skipped';

/** What is kept of an error: enough to show it and to decide on retries, never a stack trace. */
export interface WorkflowErrorInfo {
  name: string;
  message: string;
  /** A Kaiwa error code, a driver code such as `ECONNRESET`, or `timeout`. */
  code?: string;
  /** For validation errors: every bad field. */
  issues?: FieldIssue[];
  /** On a run: the step that failed it. */
  stepId?: string;
}

/**
 * A workflow definition as a store keeps it: the JSON document the workflow engine (`@kaiwa/workflow`)
 * checked before it stored it. A store writes it whole and reads it back whole; only the engine looks inside.
 */
export interface StoredWorkflowDefinition {
  id: string;
  name: string;
  version?: number;
  steps: readonly { id: string; type: string }[];
  [field: string]: unknown;
}

/**
 * One stored version of a workflow definition. Versions start at 1 and only grow. `@kaiwa/workflow` reads
 * records as `WorkflowDefinitionRecord<WorkflowDefinition>`.
 */
export interface WorkflowDefinitionRecord<
  Definition extends StoredWorkflowDefinition = StoredWorkflowDefinition,
> {
  id: string;
  version: number;
  name: string;
  definition: Definition;
  createdBy: string;
  createdAt: string;
}

export interface WorkflowRun {
  id: string;
  workflowId: string;
  /** The definition version the run follows, also after a restart when newer versions exist. */
  workflowVersion: number;
  status: WorkflowRunStatus;
  /** The user the run acts as. */
  actorId: string;
  /** What started the run (a message, a file, a webhook body); JSON. */
  trigger: unknown;
  error: WorkflowErrorInfo | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  updatedAt: string;
  /** The engine instance executing the run, and until when its claim holds unless renewed. */
  claimedBy: string | null;
  claimedUntil: string | null;
}

export interface WorkflowStepRecord {
  runId: string;
  stepId: string;
  /** Index of the step in the definition, for showing the timeline in order. */
  position: number;
  type: string;
  status: WorkflowStepStatus;
  /** Tries so far, counting the one in progress. */
  attempts: number;
  /** The step's result (JSON) once it succeeded; null otherwise. */
  output: unknown;
  error: WorkflowErrorInfo | null;
  startedAt: string | null;
  finishedAt: string | null;
  updatedAt: string;
}

export type WorkflowRunPatch = Partial<
  Pick<
    WorkflowRun,
    'status' | 'error' | 'startedAt' | 'finishedAt' | 'updatedAt' | 'claimedBy' | 'claimedUntil'
  >
>;

export type WorkflowStepPatch = Partial<
  Pick<
    WorkflowStepRecord,
    'status' | 'attempts' | 'output' | 'error' | 'startedAt' | 'finishedAt' | 'updatedAt'
  >
>;

/**
 * Storage of workflow definitions, runs and step records. The workflow engine writes every transition here
 * before it announces it, so a restarted engine continues from exactly what is stored.
 *
 * @example
 * await store.transaction(async (tx) => {
 *   await tx.workflows.insertRun(run);
 *   await tx.workflows.insertSteps(steps);
 * });
 */
export interface WorkflowRepository {
  /**
   * Stores a new version of a definition.
   * @throws ConflictError with field `version` when this id already has this version.
   * @example await store.workflows.insertDefinition({ id: 'invoice', version: 1, name, definition, createdBy, createdAt });
   */
  insertDefinition(record: WorkflowDefinitionRecord): Promise<void>;
  /**
   * The given version of a definition, or its newest when `version` is left out.
   * @example const latest = await store.workflows.findDefinition('invoice');
   */
  findDefinition(id: string, version?: number): Promise<WorkflowDefinitionRecord | undefined>;
  /**
   * The newest version of every definition, in id order, ids strictly after `after`.
   * @example const page = await store.workflows.listDefinitions({ limit: 50 });
   */
  listDefinitions(query: { after?: string; limit: number }): Promise<WorkflowDefinitionRecord[]>;

  /**
   * @throws ConflictError with field `id` when a run with this id exists.
   * @example await store.workflows.insertRun(run);
   */
  insertRun(run: WorkflowRun): Promise<void>;
  /** @example const run = await store.workflows.findRun(runId); */
  findRun(id: string): Promise<WorkflowRun | undefined>;
  /**
   * Runs in id (start) order, filtered, ids strictly after `after`.
   * @example await store.workflows.listRuns({ workflowId: 'invoice', status: 'failed', limit: 20 });
   */
  listRuns(query: {
    workflowId?: string;
    /** Only runs acting as this user. */
    actorId?: string;
    status?: WorkflowRunStatus | WorkflowRunStatus[];
    after?: string;
    limit: number;
  }): Promise<WorkflowRun[]>;
  /**
   * Changes a run; with `onlyIf`, only while its status is one of those (a cancel must not overwrite a run
   * that just finished).
   * @returns whether the run was changed.
   * @example await store.workflows.updateRun(id, { status: 'cancelled' }, { onlyIf: ['pending', 'running'] });
   */
  updateRun(
    id: string,
    patch: WorkflowRunPatch,
    options?: { onlyIf?: WorkflowRunStatus[] },
  ): Promise<boolean>;
  /**
   * Takes (or renews) an unfinished run for `owner` until `until`, unless another owner holds an unexpired
   * claim (`claimedUntil` later than `now`). This is what keeps two engines on one database from running
   * the same run.
   * @returns whether `owner` holds the run now.
   * @example if (await store.workflows.claimRun(run.id, engineId, inThirtySeconds, now)) execute(run);
   */
  claimRun(id: string, owner: string, until: string, now: string): Promise<boolean>;

  /**
   * Adds step records (all the steps of a new run, in one transaction with the run).
   * @example await tx.workflows.insertSteps(records);
   */
  insertSteps(steps: WorkflowStepRecord[]): Promise<void>;
  /** @example await store.workflows.updateStep(runId, 'ocr', { status: 'succeeded', output }); */
  updateStep(runId: string, stepId: string, patch: WorkflowStepPatch): Promise<void>;
  /**
   * A run's steps in definition order.
   * @example const timeline = await store.workflows.listSteps(runId);
   */
  listSteps(runId: string): Promise<WorkflowStepRecord[]>;

  /**
   * Remembers a webhook delivery so that it is accepted once.
   * @returns false when this delivery of this workflow was recorded before (a replay): nothing is written.
   * @example if (!(await store.workflows.recordWebhookDelivery('invoice', deliveryId, now))) reject();
   */
  recordWebhookDelivery(workflowId: string, deliveryId: string, at: string): Promise<boolean>;
  /**
   * Forgets deliveries received before `before` (older ones fail the timestamp check anyway).
   * @returns how many were removed.
   * @example await store.workflows.pruneWebhookDeliveries(tenMinutesAgo);
   */
  pruneWebhookDeliveries(before: string): Promise<number>;
}
