import type {
  Bus,
  ChatStore,
  WorkflowDefinitionRecord,
  WorkflowErrorInfo,
  WorkflowRun,
  WorkflowRunPatch,
  WorkflowRunStatus,
  WorkflowStepPatch,
  WorkflowStepRecord,
} from '@kaiwa/core';
import {
  createId,
  ForbiddenError,
  fitsUtf8Bytes,
  KaiwaError,
  NotFoundError,
  parseInput,
  ValidationError,
} from '@kaiwa/core';
import { evaluateExpression, renderTemplate } from './expression/index.js';
import { retryDelay } from './retry-delay.js';
import type { StepType, WorkflowServices } from './step-type.js';
import { StepTypeRegistry } from './step-type-registry.js';
import {
  assertWorkflowDefinition,
  resolveDependencies,
  type WorkflowDefinition,
  type WorkflowStep,
} from './workflow-definition.js';

export interface WorkflowEngineConfig {
  /** Where definitions, runs and step records are kept (`store.workflows`), and actors are looked up. */
  store: ChatStore;
  /** Handed to every step. */
  services: WorkflowServices;
  /**
   * Where run and step progress is announced (`workflow.run.updated`, `workflow.step.updated`): the bus the
   * chat engine was given, so that its `events` and the realtime server see the progress.
   */
  bus: Bus;
  /** Step types known from the start; more with `register`. */
  steps?: StepType[];
  /** Values scripts see as `env.*` in templates and conditions (never the process environment). */
  env?: Record<string, string>;
  /** How long a claim on a run lasts; the engine renews it every third of that while it runs the run. */
  leaseMs?: number;
  /**
   * When set, the engine looks for unfinished runs nobody holds this often (`resumeUnfinished`), so runs of
   * an instance that died are taken over once its claims run out. Call `resumeUnfinished()` at start-up
   * either way.
   */
  resumeEveryMs?: number;
  /** Names this engine in claims; defaults to a random id. */
  instanceId?: string;
  clock?: () => Date;
  /** Source of randomness for retry jitter. */
  random?: () => number;
  /** Errors of background work that has no caller to throw to (a failed write, a failed publish). */
  onError?: (error: unknown, context: { runId?: string; stepId?: string }) => void;
}

/** A stored definition version as the workflow engine hands it out: its definition was checked when defined. */
export type DefinedWorkflow = WorkflowDefinitionRecord<WorkflowDefinition>;

/** A run with its step timeline. */
export interface WorkflowRunDetails {
  run: WorkflowRun;
  steps: WorkflowStepRecord[];
}

/** A step did not finish within its `timeoutMs`. */
export class StepTimeoutError extends KaiwaError {
  constructor(stepId: string, timeoutMs: number) {
    super('internal', `step ${stepId} timed out after ${timeoutMs} ms`);
    this.name = 'StepTimeoutError';
  }
  /** Listed in `retryOn` as `timeout`. */
  get reason(): 'timeout' {
    return 'timeout';
  }
}

/** `waitForRun` gave up before the run finished. */
export class WorkflowWaitTimeoutError extends KaiwaError {
  constructor(runId: string, timeoutMs: number) {
    super('internal', `run ${runId} did not finish within ${timeoutMs} ms`);
    this.name = 'WorkflowWaitTimeoutError';
  }
}

const TERMINAL: ReadonlySet<WorkflowRunStatus> = new Set(['succeeded', 'failed', 'cancelled']);
const UNFINISHED: WorkflowRunStatus[] = ['pending', 'running'];

/** Why a run's controller was aborted; `lost-claim` also covers a store that failed mid-run. */
type StopReason = 'cancelled' | 'failed' | 'closing' | 'lost-claim';

class StopSignal extends Error {
  constructor(readonly reason: StopReason) {
    super(`run stopped: ${reason}`);
  }
}

/** One run being executed by this engine. */
interface Execution {
  run: WorkflowRun;
  definition: WorkflowDefinition;
  controller: AbortController;
  records: Map<string, WorkflowStepRecord>;
  done: Promise<void>;
}

