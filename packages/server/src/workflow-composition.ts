import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type BlobStore,
  type Bus,
  type ChatEngine,
  type ChatModel,
  type ChatStore,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  type PlatformAdapter,
  type Synthesizer,
  type Transcriber,
  ValidationError,
} from '@kaiwa/core';
import {
  parseWorkflowDefinition,
  type StepType,
  validateWorkflowDefinition,
  type WorkflowChat,
  WorkflowEngine,
  WorkflowTriggers,
} from '@kaiwa/workflow';
import { builtInStepTypes, createOcrStep } from '@kaiwa/workflow-steps';
import type { FastifyBaseLogger } from 'fastify';
import type { OcrSettings, WorkflowSettings } from './config.js';
import { countWorkflowOutcomes, instrumentStepTypes } from './operations/instrument-workflows.js';
import type { ServerMetrics } from './operations/server-metrics.js';
import type { Tracing } from './operations/tracing.js';

export interface WorkflowCompositionConfig {
  engine: ChatEngine;
  store: ChatStore;
  /** The chat engine's bus: run and step progress is announced on it. */
  bus: Bus;
  blobs: BlobStore;
  settings: WorkflowSettings;
  logger: FastifyBaseLogger;
  /** Step types besides the built-ins (custom steps, or stand-ins in tests). */
  steps?: StepType[];
  /** The LLM backend's model for `analyze` and LLM extraction; unset when KAIWA_LLM_BASE_URL is not. */
  chatModel?: ChatModel;
  /** Platform adapters by name (from KAIWA_BRIDGE_FILE), for `notify` steps to platform channels. */
  platforms?: ReadonlyMap<string, PlatformAdapter>;
  /** The voice backends (KAIWA_TRANSCRIBER, KAIWA_SYNTHESIZER), for `transcribe` and `synthesize` steps. */
  transcriber?: Transcriber;
  synthesizer?: Synthesizer;
  /** Counts runs, steps, tries and retries (`kaiwa_workflow_*`). */
  metrics?: ServerMetrics;
  /** Makes each run a trace with a span per step try (OTEL_*). */
  tracing?: Tracing;
  /**
   * The operator's OCR bounds (KAIWA_OCR_MAX_PAGES, KAIWA_OCR_MAX_MEGAPIXELS) for the `ocr` step; unset: the
   * step's own defaults (20 pages, 25 megapixels).
   */
  ocr?: Pick<OcrSettings, 'maxPages' | 'maxPixels'>;
}

/** The workflow engine and its triggers as the server runs them. */
export interface WorkflowComposition {
  engine: WorkflowEngine;
  triggers: WorkflowTriggers;
  /** The shared secret of a workflow's incoming webhook, if one is configured. */
  webhookSecret(workflowId: string): string | undefined;
  /**
   * Defines the workflows of the configured directory (as `actorId`), arms the triggers and resumes runs
   * left unfinished by a previous process.
   */
  start(actorId: string | undefined): Promise<{ loaded: string[]; resumed: number }>;
  /** Stops triggers and running steps; unfinished runs resume at the next start. */
  close(): Promise<void>;
}

/** A definition file that cannot be read or is not a valid definition; the server does not start. */
export class WorkflowDirectoryError extends Error {
  readonly problems: string[];

  constructor(problems: string[]) {
    super(`KAIWA_WORKFLOW_DIR: ${problems.join('; ')}`);
    this.name = 'WorkflowDirectoryError';
    this.problems = problems;
  }
}

/**
 * Builds the server's workflow engine with the built-in steps, and triggers that start runs from messages,
 * uploads, cron schedules and signed webhooks.
 *
 * @example
 * const workflows = composeWorkflows({ engine, store, bus, blobs, settings: config.workflows, logger: app.log });
 * await workflows.start(admin.id);
 */
