import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/*
 * A deliberately minimal WebSocket client (RFC 6455) on a raw TCP socket, for the load process: no event
 * per message, no copies of the payloads, no UTF-8 decoding. It hands each server frame's payload to
 * `onFrame` as a view into the received chunk, answers pings, and sends masked text frames. That keeps the
 * client side cheap enough that one core can receive a few hundred thousand deliveries per second while
 * the server under test has the other core.
 */

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const OPCODE_CONTINUATION = 0x0;
const OPCODE_TEXT = 0x1;
const OPCODE_BINARY = 0x2;
const OPCODE_CLOSE = 0x8;
const OPCODE_PING = 0x9;
const OPCODE_PONG = 0xa;

export type FrameHandler = (payload: Buffer, receivedAt: number) => void;

export interface RawWebSocketOptions {
  host: string;
  port: number;
  path: string;
  /** Gives up on the handshake after this long. */
  timeoutMs?: number;
  /** The clock used to stamp received chunks (default `performance.now`). */
  now?: () => number;
}

export class RawWebSocket {
  readonly socket: Socket;
  #onFrame: FrameHandler | undefined;
  /** Bytes that came with the handshake answer, kept until a frame handler is set. */
  #early: Buffer | undefined;
  /** Called once when the connection ends; `code` is the server's close code, or 1006 without one. */
  onClose: (code: number) => void = () => {};
  bytesReceived = 0;
  framesReceived = 0;
  closeCode: number | undefined;
  readonly #now: () => number;
  readonly #mask = randomBytes(4);
  #leftover: Buffer | undefined;
  #fragments: Buffer[] = [];

  private constructor(socket: Socket, now: () => number) {
    this.socket = socket;
    this.#now = now;
  }