/**
 * Runs workflow definitions durably: every run and step transition is written to the store before it is
 * announced on the bus, so after a crash `resumeUnfinished()` continues each unfinished run from what is
 * stored, and a step whose record says `succeeded` never runs again (its stored output feeds later steps).
 *
 * Scheduling: a step waits for its `dependsOn` (by default the step listed before it); independent
 * branches run at the same time. A false `when` skips a step; a step whose dependencies were all skipped
 * is skipped too, while a step with at least one dependency that ran does run (a join after a branch),
 * seeing skipped steps as `null`. A failed step fails the run (`onError: 'fail'`, the default), is passed
 * over with output `null` (`'continue'`), or hands over to a fallback step whose output stands in for it.
 * When a run fails or is cancelled, steps still running are aborted and steps not started are `cancelled`.
 *
 * @example
 * const workflows = new WorkflowEngine({ store, bus, services: { chat: engine, store }, steps });
 * await workflows.define(definition, admin.id);
 * const run = await workflows.start('invoice', { actorId: alice.id, trigger: { fileId } });
 * const { run: finished, steps } = await workflows.waitForRun(run.id);
 */
export class WorkflowEngine {
  readonly registry: StepTypeRegistry;
  readonly instanceId: string;
  readonly #store: ChatStore;
  readonly #services: WorkflowServices;
  readonly #bus: Bus;
  readonly #env: Record<string, string>;
  readonly #leaseMs: number;
  readonly #clock: () => Date;
  readonly #random: () => number;
  readonly #onError: (error: unknown, context: { runId?: string; stepId?: string }) => void;
  readonly #executions = new Map<string, Execution>();
  readonly #checked = new Set<string>();
  readonly #definitionListeners = new Set<(record: DefinedWorkflow) => void>();
  #closed = false;
  #resumeTimer: ReturnType<typeof setInterval> | undefined;

  constructor(config: WorkflowEngineConfig) {
    this.#store = config.store;
    this.#services = config.services;
    this.#bus = config.bus;
    this.#env = config.env ?? {};
    this.#leaseMs = config.leaseMs ?? 30_000;
    this.#clock = config.clock ?? (() => new Date());
    this.#random = config.random ?? Math.random;
    this.#onError =
      config.onError ??
      ((error, context) =>
        console.error(`kaiwa: workflow ${context.runId ?? ''} ${context.stepId ?? ''}`, error));
    this.instanceId = config.instanceId ?? `engine-${randomHex(6)}`;
    this.registry = new StepTypeRegistry(config.steps ?? []);
    if (config.resumeEveryMs !== undefined) {
      let resuming = false;
      this.#resumeTimer = setInterval(() => {
        if (resuming) return;
        resuming = true;
        this.resumeUnfinished()
          .catch((error) => this.#onError(error, {}))
          .finally(() => {
            resuming = false;
          });
      }, config.resumeEveryMs);
      unrefTimer(this.#resumeTimer);
    }
  }

  /**
   * Adds a step type for definitions to use.
   * @example workflows.register(defineStepType({ type: 'shout', description, input, run }));
   */
  register<Input, Output>(stepType: StepType<Input, Output>): void {
    this.registry.register(stepType as StepType);
  }

