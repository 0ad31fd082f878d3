import { z } from 'zod';
import type { ChatEvent } from '../events.js';
import type { BusDelivery, BusTraceContext } from '../ports/bus.js';

/** `version-traceid-parentid-flags`, lower-case hex (W3C trace context, version 00 and later ones). */
const TRACEPARENT = /^[\da-f]{2}-[\da-f]{32}-[\da-f]{16}-[\da-f]{2}(-.*)?$/;

/**
 * What a networked bus puts on the wire: the instance that published it (first, so an instance skips its
 * own events — it delivered them locally at once — without parsing them), the event, when the publisher
 * sent it (`t`, epoch milliseconds of its clock) and the publisher's trace context when it had one.
 * Envelopes without `t` or `traceparent` (older instances) are read as before, and older instances ignore
 * them; a malformed publish time or trace context is dropped, never the event.
 */
const BusEnvelopeSchema = z.object({
  /** Publishing bus instance. */
  o: z.string(),
  e: z.looseObject({ type: z.string() }),
  t: z.number().int().nonnegative().optional().catch(undefined),
  traceparent: z.string().max(256).regex(TRACEPARENT).optional().catch(undefined),
  tracestate: z.string().max(512).optional().catch(undefined),
});

/**
 * The wire form of `event` published by the bus instance `origin` at `publishedAt` (epoch ms, now by
 * default).
 *
 * @example
 * redis.publish(channel, encodeBusEnvelope(instanceId, event, options?.traceContext));
 */
export function encodeBusEnvelope(
  origin: string,
  event: ChatEvent,
  traceContext?: BusTraceContext,
  publishedAt: number = Date.now(),
): string {
  if (!traceContext) return JSON.stringify({ o: origin, e: event, t: publishedAt });
  return JSON.stringify({
    o: origin,
    e: event,
    t: publishedAt,
    traceparent: traceContext.traceparent,
    ...(traceContext.tracestate ? { tracestate: traceContext.tracestate } : {}),
  });
}

/**
 * The event of an envelope, or undefined when it is not one (another program on the same channel) or
 * when it comes from `skipOrigin` — found without parsing, since an instance hears all its own events.
 * `delivery` is what the bus hands its subscribers with the event: the trace context and publish time,
 * each when the envelope has it.
 *
 * @example
 * const envelope = decodeBusEnvelope(text, instanceId);
 * if (envelope) listeners.dispatch(envelope.event, envelope.delivery);
 */
export function decodeBusEnvelope(
  text: string,
  skipOrigin?: string,
): { origin: string; event: ChatEvent; traceContext?: BusTraceContext; delivery?: BusDelivery } | undefined {
  if (skipOrigin !== undefined && text.startsWith(`{"o":${JSON.stringify(skipOrigin)},`)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const envelope = BusEnvelopeSchema.safeParse(parsed);
  if (!envelope.success) return undefined;
  const { o, e, t, traceparent, tracestate } = envelope.data;
  const event = e as unknown as ChatEvent;
  const traceContext: BusTraceContext | undefined =
    traceparent === undefined ? undefined : tracestate ? { traceparent, tracestate } : { traceparent };
  if (!traceContext && t === undefined) return { origin: o, event };
  const delivery: BusDelivery = {
    ...(traceContext ? { traceContext } : {}),
    ...(t !== undefined ? { publishedAt: t } : {}),
  };
  return { origin: o, event, ...(traceContext ? { traceContext } : {}), delivery };
}
