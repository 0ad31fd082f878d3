import { ValidationError } from '@kaiwa/core';
import { Cron } from 'croner';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { compileBoundedRegex, expressionReferences, templateReferences } from './expression/index.js';
import type { StepTypeRegistry } from './step-type-registry.js';

/** Step ids are referenced as `steps.<id>` in expressions, so they are identifiers. */
const STEP_ID_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/** Workflow ids appear in URLs and in `/run <id>`. */
export const WORKFLOW_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export const RetryPolicySchema = z.object({
  /** Tries in all, the first included: 3 means up to two retries. */
  attempts: z.number().int().min(1).max(100),
  /** Wait before the first retry; doubled (times `factor`) before each next one. */
  backoffMs: z.number().int().min(0).max(3_600_000),
  maxBackoffMs: z.number().int().min(0).max(86_400_000).optional(),
  factor: z.number().min(1).max(10).optional(),
  /** With jitter each wait is drawn from [delay / 2, delay], so retrying runs spread out. */
  jitter: z.boolean().optional(),
  /** Retry only errors whose `code` or `name` is listed; absent: every retryable error. */
  retryOn: z.array(z.string().min(1).max(64)).max(50).optional(),
});
export type RetryPolicy = z.infer<typeof RetryPolicySchema>;

export const OnErrorSchema = z.union([
  z.literal('fail'),
  z.literal('continue'),
  z.object({ fallback: z.string().regex(STEP_ID_PATTERN, 'must be a step id') }).strict(),
]);
export type OnErrorPolicy = z.infer<typeof OnErrorSchema>;

export const WorkflowStepSchema = z
  .object({
    id: z
      .string()
      .regex(STEP_ID_PATTERN, 'must start with a letter or _ and hold only letters, digits and _'),
    type: z.string().min(1).max(64),
    /** Templates allowed: `{{ steps.ocr.text }}`, `{{ trigger.message.text }}`. */
    input: z.record(z.string(), z.unknown()).optional(),
    /** Absent: the step listed before (none for the first). `[]`: starts at once, a parallel branch. */
    dependsOn: z.array(z.string().min(1).max(64)).max(100).optional(),
    /** An expression; false skips the step. */
    when: z.string().min(1).max(4000).optional(),
    timeoutMs: z.number().int().min(1).max(86_400_000).optional(),
    retry: RetryPolicySchema.optional(),
    onError: OnErrorSchema.optional(),
  })
  .strict();
export type WorkflowStep = z.infer<typeof WorkflowStepSchema>;

/** Where a workflow's automatic runs come from; `manual` (or none) means started by API or code only. */
export const WorkflowTriggerSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('manual') }).strict(),
  z
    .object({
      type: z.literal('message'),
      /**
       * A regular expression matched against message text: the subset that runs in linear time (no
       * backreferences or lookaround, at most 200 characters), so no message can make matching hang.
       */
      pattern: z
        .string()
        .min(1)
        .max(200)
        .superRefine((pattern, context) => {
          const problem = regexProblem(pattern);
          if (problem) context.addIssue({ code: 'custom', message: problem });
        }),
      /** Only messages in this room. */
      roomId: z.string().optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('command'),
      /** `/run <name> args…`; defaults to the workflow id. */
      name: z.string().regex(WORKFLOW_ID_PATTERN).optional(),
      roomId: z.string().optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('file'),
      roomId: z.string().optional(),
      /** Exact (`application/pdf`) or a prefix wildcard (`image/*`). */
      mimeType: z.string().max(255).optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('cron'),
      /** Cron pattern as croner reads it (5 or 6 fields, seconds first when 6). */
      schedule: z.string().min(1).max(200),
      timezone: z.string().max(64).optional(),
    })
    .strict()
    .superRefine((trigger, context) => {
      try {
        new Cron(trigger.schedule, {
          paused: true,
          ...(trigger.timezone ? { timezone: trigger.timezone } : {}),
        }).stop();
      } catch (error) {
        context.addIssue({
          code: 'custom',
          path: ['schedule'],
          message: `not a valid schedule: ${(error as Error).message}`,
        });
      }
    }),
  z.object({ type: z.literal('webhook') }).strict(),
]);
export type WorkflowTrigger = z.infer<typeof WorkflowTriggerSchema>;