  /**
   * Checks a definition (every issue reported at once, see `validateWorkflowDefinition`) and stores it as
   * the next version of its id. Who may define workflows is the caller's decision; the actor must exist.
   *
   * @throws ValidationError listing every issue with its path; NotFoundError for an unknown actor.
   * @example const record = await workflows.define(parseWorkflowDefinition(yaml, 'yaml'), admin.id);
   */
  async define(definition: unknown, actorId: string): Promise<DefinedWorkflow> {
    const checked = assertWorkflowDefinition(definition, this.registry);
    await this.#actor(actorId);
    const record = await this.#store.transaction(async (tx) => {
      const latest = await tx.workflows.findDefinition(checked.id);
      const version = (latest?.version ?? 0) + 1;
      const stored: DefinedWorkflow = {
        id: checked.id,
        version,
        name: checked.name,
        definition: { ...checked, version },
        createdBy: actorId,
        createdAt: this.#now(),
      };
      await tx.workflows.insertDefinition(stored);
      return stored;
    });
    for (const listener of this.#definitionListeners) listener(record);
    return record;
  }

  /** The newest version of a definition. @example await workflows.getDefinition('invoice') */
  async getDefinition(id: string, version?: number): Promise<DefinedWorkflow | undefined> {
    return defined(await this.#store.workflows.findDefinition(id, version));
  }

  /** The newest version of every definition. @example (await workflows.listDefinitions()).map((d) => d.id) */
  async listDefinitions(): Promise<DefinedWorkflow[]> {
    const all: DefinedWorkflow[] = [];
    for (let after: string | undefined; ; ) {
      const page = await this.#store.workflows.listDefinitions({ ...(after ? { after } : {}), limit: 200 });
      all.push(...page.map((record) => defined(record)));
      if (page.length < 200) return all;
      after = page[page.length - 1]!.id;
    }
  }

  /**
   * Called after each `define` on this engine (triggers use it to pick up new definitions).
   * @returns a function that removes the listener.
   * @example const stop = workflows.onDefine((record) => triggers.refresh());
   */
  onDefine(listener: (record: DefinedWorkflow) => void): () => void {
    this.#definitionListeners.add(listener);
    return () => {
      this.#definitionListeners.delete(listener);
    };
  }

  /**
   * Creates a run of the newest version of a workflow and starts it in the background; the run and all its
   * step records are stored (pending) before this returns.
   *
   * @throws NotFoundError for an unknown workflow or actor; ValidationError when `trigger` is not JSON.
   * @example const run = await workflows.start('invoice', { actorId: alice.id, trigger: { fileId } });
   */
  async start(workflowId: string, options: { actorId: string; trigger?: unknown }): Promise<WorkflowRun> {
    if (this.#closed) throw new Error('the workflow engine is closed');
    const record = defined(await this.#store.workflows.findDefinition(workflowId));
    if (record === undefined) throw new NotFoundError('workflow', workflowId);
    // Refused up front when this engine lacks a step type the definition uses (defined elsewhere).
    this.#checkDefinition(record);
    await this.#actor(options.actorId);
    const trigger = toJson(options.trigger ?? null, 'trigger');
    const now = this.#now();
    const run: WorkflowRun = {
      id: createId(),
      workflowId,
      workflowVersion: record.version,
      status: 'pending',
      actorId: options.actorId,
      trigger,
      error: null,
      createdAt: now,
      startedAt: null,
      finishedAt: null,
      updatedAt: now,
      claimedBy: this.instanceId,
      claimedUntil: this.#leaseEnd(),
    };
    const steps: WorkflowStepRecord[] = record.definition.steps.map((step, position) => ({
      runId: run.id,
      stepId: step.id,
      position,
      type: step.type,
      status: 'pending',
      attempts: 0,
      output: null,
      error: null,
      startedAt: null,
      finishedAt: null,
      updatedAt: now,
    }));
    await this.#store.transaction(async (tx) => {
      await tx.workflows.insertRun(run);
      await tx.workflows.insertSteps(steps);
    });
    await this.#publishRun(run);
    this.#launch(run, record.definition, steps);
    return run;
  }

  /**
   * Waits until a run has finished (succeeded, failed or cancelled), whichever engine runs it.
   * @throws NotFoundError for an unknown run; WorkflowWaitTimeoutError after `timeoutMs` (default 60 s).
   * @example const { run, steps } = await workflows.waitForRun(run.id, { timeoutMs: 5000 });
   */
  async waitForRun(runId: string, options: { timeoutMs?: number } = {}): Promise<WorkflowRunDetails> {
    const timeoutMs = options.timeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const execution = this.#executions.get(runId);
      if (execution !== undefined) {
        const left = deadline - Date.now();
        let timer: ReturnType<typeof setTimeout> | undefined;
        const expired = await Promise.race([
          execution.done.then(() => false),
          new Promise<boolean>((resolve) => {
            timer = setTimeout(() => resolve(true), Math.max(0, left));
          }),
        ]);
        clearTimeout(timer);
        if (expired) throw new WorkflowWaitTimeoutError(runId, timeoutMs);
      }
      const details = await this.getRun(runId);
      if (details === undefined) throw new NotFoundError('workflow run', runId);
      if (TERMINAL.has(details.run.status)) return details;
      if (Date.now() >= deadline) throw new WorkflowWaitTimeoutError(runId, timeoutMs);
      // Run elsewhere (another engine, or not yet resumed): watch the store.
      if (!this.#executions.has(runId)) await sleep(Math.min(50, Math.max(1, deadline - Date.now())));
    }
  }

  /**
   * Cancels an unfinished run: running steps are aborted (their signal fires), steps not started are
   * marked `cancelled`. The actor must be the one who started the run or an admin.
   *
   * @returns the run as it is now (unchanged when it had already finished).
   * @throws NotFoundError, ForbiddenError.
   * @example await workflows.cancel(run.id, alice.id);
   */
  async cancel(runId: string, actorId: string): Promise<WorkflowRun> {
    const run = await this.#store.workflows.findRun(runId);
    if (run === undefined) throw new NotFoundError('workflow run', runId);
    const actor = await this.#actor(actorId);
    if (actor.id !== run.actorId && actor.role !== 'admin')
      throw new ForbiddenError('cancel workflow run', 'only the user who started it or an admin may');
    if (TERMINAL.has(run.status)) return run;
    const now = this.#now();
    const patch: WorkflowRunPatch = {
      status: 'cancelled',
      finishedAt: now,
      updatedAt: now,
      error: { name: 'Cancelled', message: `cancelled by ${actorId}`, code: 'cancelled' },
      claimedBy: null,
      claimedUntil: null,
    };
    const changed = await this.#store.workflows.updateRun(runId, patch, { onlyIf: UNFINISHED });
    const execution = this.#executions.get(runId);
    if (changed) {
      const cancelled = { ...(execution?.run ?? run), ...patch };
      if (execution) execution.run = cancelled;
      await this.#publishRun(cancelled);
    }
    if (execution) {
      execution.controller.abort(new StopSignal('cancelled'));
      await execution.done;
    } else if (changed) {
      // Nobody here is running it: close its open steps now (an engine elsewhere stops at its next write).
      await this.#closeOpenSteps(runId);
    }
    return (await this.#store.workflows.findRun(runId)) ?? run;
  }

  /** A run with its steps in definition order. @example const details = await workflows.getRun(id); */
  async getRun(runId: string): Promise<WorkflowRunDetails | undefined> {
    const run = await this.#store.workflows.findRun(runId);
    if (run === undefined) return undefined;
    return { run, steps: await this.#store.workflows.listSteps(runId) };
  }

  /** Runs in start order. @example await workflows.listRuns({ workflowId: 'invoice', limit: 20 }) */
  listRuns(query: {
    workflowId?: string;
    actorId?: string;
    status?: WorkflowRunStatus | WorkflowRunStatus[];
    after?: string;
    limit: number;
  }): Promise<WorkflowRun[]> {
    return this.#store.workflows.listRuns(query);
  }

  /**
   * Picks up every unfinished run (pending or running) that no live engine holds, for example after a
   * restart, and continues it from its stored state.
   *
   * @returns how many runs this engine took over.
   * @example await workflows.resumeUnfinished();
   */
  async resumeUnfinished(): Promise<number> {
    let resumed = 0;
    for (let after: string | undefined; ; ) {
      const page = await this.#store.workflows.listRuns({
        status: UNFINISHED,
        ...(after ? { after } : {}),
        limit: 100,
      });
      for (const run of page) {
        if (this.#executions.has(run.id) || this.#closed) continue;
        const until = this.#leaseEnd();
        if (!(await this.#store.workflows.claimRun(run.id, this.instanceId, until, this.#now()))) continue;
        const record = defined(
          await this.#store.workflows.findDefinition(run.workflowId, run.workflowVersion),
        );
        const claimed = { ...run, claimedBy: this.instanceId, claimedUntil: until };
        if (record === undefined) {
          await this.#finishRun(claimed, 'failed', {
            name: 'NotFoundError',
            message: `workflow ${run.workflowId} version ${run.workflowVersion} is gone`,
            code: 'not_found',
          });
          continue;
        }
        const steps = await this.#store.workflows.listSteps(run.id);
        this.#launch(claimed, record.definition, steps);
        resumed++;
      }
      if (page.length < 100) return resumed;
      after = page[page.length - 1]!.id;
    }
  }

  /**
   * Stops executing: running steps are aborted and left as they are stored, claims are released, so another
   * engine (or this process after a restart) resumes the runs. Neither the store nor the bus is closed.
   * @example await workflows.close();
   */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#resumeTimer);
    const executions = [...this.#executions.values()];
    for (const execution of executions) execution.controller.abort(new StopSignal('closing'));
    await Promise.all(executions.map((execution) => execution.done));
    this.#definitionListeners.clear();
  }

  // ---------------------------------------------------------------- execution

  #launch(run: WorkflowRun, definition: WorkflowDefinition, steps: WorkflowStepRecord[]): void {
    const controller = new AbortController();
    const execution: Execution = {
      run,
      definition,
      controller,
      records: new Map(steps.map((step) => [step.stepId, step])),
      done: Promise.resolve(),
    };
    this.#executions.set(run.id, execution);
    execution.done = this.#execute(execution)
      .catch((error) => this.#onError(error, { runId: run.id }))
      .finally(() => this.#executions.delete(run.id));
  }

  async #execute(execution: Execution): Promise<void> {
    const renew = setInterval(
      () => {
        void this.#renewClaim(execution);
      },
      Math.max(10, Math.floor(this.#leaseMs / 3)),
    );
    unrefTimer(renew);
    try {
      await this.#schedule(execution);
    } finally {
      clearInterval(renew);
    }
  }

  async #renewClaim(execution: Execution): Promise<void> {
    try {
      const held = await this.#store.workflows.claimRun(
        execution.run.id,
        this.instanceId,
        this.#leaseEnd(),
        this.#now(),
      );
      if (held || execution.controller.signal.aborted) return;
      // Cancelled by another engine (claims hold only on unfinished runs), or taken over after a stall.
      const stored = await this.#store.workflows.findRun(execution.run.id);
      if (stored?.status === 'cancelled') execution.run = stored;
      execution.controller.abort(new StopSignal(stored?.status === 'cancelled' ? 'cancelled' : 'lost-claim'));
    } catch (error) {
      this.#onError(error, { runId: execution.run.id });
    }
  }

  async #schedule(execution: Execution): Promise<void> {
    const { definition, controller } = execution;
    try {
      this.#checkDefinition({
        id: execution.run.workflowId,
        version: execution.run.workflowVersion,
        definition,
      });
    } catch (error) {
      await this.#finishRun(execution.run, 'failed', errorInfo(error));
      return;
    }
    if (execution.run.status === 'pending') {
      const now = this.#now();
      const started = await this.#updateRun(execution, {
        status: 'running',
        startedAt: execution.run.startedAt ?? now,
        updatedAt: now,
      });
      if (!started) return;
    }

    const dependencies = resolveDependencies(definition);
    const stepById = new Map(definition.steps.map((step) => [step.id, step]));
    /** Fallback step → the step whose failure it stands in for. */
    const fallbackSource = new Map<string, string>();
    for (const step of definition.steps) {
      if (typeof step.onError === 'object') fallbackSource.set(step.onError.fallback, step.id);
    }
    const inFlight = new Map<string, Promise<void>>();
    let failure: WorkflowErrorInfo | undefined;

    const policy = (id: string) => stepById.get(id)?.onError ?? 'fail';
    /** A settled step's value for later steps; undefined while it is not settled. */
    const resolution = (id: string): { skipped: boolean; output: unknown } | undefined => {
      const record = execution.records.get(id)!;
      if (record.status === 'succeeded') return { skipped: false, output: record.output };
      if (record.status === 'skipped') return { skipped: true, output: null };
      if (record.status !== 'failed') return undefined;
      const onError = policy(id);
      if (onError === 'continue') return { skipped: false, output: null };
      if (typeof onError === 'object') return resolution(onError.fallback);
      return undefined;
    };
    const scope = () => {
      const steps: Record<string, unknown> = {};
      for (const step of definition.steps) {
        const settled = resolution(step.id);
        if (settled) steps[step.id] = settled.output;
      }
      return {
        trigger: execution.run.trigger,
        steps,
        env: this.#env,
        run: { id: execution.run.id, workflowId: execution.run.workflowId, actorId: execution.run.actorId },
      };
    };
    /** A step's failure that ends the run, if any. */
    const fatal = (id: string): WorkflowErrorInfo | undefined => {
      const record = execution.records.get(id)!;
      if (record.status !== 'failed' || policy(id) !== 'fail') return undefined;
      return { ...(record.error ?? { name: 'Error', message: 'step failed' }), stepId: id };
    };

    for (const step of definition.steps) failure ??= fatal(step.id);

    while (failure === undefined && !controller.signal.aborted) {
      let progressed = false;
      for (const step of definition.steps) {
        const record = execution.records.get(step.id)!;
        if (inFlight.has(step.id) || (record.status !== 'pending' && record.status !== 'running')) continue;
        const source = fallbackSource.get(step.id);
        let ready = false;
        if (source !== undefined) {
          const sourceStatus = execution.records.get(source)!.status;
          if (sourceStatus === 'failed') ready = true;
          else if (sourceStatus === 'succeeded' || sourceStatus === 'skipped') {
            await this.#updateStep(execution, step.id, { status: 'skipped', finishedAt: this.#now() });
            progressed = true;
          }
        } else {
          const settled = (dependencies.get(step.id) ?? []).map(resolution);
          if (settled.every((entry) => entry !== undefined)) {
            if (settled.length > 0 && settled.every((entry) => entry!.skipped)) {
              await this.#updateStep(execution, step.id, { status: 'skipped', finishedAt: this.#now() });
              progressed = true;
            } else {
              ready = true;
            }
          }
        }
        if (ready) {
          progressed = true;
          const running = this.#runStep(execution, step, scope()).catch((error: unknown) => {
            // The store failed under us: stop here and leave the run as stored for a later resume,
            // rather than go round again on a step whose record could not be written.
            this.#onError(error, { runId: execution.run.id, stepId: step.id });
            if (!controller.signal.aborted) controller.abort(new StopSignal('lost-claim'));
          });
          inFlight.set(
            step.id,
            running.finally(() => inFlight.delete(step.id)),
          );
        }
      }
      if (inFlight.size === 0) {
        if (progressed) continue;
        break;
      }
      await Promise.race(inFlight.values());
      for (const step of definition.steps) failure ??= fatal(step.id);
    }

    if (failure !== undefined && !controller.signal.aborted) controller.abort(new StopSignal('failed'));
    await Promise.all(inFlight.values());

    const reason = controller.signal.aborted ? (controller.signal.reason as StopSignal).reason : undefined;
    if (reason === 'closing' || reason === 'lost-claim') {
      // Leave the run as stored for whoever resumes it; let them start at once.
      if (reason === 'closing') {
        await this.#store.workflows
          .updateRun(execution.run.id, { claimedBy: null, claimedUntil: null }, { onlyIf: UNFINISHED })
          .catch((error) => this.#onError(error, { runId: execution.run.id }));
      }
      return;
    }
    if (reason === 'cancelled') {
      await this.#closeOpenSteps(execution.run.id, execution);
      return;
    }
    if (failure !== undefined) {
      await this.#finishRun(execution.run, 'failed', failure, execution);
      return;
    }
    const stuck = definition.steps.find((step) => {
      const status = execution.records.get(step.id)!.status;
      return status === 'pending' || status === 'running';
    });
    if (stuck !== undefined) {
      await this.#finishRun(
        execution.run,
        'failed',
        {
          name: 'Error',
          message: `step ${stuck.id} could not be scheduled`,
          code: 'internal',
          stepId: stuck.id,
        },
        execution,
      );
      return;
    }
    await this.#finishRun(execution.run, 'succeeded', null, execution);
  }

  /** Runs one step to its end (succeeded, failed, skipped or cancelled), with its retries. */
  async #runStep(execution: Execution, step: WorkflowStep, scope: Record<string, unknown>): Promise<void> {
    const runSignal = execution.controller.signal;
    const stepType = this.registry.get(step.type);
    const fail = (error: unknown, attempts?: number) =>
      this.#updateStep(execution, step.id, {
        status: 'failed',
        error: errorInfo(error),
        finishedAt: this.#now(),
        ...(attempts === undefined ? {} : { attempts }),
      });
    if (stepType === undefined) {
      await fail(ValidationError.field(['type'], `unknown step type "${step.type}"`));
      return;
    }
    if (step.when !== undefined) {
      let value: unknown;
      try {
        value = evaluateExpression(step.when, scope);
      } catch (error) {
        await fail(error);
        return;
      }
      if (typeof value !== 'boolean') {
        await fail(ValidationError.field(['when'], `must be true or false, not ${describeType(value)}`));
        return;
      }
      if (!value) {
        await this.#updateStep(execution, step.id, { status: 'skipped', finishedAt: this.#now() });
        return;
      }
    }
    let input: unknown;
    try {
      input = parseInput(stepType.input, renderTemplate(step.input ?? {}, scope));
    } catch (error) {
      await fail(error);
      return;
    }

    const record = execution.records.get(step.id)!;
    const retry = step.retry ?? { attempts: 1, backoffMs: 0 };
    // A try cut short by a crash did not finish: it gets one more even when the policy is used up.
    const lastAttempt = Math.max(retry.attempts, record.attempts + 1);
    for (let attempt = record.attempts + 1; ; attempt++) {
      if (runSignal.aborted) return this.#stopStep(execution, step.id);
      await this.#updateStep(execution, step.id, {
        status: 'running',
        attempts: attempt,
        startedAt: record.startedAt ?? this.#now(),
      });
      let output: unknown;
      try {
        output = await this.#attempt(stepType, step, input, execution, attempt);
        output = toJson(output ?? null, 'output');
      } catch (error) {
        if (runSignal.aborted) return this.#stopStep(execution, step.id, error);
        const retryable =
          (stepType.retryable ?? defaultRetryable)(error) && matchesRetryOn(error, step.retry?.retryOn);
        if (attempt < lastAttempt && retryable) {
          await this.#updateStep(execution, step.id, { error: errorInfo(error) });
          await sleep(retryDelay(retry, attempt, this.#random), runSignal);
          continue;
        }
        await fail(error);
        return;
      }
      await this.#updateStep(execution, step.id, {
        status: 'succeeded',
        output,
        error: null,
        finishedAt: this.#now(),
      });
      return;
    }
  }

  /** One try of a step, bounded by its timeout and the run's signal whether or not the step honours them. */
  async #attempt(
    stepType: StepType,
    step: WorkflowStep,
    input: unknown,
    execution: Execution,
    attempt: number,
  ): Promise<unknown> {
    let signal = execution.controller.signal;
    let timer: ReturnType<typeof setTimeout> | undefined;
    // AbortSignal.any costs more than a whole no-op step: only steps with a timeout pay for it.
    if (step.timeoutMs !== undefined) {
      const timeout = new AbortController();
      signal = AbortSignal.any([signal, timeout.signal]);
      timer = setTimeout(() => timeout.abort(new StepTimeoutError(step.id, step.timeoutMs!)), step.timeoutMs);
    }
    let onAbort: (() => void) | undefined;
    try {
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(signal.reason);
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      });
      return await Promise.race([
        stepType.run(input, {
          runId: execution.run.id,
          workflowId: execution.run.workflowId,
          stepId: step.id,
          attempt,
          signal,
          actorId: execution.run.actorId,
          services: this.#services,
        }),
        aborted,
      ]);
    } finally {
      clearTimeout(timer);
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }

  /** A step stopped by the run ending: cancelled, unless the engine is closing (then left to resume). */
  async #stopStep(execution: Execution, stepId: string, error?: unknown): Promise<void> {
    const reason = (execution.controller.signal.reason as StopSignal | undefined)?.reason;
    if (reason === 'closing' || reason === 'lost-claim') return;
    await this.#updateStep(execution, stepId, {
      status: 'cancelled',
      finishedAt: this.#now(),
      ...(error === undefined ? {} : { error: errorInfo(error) }),
    });
  }

  /** Ends a run: its open steps become `cancelled` and the run takes `status`, in one transaction. */
  async #finishRun(
    run: WorkflowRun,
    status: 'succeeded' | 'failed',
    error: WorkflowErrorInfo | null,
    execution?: Execution,
  ): Promise<void> {
    const now = this.#now();
    const patch: WorkflowRunPatch = {
      status,
      error,
      finishedAt: now,
      updatedAt: now,
      claimedBy: null,
      claimedUntil: null,
    };
    const open = execution
      ? [...execution.records.values()].filter(
          (step) => step.status === 'pending' || step.status === 'running',
        )
      : undefined;
    // One statement when nothing is left open (every successful run); otherwise run and steps together.
    const { changed, closed } =
      open?.length === 0
        ? {
            changed: await this.#store.workflows.updateRun(run.id, patch, { onlyIf: UNFINISHED }),
            closed: [],
          }
        : await this.#store.transaction(async (tx) => {
            const changed = await tx.workflows.updateRun(run.id, patch, { onlyIf: UNFINISHED });
            if (!changed) return { changed, closed: [] };
            // The executing engine knows its steps; reading them back is for runs it does not hold.
            return { changed, closed: await closeSteps(tx.workflows, run.id, now, open) };
          });
    for (const step of closed) this.#afterStepWrite(execution, step);
    if (changed) {
      const finished = { ...run, ...patch };
      if (execution) execution.run = finished;
      await this.#publishRun(finished);
    }
  }

  /** Marks a cancelled run's open steps `cancelled`. */
  async #closeOpenSteps(runId: string, execution?: Execution): Promise<void> {
    const now = this.#now();
    const closed = await this.#store.transaction((tx) => closeSteps(tx.workflows, runId, now));
    for (const step of closed) this.#afterStepWrite(execution, step);
  }

  /** Writes a run change while the run is unfinished; false when it had ended meanwhile (cancelled). */
  async #updateRun(execution: Execution, patch: WorkflowRunPatch): Promise<boolean> {
    const changed = await this.#store.workflows.updateRun(execution.run.id, patch, { onlyIf: UNFINISHED });
    if (!changed) return false;
    execution.run = { ...execution.run, ...patch };
    await this.#publishRun(execution.run);
    return true;
  }

  async #updateStep(execution: Execution, stepId: string, patch: WorkflowStepPatch): Promise<void> {
    const full = { ...patch, updatedAt: this.#now() };
    await this.#store.workflows.updateStep(execution.run.id, stepId, full);
    const record = { ...execution.records.get(stepId)!, ...full };
    execution.records.set(stepId, record);
    await this.#publish({
      type: 'workflow.step.updated',
      payload: { runId: execution.run.id, step: record },
    });
  }

  #afterStepWrite(execution: Execution | undefined, step: WorkflowStepRecord): void {
    if (execution) execution.records.set(step.stepId, step);
    void this.#publish({ type: 'workflow.step.updated', payload: { runId: step.runId, step } });
  }

  #publishRun(run: WorkflowRun): Promise<void> {
    return this.#publish({ type: 'workflow.run.updated', payload: { run } });
  }

  async #publish(
    event:
      | { type: 'workflow.run.updated'; payload: { run: WorkflowRun } }
      | { type: 'workflow.step.updated'; payload: { runId: string; step: WorkflowStepRecord } },
  ): Promise<void> {
    try {
      await this.#bus.publish(event);
    } catch (error) {
      this.#onError(error, { runId: 'run' in event.payload ? event.payload.run.id : event.payload.runId });
    }
  }

  async #actor(actorId: string) {
    const user = await this.#store.users.findById(actorId);
    if (user === undefined) throw new NotFoundError('user', actorId);
    return user;
  }

  /** Step types are only ever added, so a definition version that passed once passes for good. */
  #checkDefinition(record: Pick<WorkflowDefinitionRecord, 'id' | 'version' | 'definition'>): void {
    const key = `${record.id}@${record.version}`;
    if (this.#checked.has(key)) return;
    assertWorkflowDefinition(record.definition, this.registry);
    if (this.#checked.size >= 1000) this.#checked.clear();
    this.#checked.add(key);
  }

  #now(): string {
    return this.#clock().toISOString();
  }

  #leaseEnd(): string {
    return new Date(this.#clock().getTime() + this.#leaseMs).toISOString();
  }
}

