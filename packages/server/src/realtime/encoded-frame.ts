import { Socket } from 'node:net';
import type { RoomEvent } from '@kaiwa/core';
import type { WebSocket } from 'ws';
import { encodeFrame, encodeRoomEvent, type OutboundFrame } from './protocol.js';

/**
 * A server frame serialised once for all of its recipients. Its WebSocket framing (RFC 6455 header plus
 * payload in one buffer) is also built at most once, the first time it is written on its own.
 */
export class EncodedFrame {
  readonly payload: Buffer;
  #wire: Buffer | undefined;

  constructor(payload: Buffer) {
    this.payload = payload;
  }

  static of(frame: OutboundFrame): EncodedFrame {
    return new EncodedFrame(encodeFrame(frame));
  }

  static ofRoomEvent(event: RoomEvent): EncodedFrame {
    return new EncodedFrame(encodeRoomEvent(event));
  }

  /** The complete WebSocket text frame, ready for the socket. */
  get wire(): Buffer {
    this.#wire ??= frameText([this.payload], this.payload.length);
    return this.#wire;
  }
}

const OPEN_BRACKET = 0x5b;
const COMMA = 0x2c;
const CLOSE_BRACKET = 0x5d;

/** Payload bytes of `payloads` joined as a JSON array: brackets and commas included. */
export function batchLength(payloads: readonly Buffer[]): number {
  let length = payloads.length + 1;
  for (const payload of payloads) length += payload.length;
  return length;
}

/** The payloads joined as one JSON array, without framing (for `WebSocket.send`). */
export function joinBatch(payloads: readonly Buffer[]): Buffer {
  const target = Buffer.allocUnsafe(batchLength(payloads));
  writeBatch(target, 0, payloads);
  return target;
}

/**
 * One unmasked, final WebSocket text frame (server to client, RFC 6455 section 5.2). With one payload it
 * carries that payload; with several, the payloads joined as a JSON array.
 */
export function frameText(payloads: readonly Buffer[], payloadLength: number): Buffer {
  const headerLength = payloadLength < 126 ? 2 : payloadLength < 65_536 ? 4 : 10;
  const target = Buffer.allocUnsafe(headerLength + payloadLength);
  target[0] = 0x81; // FIN + opcode 1 (text)
  if (headerLength === 2) {
    target[1] = payloadLength;
  } else if (headerLength === 4) {
    target[1] = 126;
    target.writeUInt16BE(payloadLength, 2);
  } else {
    target[1] = 127;
    target.writeUInt32BE(Math.floor(payloadLength / 2 ** 32), 2);
    target.writeUInt32BE(payloadLength >>> 0, 6);
  }
  if (payloads.length === 1) payloads[0]!.copy(target, headerLength);
  else writeBatch(target, headerLength, payloads);
  return target;
}

function writeBatch(target: Buffer, start: number, payloads: readonly Buffer[]): void {
  let offset = start;
  target[offset++] = OPEN_BRACKET;
  payloads.forEach((payload, index) => {
    if (index > 0) target[offset++] = COMMA;
    offset += payload.copy(target, offset);
  });
  target[offset] = CLOSE_BRACKET;
}

/**
 * The TCP socket under `webSocket`, when writing to it directly is what ws itself would do: ws writes each
 * frame straight to the socket unless it is compressing or reading a Blob (it does neither here:
 * compression is off and only buffers are sent). Writing frames built once for all recipients saves a
 * header, an options object and a corked two-part write per recipient. Anything unexpected: undefined,
 * and the caller goes through `WebSocket.send`.
 */
export function writableSocketOf(webSocket: WebSocket): Socket | undefined {
  const internals = webSocket as unknown as {
    _socket?: unknown;
    _sender?: { _queue?: unknown; _state?: unknown };
  };
  const sender = internals._sender;
  if (!(internals._socket instanceof Socket) || sender === undefined) return undefined;
  if (sender._state !== 0 || !Array.isArray(sender._queue) || sender._queue.length > 0) return undefined;
  return internals._socket;
}