export const WorkflowDefinitionSchema = z
  .object({
    id: z.string().regex(WORKFLOW_ID_PATTERN, 'must be a slug: lower case letters, digits, - and _'),
    name: z.string().min(1).max(200),
    description: z.string().max(4000).optional(),
    /** Informational: the store numbers versions itself. */
    version: z.number().int().min(1).optional(),
    trigger: WorkflowTriggerSchema.optional(),
    steps: z.array(WorkflowStepSchema).min(1).max(200),
  })
  .strict();
export type WorkflowDefinition = z.infer<typeof WorkflowDefinitionSchema>;

/** Why a message pattern is refused, or undefined: it must compile both bounded and as a JavaScript RegExp. */
function regexProblem(pattern: string): string | undefined {
  try {
    compileBoundedRegex(pattern, 'u');
    new RegExp(pattern, 'u');
    return undefined;
  } catch (error) {
    return `not a usable regular expression: ${(error as Error).message}`;
  }
}

/** A problem with a definition, at a path such as `steps[2].dependsOn[0]`. */
export interface DefinitionIssue {
  path: string;
  message: string;
}

export type DefinitionValidation =
  | { ok: true; definition: WorkflowDefinition }
  | { ok: false; issues: DefinitionIssue[] };

/**
 * Reads a definition file. Syntax errors throw a ValidationError at `definition`; the content is checked by
 * {@link validateWorkflowDefinition}.
 *
 * @example const definition = parseWorkflowDefinition(await readFile('invoice.yaml', 'utf8'), 'yaml');
 */
export function parseWorkflowDefinition(text: string, format: 'json' | 'yaml'): WorkflowDefinition {
  let value: unknown;
  try {
    value = format === 'json' ? JSON.parse(text) : parseYaml(text, { maxAliasCount: 100 });
  } catch (error) {
    throw new ValidationError(
      [{ path: ['definition'], message: `not valid ${format.toUpperCase()}: ${(error as Error).message}` }],
      { cause: error },
    );
  }
  const result = WorkflowDefinitionSchema.safeParse(value);
  if (!result.success) throw new ValidationError(zodIssues(result.error).map(toFieldIssue));
  return result.data;
}

/**
 * What each step waits for: its `dependsOn`, or the step listed before it when absent. Fallback steps
 * (targets of some `onError.fallback`) wait for nothing here: they run only when their step fails.
 */
export function resolveDependencies(definition: WorkflowDefinition): Map<string, string[]> {
  const fallbacks = fallbackTargets(definition);
  const dependencies = new Map<string, string[]>();
  let previous: string | undefined;
  for (const step of definition.steps) {
    if (fallbacks.has(step.id)) {
      dependencies.set(step.id, []);
      continue;
    }
    dependencies.set(step.id, step.dependsOn ?? (previous === undefined ? [] : [previous]));
    previous = step.id;
  }
  return dependencies;
}

/** Ids of steps that serve as some step's fallback. */
export function fallbackTargets(definition: WorkflowDefinition): Set<string> {
  const targets = new Set<string>();
  for (const step of definition.steps) {
    if (typeof step.onError === 'object') targets.add(step.onError.fallback);
  }
  return targets;
}

/** Names an expression may start with; `steps.<id>` is checked against the graph. */
const SCOPE_ROOTS = new Set(['trigger', 'steps', 'run', 'env']);

/**
 * Checks a definition before it is stored or run and reports every problem at once, each with its path:
 * schema errors, duplicate step ids, unknown step types, unknown dependencies, cycles (named), references to
 * steps that do not exist or do not run before the step (`steps.X` must be an ancestor), expressions that
 * do not parse, and bad fallback targets.
 *
 * @example
 * const result = validateWorkflowDefinition(raw, registry);
 * if (!result.ok) for (const issue of result.issues) console.log(`${issue.path}: ${issue.message}`);
 */
