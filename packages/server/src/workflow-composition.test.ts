import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChatStore } from '@kaiwa/core';
import { createSqliteStore } from '@kaiwa/store-kysely';
import { defineStepType } from '@kaiwa/workflow';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startTestServer as startModelServer } from '../../llm/src/test-support/start-test-server.js';
import { ConfigError, loadConfig } from './config.js';
import { startTestServer } from './test-support.js';
import { WorkflowDirectoryError } from './workflow-composition.js';

/*
 * The workflow engine composed into the server: definitions loaded from a directory at start (once per
 * change, across restarts on the same database), runs resumed after a restart, and the settings.
 */

const echoStep = defineStepType({
  type: 'test.echo',
  description: 'returns its input',
  input: z.object({ value: z.unknown() }),
  run: async (input) => input,
});
let started = 0;
let release: (() => void) | undefined;
const gateStep = defineStepType({
  type: 'test.gate',
  description: 'waits until the test lets it finish (or it is aborted)',
  input: z.object({}),
  run: (_input, context) =>
    new Promise((resolve, reject) => {
      started += 1;
      release = () => resolve({ released: true });
      context.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
    }),
});

const json = JSON.stringify({
  id: 'from-json',
  name: 'From JSON',
  steps: [{ id: 'one', type: 'test.echo', input: { value: '{{ trigger }}' } }],
});
const yaml = `
id: from-yaml
name: From YAML
steps:
  - id: one
    type: test.echo
    input: { value: 1 }
`;

let directory: string;
let store: ChatStore;
const servers: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  store = await createSqliteStore({ filename: ':memory:' });
});
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
  if (directory) rmSync(directory, { recursive: true, force: true });
});
afterAll(async () => {
  await store?.close();
});

