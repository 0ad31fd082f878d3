import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient, until } from '../realtime/test-support.js';
import { createPostgresDatabase, Instance, randomSecret } from '../scale/scale-test-support.js';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from './otlp-receiver.js';

/*
 * Tracing end to end: two server instances in child processes on one PostgreSQL database and one Redis bus,
 * exporting with the official OTLP/HTTP exporter to a receiver on 127.0.0.1. A message sent on instance A
 * (a WebSocket `send` frame, and a REST request carrying the caller's traceparent) must give one trace:
 * the frame or request, the engine, the store calls and their statements, the bus publish on A and the
 * delivery on B as the publish span's child. Log lines carry the ids; no span carries message text.
 */

const pgUrl = process.env.KAIWA_TEST_PG_URL || undefined;
const redisUrl = process.env.KAIWA_TEST_REDIS_URL || undefined;
const skip = !redisUrl
  ? 'set KAIWA_TEST_REDIS_URL=redis://127.0.0.1:6379 to run them'
  : !pgUrl
    ? 'set KAIWA_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/test to run them'
    : undefined;
if (skip) console.info(`[tracing across instances] skipped: ${skip}`);

// OTLP numbers span kinds from 1 (internal): server 2, producer 4, consumer 5.
const SERVER = 2;
const PRODUCER = 4;
const CONSUMER = 5;

