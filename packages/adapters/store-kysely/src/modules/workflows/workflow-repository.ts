import {
  ConflictError,
  type StoredWorkflowDefinition,
  type WorkflowDefinitionRecord,
  type WorkflowErrorInfo,
  type WorkflowRepository,
  type WorkflowRun,
  type WorkflowRunPatch,
  type WorkflowRunStatus,
  type WorkflowStepPatch,
  type WorkflowStepRecord,
  type WorkflowStepStatus,
} from '@kaiwa/core';
import type { Selectable, Updateable } from 'kysely';
import type { WorkflowDefinitionsTable, WorkflowRunsTable, WorkflowStepsTable } from '../../database.js';
import { uniqueViolation } from '../../unique-violations.js';
import type { RepositoryContext } from '../repository-context.js';

function toDefinition(row: Selectable<WorkflowDefinitionsTable>): WorkflowDefinitionRecord {
  return {
    id: row.id,
    version: Number(row.version),
    name: row.name,
    definition: JSON.parse(row.definition) as StoredWorkflowDefinition,
    createdBy: row.created_by,
    createdAt: row.created_at,
  };
}

function parseError(text: string | null): WorkflowErrorInfo | null {
  return text === null ? null : (JSON.parse(text) as WorkflowErrorInfo);
}

function toRun(row: Selectable<WorkflowRunsTable>): WorkflowRun {
  return {
    id: row.id,
    workflowId: row.workflow_id,
    workflowVersion: Number(row.workflow_version),
    status: row.status as WorkflowRunStatus,
    actorId: row.actor_id,
    trigger: JSON.parse(row.trigger_payload) as unknown,
    error: parseError(row.error),
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    updatedAt: row.updated_at,
    claimedBy: row.claimed_by,
    claimedUntil: row.claimed_until,
  };
}

function toStep(row: Selectable<WorkflowStepsTable>): WorkflowStepRecord {
  return {
    runId: row.run_id,
    stepId: row.step_id,
    position: Number(row.position),
    type: row.type,
    status: row.status as WorkflowStepStatus,
    attempts: Number(row.attempts),
    output: row.output === null ? null : (JSON.parse(row.output) as unknown),
    error: parseError(row.error),
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    updatedAt: row.updated_at,
  };
}

function json(value: unknown): string {
  return JSON.stringify(value ?? null);
}

function runColumns(patch: WorkflowRunPatch): Updateable<WorkflowRunsTable> {
  const columns: Updateable<WorkflowRunsTable> = {};
  if (patch.status !== undefined) columns.status = patch.status;
  if (patch.error !== undefined) columns.error = patch.error === null ? null : json(patch.error);
  if (patch.startedAt !== undefined) columns.started_at = patch.startedAt;
  if (patch.finishedAt !== undefined) columns.finished_at = patch.finishedAt;
  if (patch.updatedAt !== undefined) columns.updated_at = patch.updatedAt;
  if (patch.claimedBy !== undefined) columns.claimed_by = patch.claimedBy;
  if (patch.claimedUntil !== undefined) columns.claimed_until = patch.claimedUntil;
  return columns;
}

function stepColumns(patch: WorkflowStepPatch): Updateable<WorkflowStepsTable> {
  const columns: Updateable<WorkflowStepsTable> = {};
  if (patch.status !== undefined) columns.status = patch.status;
  if (patch.attempts !== undefined) columns.attempts = patch.attempts;
  if (patch.output !== undefined) columns.output = json(patch.output);
  if (patch.error !== undefined) columns.error = patch.error === null ? null : json(patch.error);
  if (patch.startedAt !== undefined) columns.started_at = patch.startedAt;
  if (patch.finishedAt !== undefined) columns.finished_at = patch.finishedAt;
  if (patch.updatedAt !== undefined) columns.updated_at = patch.updatedAt;
  return columns;
}

const UNFINISHED: WorkflowRunStatus[] = ['pending', 'running'];

export class KyselyWorkflowRepository implements WorkflowRepository {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  async insertDefinition(record: WorkflowDefinitionRecord): Promise<void> {
    try {
      await this.#context.db
        .insertInto('workflow_definitions')
        .values({
          id: record.id,
          version: record.version,
          name: record.name,
          definition: json(record.definition),
          created_by: record.createdBy,
          created_at: record.createdAt,
        })
        .execute();
    } catch (error) {
      if (uniqueViolation(error, 'workflow_definitions') === undefined) throw error;
      throw new ConflictError(`workflow ${record.id} already has version ${record.version}`, 'version', {
        cause: error,
      });
    }
  }

  async findDefinition(id: string, version?: number): Promise<WorkflowDefinitionRecord | undefined> {
    let query = this.#context.db.selectFrom('workflow_definitions').selectAll().where('id', '=', id);
    query =
      version === undefined
        ? query.orderBy('version', 'desc').limit(1)
        : query.where('version', '=', version);
    const row = await query.executeTakeFirst();
    return row === undefined ? undefined : toDefinition(row);
  }