  /** Connects, performs the opening handshake and resolves once the server answered 101. */
  static open(options: RawWebSocketOptions): Promise<RawWebSocket> {
    const now = options.now ?? (() => performance.now());
    return new Promise((resolve, reject) => {
      const socket = connect({ host: options.host, port: options.port });
      const client = new RawWebSocket(socket, now);
      const key = randomBytes(16).toString('base64');
      const expectedAccept = createHash('sha1')
        .update(key + GUID)
        .digest('base64');
      let head: Buffer = Buffer.alloc(0);
      let settled = false;
      const timer = setTimeout(
        () => fail(new Error('websocket handshake timed out')),
        options.timeoutMs ?? 10_000,
      );
      const fail = (error: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        reject(error);
      };
      const onHandshakeData = (chunk: Buffer): void => {
        head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) {
          if (head.length > 16_384) fail(new Error('websocket handshake answer too large'));
          return;
        }
        const text = head.subarray(0, end).toString('latin1');
        if (!text.startsWith('HTTP/1.1 101')) {
          fail(new Error(`websocket upgrade refused: ${text.split('\r\n')[0]}`));
          return;
        }
        if (!text.toLowerCase().includes(`sec-websocket-accept: ${expectedAccept.toLowerCase()}`)) {
          fail(new Error('websocket upgrade answered with a wrong Sec-WebSocket-Accept'));
          return;
        }
        settled = true;
        clearTimeout(timer);
        socket.off('data', onHandshakeData);
        socket.on('data', (data: Buffer) => {
          if (client.#onFrame) client.#receive(data);
          else client.#early = client.#early ? Buffer.concat([client.#early, data]) : Buffer.from(data);
        });
        const rest = head.subarray(end + 4);
        // Frames may come right behind the 101 (Engine.IO's open packet does); they wait for a handler.
        if (rest.length > 0) client.#early = Buffer.from(rest);
        resolve(client);
      };
      socket.setNoDelay(true);
      socket.on('data', onHandshakeData);
      socket.on('error', (error) => fail(error));
      socket.on('close', () => {
        if (!settled) fail(new Error('connection closed during the websocket handshake'));
        client.#closed();
      });
      socket.on('connect', () => {
        socket.write(
          `GET ${options.path} HTTP/1.1\r\nHost: ${options.host}:${options.port}\r\nUpgrade: websocket\r\n` +
            `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        );
      });
    });
  }

  /** Called with each complete text or binary frame's payload and the time its last chunk arrived. */
  get onFrame(): FrameHandler {
    return this.#onFrame ?? (() => {});
  }

  set onFrame(handler: FrameHandler) {
    this.#onFrame = handler;
    const early = this.#early;
    this.#early = undefined;
    if (early) this.#receive(early);
  }

  get isOpen(): boolean {
    return this.closeCode === undefined && !this.socket.destroyed;
  }

  /** Sends one masked text frame. */
  sendText(text: string): void {
    this.#send(OPCODE_TEXT, Buffer.from(text, 'utf8'));
  }

  /** Starts the closing handshake; the socket is destroyed after `graceMs` if the server does not close. */
  close(code = 1000, graceMs = 1_000): void {
    if (this.socket.destroyed) return;
    const payload = Buffer.alloc(2);
    payload.writeUInt16BE(code, 0);
    this.#send(OPCODE_CLOSE, payload);
    this.socket.end();
    setTimeout(() => this.socket.destroy(), graceMs).unref();
  }

  #send(opcode: number, payload: Buffer): void {
    if (this.socket.destroyed) return;
    const length = payload.length;
    const headerLength = length < 126 ? 6 : length < 65_536 ? 8 : 14;
    const frame = Buffer.allocUnsafe(headerLength + length);
    frame[0] = 0x80 | opcode;
    if (length < 126) {
      frame[1] = 0x80 | length;
    } else if (length < 65_536) {
      frame[1] = 0x80 | 126;
      frame.writeUInt16BE(length, 2);
    } else {
      frame[1] = 0x80 | 127;
      frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
      frame.writeUInt32BE(length >>> 0, 6);
    }
    const mask = this.#mask;
    const maskAt = headerLength - 4;
    mask.copy(frame, maskAt);
    for (let index = 0; index < length; index += 1) {
      frame[headerLength + index] = payload[index]! ^ mask[index & 3]!;
    }
    this.socket.write(frame);
  }

  #receive(chunk: Buffer): void {
    const receivedAt = this.#now();
    this.bytesReceived += chunk.length;
    let data = chunk;
    if (this.#leftover) {
      data = Buffer.concat([this.#leftover, chunk]);
      this.#leftover = undefined;
    }
    let offset = 0;
    const total = data.length;
    while (total - offset >= 2) {
      const first = data[offset]!;
      const second = data[offset + 1]!;
      if ((second & 0x80) !== 0) {
        this.socket.destroy(new Error('the server sent a masked frame'));
        return;
      }
      let length = second & 0x7f;
      let start = offset + 2;
      if (length === 126) {
        if (total - offset < 4) break;
        length = data.readUInt16BE(offset + 2);
        start = offset + 4;
      } else if (length === 127) {
        if (total - offset < 10) break;
        length = data.readUInt32BE(offset + 2) * 2 ** 32 + data.readUInt32BE(offset + 6);
        start = offset + 10;
      }
      const end = start + length;
      if (end > total) break;
      this.#frame(first, data.subarray(start, end), receivedAt);
      offset = end;
    }
    if (offset < total) this.#leftover = Buffer.from(data.subarray(offset));
  }

  #frame(first: number, payload: Buffer, receivedAt: number): void {
    const fin = (first & 0x80) !== 0;
    const opcode = first & 0x0f;
    switch (opcode) {
      case OPCODE_TEXT:
      case OPCODE_BINARY:
      case OPCODE_CONTINUATION: {
        if (!fin) {
          this.#fragments.push(Buffer.from(payload));
          return;
        }
        let message = payload;
        if (this.#fragments.length > 0) {
          message = Buffer.concat([...this.#fragments, payload]);
          this.#fragments = [];
        }
        this.framesReceived += 1;
        this.#onFrame?.(message, receivedAt);
        return;
      }
      case OPCODE_PING:
        this.#send(OPCODE_PONG, Buffer.from(payload));
        return;
      case OPCODE_PONG:
        return;
      case OPCODE_CLOSE: {
        this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        if (!this.socket.destroyed) {
          this.#send(OPCODE_CLOSE, Buffer.from(payload.subarray(0, 2)));
          this.socket.end();
        }
        return;
      }
      default:
        this.socket.destroy(new Error(`unknown websocket opcode ${opcode}`));
    }
  }

  #closed(): void {
    this.closeCode ??= 1006;
    this.onClose(this.closeCode);
  }
}