/**
 * A stored definition with its definition typed. Only `define` stores definitions, after checking them, and
 * every version is checked again before this engine runs it (`#checkDefinition`), since another instance
 * may know other step types.
 */
function defined(record: WorkflowDefinitionRecord): DefinedWorkflow;
function defined(record: WorkflowDefinitionRecord | undefined): DefinedWorkflow | undefined;
function defined(record: WorkflowDefinitionRecord | undefined): DefinedWorkflow | undefined {
  return record as DefinedWorkflow | undefined;
}

/** Marks every pending or running step of a run `cancelled`; returns them as written. */
async function closeSteps(
  workflows: ChatStore['workflows'],
  runId: string,
  now: string,
  known?: Iterable<WorkflowStepRecord>,
): Promise<WorkflowStepRecord[]> {
  const closed: WorkflowStepRecord[] = [];
  for (const step of known ?? (await workflows.listSteps(runId))) {
    if (step.status !== 'pending' && step.status !== 'running') continue;
    const patch = { status: 'cancelled' as const, finishedAt: now, updatedAt: now };
    await workflows.updateStep(runId, step.stepId, patch);
    closed.push({ ...step, ...patch });
  }
  return closed;
}

function defaultRetryable(error: unknown): boolean {
  return !(error instanceof ValidationError);
}

