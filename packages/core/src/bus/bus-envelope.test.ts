import { describe, expect, it } from 'vitest';
import type { ChatEvent } from '../events.js';
import { decodeBusEnvelope, encodeBusEnvelope } from './bus-envelope.js';

const event: ChatEvent = {
  type: 'read.updated',
  payload: { roomId: 'r1', userId: 'u1', lastReadMessageId: null },
};
const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('bus envelopes', () => {
  it('carry the event, the publish time and, when given, the W3C trace context', () => {
    const text = encodeBusEnvelope(
      'instance-a',
      event,
      { traceparent, tracestate: 'vendor=value' },
      1_700_000_000_123,
    );
    expect(JSON.parse(text)).toEqual({
      o: 'instance-a',
      e: event,
      t: 1_700_000_000_123,
      traceparent,
      tracestate: 'vendor=value',
    });
    expect(decodeBusEnvelope(text)).toEqual({
      origin: 'instance-a',
      event,
      traceContext: { traceparent, tracestate: 'vendor=value' },
      delivery: { traceContext: { traceparent, tracestate: 'vendor=value' }, publishedAt: 1_700_000_000_123 },
    });
  });

  it('stamp the publish time now unless told, with or without a trace context', () => {
    const before = Date.now();
    const decoded = decodeBusEnvelope(encodeBusEnvelope('instance-a', event));
    expect(decoded).toEqual({ origin: 'instance-a', event, delivery: { publishedAt: expect.any(Number) } });
    expect(decoded?.delivery?.publishedAt).toBeGreaterThanOrEqual(before);
    expect(decoded?.delivery?.publishedAt).toBeLessThanOrEqual(Date.now());
  });

  it('read envelopes of older instances, without publish time or trace context, as before', () => {
    expect(decodeBusEnvelope(JSON.stringify({ o: 'older-instance', e: event }))).toEqual({
      origin: 'older-instance',
      event,
    });
    expect(decodeBusEnvelope(JSON.stringify({ o: 'older-instance', e: event, traceparent }))).toEqual({
      origin: 'older-instance',
      event,
      traceContext: { traceparent },
      delivery: { traceContext: { traceparent } },
    });
  });

  it('drop a malformed publish time but keep the event', () => {
    for (const bad of ['1700000000000', -5, 1.5, Number.MAX_SAFE_INTEGER + 2, null]) {
      const decoded = decodeBusEnvelope(JSON.stringify({ o: 'x', e: event, t: bad }));
      expect(decoded).toEqual({ origin: 'x', event });
    }
  });

  it('drop a malformed trace context but keep the event', () => {
    for (const bad of ['nonsense', '00-XYZ-00f067aa0ba902b7-01', 42, 'a'.repeat(300)]) {
      const decoded = decodeBusEnvelope(JSON.stringify({ o: 'x', e: event, traceparent: bad }));
      expect(decoded).toEqual({ origin: 'x', event });
    }
  });

  it('skip the instance’s own envelopes unparsed, and refuse what is not an envelope', () => {
    expect(decodeBusEnvelope(encodeBusEnvelope('me', event, { traceparent }), 'me')).toBeUndefined();
    expect(decodeBusEnvelope('not json')).toBeUndefined();
    expect(decodeBusEnvelope(JSON.stringify({ o: 'x', e: { payload: {} } }))).toBeUndefined();
    expect(decodeBusEnvelope(JSON.stringify({ o: 7, e: event }))).toBeUndefined();
  });
});
