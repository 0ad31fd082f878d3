import type { FileRecord, Message, WorkflowRepository, WorkflowRun } from '@kaiwa/core';
import { ConflictError, ForbiddenError, NotFoundError } from '@kaiwa/core';
import { Cron } from 'croner';
import { type BoundedRegex, compileBoundedRegex } from './expression/index.js';
import { verifyWebhookSignature } from './webhook-signature.js';
import type { WorkflowChatEvents } from './workflow-chat.js';
import type { WorkflowTrigger } from './workflow-definition.js';
import type { DefinedWorkflow, WorkflowEngine } from './workflow-engine.js';

/** Text beyond this is not matched against message patterns, which bounds the cost of any pattern. */
const MAX_MATCHED_TEXT = 10_000;
const COMMAND = /^\/run\s+([a-z0-9][a-z0-9_-]{0,63})(?:\s+([\s\S]*))?$/;

export interface WorkflowTriggersConfig {
  /** New messages and uploads: the chat engine's `events` (`engine.events`). */
  events: WorkflowChatEvents;
  /** Where webhook deliveries and cron ticks are recorded, so each is accepted once (`store.workflows`). */
  repository: WorkflowRepository;
  workflows: WorkflowEngine;
  /** The shared secret of a workflow's webhook; undefined refuses its deliveries. */
  webhookSecret?: (workflowId: string) => string | undefined;
  /** How far a webhook's timestamp may lie from now. */
  webhookToleranceSeconds?: number;
  /** Told of every run a trigger started. */
  onRunStarted?: (run: WorkflowRun, trigger: WorkflowTrigger['type']) => void;
  /** A trigger could not start a run (unknown actor, store down); there is no caller to throw to. */
  onError?: (error: unknown, workflowId: string) => void;
  clock?: () => Date;
}

interface Armed {
  record: DefinedWorkflow;
  trigger: WorkflowTrigger;
  /** Decides in linear time whether a message matches. */
  gate?: BoundedRegex;
  /** Then extracts the groups, on matching text only. */
  pattern?: RegExp;
}

/**
 * Starts workflows from what happens in chat and outside it, per each definition's `trigger`:
 * - `message`: a new message whose text matches `pattern` (optionally in one room); runs as the author,
 *   with `trigger = { type, message, match: { text, groups, captures } }`;
 * - `command`: `/run <name> args…` (name defaults to the workflow id); `trigger = { type, message, command,
 *   args, argsText }`;
 * - `file`: a file uploaded to a room (optional room and MIME filter, `image/*` style); runs as the uploader;
 * - `cron`: a croner schedule; runs as the definition's author, once per tick even with several instances
 *   (each tick is recorded like a webhook delivery);
 * - `webhook`: {@link WorkflowTriggers.receiveWebhook}, signed with HMAC-SHA256 and a timestamp.
 * Messages whose `metadata.workflowRunId` is set (posted by a workflow) never trigger, so a workflow cannot
 * start itself in a loop.
 *
 * @example
 * const triggers = new WorkflowTriggers({ events: engine.events, repository: store.workflows, workflows });
 * await triggers.start();
 * // later
 * await triggers.close();
 */
export class WorkflowTriggers {
  readonly #config: WorkflowTriggersConfig;
  #armed: Armed[] = [];
  #crons: Cron[] = [];
  #unsubscribe: (() => void)[] = [];
  #started = false;
  #refreshing: Promise<void> = Promise.resolve();

  constructor(config: WorkflowTriggersConfig) {
    this.#config = config;
  }

