import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { retryAfterMs, ValidationError } from '@kaiwa/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpStatusError, MissingServiceError } from './errors.js';
import { loadStep } from './load-step.js';
import { openStepHarness, runStep, type StepHarness } from './test-support/step-harness.js';

let harness: StepHarness;
let server: Server;
const received: { method: string; url: string; headers: Record<string, unknown>; body: string }[] = [];

beforeAll(async () => {
  harness = await openStepHarness();
  server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    received.push({
      method: request.method ?? '',
      url: request.url ?? '',
      headers: request.headers,
      body: Buffer.concat(chunks).toString('utf8'),
    });
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    if (path === '/api/invoices') {
      response.writeHead(201, { 'content-type': 'application/json; charset=utf-8' });
      response.end(JSON.stringify({ id: 'erp-7' }));
    } else if (path === '/api/busy') {
      response.writeHead(429, { 'retry-after': '3' });
      response.end('slow down');
    } else if (path === '/api/broken') {
      response.writeHead(503);
      response.end('maintenance');
    } else if (path === '/api/slow') {
      setTimeout(() => response.end('late'), 2_000);
    } else {
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end('no such thing');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  harness.services.endpoints = new Map([
    ['erp', { url: `http://127.0.0.1:${port}/api/`, headers: { authorization: 'Bearer operator-token' } }],
  ]);
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  await harness?.close();
});

describe('load step', () => {
  it('sends JSON to a named endpoint with the operator headers winning', async () => {
    const output = await runStep(
      loadStep,
      {
        endpoint: 'erp',
        path: 'invoices',
        query: { dryRun: false },
        headers: { authorization: 'Bearer from-definition', 'x-run': 'r1' },
        body: { number: 'INV-2026-0042', amount: 1234.5 },
      },
      harness.context(),
    );
    expect(output).toEqual({
      status: 201,
      contentType: 'application/json; charset=utf-8',
      body: { id: 'erp-7' },
    });
    const request = received.at(-1);
    expect(request).toMatchObject({ method: 'POST', url: '/api/invoices?dryRun=false' });
    expect(request?.headers).toMatchObject({
      authorization: 'Bearer operator-token',
      'x-run': 'r1',
      'content-type': 'application/json',
    });
    expect(JSON.parse(request?.body ?? '')).toEqual({ number: 'INV-2026-0042', amount: 1234.5 });
  });

  it('fails on non-2xx with the status; 5xx and 429 are retryable, with Retry-After', async () => {
    const busy = await runStep(
      loadStep,
      { endpoint: 'erp', method: 'GET', path: 'busy' },
      harness.context(),
    ).catch((e) => e);
    expect(busy).toBeInstanceOf(HttpStatusError);
    expect(busy).toMatchObject({ status: 429, retryable: true, retryAfterMs: 3_000 });
    expect(loadStep.retryable?.(busy)).toBe(true);

    const broken = await runStep(loadStep, { endpoint: 'erp', path: 'broken' }, harness.context()).catch(
      (e) => e,
    );
    expect(broken).toMatchObject({ status: 503, retryable: true, body: 'maintenance' });

    const missing = await runStep(
      loadStep,
      { endpoint: 'erp', method: 'GET', path: 'nope' },
      harness.context(),
    ).catch((e) => e);
    expect(missing).toMatchObject({ status: 404, retryable: false });
    expect(loadStep.retryable?.(missing)).toBe(false);
  });

  it('times out, and stops when the run is cancelled', async () => {
    const started = Date.now();
    await expect(
      runStep(loadStep, { endpoint: 'erp', method: 'GET', path: 'slow', timeoutMs: 100 }, harness.context()),
    ).rejects.toThrow(/timeout|aborted/i);
    const controller = new AbortController();
    const running = runStep(
      loadStep,
      { endpoint: 'erp', method: 'GET', path: 'slow' },
      harness.context({ signal: controller.signal }),
    );
    setTimeout(() => controller.abort(new Error('run cancelled')), 50);
    await expect(running).rejects.toThrow('run cancelled');
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('only reaches configured endpoints, inside their path', async () => {
    await expect(runStep(loadStep, { endpoint: 'evil' }, harness.context())).rejects.toThrow(
      /endpoint: no endpoint named "evil"/,
    );
    for (const path of ['../admin', '//evil.example/x', 'a/../../b']) {
      await expect(runStep(loadStep, { endpoint: 'erp', path }, harness.context())).rejects.toBeInstanceOf(
        ValidationError,
      );
    }
    await expect(
      runStep(loadStep, { endpoint: 'erp', headers: { 'x-bad': 'a\r\nb' } }, harness.context()),
    ).rejects.toThrow(/line breaks/);
    await expect(
      runStep(loadStep, { endpoint: 'erp', method: 'GET', body: {} }, harness.context()),
    ).rejects.toThrow(/GET request has no body/);
    await expect(
      runStep(
        loadStep,
        { endpoint: 'erp' },
        harness.context({ services: { chat: harness.engine, store: harness.store } }),
      ),
    ).rejects.toBeInstanceOf(MissingServiceError);
  });

  it('reads Retry-After as seconds or a date', () => {
    expect(retryAfterMs('7')).toBe(7_000);
    expect(retryAfterMs(new Date(Date.now() + 60_000).toUTCString())).toBeGreaterThan(55_000);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(null)).toBeUndefined();
  });
});
