import {
  IdSchema,
  NON_GUEST_ROLES,
  NotFoundError,
  permissions,
  type User,
  type WorkflowRun,
} from '@kaiwa/core';
import {
  parseWorkflowDefinition,
  validateWorkflowDefinition,
  verifyWebhookSignature,
  WORKFLOW_ID_PATTERN,
} from '@kaiwa/workflow';
import { isMap, isSeq, parseDocument } from 'yaml';
import { z } from 'zod';
import type { AuditLog } from '../audit/audit-log.js';
import { errorResponses } from '../http/api-schemas.js';
import { requireUser } from '../http/authentication.js';
import { HttpError } from '../http/http-error.js';
import type { WorkflowComposition } from '../workflow-composition.js';
import type { ApiInstance } from './route-context.js';

/*
 * The workflow REST API: admins define workflows (JSON or YAML bodies), members start runs and follow
 * them, and an incoming webhook starts runs from outside, signed with HMAC-SHA256.
 */

const tags = ['workflows'];
const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'];
/** Largest definition or webhook body. */
const BODY_LIMIT = 256 * 1024;
const RUN_STATUSES = ['pending', 'running', 'succeeded', 'failed', 'cancelled'] as const;
const STEP_STATUSES = [...RUN_STATUSES, 'skipped'] as const;

const WorkflowIdSchema = z
  .string()
  .regex(WORKFLOW_ID_PATTERN, 'must be a workflow id such as invoice-intake');

const ErrorInfoSchema = z
  .object({
    name: z.string(),
    message: z.string(),
    code: z.string().optional(),
    issues: z
      .array(z.object({ path: z.array(z.union([z.string(), z.number()])), message: z.string() }))
      .optional(),
    stepId: z.string().optional(),
  })
  .nullable();

export const WorkflowDefinitionRecordSchema = z.object({
  id: z.string(),
  version: z.number().int(),
  name: z.string(),
  definition: z.record(z.string(), z.unknown()).describe('the checked definition, as stored'),
  createdBy: z.string(),
  createdAt: z.string(),
});

export const WorkflowRunSchema = z.object({
  id: IdSchema,
  workflowId: z.string(),
  workflowVersion: z.number().int(),
  status: z.enum(RUN_STATUSES),
  actorId: z.string(),
  trigger: z.unknown().describe('what started the run; JSON'),
  error: ErrorInfoSchema,
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  updatedAt: z.string(),
});

export const WorkflowStepRecordSchema = z.object({
  stepId: z.string(),
  position: z.number().int(),
  type: z.string(),
  status: z.enum(STEP_STATUSES),
  attempts: z.number().int(),
  output: z.unknown().describe('the result once the step succeeded; JSON'),
  error: ErrorInfoSchema,
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  updatedAt: z.string(),
});

const RunDetailsSchema = z.object({ run: WorkflowRunSchema, steps: z.array(WorkflowStepRecordSchema) });

const RunQuerySchema = z.object({
  status: z.enum(RUN_STATUSES).optional(),
  after: IdSchema.optional().describe('runs after this id (the last id of the previous page)'),
  limit: z.coerce.number().int().min(1).max(200).optional(),
});
const AllRunsQuerySchema = RunQuerySchema.extend({ workflowId: WorkflowIdSchema.optional() });
const WorkflowParamsSchema = z.object({ workflowId: WorkflowIdSchema });
const RunParamsSchema = z.object({ runId: IdSchema });

export const DefinitionCheckSchema = z.object({
  ok: z.boolean().describe('true when the definition could be saved as it is'),
  issues: z.array(
    z.object({
      path: z.string().describe('where, such as `steps[2].input.text`; `definition` for the whole text'),
      message: z.string(),
      line: z.number().int().optional().describe('1-based line of the YAML or JSON text, when known'),
    }),
  ),
});

/** Registers the workflow routes, in their own scope (they parse YAML and raw webhook bodies). */
export async function registerWorkflowRoutes(
  app: ApiInstance,
  workflows: WorkflowComposition,
  audit: AuditLog,
): Promise<void> {
  await app.register(async (scope) => {
    registerDefinitionRoutes(scope, workflows, audit);
    registerRunRoutes(scope, workflows);
  });
  await app.register(async (scope) => registerWebhookRoute(scope, workflows));
}

