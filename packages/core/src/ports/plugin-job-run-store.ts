import { z } from 'zod';
import { parseInput } from '../validate.js';

/**
 * One firing of a plugin's scheduled job: the plugin, the job's name as its manifest declares it, and the time
 * the schedule named (UTC, ISO 8601 as `Date.prototype.toISOString` writes it). Every instance computes the same
 * slots from the same schedule, so the slot is what instances agree on.
 */
export interface PluginJobSlot {
  pluginId: string;
  job: string;
  scheduledAt: string;
}

/** `running` from the claim until the outcome is recorded; a run whose instance died stays `running`. */
export type PluginJobRunStatus = 'running' | 'done' | 'failed';

/** A claimed slot and what came of it. */
export interface PluginJobRun extends PluginJobSlot {
  status: PluginJobRunStatus;
  /** The instance that claimed the slot (and so ran it). */
  instanceId: string;
  claimedAt: string;
  finishedAt: string | null;
  /** From the call to the plugin to its answer (or its deadline). */
  durationMs: number | null;
  /** Why it failed; `null` unless `failed`. */
  reason: string | null;
}

/** What a run came to. `reason` is at most {@link PLUGIN_JOB_REASON_MAX_LENGTH} characters. */
export type PluginJobOutcome =
  | { status: 'done'; finishedAt: string; durationMs: number }
  | { status: 'failed'; finishedAt: string; durationMs: number; reason: string };

/**
 * Plugins' scheduled job runs, claimed once: of every instance that claims the same {@link PluginJobSlot}, exactly
 * one is told `true` (the claim is an insert-once on the slot), and only that one runs the job. The outcome is
 * recorded on the claimed run; a second outcome for the same run changes nothing. Bad input throws
 * `ValidationError` naming the field (`pluginId`, `job`, `scheduledAt`, `instanceId`, …). Implementations:
 * `@kaiwa/plugins`' `createMemoryPluginJobRunStore` (one instance) and `@kaiwa/store-kysely`'s `pluginJobRuns`
 * (the database every instance shares).
 *
 * @example
 * const slot = { pluginId: 'hello', job: 'digest', scheduledAt: '2026-12-07T09:00:00.000Z' };
 * if (await runs.claim(slot, { instanceId: 'kaiwa-1', claimedAt: new Date().toISOString() })) {
 *   await runs.finish(slot, { status: 'done', finishedAt: new Date().toISOString(), durationMs: 12 });
 * }
 */
export interface PluginJobRunStore {
  /** Claims the slot for `instanceId`: true for the one claim that inserted it, false for every other. */
  claim(slot: PluginJobSlot, claim: { instanceId: string; claimedAt: string }): Promise<boolean>;
  /** Records the outcome of a `running` run; nothing happens for a slot never claimed or already finished. */
  finish(slot: PluginJobSlot, outcome: PluginJobOutcome): Promise<void>;
  /** The run of the slot, or `undefined` when nobody claimed it. */
  get(slot: PluginJobSlot): Promise<PluginJobRun | undefined>;
  /** The plugin's runs, latest `scheduledAt` first, optionally of one job; at most `limit` (default 50). */
  list(pluginId: string, options?: { job?: string; limit?: number }): Promise<PluginJobRun[]>;
  /** Deletes every run scheduled before `before` (ISO 8601); returns how many. */
  prune(before: string): Promise<number>;
  /** Deletes every run of the plugin (an uninstall that does not keep its data). */
  clear(pluginId: string): Promise<void>;
}

/** Plugins' job runs, as a storage module of a store provides them (`@kaiwa/store-kysely`'s `plugins`). */
export interface PluginJobStorage {
  pluginJobRuns: PluginJobRunStore;
}

/** Longest failure reason a run keeps; longer ones are cut by the scheduler before they are recorded. */
export const PLUGIN_JOB_REASON_MAX_LENGTH = 1000;

const isoInstant = z
  .string()
  .refine(
    (value) => !Number.isNaN(Date.parse(value)) && new Date(value).toISOString() === value,
    'an ISO 8601 UTC time as toISOString() writes it, e.g. 2026-12-07T09:00:00.000Z',
  );

const SlotSchema = z.object({
  pluginId: z.string().min(1).max(64),
  job: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'lower-case letters, digits and dashes, up to 32'),
  scheduledAt: isoInstant,
});

const ClaimSchema = z.object({
  instanceId: z.string().min(1).max(128),
  claimedAt: isoInstant,
});

const OutcomeSchema = z.discriminatedUnion('status', [
  z.object({ status: z.literal('done'), finishedAt: isoInstant, durationMs: z.int().nonnegative() }),
  z.object({
    status: z.literal('failed'),
    finishedAt: isoInstant,
    durationMs: z.int().nonnegative(),
    reason: z.string().min(1).max(PLUGIN_JOB_REASON_MAX_LENGTH),
  }),
]);

const ListOptionsSchema = z.object({
  job: SlotSchema.shape.job.optional(),
  limit: z.int().min(1).max(1000).optional(),
});

/**
 * Checks what a {@link PluginJobRunStore} is given, for its implementations.
 *
 * @throws ValidationError naming the field (`pluginId`, `job`, `scheduledAt`, `instanceId`, `claimedAt`,
 *   `outcome.reason`, `before`, `limit`).
 * @example
 * checkPluginJobRunInput({ slot, claim: { instanceId, claimedAt } });
 */
export function checkPluginJobRunInput(input: {
  slot?: PluginJobSlot;
  pluginId?: string;
  claim?: { instanceId: string; claimedAt: string };
  outcome?: PluginJobOutcome;
  list?: { job?: string | undefined; limit?: number | undefined };
  before?: string;
}): void {
  if (input.slot !== undefined) parseInput(SlotSchema, input.slot);
  if (input.pluginId !== undefined) parseInput(SlotSchema.shape.pluginId, input.pluginId, ['pluginId']);
  if (input.claim !== undefined) parseInput(ClaimSchema, input.claim);
  if (input.outcome !== undefined) parseInput(OutcomeSchema, input.outcome, ['outcome']);
  if (input.list !== undefined) parseInput(ListOptionsSchema, input.list);
  if (input.before !== undefined) parseInput(isoInstant, input.before, ['before']);
}