  async listDefinitions(query: { after?: string; limit: number }): Promise<WorkflowDefinitionRecord[]> {
    let select = this.#context.db
      .selectFrom('workflow_definitions as d')
      .selectAll('d')
      .where(({ eb, selectFrom }) =>
        eb(
          'd.version',
          '=',
          selectFrom('workflow_definitions as newer')
            .select(({ fn }) => fn.max('newer.version').as('version'))
            .whereRef('newer.id', '=', 'd.id'),
        ),
      );
    if (query.after !== undefined) select = select.where('d.id', '>', query.after);
    const rows = await select.orderBy('d.id').limit(query.limit).execute();
    return rows.map(toDefinition);
  }

  async insertRun(run: WorkflowRun): Promise<void> {
    try {
      await this.#context.db
        .insertInto('workflow_runs')
        .values({
          id: run.id,
          workflow_id: run.workflowId,
          workflow_version: run.workflowVersion,
          status: run.status,
          actor_id: run.actorId,
          trigger_payload: json(run.trigger),
          error: run.error === null ? null : json(run.error),
          created_at: run.createdAt,
          started_at: run.startedAt,
          finished_at: run.finishedAt,
          updated_at: run.updatedAt,
          claimed_by: run.claimedBy,
          claimed_until: run.claimedUntil,
        })
        .execute();
    } catch (error) {
      if (uniqueViolation(error, 'workflow_runs') === undefined) throw error;
      throw new ConflictError('a workflow run with this id exists', 'id', { cause: error });
    }
  }

  async findRun(id: string): Promise<WorkflowRun | undefined> {
    const row = await this.#context.db
      .selectFrom('workflow_runs')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row === undefined ? undefined : toRun(row);
  }

  async listRuns(query: {
    workflowId?: string;
    actorId?: string;
    status?: WorkflowRunStatus | WorkflowRunStatus[];
    after?: string;
    limit: number;
  }): Promise<WorkflowRun[]> {
    let select = this.#context.db.selectFrom('workflow_runs').selectAll();
    if (query.workflowId !== undefined) select = select.where('workflow_id', '=', query.workflowId);
    if (query.actorId !== undefined) select = select.where('actor_id', '=', query.actorId);
    if (query.status !== undefined) {
      const statuses = Array.isArray(query.status) ? query.status : [query.status];
      if (statuses.length === 0) return [];
      select = select.where('status', 'in', statuses);
    }
    if (query.after !== undefined) select = select.where('id', '>', query.after);
    const rows = await select.orderBy('id').limit(query.limit).execute();
    return rows.map(toRun);
  }

  async updateRun(
    id: string,
    patch: WorkflowRunPatch,
    options: { onlyIf?: WorkflowRunStatus[] } = {},
  ): Promise<boolean> {
    const columns = runColumns(patch);
    if (Object.keys(columns).length === 0) return (await this.findRun(id)) !== undefined;
    let update = this.#context.db.updateTable('workflow_runs').set(columns).where('id', '=', id);
    if (options.onlyIf !== undefined) {
      if (options.onlyIf.length === 0) return false;
      update = update.where('status', 'in', options.onlyIf);
    }
    const result = await update.executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async claimRun(id: string, owner: string, until: string, now: string): Promise<boolean> {
    const result = await this.#context.db
      .updateTable('workflow_runs')
      .set({ claimed_by: owner, claimed_until: until })
      .where('id', '=', id)
      .where('status', 'in', UNFINISHED)
      .where((eb) =>
        eb.or([
          eb('claimed_by', 'is', null),
          eb('claimed_by', '=', owner),
          eb('claimed_until', 'is', null),
          eb('claimed_until', '<=', now),
        ]),
      )
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async insertSteps(steps: WorkflowStepRecord[]): Promise<void> {
    if (steps.length === 0) return;
    await this.#context.db
      .insertInto('workflow_steps')
      .values(
        steps.map((step) => ({
          run_id: step.runId,
          step_id: step.stepId,
          position: step.position,
          type: step.type,
          status: step.status,
          attempts: step.attempts,
          output: step.output === null ? null : json(step.output),
          error: step.error === null ? null : json(step.error),
          started_at: step.startedAt,
          finished_at: step.finishedAt,
          updated_at: step.updatedAt,
        })),
      )
      .execute();
  }

  async updateStep(runId: string, stepId: string, patch: WorkflowStepPatch): Promise<void> {
    const columns = stepColumns(patch);
    if (Object.keys(columns).length === 0) return;
    await this.#context.db
      .updateTable('workflow_steps')
      .set(columns)
      .where('run_id', '=', runId)
      .where('step_id', '=', stepId)
      .execute();
  }

  async listSteps(runId: string): Promise<WorkflowStepRecord[]> {
    const rows = await this.#context.db
      .selectFrom('workflow_steps')
      .selectAll()
      .where('run_id', '=', runId)
      .orderBy('position')
      .execute();
    return rows.map(toStep);
  }

  async recordWebhookDelivery(workflowId: string, deliveryId: string, at: string): Promise<boolean> {
    const { db, adapter } = this.#context;
    return adapter.insertOnce(db, {
      table: 'workflow_webhook_deliveries',
      row: { workflow_id: workflowId, delivery_id: deliveryId, received_at: at },
      key: { name: 'workflow_webhook_deliveries_pkey', columns: ['workflow_id', 'delivery_id'] },
    });
  }

  async pruneWebhookDeliveries(before: string): Promise<number> {
    const result = await this.#context.db
      .deleteFrom('workflow_webhook_deliveries')
      .where('received_at', '<', before)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