function workflowDirectory(files: Record<string, string>): string {
  directory = mkdtempSync(join(tmpdir(), 'kaiwa-workflows-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(directory, name), text);
  return directory;
}

async function start(settingsDirectory: string | undefined, options: { store?: ChatStore } = {}) {
  const server = await startTestServer(
    { workflows: { directory: settingsDirectory, webhookSecrets: {}, webhookToleranceSeconds: 300 } },
    { workflowSteps: [echoStep, gateStep], ...(options.store ? { store: options.store } : {}) },
  );
  servers.push(server);
  return server;
}

describe('workflow composition', () => {
  it('defines the directory at start, and only what changed at the next start', async () => {
    const folder = workflowDirectory({ 'a.json': json, 'b.yaml': yaml, 'notes.txt': 'ignored' });
    const first = await start(folder, { store });
    const definitions = await first.server.workflows.engine.listDefinitions();
    expect(definitions.map((record) => [record.id, record.version])).toEqual([
      ['from-json', 1],
      ['from-yaml', 1],
    ]);
    const [admin] = await first.server.engine.listUsers({ role: 'admin', limit: 1 });
    expect(definitions[0]?.createdBy).toBe(admin?.id);
    await first.close();
    servers.length = 0;

    writeFileSync(join(folder, 'b.yaml'), yaml.replace('From YAML', 'From YAML, changed'));
    const second = await start(folder, { store });
    const again = await second.server.workflows.engine.listDefinitions();
    expect(again.map((record) => [record.id, record.version, record.name])).toEqual([
      ['from-json', 1, 'From JSON'],
      ['from-yaml', 2, 'From YAML, changed'],
    ]);
  });

  it('refuses to start on a bad directory, naming each file and field, and defines nothing', async () => {
    const folder = workflowDirectory({
      'good.json': json,
      'broken.yaml': 'id: [oops',
      'unknown.json': JSON.stringify({
        id: 'unknown',
        name: 'U',
        steps: [{ id: 'x', type: 'no.such.step' }],
      }),
      'twin.yaml': yaml,
      'twin2.yml': yaml,
    });
    const own = await createSqliteStore({ filename: ':memory:' });
    let caught: unknown;
    try {
      await start(folder, { store: own });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(WorkflowDirectoryError);
    expect(await own.workflows.listDefinitions({ limit: 10 })).toEqual([]);
    await own.close();
    const problems = (caught as WorkflowDirectoryError).problems.join('\n');
    expect(problems).toMatch(/broken\.yaml: definition: not valid YAML/);
    expect(problems).toMatch(/unknown\.json: steps\[0\]\.type: .*no\.such\.step/);
    expect(problems).toMatch(/twin2\.yml: id "from-yaml" is also defined by twin\.yaml/);
    await expect(start(join(tmpdir(), 'kaiwa-no-such-workflow-dir'))).rejects.toThrow(/cannot be read/);
  });

  it('resumes a run left unfinished by the previous process', async () => {
    const own = await createSqliteStore({ filename: ':memory:' });
    try {
      const first = await start(undefined, { store: own });
      const [admin] = await first.server.engine.listUsers({ role: 'admin', limit: 1 });
      await first.server.workflows.engine.define(
        { id: 'gated', name: 'Gated', steps: [{ id: 'gate', type: 'test.gate' }] },
        admin!.id,
      );
      const run = await first.server.workflows.engine.start('gated', { actorId: admin!.id });
      await expect.poll(() => started).toBe(1);
      // Closing stops the step and releases the claim, as a restart would.
      await first.close();
      servers.length = 0;

      const second = await start(undefined, { store: own });
      await expect.poll(() => started).toBe(2);
      release?.();
      const finished = await second.server.workflows.engine.waitForRun(run.id, { timeoutMs: 5_000 });
      expect(finished.run.status).toBe('succeeded');
      expect(finished.steps[0]).toMatchObject({ status: 'succeeded', output: { released: true } });
    } finally {
      for (const server of servers.splice(0)) await server.close();
      await own.close();
    }
  });
});

describe('workflow chat model', () => {
  it('gives the steps the LLM backend of KAIWA_LLM_*, and none without it', async () => {
    const modelServer = await startModelServer();
    try {
      const { assistant } = loadConfig({
        env: { KAIWA_LLM_BASE_URL: modelServer.baseURL, KAIWA_LLM_MODEL: 'echo' },
      });
      const summarize = {
        id: 'summarize',
        name: 'Summarize',
        steps: [{ id: 'summary', type: 'analyze', input: { task: 'summarize', text: 'a long text' } }],
      };
      const withModel = await startTestServer({ assistant });
      servers.push(withModel);
      const { user: admin } = await withModel.signedIn('admin');
      await withModel.server.workflows.engine.define(summarize, admin.id);
      const run = await withModel.server.workflows.engine.start('summarize', { actorId: admin.id });
      const done = await withModel.server.workflows.engine.waitForRun(run.id, { timeoutMs: 5_000 });
      expect(done.run.status).toBe('succeeded');
      expect(done.steps[0]?.output).toEqual({
        task: 'summarize',
        summary: 'Hello from Kaiwa. The end STOP after stop.',
      });
      const requests = await modelServer.requests();
      expect(requests.some((request) => request.body.model === 'echo')).toBe(true);

      const withoutModel = await startTestServer();
      servers.push(withoutModel);
      const { user: other } = await withoutModel.signedIn('admin');
      await withoutModel.server.workflows.engine.define(summarize, other.id);
      const failing = await withoutModel.server.workflows.engine.start('summarize', { actorId: other.id });
      const failed = await withoutModel.server.workflows.engine.waitForRun(failing.id, { timeoutMs: 5_000 });
      expect(failed.run.status).toBe('failed');
      expect(failed.steps[0]?.error?.message).toMatch(/chat model/);
    } finally {
      await modelServer.stop();
    }
  });
});

describe('workflow settings', () => {
  it('reads the directory, webhook secrets and tolerance', () => {
    const config = loadConfig({
      cwd: '/srv/kaiwa',
      env: {
        KAIWA_WORKFLOW_DIR: 'workflows',
        KAIWA_WORKFLOW_WEBHOOK_SECRETS: 'invoice=0123456789abcdef0123, *=fedcba9876543210fedc',
        KAIWA_WORKFLOW_WEBHOOK_TOLERANCE: '2m',
      },
    });
    expect(config.workflows).toEqual({
      directory: '/srv/kaiwa/workflows',
      webhookSecrets: { invoice: '0123456789abcdef0123', '*': 'fedcba9876543210fedc' },
      webhookToleranceSeconds: 120,
    });
    expect(loadConfig({ env: {} }).workflows).toEqual({
      directory: undefined,
      webhookSecrets: {},
      webhookToleranceSeconds: 300,
    });
  });

  it('names the bad setting without showing the secret', () => {
    let caught: unknown;
    try {
      loadConfig({ env: { KAIWA_WORKFLOW_WEBHOOK_SECRETS: 'invoice=short-secret' } });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const message = (caught as ConfigError).problems.join('\n');
    expect(message).toMatch(/KAIWA_WORKFLOW_WEBHOOK_SECRETS: must be workflow-id=secret pairs/);
    expect(message).not.toContain('short-secret');
  });
});