function registerDefinitionRoutes(app: ApiInstance, { engine }: WorkflowComposition, audit: AuditLog): void {
  app.addContentTypeParser(YAML_TYPES, { parseAs: 'string', bodyLimit: BODY_LIMIT }, (_request, body, done) =>
    done(null, body),
  );

  app.get(
    '/workflows',
    {
      config: {
        roles: NON_GUEST_ROLES,
        access: { signedIn: 'allowed', guest: 'denied' },
      },
      schema: {
        tags,
        summary: 'List workflows (newest version of each)',
        response: {
          200: z.object({ workflows: z.array(WorkflowDefinitionRecordSchema) }),
          ...errorResponses,
        },
      },
    },
    async () => ({ workflows: await engine.listDefinitions() }),
  );

  app.post(
    '/workflows',
    {
      config: { roles: ['admin'], access: { admin: 'allowed' } },
      bodyLimit: BODY_LIMIT,
      schema: {
        tags,
        summary: 'Define a workflow, or a new version of one (admins)',
        description:
          'The body is a definition as JSON, or as YAML with Content-Type application/yaml. Every problem ' +
          '(unknown step types, missing dependencies, cycles, bad expressions) is reported at once, each with its path.',
        body: z.union([z.record(z.string(), z.unknown()), z.string()]),
        response: { 201: WorkflowDefinitionRecordSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const user = requireUser(request);
      const body = request.body;
      const definition = typeof body === 'string' ? parseWorkflowDefinition(body, 'yaml') : body;
      const record = await audit.around(
        { action: 'workflow.defined', actorId: user.id, request },
        () => engine.define(definition, user.id),
        (stored) => ({
          target: { type: 'workflow', id: stored.id },
          details: { version: stored.version, name: stored.name },
        }),
      );
      return reply.status(201).send(record);
    },
  );

  app.post(
    '/workflows/validate',
    {
      config: { roles: ['admin'], access: { admin: 'allowed' } },
      bodyLimit: BODY_LIMIT,
      schema: {
        tags,
        summary: 'Check a definition without saving it (admins)',
        description:
          'The same checks as defining it, nothing stored: a JSON body, or YAML (or JSON text) with ' +
          'Content-Type application/yaml. Answers 200 with every problem, each with its path and, for text, its line.',
        body: z.union([z.record(z.string(), z.unknown()), z.string()]),
        response: { 200: DefinitionCheckSchema, ...errorResponses },
      },
    },
    async (request) => checkDefinition(request.body, engine.registry),
  );

  app.get(
    '/workflows/:workflowId',
    {
      config: {
        roles: NON_GUEST_ROLES,
        access: { signedIn: 'allowed', guest: 'denied' },
      },
      schema: {
        tags,
        summary: 'One workflow (its newest version, or ?version=)',
        params: WorkflowParamsSchema,
        querystring: z.object({ version: z.coerce.number().int().min(1).optional() }),
        response: { 200: WorkflowDefinitionRecordSchema, ...errorResponses },
      },
    },
    async (request) => {
      const record = await engine.getDefinition(request.params.workflowId, request.query.version);
      if (record === undefined) throw new NotFoundError('workflow', request.params.workflowId);
      return record;
    },
  );
}

function registerRunRoutes(app: ApiInstance, { engine }: WorkflowComposition): void {
  app.post(
    '/workflows/:workflowId/runs',
    {
      config: {
        userRateLimit: 'workflowRuns',
        roles: NON_GUEST_ROLES,
        access: { signedIn: 'allowed', guest: 'denied' },
      },
      schema: {
        tags,
        summary: 'Start a run; it goes on in the background',
        params: WorkflowParamsSchema,
        body: z
          .object({ trigger: z.unknown().optional().describe('what the run sees as `trigger`; JSON') })
          .nullish(),
        response: { 202: WorkflowRunSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const user = requireUser(request);
      const run = await engine.start(request.params.workflowId, {
        actorId: user.id,
        trigger: manualTrigger(request.body?.trigger, user.id),
      });
      return reply.status(202).send(publicRun(run));
    },
  );

  app.get(
    '/workflows/:workflowId/runs',
    {
      config: {
        roles: NON_GUEST_ROLES,
        access: { signedIn: 'allowed', guest: 'denied' },
      },
      schema: {
        tags,
        summary: 'Runs of a workflow, oldest first (admins see all, others their own)',
        params: WorkflowParamsSchema,
        querystring: RunQuerySchema,
        response: { 200: z.object({ runs: z.array(WorkflowRunSchema) }), ...errorResponses },
      },
    },
    async (request) => ({
      runs: await visibleRuns(engine, requireUser(request), {
        ...request.query,
        workflowId: request.params.workflowId,
      }),
    }),
  );

  app.get(
    '/workflow-runs',
    {
      config: {
        roles: NON_GUEST_ROLES,
        access: { signedIn: 'allowed', guest: 'denied' },
      },
      schema: {
        tags,
        summary: 'Runs of every workflow, oldest first (admins see all, others their own)',
        querystring: AllRunsQuerySchema,
        response: { 200: z.object({ runs: z.array(WorkflowRunSchema) }), ...errorResponses },
      },
    },
    async (request) => ({ runs: await visibleRuns(engine, requireUser(request), request.query) }),
  );

  app.get(
    '/workflow-runs/:runId',
    {
      config: {
        roles: NON_GUEST_ROLES,
        access: { signedIn: 'mine', guest: 'denied', admin: 'allowed' },
      },
      schema: {
        tags,
        summary: 'A run with its step timeline: status, attempts, times, output and error of each step',
        params: RunParamsSchema,
        response: { 200: RunDetailsSchema, ...errorResponses },
      },
    },
    async (request) => {
      const user = requireUser(request);
      const details = await engine.getRun(request.params.runId);
      if (details === undefined || !maySee(user, details.run)) {
        throw new NotFoundError('workflow run', request.params.runId);
      }
      return { run: publicRun(details.run), steps: details.steps };
    },
  );

  app.post(
    '/workflow-runs/:runId/cancel',
    {
      config: {
        roles: NON_GUEST_ROLES,
        access: { signedIn: 'mine', guest: 'denied', admin: 'allowed' },
      },
      schema: {
        tags,
        summary: 'Cancel an unfinished run (who started it, or an admin)',
        params: RunParamsSchema,
        response: { 200: WorkflowRunSchema, ...errorResponses },
      },
    },
    async (request) => {
      const user = requireUser(request);
      const details = await engine.getRun(request.params.runId);
      if (details === undefined || !maySee(user, details.run)) {
        throw new NotFoundError('workflow run', request.params.runId);
      }
      return publicRun(await engine.cancel(request.params.runId, user.id));
    },
  );
}

function registerWebhookRoute(
  app: ApiInstance,
  { engine, triggers, webhookSecret }: WorkflowComposition,
): void {
  // The signature covers the exact bytes sent, so every body is kept as text, whatever its type.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: BODY_LIMIT }, (_request, body, done) =>
    done(null, body),
  );

  app.post(
    '/hooks/workflows/:workflowId',
    {
      config: {
        auth: 'public',
        rateLimit: { max: 120, timeWindow: '1 minute' },
        access: { everyone: 'allowed' },
      },
      bodyLimit: BODY_LIMIT,
      schema: {
        tags,
        summary: 'Incoming webhook: starts a run of a workflow whose trigger is `webhook`',
        description:
          'Sign `<timestamp>.<raw body>` with HMAC-SHA256 and the shared secret; send the hex digest in ' +
          '`x-kaiwa-signature` and the Unix time in seconds in `x-kaiwa-timestamp`. A stale or wrong signature ' +
          'answers 401; the same delivery twice answers 409. A delivery is recognised by what is signed: the ' +
          'signature, or the `x-kaiwa-delivery` id when it is signed too (`<timestamp>.<delivery>.<raw body>`), ' +
          'so a retry with a new timestamp starts nothing twice.',
        params: WorkflowParamsSchema,
        headers: z.object({
          'x-kaiwa-timestamp': z.string().describe('Unix time in seconds'),
          'x-kaiwa-signature': z.string().describe('hex HMAC-SHA256, optionally prefixed sha256='),
          'x-kaiwa-delivery': z.string().min(1).max(128).optional().describe('unique id of this delivery'),
        }),
        body: z.string().optional(),
        response: {
          202: z.object({ runId: IdSchema, status: z.enum(RUN_STATUSES) }),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const { workflowId } = request.params;
      const record = await engine.getDefinition(workflowId);
      const secret = webhookSecret(workflowId);
      if (record === undefined || record.definition.trigger?.type !== 'webhook' || secret === undefined) {
        throw new NotFoundError('workflow webhook', workflowId);
      }
      const body = request.body ?? '';
      const timestamp = request.headers['x-kaiwa-timestamp'];
      const signature = request.headers['x-kaiwa-signature'];
      const deliveryId = request.headers['x-kaiwa-delivery'];
      const check = await verifyWebhookSignature({ secret, timestamp, signature, body, deliveryId });
      if (!check.ok)
        throw new HttpError(
          401,
          check.reason === 'stale' ? 'stale_signature' : 'bad_signature',
          check.message,
        );
      const run = await triggers.receiveWebhook({ workflowId, deliveryId, timestamp, signature, body });
      return reply.status(202).send({ runId: run.id, status: run.status });
    },
  );
}

type DefinitionCheck = z.infer<typeof DefinitionCheckSchema>;

/** Every problem of a definition given as an object or as YAML/JSON text, with the text's line where known. */
export function checkDefinition(
  body: Record<string, unknown> | string,
  registry: WorkflowComposition['engine']['registry'],
): DefinitionCheck {
  if (typeof body !== 'string') {
    const result = validateWorkflowDefinition(body, registry);
    return { ok: result.ok, issues: result.ok ? [] : result.issues };
  }
  const document = parseDocument(body);
  if (document.errors.length > 0) {
    return {
      ok: false,
      issues: document.errors.map((error) => ({
        path: 'definition',
        message: `not valid YAML or JSON: ${error.message.split('\n')[0]}`,
        ...(error.linePos?.[0] ? { line: error.linePos[0].line } : {}),
      })),
    };
  }
  const result = validateWorkflowDefinition(document.toJS({ maxAliasCount: 100 }), registry);
  if (result.ok) return { ok: true, issues: [] };
  const lineOf = lineFinder(body);
  return {
    ok: false,
    issues: result.issues.map((issue) => {
      const offset = offsetOf(document.contents, pathSegments(issue.path));
      return offset === undefined ? issue : { ...issue, line: lineOf(offset) };
    }),
  };
}

/** `steps[2].input.text` as `['steps', 2, 'input', 'text']`. */
function pathSegments(path: string): (string | number)[] {
  if (path === 'definition') return [];
  const segments: (string | number)[] = [];
  for (const match of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    segments.push(match[2] !== undefined ? Number(match[2]) : match[1]!);
  }
  return segments;
}

/** Where the deepest node of the path that exists starts (a key's position for a missing value). */
function offsetOf(node: unknown, segments: (string | number)[]): number | undefined {
  let current = node;
  let offset = rangeStart(node);
  for (const segment of segments) {
    if (isMap(current)) {
      const pair = current.items.find((item) => (item.key as { value?: unknown })?.value === segment);
      if (pair === undefined) break;
      offset = rangeStart(pair.key) ?? offset;
      current = pair.value;
      offset = rangeStart(current) ?? offset;
    } else if (isSeq(current) && typeof segment === 'number' && current.items[segment] !== undefined) {
      current = current.items[segment];
      offset = rangeStart(current) ?? offset;
    } else {
      break;
    }
  }
  return offset;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return range?.[0];
}

function lineFinder(text: string): (offset: number) => number {
  const starts = [0];
  for (let index = 0; index < text.length; index++) if (text[index] === '\n') starts.push(index + 1);
  return (offset) => {
    let line = 0;
    while (line + 1 < starts.length && starts[line + 1]! <= offset) line++;
    return line + 1;
  };
}

async function visibleRuns(
  engine: WorkflowComposition['engine'],
  user: User,
  query: { workflowId?: string; status?: WorkflowRun['status']; after?: string; limit?: number },
): Promise<PublicRun[]> {
  const runs = await engine.listRuns({
    ...(query.workflowId ? { workflowId: query.workflowId } : {}),
    ...(query.status ? { status: query.status } : {}),
    ...(query.after ? { after: query.after } : {}),
    // Runs carry their trigger (message text, webhook bodies): others see only the runs they started.
    ...(permissions.canSeeEveryWorkflowRun(user) ? {} : { actorId: user.id }),
    limit: query.limit ?? 50,
  });
  return runs.map(publicRun);
}

function maySee(user: User, run: WorkflowRun): boolean {
  return permissions.canSeeWorkflowRun(user, run);
}

type PublicRun = Omit<WorkflowRun, 'claimedBy' | 'claimedUntil'>;

/** Leaves out which engine instance holds the run. */
function publicRun(run: WorkflowRun): PublicRun {
  const { claimedBy: _claimedBy, claimedUntil: _claimedUntil, ...rest } = run;
  return rest;
}

/**
 * What a run started by hand sees as `trigger`: always `type: 'manual'` with the starter's id, whatever the
 * caller sent, so nobody can pass a forged `{ type: 'webhook', body }` off as a signed delivery. The fields
 * of an object the caller sent are kept (to try a webhook workflow by hand, send `{ body: … }`); anything
 * else arrives as `value`.
 */
export function manualTrigger(given: unknown, userId: string): Record<string, unknown> {
  if (given === undefined || given === null) return { type: 'manual', userId };
  if (typeof given === 'object' && !Array.isArray(given)) {
    const { deliveryId: _deliveryId, ...fields } = given as Record<string, unknown>;
    return { ...fields, type: 'manual', userId };
  }
  return { type: 'manual', userId, value: given };
}
