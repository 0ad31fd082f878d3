import { createHmac } from 'node:crypto';
import type { WorkflowRun } from '@kaiwa/core';
import { ChatEngine, ConflictError, ForbiddenError, InProcessBus, NotFoundError } from '@kaiwa/core';
import { createSqliteStore } from '@kaiwa/store-kysely';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineStepType } from './step-type.js';
import { mimeMatches, WorkflowTriggers } from './triggers.js';
import { signWebhook, verifyWebhookSignature } from './webhook-signature.js';
import type { WorkflowTrigger } from './workflow-definition.js';
import { WorkflowEngine } from './workflow-engine.js';

const echo = defineStepType({
  type: 'echo',
  description: 'Returns its input',
  input: z.object({ value: z.unknown() }),
  run: async (input) => input,
});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(secret = 'shh') {
  const store = await createSqliteStore({ filename: ':memory:' });
  await store.migrate();
  const bus = new InProcessBus();
  const engine = new ChatEngine({ store, bus });
  const alice = await engine.createUser({ username: 'alice' });
  const room = await engine.createRoom(alice.id, { kind: 'channel', name: 'ops' });
  const workflows = new WorkflowEngine({ store, bus, services: { chat: engine, store }, steps: [echo] });
  const started: { run: WorkflowRun; type: string }[] = [];
  const waiters: (() => void)[] = [];
  const errors: unknown[] = [];
  const triggers = new WorkflowTriggers({
    events: engine.events,
    repository: store.workflows,
    workflows,
    webhookSecret: (id) => (id === 'hook' ? secret : undefined),
    onRunStarted: (run, type) => {
      started.push({ run, type });
      for (const wake of waiters.splice(0)) wake();
    },
    onError: (error) => errors.push(error),
  });
  cleanups.push(async () => {
    await triggers.close();
    await workflows.close();
    engine.close();
    await store.close();
  });
  const define = (id: string, trigger: WorkflowTrigger, value = '{{ trigger }}') =>
    workflows.define(
      { id, name: id, trigger, steps: [{ id: 'echo', type: 'echo', input: { value } }] },
      alice.id,
    );
  /** Resolves with the next run a trigger starts. */
  const nextRun = (timeoutMs = 3000) =>
    new Promise<WorkflowRun>((resolve, reject) => {
      const count = started.length;
      const timer = setTimeout(() => reject(new Error('no run started')), timeoutMs);
      const check = () => {
        if (started.length > count) {
          clearTimeout(timer);
          resolve(started[count]!.run);
        } else waiters.push(check);
      };
      check();
    });
  const output = async (run: WorkflowRun) => (await workflows.waitForRun(run.id)).steps[0]!.output;
  return { store, engine, alice, room, workflows, triggers, started, errors, define, nextRun, output };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

describe('WorkflowTriggers', () => {
  it('starts a workflow from a message matching its pattern, as the author', async () => {
    const t = await setup();
    await t.define(
      'invoice',
      { type: 'message', pattern: '^invoice (?<number>\\d+)' },
      '{{ trigger.match.groups.number }}',
    );
    await t.triggers.start();
    await t.engine.sendMessage(t.alice.id, { roomId: t.room.id, text: 'hello there' });
    await settle();
    expect(t.started).toEqual([]);
    const next = t.nextRun();
    await t.engine.sendMessage(t.alice.id, { roomId: t.room.id, text: 'invoice 42 please' });
    const run = await next;
    expect(run.actorId).toBe(t.alice.id);
    expect(await t.output(run)).toEqual({ value: '42' });
  });

  it('refuses patterns that could backtrack for ever, and matches hostile text quickly', async () => {
    const t = await setup();
    await expect(t.define('backref', { type: 'message', pattern: '(a)\\1' })).rejects.toThrow(/pattern/);
    await t.define('nested', { type: 'message', pattern: '^(a+)+$' });
    await t.triggers.start();
    const started = performance.now();
    await t.engine.sendMessage(t.alice.id, { roomId: t.room.id, text: `${'a'.repeat(5000)}!` });
    await settle();
    expect(performance.now() - started).toBeLessThan(3000);
    expect(t.started).toEqual([]);
  });

  it('ignores messages that a workflow posted', async () => {
    const t = await setup();
    await t.define('echoer', { type: 'message', pattern: 'ping' });
    await t.triggers.start();
    await t.engine.sendMessage(t.alice.id, {
      roomId: t.room.id,
      text: 'ping',
      metadata: { workflowRunId: '01JDQ6R0Q7ZK4M3B8Y2V5N1C9X' },
    });
    await settle();
    expect(t.started).toEqual([]);
  });

  it('starts a workflow from a slash command with its arguments', async () => {
    const t = await setup();
    await t.define('report', { type: 'command' }, '{{ trigger.args }}');
    await t.define('other', { type: 'command', name: 'weekly' }, '{{ trigger.argsText }}');
    await t.triggers.start();
    let next = t.nextRun();
    await t.engine.sendMessage(t.alice.id, { roomId: t.room.id, text: '/run report 2026 Q4' });
    expect(await t.output(await next)).toEqual({ value: ['2026', 'Q4'] });
    next = t.nextRun();
    await t.engine.sendMessage(t.alice.id, { roomId: t.room.id, text: '/run weekly  now ' });
    expect(await t.output(await next)).toEqual({ value: 'now' });
    await t.engine.sendMessage(t.alice.id, { roomId: t.room.id, text: '/run unknown' });
    await settle();
    expect(t.started.length).toBe(2);
  });

  it('starts a workflow when a file of a matching type is uploaded to a room', async () => {
    const t = await setup();
    await t.define(
      'scan',
      { type: 'file', mimeType: 'image/*', roomId: t.room.id },
      '{{ trigger.file.name }}',
    );
    await t.triggers.start();
    const upload = (name: string, mimeType: string) =>
      t.engine.createFileRecord(t.alice.id, {
        name,
        mimeType,
        size: 10,
        sha256: 'a'.repeat(64),
        storageKey: `files/${name}`,
        roomId: t.room.id,
      });
    await upload('notes.pdf', 'application/pdf');
    await settle();
    expect(t.started).toEqual([]);
    const next = t.nextRun();
    await upload('receipt.png', 'image/png');
    const run = await next;
    expect(await t.output(run)).toEqual({ value: 'receipt.png' });
  });

  it('runs a cron schedule once per tick and stops on close', async () => {
    const t = await setup();
    await t.define('tick', { type: 'cron', schedule: '* * * * * *' }, '{{ trigger.scheduledAt }}');
    await t.triggers.start();
    const run = await t.nextRun(4000);
    expect(run.actorId).toBe(t.alice.id);
    expect(await t.output(run)).toEqual({ value: expect.stringMatching(/\.000Z$/) });
    await t.triggers.close();
    const count = t.started.length;
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(t.started.length).toBe(count);
  });

  it('picks up definitions made after it started', async () => {
    const t = await setup();
    await t.triggers.start();
    await t.define('late', { type: 'message', pattern: 'late' });
    await settle();
    const next = t.nextRun();
    await t.engine.sendMessage(t.alice.id, { roomId: t.room.id, text: 'late arrival' });
    expect((await next).workflowId).toBe('late');
  });

  it('accepts a signed webhook once and refuses bad, stale and replayed ones', async () => {
    const t = await setup('s3cret');
    await t.define('hook', { type: 'webhook' }, '{{ trigger.body.amount }}');
    await t.define('nohook', { type: 'manual' });
    await t.triggers.start();
    const body = JSON.stringify({ amount: 1200 });
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = await signWebhook({ secret: 's3cret', timestamp, body });
    const request = { workflowId: 'hook', deliveryId: 'd-1', timestamp, signature, body };

    const run = await t.triggers.receiveWebhook(request);
    expect(await t.output(run)).toEqual({ value: 1200 });
    await expect(t.triggers.receiveWebhook(request)).rejects.toBeInstanceOf(ConflictError);
    await expect(
      t.triggers.receiveWebhook({ ...request, deliveryId: 'd-2', body: JSON.stringify({ amount: 9999 }) }),
    ).rejects.toBeInstanceOf(ForbiddenError);
    const old = timestamp - 301;
    await expect(
      t.triggers.receiveWebhook({
        ...request,
        deliveryId: 'd-3',
        timestamp: old,
        signature: await signWebhook({ secret: 's3cret', timestamp: old, body }),
      }),
    ).rejects.toBeInstanceOf(ForbiddenError);
    await expect(t.triggers.receiveWebhook({ ...request, workflowId: 'nohook' })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    // The unsigned delivery header decides nothing: the same signed request with another id, or none, is a replay.
    await expect(t.triggers.receiveWebhook({ ...request, deliveryId: 'fresh-id' })).rejects.toBeInstanceOf(
      ConflictError,
    );
    await expect(t.triggers.receiveWebhook({ ...request, deliveryId: undefined })).rejects.toBeInstanceOf(
      ConflictError,
    );
    expect(t.started.length).toBe(1);

    // A signed delivery id makes a retry with a new timestamp (a new signature) the same delivery.
    const retryBody = JSON.stringify({ amount: 5 });
    const signedDelivery = async (at: number) => ({
      workflowId: 'hook',
      deliveryId: 'order-77',
      timestamp: at,
      body: retryBody,
      signature: await signWebhook({
        secret: 's3cret',
        timestamp: at,
        body: retryBody,
        deliveryId: 'order-77',
      }),
    });
    const first = await t.triggers.receiveWebhook(await signedDelivery(timestamp));
    expect(first.trigger).toMatchObject({ deliveryId: 'delivery:order-77' });
    await expect(t.triggers.receiveWebhook(await signedDelivery(timestamp + 1))).rejects.toBeInstanceOf(
      ConflictError,
    );
    expect(t.started.length).toBe(2);
  });
});

describe('verifyWebhookSignature', () => {
  const secret = 'k';
  const body = '{"a":1}';
  const now = Date.UTC(2026, 10, 25, 12, 0, 0);
  const timestamp = now / 1000;
  let signature: string;
  beforeAll(async () => {
    signature = await signWebhook({ secret, timestamp, body });
  });

  it('accepts a good signature, with or without the sha256= prefix', async () => {
    expect(await verifyWebhookSignature({ secret, timestamp, body, signature, now })).toEqual({
      ok: true,
      replayKey: `sig:${signature}`,
    });
    expect(
      (
        await verifyWebhookSignature({
          secret,
          timestamp: `${timestamp}`,
          body,
          signature: `sha256=${signature.toUpperCase()}`,
          now,
        })
      ).ok,
    ).toBe(true);
  });

  it('refuses a wrong secret, a changed body, stale or future timestamps and malformed input', async () => {
    const reason = async (options: Partial<Parameters<typeof verifyWebhookSignature>[0]>) => {
      const result = await verifyWebhookSignature({ secret, timestamp, body, signature, now, ...options });
      return result.ok ? 'ok' : result.reason;
    };
    expect(await reason({ secret: 'other' })).toBe('bad_signature');
    expect(await reason({ body: '{"a":2}' })).toBe('bad_signature');
    expect(await reason({ signature: signature.replace(/^./, (c) => (c === '0' ? '1' : '0')) })).toBe(
      'bad_signature',
    );
    expect(await reason({ now: now + 301_000 })).toBe('stale');
    expect(await reason({ now: now - 301_000 })).toBe('stale');
    expect(await reason({ now: now + 299_000 })).toBe('ok');
    expect(await reason({ now: now + 10_000, toleranceSeconds: 5 })).toBe('stale');
    expect(await reason({ signature: 'xyz' })).toBe('malformed');
    expect(await reason({ timestamp: 'yesterday' })).toBe('malformed');
  });

  it('signs exactly as HMAC-SHA256 always did (Node createHmac), an empty secret and a delivery id included', async () => {
    const hmac = (key: string, text: string) => createHmac('sha256', key).update(text).digest('hex');
    expect(signature).toBe(hmac(secret, `${timestamp}.${body}`));
    expect(await signWebhook({ secret: '', timestamp, body })).toBe(hmac('', `${timestamp}.${body}`));
    expect(await signWebhook({ secret: 'ключ 鍵', timestamp, body: 'テキスト', deliveryId: 'd-9' })).toBe(
      hmac('ключ 鍵', `${timestamp}.d-9.テキスト`),
    );
    const byDelivery = hmac(secret, `${timestamp}.d-9.${body}`);
    expect(
      await verifyWebhookSignature({
        secret,
        timestamp,
        body,
        signature: byDelivery,
        deliveryId: 'd-9',
        now,
      }),
    ).toEqual({ ok: true, replayKey: 'delivery:d-9' });
  });
});

describe('mimeMatches', () => {
  it('matches exact types and prefix wildcards', () => {
    expect(mimeMatches('image/*', 'image/png')).toBe(true);
    expect(mimeMatches('image/*', 'application/pdf')).toBe(false);
    expect(mimeMatches('application/PDF', 'application/pdf')).toBe(true);
  });
});