function matchesRetryOn(error: unknown, retryOn: string[] | undefined): boolean {
  if (retryOn === undefined) return true;
  const info = errorInfo(error);
  return retryOn.includes(info.name) || (info.code !== undefined && retryOn.includes(info.code));
}

/** What is stored of an error. */
export function errorInfo(error: unknown): WorkflowErrorInfo {
  if (error instanceof StepTimeoutError) return { name: error.name, message: error.message, code: 'timeout' };
  if (error instanceof Error) {
    const info: WorkflowErrorInfo = { name: error.name, message: error.message };
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' || typeof code === 'number') info.code = String(code);
    if (error instanceof ValidationError) info.issues = error.issues;
    return info;
  }
  return { name: 'Error', message: String(error) };
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value;
}

/** Largest trigger or step output kept, as JSON. */
export const MAX_WORKFLOW_JSON_BYTES = 1024 * 1024;

/**
 * `value` as it reads back from JSON; throws a ValidationError naming `field` when it is not JSON or is
 * larger than {@link MAX_WORKFLOW_JSON_BYTES} (big data belongs in the blob store, referenced by key).
 */
function toJson(value: unknown, field: string): unknown {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new ValidationError([{ path: [field], message: `must be JSON: ${(error as Error).message}` }]);
  }
  if (text === undefined) return null;
  if (!fitsUtf8Bytes(text, MAX_WORKFLOW_JSON_BYTES))
    throw ValidationError.field(field, `must be at most ${MAX_WORKFLOW_JSON_BYTES} bytes of JSON`);
  return JSON.parse(text);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** `bytes` random bytes from Web Crypto, as hex. */
function randomHex(bytes: number): string {
  return Array.from(globalThis.crypto.getRandomValues(new Uint8Array(bytes)), (byte) =>
    byte.toString(16).padStart(2, '0'),
  ).join('');
}

/** Lets the process exit while the timer waits, where timer handles can say so (Node, Bun); elsewhere a no-op. */
function unrefTimer(timer: unknown): void {
  (timer as { unref?: () => void } | undefined)?.unref?.();
}