export function composeWorkflows(config: WorkflowCompositionConfig): WorkflowComposition {
  const { settings, logger, metrics, tracing } = config;
  // The `ocr` step under the operator's bounds, with workers of its own that end when the server closes.
  const ocr = config.ocr
    ? createOcrStep({ maxPages: config.ocr.maxPages, maxPixels: config.ocr.maxPixels })
    : undefined;
  const allSteps = [...builtInStepTypes(ocr ? { ocr } : {}), ...(config.steps ?? [])];
  const steps = tracing ? tracing.traceStepTypes(allSteps) : allSteps;
  const countedBus = metrics ? countWorkflowOutcomes(config.bus, metrics) : config.bus;
  const engine = new WorkflowEngine({
    store: config.store,
    bus: tracing ? tracing.traceWorkflowRuns(countedBus) : countedBus,
    services: {
      chat: workflowBotChat(config.engine, logger),
      store: config.store,
      blobs: config.blobs,
      ...(config.chatModel ? { chatModel: config.chatModel } : {}),
      ...(config.platforms ? { platforms: config.platforms } : {}),
      ...(config.transcriber ? { transcriber: config.transcriber } : {}),
      ...(config.synthesizer ? { synthesizer: config.synthesizer } : {}),
    },
    steps: metrics ? instrumentStepTypes(steps, metrics) : steps,
    onError: (error, context) => logger.error({ err: error, ...context }, 'workflow background work failed'),
  });
  const webhookSecret = (workflowId: string) =>
    settings.webhookSecrets[workflowId] ?? settings.webhookSecrets['*'];
  const triggers = new WorkflowTriggers({
    events: config.engine.events,
    repository: config.store.workflows,
    workflows: engine,
    webhookSecret,
    webhookToleranceSeconds: settings.webhookToleranceSeconds,
    onRunStarted: (run, trigger) =>
      logger.info({ runId: run.id, workflowId: run.workflowId, trigger }, 'workflow run started'),
    onError: (error, workflowId) =>
      logger.warn({ err: error, workflowId }, 'a workflow trigger could not start a run'),
  });
  let closed = false;
  return {
    engine,
    triggers,
    webhookSecret,
    async start(actorId) {
      let loaded: string[] = [];
      if (settings.directory !== undefined) {
        if (actorId === undefined) {
          logger.warn(
            { directory: settings.directory },
            'no admin to define the workflow directory as; skipped',
          );
        } else {
          loaded = await defineDirectory(engine, settings.directory, actorId);
        }
      }
      await triggers.start();
      const resumed = await engine.resumeUnfinished();
      if (loaded.length > 0 || resumed > 0) logger.info({ loaded, resumed }, 'workflows ready');
      return { loaded, resumed };
    },
    async close() {
      if (closed) return;
      closed = true;
      await triggers.close();
      await engine.close();
      await ocr?.close();
    },
  };
}

/** The bot account workflow runs post their room messages as (display name "Workflows"). */
export const WORKFLOW_BOT_USERNAME = 'workflow';

/** What a message a run posted carries in `metadata.workflow`. */
export interface WorkflowMessageOrigin {
  workflowId: string;
  runId: string;
  /** Who started the run: its rights decide where the run may post. */
  startedBy: string;
}

/**
 * The chat port the workflow steps get: every call acts as the run's actor, as before, except that the
 * messages a run posts to a room (those that carry `workflowRunId` in their metadata, as `notify` sends them)
 * are authored by the `workflow` bot, with `metadata.workflow = { workflowId, runId, startedBy }`, so nobody
 * mistakes them for something the starter typed.
 *
 * The run still acts with its starter's rights: before the bot posts, the starter must be able to post there
 * themself (the room readable to them, a member, not archived; the same checks as `ChatEngine.sendMessage`).
 * The bot then joins a channel, or the starter brings it into a group they may invite to; where neither is
 * possible (a direct conversation, a group they may not invite to) the message is posted as the starter, as it
 * was before there was a bot.
 */
export function workflowBotChat(
  engine: ChatEngine,
  logger: Pick<FastifyBaseLogger, 'warn'>,
  username = WORKFLOW_BOT_USERNAME,
): WorkflowChat {
  let bot: Promise<string | undefined> | undefined;
  const botId = () => {
    bot ??= ensureWorkflowBot(engine, username).catch((error: unknown) => {
      logger.warn({ err: error, username }, 'workflow messages are posted as the run actor');
      bot = undefined;
      return undefined;
    });
    return bot;
  };
  return {
    async sendMessage(actorId, input) {
      const given = isRecord(input.metadata) ? input.metadata : undefined;
      const origin = workflowOrigin(actorId, given);
      if (origin === undefined) return engine.sendMessage(actorId, input);
      const room = await engine.getRoom(actorId, input.roomId);
      const membership = await engine.findMembership(actorId, room.id);
      if (!membership) throw new ForbiddenError('send message', 'join the room first');
      if (room.archived) throw new ForbiddenError('send message', 'the room is archived');
      const id = await botId();
      if (id !== undefined && (await botIsIn(engine, id, actorId, room))) {
        return engine.sendMessage(id, input, { workflow: origin });
      }
      return engine.sendMessage(actorId, input, { workflow: origin });
    },
    getFileRecord: (actorId, fileId) => engine.getFileRecord(actorId, fileId),
    createFileRecord: (actorId, input) => engine.createFileRecord(actorId, input),
    getTicket: (actorId, ticketId) => engine.getTicket(actorId, ticketId),
    createTicket: (actorId, input) => engine.createTicket(actorId, input),
    updateTicket: (actorId, ticketId, patch) => engine.updateTicket(actorId, ticketId, patch),
  };
}

