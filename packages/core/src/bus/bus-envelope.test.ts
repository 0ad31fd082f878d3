import { describe, expect, it } from 'vitest';
import type { ChatEvent } from '../events.js';
import { decodeBusEnvelope, encodeBusEnvelope } from './bus-envelope.js';

const event: ChatEvent = {
  type: 'read.updated',
  payload: { roomId: 'r1', userId: 'u1', lastReadMessageId: null },
};
const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('bus envelopes', () => {
  it('carry the event and, when given, the W3C trace context', () => {
    const text = encodeBusEnvelope('instance-a', event, { traceparent, tracestate: 'vendor=value' });
    expect(JSON.parse(text)).toEqual({ o: 'instance-a', e: event, traceparent, tracestate: 'vendor=value' });
    expect(decodeBusEnvelope(text)).toEqual({
      origin: 'instance-a',
      event,
      traceContext: { traceparent, tracestate: 'vendor=value' },
    });
  });

  it('read envelopes of instances that send no trace context as before', () => {
    const text = JSON.stringify({ o: 'older-instance', e: event });
    expect(encodeBusEnvelope('older-instance', event)).toBe(text);
    expect(decodeBusEnvelope(text)).toEqual({ origin: 'older-instance', event });
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
