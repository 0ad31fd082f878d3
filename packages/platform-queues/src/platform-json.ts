import type { JsonValue } from '@kaiwa/core';

/*
 * Inbound events and outbound operations are stored as JSON, but attachments may carry bytes. Bytes are
 * kept as `{ "$bytes": "<base64>" }` and come back as Uint8Array, so nothing is lost on the way through.
 */

/** A value as JSON the store can keep: Uint8Array becomes `{ $bytes }`, undefined members are left out. */
export function toPlatformJson(value: unknown): JsonValue {
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value).toString('base64') };
  if (Array.isArray(value)) return value.map((entry) => toPlatformJson(entry ?? null));
  if (value !== null && typeof value === 'object') {
    const result: Record<string, JsonValue> = {};
    for (const [key, entry] of Object.entries(value)) {
      if (entry !== undefined) result[key] = toPlatformJson(entry);
    }
    return result;
  }
  return (value ?? null) as JsonValue;
}

/** The inverse of {@link toPlatformJson}. */
export function fromPlatformJson<T>(value: JsonValue): T {
  return revive(value) as T;
}

function revive(value: JsonValue): unknown {
  if (Array.isArray(value)) return value.map(revive);
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === '$bytes' && typeof value.$bytes === 'string') {
      return new Uint8Array(Buffer.from(value.$bytes, 'base64'));
    }
    const result: Record<string, unknown> = {};
    for (const [key, entry] of Object.entries(value)) result[key] = revive(entry as JsonValue);
    return result;
  }
  return value;
}