function workflowOrigin(
  actorId: string,
  metadata: Record<string, unknown> | undefined,
): WorkflowMessageOrigin | undefined {
  const runId = metadata?.workflowRunId;
  const workflowId = metadata?.workflowId;
  if (typeof runId !== 'string' || typeof workflowId !== 'string') return undefined;
  return { workflowId, runId, startedBy: actorId };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The workflow bot's id: found by username, or created with role `bot` on first use. */
async function ensureWorkflowBot(engine: ChatEngine, username: string): Promise<string> {
  const existing = await findUser(engine, username);
  if (existing !== undefined) {
    // Never speak as a person who happens to have the name.
    if (existing.role !== 'bot') throw new Error(`the user "${username}" exists and is not a bot`);
    return existing.id;
  }
  try {
    return (await engine.createUser({ username, displayName: 'Workflows', role: 'bot' })).id;
  } catch (error) {
    // Another instance created it first.
    if (!(error instanceof ConflictError)) throw error;
    const created = await findUser(engine, username);
    if (created?.role !== 'bot') throw error;
    return created.id;
  }
}

async function findUser(engine: ChatEngine, username: string) {
  try {
    return await engine.getUserByUsername(username);
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}

/** Whether the bot is (or now is) a member of the room: it joins channels; the starter invites it to groups. */
async function botIsIn(
  engine: ChatEngine,
  botId: string,
  starterId: string,
  room: { id: string; kind: string },
): Promise<boolean> {
  if ((await engine.findMembership(starterId, room.id, botId)) !== undefined) return true;
  try {
    if (room.kind === 'channel') await engine.joinRoom(botId, room.id);
    else if (room.kind === 'group') await engine.inviteToRoom(starterId, room.id, botId);
    else return false;
    return true;
  } catch (error) {
    if (error instanceof ForbiddenError || error instanceof NotFoundError) return false;
    throw error;
  }
}

/**
 * Defines every `*.json`, `*.yaml` and `*.yml` file of `directory`, in name order. A file whose definition
 * equals the stored newest version is left alone, so restarts do not pile up versions.
 *
 * @throws WorkflowDirectoryError naming each bad file and field; nothing is defined then.
 */
export async function defineDirectory(
  workflows: WorkflowEngine,
  directory: string,
  actorId: string,
): Promise<string[]> {
  let names: string[];
  try {
    names = (await readdir(directory)).filter((name) => /\.(json|ya?ml)$/i.test(name)).sort();
  } catch (error) {
    throw new WorkflowDirectoryError([`${directory} cannot be read (${(error as Error).message})`]);
  }
  const problems: string[] = [];
  const parsed: { name: string; definition: ReturnType<typeof parseWorkflowDefinition> }[] = [];
  const seen = new Map<string, string>();
  for (const name of names) {
    try {
      const text = await readFile(join(directory, name), 'utf8');
      const definition = parseWorkflowDefinition(text, /\.json$/i.test(name) ? 'json' : 'yaml');
      const other = seen.get(definition.id);
      if (other !== undefined) problems.push(`${name}: id "${definition.id}" is also defined by ${other}`);
      seen.set(definition.id, name);
      parsed.push({ name, definition });
    } catch (error) {
      problems.push(describeProblem(name, error));
    }
  }
  // Check every file before defining any, so a bad directory changes nothing.
  for (const { name, definition } of parsed) {
    const result = validateWorkflowDefinition(definition, workflows.registry);
    if (!result.ok) {
      problems.push(`${name}: ${result.issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`);
    }
  }
  if (problems.length > 0) throw new WorkflowDirectoryError(problems);
  const loaded: string[] = [];
  for (const { definition } of parsed) {
    const stored = await workflows.getDefinition(definition.id);
    if (
      stored === undefined ||
      canonical(withoutVersion(stored.definition)) !== canonical(withoutVersion(definition))
    ) {
      await workflows.define(definition, actorId);
    }
    loaded.push(definition.id);
  }
  return loaded;
}

function describeProblem(name: string, error: unknown): string {
  if (error instanceof ValidationError) {
    return `${name}: ${error.issues.map((issue) => `${issue.path.join('.') || 'definition'}: ${issue.message}`).join('; ')}`;
  }
  return `${name}: ${(error as Error).message}`;
}

function withoutVersion(definition: object): object {
  const { version: _version, ...rest } = definition as { version?: number };
  return rest;
}

/** JSON with sorted keys, to compare definitions regardless of key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    item !== null && typeof item === 'object' && !Array.isArray(item)
      ? Object.fromEntries(
          Object.entries(item as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)),
        )
      : item,
  );
}