describe.skipIf(skip !== undefined)('tracing across two instances on Redis', () => {
  let receiver: OtlpReceiver;
  let database: { url: string; drop(): Promise<void> };
  let a: Instance;
  let b: Instance;
  const clients: TestClient[] = [];
  const metricsToken = randomBytes(24).toString('hex');

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    database = await createPostgresDatabase(pgUrl!);
    const common = {
      databaseUrl: database.url,
      bus: redisUrl!,
      channel: `kaiwa_t_${randomBytes(5).toString('hex')}`,
      jwtSecret: randomSecret(),
      logLevel: 'info',
    };
    const environment = (service: string) => ({
      KAIWA_METRICS_TOKEN: metricsToken,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_SERVICE_NAME: service,
      OTEL_TRACES_SAMPLER: 'parentbased_always_on',
    });
    // The first alone: it migrates the schema.
    a = await Instance.start({ ...common, environment: environment('kaiwa-a') });
    b = await Instance.start({ ...common, environment: environment('kaiwa-b') });
  }, 90_000);

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await Promise.all([a?.stop(), b?.stop()]);
    await database?.drop();
    await receiver?.close();
  });

  const spansOf = (traceId: string) => receiver.spans.filter((span) => span.traceId === traceId);
  const childrenOf = (parent: ReceivedSpan) =>
    receiver.spans.filter((span) => span.traceId === parent.traceId && span.parentSpanId === parent.spanId);
  /** Follows parent links up to the root: every span of a trace must hang together. */
  const ancestry = (span: ReceivedSpan): ReceivedSpan[] => {
    const chain = [span];
    for (let current = span; current.parentSpanId !== ''; ) {
      const parent = receiver.spans.find(
        (each) => each.traceId === current.traceId && each.spanId === current.parentSpanId,
      );
      if (!parent) break;
      chain.push(parent);
      current = parent;
    }
    return chain;
  };

  it('follows a WebSocket send from instance A through engine, store and bus to the delivery on B', async () => {
    const setup = await a.prepare(2, 'traced');
    const sender = await TestClient.as(a.webSocketUrl, setup.tokens[0]!, { presence: false });
    const reader = await TestClient.as(b.webSocketUrl, setup.tokens[1]!, { presence: false });
    clients.push(sender, reader);
    for (const client of [sender, reader]) {
      const answer = await client.request({
        type: 'subscribe',
        roomId: setup.roomId,
        lastSeq: setup.lastSeq,
      });
      expect(answer.type).toBe('subscribed');
    }
    const secret = `very private words ${randomBytes(6).toString('hex')}`;
    const ack = await sender.request({
      type: 'send',
      roomId: setup.roomId,
      text: secret,
      clientMessageId: 'c1',
    });
    expect(ack.type).toBe('ack');
    await reader.waitFor((frame) => frame.type === 'message.created', { timeoutMs: 10_000 });

    // Batches leave every second.
    await until(() => {
      const frame = receiver.spans.find((span) => span.name === 'ws send' && span.service === 'kaiwa-a');
      return frame !== undefined && spansOf(frame.traceId).some((span) => span.service === 'kaiwa-b');
    }, 15_000);
    const frame = receiver.spans.find((span) => span.name === 'ws send' && span.service === 'kaiwa-a')!;
    expect(frame.kind).toBe(SERVER);
    expect(frame.parentSpanId).toBe('');
    expect(frame.attributes['kaiwa.ws.frame_type']).toBe('send');

    const engine = childrenOf(frame).find((span) => span.name === 'engine sendMessage');
    expect(engine, 'engine span under the frame').toBeDefined();
    const trace = spansOf(frame.traceId);
    const storeCalls = trace.filter((span) => span.name.startsWith('store '));
    expect(storeCalls.map((span) => span.attributes['kaiwa.store.repository'])).toContain('messages');
    for (const call of storeCalls) {
      expect(ancestry(call).at(-1)?.spanId, `${call.name} hangs under the frame`).toBe(frame.spanId);
      expect(call.attributes['db.system.name']).toBe('postgresql');
    }
    // Statements are children of the repository calls, with the operation and the table only.
    const insert = trace.find(
      (span) =>
        span.attributes['db.operation.name'] === 'INSERT' &&
        span.attributes['db.collection.name'] === 'messages',
    );
    expect(insert, 'an INSERT into messages').toBeDefined();
    expect(storeCalls.map((span) => span.spanId)).toContain(insert!.parentSpanId);

    const publish = trace.find((span) => span.name === 'bus publish message.created');
    expect(publish?.kind).toBe(PRODUCER);
    expect(publish?.service).toBe('kaiwa-a');
    expect(publish?.attributes['messaging.system']).toBe('redis');
    const delivery = trace.find(
      (span) => span.name === 'bus deliver message.created' && span.service === 'kaiwa-b',
    );
    expect(delivery?.kind).toBe(CONSUMER);
    expect(delivery?.parentSpanId, 'the delivery on B is a child of the publish on A').toBe(publish?.spanId);

    // B measured the bus delivery lag of what A published (by bus kind), plausibly.
    const scrape = await fetch(`${b.httpUrl}/metrics`, {
      headers: { authorization: `Bearer ${metricsToken}` },
    }).then((response) => response.text());
    const lagCount = Number(
      /^kaiwa_bus_delivery_lag_seconds_count\{kind="redis"\} (\S+)$/m.exec(scrape)?.[1],
    );
    const lagSum = Number(/^kaiwa_bus_delivery_lag_seconds_sum\{kind="redis"\} (\S+)$/m.exec(scrape)?.[1]);
    expect(lagCount).toBeGreaterThan(0);
    expect(lagSum).toBeGreaterThanOrEqual(0);
    expect(lagSum / lagCount).toBeLessThan(2);

    // No span anywhere carries the message text.
    expect(receiver.bodies.join('\n')).not.toContain(secret);
    expect(receiver.bodies.join('\n')).not.toContain('very private');
  }, 60_000);

  it('continues the caller’s traceparent on an HTTP request, and its log lines carry the ids', async () => {
    const setup = await a.prepare(2, 'traced-http');
    const traceId = randomBytes(16).toString('hex');
    const callerSpanId = randomBytes(8).toString('hex');
    const secret = `confidential ${randomBytes(6).toString('hex')}`;
    const response = await fetch(`${a.httpUrl}/api/v1/rooms/${setup.roomId}/messages`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${setup.tokens[0]}`,
        'content-type': 'application/json',
        traceparent: `00-${traceId}-${callerSpanId}-01`,
      },
      body: JSON.stringify({ text: secret }),
    });
    expect(response.status).toBe(201);

    await until(() => spansOf(traceId).some((span) => span.name === 'bus deliver message.created'), 15_000);
    const request = spansOf(traceId).find((span) => span.kind === SERVER && span.service === 'kaiwa-a')!;
    expect(request.name).toBe('POST /api/v1/rooms/:roomId/messages');
    expect(request.parentSpanId).toBe(callerSpanId);
    expect(request.attributes['http.response.status_code']).toBe(201);
    expect(request.attributes['http.route']).toBe('/api/v1/rooms/:roomId/messages');
    const delivery = spansOf(traceId).find((span) => span.name === 'bus deliver message.created')!;
    expect(delivery.service).toBe('kaiwa-b');
    expect(ancestry(delivery).at(-1)?.spanId).toBe(request.spanId);
    expect(receiver.bodies.join('\n')).not.toContain(secret);

    // The request's log lines on A carry the trace and the request's span.
    await until(() => a.outputLines.some((line) => line.includes(traceId)), 5_000).catch(() => undefined);
    const logged = a.outputLines
      .map((line) => {
        try {
          return JSON.parse(line) as Record<string, unknown>;
        } catch {
          return undefined;
        }
      })
      .filter((line) => line?.trace_id === traceId);
    expect(logged.length, 'log lines with the trace id').toBeGreaterThan(0);
    expect(logged.map((line) => line?.span_id)).toContain(request.spanId);
    expect(a.outputLines.join('\n')).not.toContain(secret);
  }, 60_000);
});
