import { z } from 'zod';
import type { ChatEvent } from '../events.js';
import type { BusTraceContext } from '../ports/bus.js';

/** `version-traceid-parentid-flags`, lower-case hex (W3C trace context, version 00 and later ones). */
const TRACEPARENT = /^[\da-f]{2}-[\da-f]{32}-[\da-f]{16}-[\da-f]{2}(-.*)?$/;

/**
 * What a networked bus puts on the wire: the instance that published it (first, so an instance skips its
 * own events — it delivered them locally at once — without parsing them), the event, and the publisher's
 * trace context when it had one. Envelopes without `traceparent` (older instances) are read as before;
 * a malformed trace context is dropped, never the event.
 */
const BusEnvelopeSchema = z.object({
  /** Publishing bus instance. */
  o: z.string(),
  e: z.looseObject({ type: z.string() }),
  traceparent: z.string().max(256).regex(TRACEPARENT).optional().catch(undefined),
  tracestate: z.string().max(512).optional().catch(undefined),
});

export function encodeBusEnvelope(origin: string, event: ChatEvent, traceContext?: BusTraceContext): string {
  if (!traceContext) return JSON.stringify({ o: origin, e: event });
  return JSON.stringify({
    o: origin,
    e: event,
    traceparent: traceContext.traceparent,
    ...(traceContext.tracestate ? { tracestate: traceContext.tracestate } : {}),
  });
}

/**
 * The event of an envelope, or undefined when it is not one (another program on the same channel) or
 * when it comes from `skipOrigin` — found without parsing, since an instance hears all its own events.
 */
export function decodeBusEnvelope(
  text: string,
  skipOrigin?: string,
): { origin: string; event: ChatEvent; traceContext?: BusTraceContext } | undefined {
  if (skipOrigin !== undefined && text.startsWith(`{"o":${JSON.stringify(skipOrigin)},`)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const envelope = BusEnvelopeSchema.safeParse(parsed);
  if (!envelope.success) return undefined;
  const { o, e, traceparent, tracestate } = envelope.data;
  const event = e as unknown as ChatEvent;
  if (traceparent === undefined) return { origin: o, event };
  return {
    origin: o,
    event,
    traceContext: tracestate ? { traceparent, tracestate } : { traceparent },
  };
}