  /** Loads the definitions and starts listening. @example await triggers.start(); */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    const { events, workflows } = this.#config;
    const onMessage = (event: { payload: { message: Message } }) => this.#onMessage(event.payload.message);
    const onFile = (event: { payload: { file: FileRecord } }) => this.#onFile(event.payload.file);
    events.on('message.created', onMessage);
    events.on('file.created', onFile);
    this.#unsubscribe.push(
      () => events.off('message.created', onMessage),
      () => events.off('file.created', onFile),
      workflows.onDefine(() => {
        void this.refresh();
      }),
    );
    await this.refresh();
  }

  /** Reads the definitions again (after they changed on another instance). @example await triggers.refresh(); */
  refresh(): Promise<void> {
    this.#refreshing = this.#refreshing.then(async () => {
      const records = await this.#config.workflows.listDefinitions();
      if (!this.#started) return;
      this.#stopCrons();
      this.#armed = records.flatMap((record): Armed[] => {
        const trigger = record.definition.trigger;
        if (trigger === undefined || trigger.type === 'manual') return [];
        if (trigger.type === 'message')
          return [
            {
              record,
              trigger,
              gate: compileBoundedRegex(trigger.pattern, 'u'),
              pattern: new RegExp(trigger.pattern, 'u'),
            },
          ];
        return [{ record, trigger }];
      });
      for (const armed of this.#armed) {
        if (armed.trigger.type !== 'cron') continue;
        const { schedule, timezone } = armed.trigger;
        this.#crons.push(
          new Cron(schedule, { protect: true, ...(timezone ? { timezone } : {}) }, () => this.#onTick(armed)),
        );
      }
    });
    return this.#refreshing;
  }

  /**
   * Starts a workflow from a signed webhook delivery. The run acts as the definition's author and gets
   * `trigger = { type: 'webhook', deliveryId, body }` (the body parsed as JSON when it is JSON). Replays are
   * told apart by signed content only (see {@link verifyWebhookSignature}'s `replayKey`): the unsigned
   * delivery header counts only when the signature covers it.
   *
   * @throws NotFoundError when the workflow has no webhook trigger; ForbiddenError for a missing secret, a
   *   bad signature or a stale timestamp; ConflictError (field `deliveryId`) for a replayed delivery.
   * @example
   * await triggers.receiveWebhook({ workflowId: 'invoice', deliveryId, timestamp, signature, body: rawBody });
   */
  async receiveWebhook(request: {
    workflowId: string;
    /** The sender's `x-kaiwa-delivery`, if any. */
    deliveryId?: string | undefined;
    timestamp: string | number;
    signature: string;
    body: string;
  }): Promise<WorkflowRun> {
    const record = await this.#config.workflows.getDefinition(request.workflowId);
    if (record === undefined || record.definition.trigger?.type !== 'webhook')
      throw new NotFoundError('workflow webhook', request.workflowId);
    const secret = this.#config.webhookSecret?.(request.workflowId);
    if (secret === undefined) throw new ForbiddenError('receive webhook', 'no secret is configured for it');
    const check = await verifyWebhookSignature({
      secret,
      timestamp: request.timestamp,
      signature: request.signature,
      body: request.body,
      deliveryId: request.deliveryId,
      now: this.#now().getTime(),
      ...(this.#config.webhookToleranceSeconds === undefined
        ? {}
        : { toleranceSeconds: this.#config.webhookToleranceSeconds }),
    });
    if (!check.ok) throw new ForbiddenError('receive webhook', check.message);
    const deliveryId = check.replayKey;
    if (deliveryId.length > 128)
      throw new ForbiddenError('receive webhook', 'deliveryId must be 1 to 119 characters');
    const fresh = await this.#config.repository.recordWebhookDelivery(
      request.workflowId,
      deliveryId,
      this.#now().toISOString(),
    );
    if (!fresh) throw new ConflictError('this delivery was received before', 'deliveryId');
    let body: unknown = request.body;
    try {
      body = JSON.parse(request.body);
    } catch {
      // Not JSON: the workflow gets the text.
    }
    const run = await this.#config.workflows.start(request.workflowId, {
      actorId: record.createdBy,
      trigger: { type: 'webhook', deliveryId, body },
    });
    this.#config.onRunStarted?.(run, 'webhook');
    return run;
  }

  /** Stops listening and stops every cron job; runs already started go on. @example await triggers.close(); */
  async close(): Promise<void> {
    this.#started = false;
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    this.#unsubscribe = [];
    await this.#refreshing;
    this.#stopCrons();
    this.#armed = [];
  }

  #stopCrons(): void {
    for (const cron of this.#crons) cron.stop();
    this.#crons = [];
  }

  #onMessage(message: Message): void {
    if (message.deletedAt !== null || isFromWorkflow(message)) return;
    const text = message.text.slice(0, MAX_MATCHED_TEXT);
    const command = COMMAND.exec(text.trim());
    for (const armed of this.#armed) {
      const { trigger, record } = armed;
      if ((trigger.type === 'message' || trigger.type === 'command') && trigger.roomId !== undefined) {
        if (trigger.roomId !== message.roomId) continue;
      }
      if (trigger.type === 'message' && armed.pattern && armed.gate) {
        if (!armed.gate.test(text)) continue;
        const match = armed.pattern.exec(text);
        if (match === null) continue;
        this.#fire(record, 'message', message.authorId, {
          type: 'message',
          message,
          match: { text: match[0], groups: { ...(match.groups ?? {}) }, captures: match.slice(1) },
        });
      } else if (
        trigger.type === 'command' &&
        command !== null &&
        command[1] === (trigger.name ?? record.id)
      ) {
        const argsText = (command[2] ?? '').trim();
        this.#fire(record, 'command', message.authorId, {
          type: 'command',
          message,
          command: command[1],
          args: argsText === '' ? [] : argsText.split(/\s+/),
          argsText,
        });
      }
    }
  }

  #onFile(file: FileRecord): void {
    if (file.roomId === null) return;
    for (const { trigger, record } of this.#armed) {
      if (trigger.type !== 'file') continue;
      if (trigger.roomId !== undefined && trigger.roomId !== file.roomId) continue;
      if (trigger.mimeType !== undefined && !mimeMatches(trigger.mimeType, file.mimeType)) continue;
      this.#fire(record, 'file', file.uploaderId, { type: 'file', file });
    }
  }

  async #onTick(armed: Armed): Promise<void> {
    // Whole seconds: every instance's tick for the same scheduled moment gets the same key.
    const scheduledAt = new Date(Math.floor(this.#now().getTime() / 1000) * 1000).toISOString();
    try {
      const first = await this.#config.repository.recordWebhookDelivery(
        armed.record.id,
        `cron:${scheduledAt}`,
        this.#now().toISOString(),
      );
      if (!first || !this.#started) return;
      this.#fire(armed.record, 'cron', armed.record.createdBy, { type: 'cron', scheduledAt });
    } catch (error) {
      this.#report(error, armed.record.id);
    }
  }

  #fire(record: DefinedWorkflow, type: WorkflowTrigger['type'], actorId: string, trigger: unknown): void {
    this.#config.workflows.start(record.id, { actorId, trigger }).then(
      (run) => this.#config.onRunStarted?.(run, type),
      (error: unknown) => this.#report(error, record.id),
    );
  }

  #report(error: unknown, workflowId: string): void {
    if (this.#config.onError) this.#config.onError(error, workflowId);
    else console.error(`kaiwa: trigger of workflow ${workflowId} failed`, error);
  }

  #now(): Date {
    return (this.#config.clock ?? (() => new Date()))();
  }
}

function isFromWorkflow(message: Message): boolean {
  const metadata = message.metadata as Record<string, unknown> | undefined;
  return metadata !== undefined && metadata !== null && metadata.workflowRunId !== undefined;
}

/** `image/*` matches any image type; anything else must be equal (case-insensitive). */
export function mimeMatches(filter: string, mimeType: string): boolean {
  const wanted = filter.toLowerCase();
  const actual = mimeType.toLowerCase();
  if (wanted.endsWith('/*')) return actual.startsWith(wanted.slice(0, -1));
  return wanted === actual;
}
