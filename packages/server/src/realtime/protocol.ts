import type { FieldIssue, RoomEvent } from '@kaiwa/core';
import {
  type ClientFrame,
  ClientFrameSchemas,
  type ClientFrames,
  type ClientFrameType,
  type ErrorCode,
  type FrameId,
  FrameIdSchema,
  type ServerFrame,
} from '@kaiwa/protocol';

/*
 * The server's side of the wire protocol. The frames themselves (schemas, types, close and error codes,
 * the protocol version) live in @kaiwa/protocol, shared with every client; docs/protocol.md describes them.
 * Here: parsing a client's text frame into a typed frame or a ProtocolError, and encoding frames.
 */

export {
  type AdvertisedLimits,
  CLOSE_CODES,
  type ErrorCode,
  type FrameId,
  FrameIdSchema,
  PROTOCOL_VERSION,
} from '@kaiwa/protocol';

/** The frames a client sends, by type (@kaiwa/protocol's `ClientFrameSchemas`). */
export const InboundFrameSchemas = ClientFrameSchemas;
export type InboundFrameType = ClientFrameType;
export type InboundFrames = ClientFrames;
export type InboundFrame = ClientFrame;
/** Frames the server sends (@kaiwa/protocol's `ServerFrame`); room events are sent as the stored {@link RoomEvent}. */
export type OutboundFrame = ServerFrame;

const INBOUND_TYPES = new Set<string>(Object.keys(InboundFrameSchemas));

/** Why a frame was refused before it reached the engine. */
export class ProtocolError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'ProtocolError';
    this.code = code;
    this.details = details;
  }

  static invalid(issues: FieldIssue[]): ProtocolError {
    const first = issues[0];
    const where = first && first.path.length > 0 ? `${first.path.join('.')}: ` : '';
    return new ProtocolError('validation_failed', `${where}${first?.message ?? 'invalid frame'}`, { issues });
  }
}

export type ParsedFrame =
  | { ok: true; frame: InboundFrame }
  | { ok: false; id: FrameId | undefined; error: ProtocolError };

/** Parses one text frame: JSON, a known `type`, then that type's fields. */
export function parseFrame(text: string): ParsedFrame {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, id: undefined, error: new ProtocolError('bad_json', 'the frame is not valid JSON') };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return {
      ok: false,
      id: undefined,
      error: ProtocolError.invalid([{ path: [], message: 'a frame must be a JSON object' }]),
    };
  }
  const record = raw as Record<string, unknown>;
  const idResult = FrameIdSchema.safeParse(record.id);
  const id = idResult.success ? idResult.data : undefined;
  const type = record.type;
  if (typeof type !== 'string') {
    return { ok: false, id, error: ProtocolError.invalid([{ path: ['type'], message: 'must be a string' }]) };
  }
  if (!INBOUND_TYPES.has(type)) {
    return {
      ok: false,
      id,
      error: new ProtocolError('unknown_type', `type: unknown frame type "${type.slice(0, 64)}"`, {
        issues: [{ path: ['type'], message: 'unknown frame type' }],
      }),
    };
  }
  const result = InboundFrameSchemas[type as InboundFrameType].safeParse(raw);
  if (!result.success) {
    return {
      ok: false,
      id,
      error: ProtocolError.invalid(
        result.error.issues.map((issue) => ({
          path: issue.path.map((segment) => (typeof segment === 'symbol' ? String(segment) : segment)),
          message: issue.message,
        })),
      ),
    };
  }
  return { ok: true, frame: result.data as InboundFrame };
}

/** Serialises a frame once; the same bytes go to every recipient. */
export function encodeFrame(frame: OutboundFrame): Buffer {
  return Buffer.from(JSON.stringify(frame), 'utf8');
}

/** A room event as a frame, with the keys in a fixed order. */
export function encodeRoomEvent(event: RoomEvent): Buffer {
  return Buffer.from(
    JSON.stringify({
      type: event.type,
      roomId: event.roomId,
      seq: event.seq,
      createdAt: event.createdAt,
      payload: event.payload,
    }),
    'utf8',
  );
}
