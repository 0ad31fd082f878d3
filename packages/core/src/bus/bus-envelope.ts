import type { ChatEvent } from '../events.js';

/**
 * What a networked bus puts on the wire: the event and the instance that published it, so an instance
 * skips its own events (it delivered them locally at once) without a second subscription.
 */
interface BusEnvelope {
  /** Publishing bus instance. */
  o: string;
  e: ChatEvent;
}

export function encodeBusEnvelope(origin: string, event: ChatEvent): string {
  return JSON.stringify({ o: origin, e: event } satisfies BusEnvelope);
}

/**
 * The event of an envelope, or undefined when it is not one (another program on the same channel) or
 * when it comes from `skipOrigin` — found without parsing, since an instance hears all its own events.
 */
export function decodeBusEnvelope(
  text: string,
  skipOrigin?: string,
): { origin: string; event: ChatEvent } | undefined {
  if (skipOrigin !== undefined && text.startsWith(`{"o":${JSON.stringify(skipOrigin)},`)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { o, e } = parsed as Partial<BusEnvelope>;
  if (typeof o !== 'string' || typeof e !== 'object' || e === null || typeof e.type !== 'string') {
    return undefined;
  }
  return { origin: o, event: e };
}
