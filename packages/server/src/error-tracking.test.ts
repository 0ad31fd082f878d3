import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { scrubEvent } from './error-tracking.js';
import { startTestServer } from './test-support.js';

/** A stand-in for Sentry on 127.0.0.1: keeps every envelope posted to `/api/<project>/envelope/`. */
interface EnvelopeReceiver {
  dsn: string;
  /** Each envelope as its lines: the envelope header, then item headers and payloads. */
  envelopes: unknown[][];
  /** Every body as received, to search for secrets in whatever form they might take. */
  raw: string[];
  paths: string[];
}

let receiver: EnvelopeReceiver;
let receiverServer: Server;

beforeAll(async () => {
  const envelopes: unknown[][] = [];
  const raw: string[] = [];
  const paths: string[] = [];
  receiverServer = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      let body = Buffer.concat(chunks);
      if (request.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      const text = body.toString('utf8');
      paths.push(request.url ?? '');
      raw.push(text);
      envelopes.push(
        text
          .split('\n')
          .filter((line) => line.trim() !== '')
          .map((line) => JSON.parse(line) as unknown),
      );
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiverServer.listen(0, '127.0.0.1', resolve));
  const { port } = receiverServer.address() as AddressInfo;
  receiver = { dsn: `http://public0123456789@127.0.0.1:${port}/42`, envelopes, raw, paths };
});

afterAll(async () => {
  await new Promise<void>((resolve) => receiverServer.close(() => resolve()));
});

interface SentEvent {
  type?: string;
  environment?: string;
  release?: string;
  tags?: Record<string, string>;
  user?: Record<string, unknown>;
  request?: unknown;
  exception?: { values?: { type?: string; value?: string }[] };
}

/** The error events among the envelopes (an envelope item header says `type: event`). */
function events(): SentEvent[] {
  return receiver.envelopes.flatMap((lines) =>
    lines.flatMap((line, index) =>
      index > 0 && (line as { type?: string }).type === 'event' ? [lines[index + 1] as SentEvent] : [],
    ),
  );
}

describe('error tracking (SENTRY_DSN)', () => {
  it('reports a 5xx with request id, user id, release and environment, and no secrets; a 4xx not', async () => {
    const test = await startTestServer({
      errorTracking: { dsn: receiver.dsn, environment: 'staging', release: 'kaiwa@9.9.9-test' },
    });
    let userId: string;
    try {
      const { user, token } = await test.signedIn('member');
      userId = user.id;
      const room = await test.call('POST', '/api/v1/rooms', {
        token,
        body: { name: 'ops', kind: 'channel', visibility: 'public' },
      });
      expect(room.statusCode).toBe(201);
      const roomId = (room.json() as { id: string }).id;

      // A 4xx: a room that does not exist.
      const missing = await test.call('POST', '/api/v1/rooms/no-such-room/messages', {
        token,
        body: { text: 'not found text' },
      });
      expect(missing.statusCode).toBeGreaterThanOrEqual(400);
      expect(missing.statusCode).toBeLessThan(500);

      // A 5xx: the engine fails with an error of its own.
      vi.spyOn(test.server.engine, 'sendMessage').mockRejectedValueOnce(
        new Error(`the disk caught fire (Bearer ${token})`),
      );
      const failed = await test.call('POST', `/api/v1/rooms/${roomId}/messages`, {
        token,
        body: { text: 'top secret message text' },
        headers: { 'x-request-id': 'req-sentry-test-1' },
      });
      expect(failed.statusCode).toBe(500);
    } finally {
      // Closing sends what is queued.
      await test.close();
    }

    expect(receiver.paths.every((path) => path.startsWith('/api/42/envelope/'))).toBe(true);
    const sent = events();
    expect(sent).toHaveLength(1);
    const [event] = sent as [SentEvent];
    expect(event.environment).toBe('staging');
    expect(event.release).toBe('kaiwa@9.9.9-test');
    expect(event.tags).toMatchObject({
      request_id: 'req-sentry-test-1',
      method: 'POST',
      route: '/api/v1/rooms/:roomId/messages',
      status_code: '500',
    });
    expect(event.user).toEqual({ id: userId });
    expect(event.request).toBeUndefined();
    expect(event.exception?.values?.[0]?.type).toBe('Error');
    expect(event.exception?.values?.[0]?.value).toBe('the disk caught fire (Bearer [masked])');

    const everything = receiver.raw.join('\n');
    expect(everything).not.toContain('top secret message text');
    expect(everything).not.toContain('not found text');
    expect(everything.toLowerCase()).not.toContain('authorization');
    expect(everything).not.toMatch(/eyJ[\w-]{5,}\.[\w-]{5,}/);
  });
});

describe('scrubEvent', () => {
  it('drops request data, breadcrumbs, extras and source lines, and masks credentials', () => {
    const event = scrubEvent({
      type: undefined,
      message: 'calling http://admin:hunter2@db.example/kaiwa with kaiwa_bot_abcdefghijklmnopqrstuvwx',
      request: { headers: { authorization: 'Bearer x' }, data: '{"text":"hi"}' },
      breadcrumbs: [{ message: 'hi' }],
      extra: { body: 'hi' },
      user: { id: 'u1', email: 'a@example.com', ip_address: '10.0.0.1' },
      exception: {
        values: [
          {
            type: 'Error',
            value:
              'token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJl refused; kaiwa_rt_0123456789abcdefghij',
            stacktrace: {
              frames: [{ filename: 'a.js', context_line: 'const text = body.text', vars: { a: 1 } }],
            },
          },
        ],
      },
    });
    expect(event.request).toBeUndefined();
    expect(event.breadcrumbs).toBeUndefined();
    expect(event.extra).toBeUndefined();
    expect(event.user).toEqual({ id: 'u1' });
    expect(event.message).toBe('calling http://admin:[masked]@db.example/kaiwa with kaiwa_bot_[masked]');
    expect(event.exception?.values?.[0]?.value).toBe('token [masked] refused; kaiwa_rt_[masked]');
    expect(event.exception?.values?.[0]?.stacktrace?.frames?.[0]).toEqual({ filename: 'a.js' });
  });
});