export function validateWorkflowDefinition(
  definition: unknown,
  registry: StepTypeRegistry,
): DefinitionValidation {
  const parsed = WorkflowDefinitionSchema.safeParse(definition);
  if (!parsed.success) {
    // Report what the graph checks can still find beside the schema errors, on the parts that are sound.
    const issues = zodIssues(parsed.error);
    issues.push(...graphIssues(looseDefinition(definition), registry));
    return { ok: false, issues: dedupe(issues) };
  }
  const issues = graphIssues(parsed.data, registry);
  return issues.length === 0 ? { ok: true, definition: parsed.data } : { ok: false, issues };
}

/** As {@link validateWorkflowDefinition}, throwing a ValidationError with every issue. */
export function assertWorkflowDefinition(
  definition: unknown,
  registry: StepTypeRegistry,
): WorkflowDefinition {
  const result = validateWorkflowDefinition(definition, registry);
  if (result.ok) return result.definition;
  throw new ValidationError(result.issues.map(toFieldIssue));
}

function toFieldIssue(issue: DefinitionIssue): { path: string[]; message: string } {
  return { path: [issue.path], message: issue.message };
}

function dedupe(issues: DefinitionIssue[]): DefinitionIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = `${issue.path}\u0000${issue.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text === '' ? String(segment) : `.${String(segment)}`;
  }
  return text === '' ? 'definition' : text;
}

function zodIssues(error: z.ZodError): DefinitionIssue[] {
  return error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message }));
}

/** The step list of an invalid definition, keeping steps whose id (and maybe more) is usable. */
function looseDefinition(value: unknown): WorkflowDefinition | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const steps = (value as { steps?: unknown }).steps;
  if (!Array.isArray(steps)) return undefined;
  const loose = steps.map((step) => {
    const candidate = (typeof step === 'object' && step !== null ? step : {}) as Record<string, unknown>;
    return {
      id: typeof candidate.id === 'string' ? candidate.id : '',
      type: typeof candidate.type === 'string' ? candidate.type : '',
      ...(Array.isArray(candidate.dependsOn)
        ? { dependsOn: candidate.dependsOn.filter((entry): entry is string => typeof entry === 'string') }
        : {}),
      ...(typeof candidate.input === 'object' && candidate.input !== null
        ? { input: candidate.input as Record<string, unknown> }
        : {}),
      ...(typeof candidate.when === 'string' ? { when: candidate.when } : {}),
      ...(OnErrorSchema.safeParse(candidate.onError).success
        ? { onError: candidate.onError as OnErrorPolicy }
        : {}),
    };
  });
  return { id: 'x', name: 'x', steps: loose };
}

function graphIssues(
  definition: WorkflowDefinition | undefined,
  registry: StepTypeRegistry,
): DefinitionIssue[] {
  if (definition === undefined) return [];
  const issues: DefinitionIssue[] = [];
  const { steps } = definition;
  const indexOf = new Map<string, number>();
  steps.forEach((step, index) => {
    if (step.id === '') return;
    if (indexOf.has(step.id)) {
      issues.push({ path: `steps[${index}].id`, message: `duplicate step id "${step.id}"` });
    } else {
      indexOf.set(step.id, index);
    }
    if (step.type !== '' && registry.get(step.type) === undefined) {
      issues.push({ path: `steps[${index}].type`, message: `unknown step type "${step.type}"` });
    }
  });

  const fallbacks = fallbackTargets(definition);
  steps.forEach((step, index) => {
    step.dependsOn?.forEach((dependency, position) => {
      const path = `steps[${index}].dependsOn[${position}]`;
      if (!indexOf.has(dependency)) issues.push({ path, message: `unknown step "${dependency}"` });
      else if (fallbacks.has(dependency))
        issues.push({
          path,
          message: `"${dependency}" is a fallback step and runs only when its step fails`,
        });
    });
    if (typeof step.onError === 'object') {
      const target = step.onError.fallback;
      const path = `steps[${index}].onError.fallback`;
      if (!indexOf.has(target)) issues.push({ path, message: `unknown step "${target}"` });
      else if (target === step.id) issues.push({ path, message: 'a step cannot be its own fallback' });
      else if (fallbacks.has(step.id))
        issues.push({ path, message: 'a fallback step cannot have a fallback of its own' });
    }
    if (fallbacks.has(step.id) && step.dependsOn !== undefined) {
      issues.push({
        path: `steps[${index}].dependsOn`,
        message: 'a fallback step starts when its step fails and cannot list dependencies',
      });
    }
  });

  const dependencies = resolveDependencies(definition);
  // Unknown names were reported above; the graph checks look at known ones only.
  for (const [id, list] of dependencies)
    dependencies.set(
      id,
      list.filter((entry) => indexOf.has(entry)),
    );

  const cycle = findCycle(
    steps.map((step) => step.id).filter((id) => indexOf.has(id)),
    dependencies,
  );
  if (cycle !== undefined) {
    issues.push({
      path: `steps[${indexOf.get(cycle[0]!)}].dependsOn`,
      message: `dependency cycle: ${cycle.join(' → ')}`,
    });
    return issues;
  }

  // A fallback sees what its failed step would have seen: that step's ancestors.
  const fallbackSource = new Map<string, string>();
  for (const step of steps) {
    if (typeof step.onError === 'object' && !fallbackSource.has(step.onError.fallback))
      fallbackSource.set(step.onError.fallback, step.id);
  }
  const ancestors = ancestorSets(dependencies);
  steps.forEach((step, index) => {
    if (!indexOf.has(step.id)) return;
    const source = fallbackSource.get(step.id);
    const visible = source === undefined ? ancestors.get(step.id) : ancestors.get(source);
    const check = (path: string, listReferences: () => string[]) => {
      let references: string[];
      try {
        references = listReferences();
      } catch (error) {
        issues.push({ path, message: (error as Error).message });
        return;
      }
      for (const reference of references) {
        const [root, name] = reference.split('.');
        if (!SCOPE_ROOTS.has(root!)) {
          issues.push({ path, message: `unknown name "${root}" (use trigger, steps, run or env)` });
        } else if (root === 'steps' && name !== undefined) {
          if (!indexOf.has(name)) issues.push({ path, message: `unknown step "${name}" in "${reference}"` });
          else if (!visible?.has(name))
            issues.push({
              path,
              message: `step "${name}" does not run before "${step.id}"; add it to dependsOn`,
            });
        }
      }
    };
    if (step.input !== undefined) {
      for (const [key, value] of Object.entries(step.input))
        check(`steps[${index}].input.${key}`, () => templateReferences(value));
    }
    if (step.when !== undefined) check(`steps[${index}].when`, () => expressionReferences(step.when!));
  });
  return issues;
}

/** A cycle as a list of ids that starts and ends with the same id, or undefined. */
function findCycle(ids: string[], dependencies: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): string[] | undefined => {
    const seen = state.get(id);
    if (seen === 'done') return undefined;
    if (seen === 'visiting') return [...stack.slice(stack.indexOf(id)), id];
    state.set(id, 'visiting');
    stack.push(id);
    for (const dependency of dependencies.get(id) ?? []) {
      const cycle = visit(dependency);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const id of ids) {
    const cycle = visit(id);
    // The walk follows dependencies backwards; show the cycle in the order steps run.
    if (cycle) return cycle.reverse();
  }
  return undefined;
}

/** Every step's transitive dependencies (the graph must be acyclic). */
export function ancestorSets(dependencies: Map<string, string[]>): Map<string, Set<string>> {
  const result = new Map<string, Set<string>>();
  const resolve = (id: string): Set<string> => {
    const known = result.get(id);
    if (known) return known;
    const set = new Set<string>();
    result.set(id, set);
    for (const dependency of dependencies.get(id) ?? []) {
      set.add(dependency);
      for (const ancestor of resolve(dependency)) set.add(ancestor);
    }
    return set;
  };
  for (const id of dependencies.keys()) resolve(id);
  return result;
}
