import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileSystemBlobStore, type FileSystemBlobStore } from '@kaiwa/blob-fs';
import { type Bus, ChatEngine, createId, InProcessBus, parseInput, type User } from '@kaiwa/core';
import type { KyselyChatStore } from '@kaiwa/store-kysely';
import { openTestStore, testDatabaseUrl } from '@kaiwa/store-kysely/testing';
import type { StepContext, StepType, WorkflowServices } from '@kaiwa/workflow';

/*
 * Test helpers, not part of the public API: a real SQLite store, chat engine and file-system blob store,
 * and a way to run one step the way the workflow engine does (input parsed by the step's schema first).
 */

export interface StepHarness {
  store: KyselyChatStore;
  /** The chat engine's bus, for a workflow engine in the same test. */
  bus: Bus;
  engine: ChatEngine;
  blobs: FileSystemBlobStore;
  /** An admin user steps act as by default. */
  admin: User;
  services: WorkflowServices;
  context(overrides?: Partial<StepContext>): StepContext;
  close(): Promise<void>;
}

/** Why the harness cannot run on PostgreSQL here, or undefined when it can. */
export function postgresSkipReason(): string | undefined {
  return process.env.KAIWA_TEST_PG_URL
    ? undefined
    : 'set KAIWA_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/test to run it on PostgreSQL';
}

/** A migrated PostgreSQL store in a schema of its own, dropped again on close. */
export async function openStepHarness(
  options: { dialect?: 'sqlite' | 'postgres' } = {},
): Promise<StepHarness> {
  const store = await openTestStore(
    options.dialect === 'postgres' && testDatabaseUrl('postgres') ? 'postgres' : 'sqlite',
  );
  const bus = new InProcessBus();
  const engine = new ChatEngine({ store, bus });
  const directory = await mkdtemp(join(tmpdir(), 'kaiwa-steps-'));
  const blobs = createFileSystemBlobStore({ directory });
  const admin = await engine.createUser({ username: 'admin', role: 'admin' });
  const services: WorkflowServices = { chat: engine, store, blobs };
  return {
    store,
    bus,
    engine,
    blobs,
    admin,
    services,
    context(overrides = {}) {
      return {
        runId: createId(),
        workflowId: 'test',
        stepId: 'step',
        attempt: 1,
        signal: new AbortController().signal,
        actorId: admin.id,
        services,
        ...overrides,
      };
    },
    async close() {
      engine.close();
      await store.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** Parses `input` with the step's schema (as the workflow engine does), then runs it. */
export async function runStep<Input, Output>(
  step: StepType<Input, Output>,
  input: unknown,
  context: StepContext,
): Promise<Output> {
  return step.run(parseInput(step.input, input) as Input, context);
}
