import { RpcErrorCode } from './protocol.js';

/** An error answer from the other side, or one a handler throws to answer with a chosen code. */
export class JsonRpcError extends Error {
  readonly code: number;
  readonly data: unknown;

  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.name = 'JsonRpcError';
    this.code = code;
    this.data = data;
  }
}

/** The other side did not answer within the call's deadline. */
export class JsonRpcTimeoutError extends Error {
  readonly method: string;
  readonly timeoutMs: number;

  constructor(method: string, timeoutMs: number) {
    super(`"${method}" got no answer within ${timeoutMs} ms`);
    this.name = 'JsonRpcTimeoutError';
    this.method = method;
    this.timeoutMs = timeoutMs;
  }
}

/** The connection closed before the call was answered. */
export class JsonRpcClosedError extends Error {
  constructor(reason: string) {
    super(`connection closed: ${reason}`);
    this.name = 'JsonRpcClosedError';
  }
}

/** Why the peer stopped trusting the other side's bytes. */
export type JsonRpcViolation =
  | { reason: 'message_too_large'; bytes: number }
  | { reason: 'invalid_json'; detail: string }
  | { reason: 'invalid_message'; detail: string }
  | { reason: 'unexpected_response'; id: unknown };

export interface JsonRpcPeerOptions {
  /** Writes one serialised message; the peer adds the newline. */
  send(line: string): void;
  /** Answers a request or takes a notification (`id` undefined). Throw a {@link JsonRpcError} to pick the code. */
  handle(method: string, params: unknown, id: string | number | undefined): Promise<unknown> | unknown;
  /** Longest line taken from the other side, newline excluded. Default 1 MiB. */
  maxMessageBytes?: number;
  /** Deadline of a call that names none. Default 10 s. */
  defaultTimeoutMs?: number;
  /** A line the peer could not take. A message over the size limit also stops reading: call `close`. */
  onViolation?(violation: JsonRpcViolation): void;
}

type Pending = {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
};

const NEWLINE = 0x0a;

/**
 * One end of a JSON-RPC 2.0 connection over newline-delimited JSON. Every call has a deadline and rejects with
 * {@link JsonRpcTimeoutError} when it passes; a line longer than `maxMessageBytes` is never buffered beyond that
 * size: the peer reports it and reads no more. Transport-agnostic: feed bytes with `receive`.
 *
 * @example
 * const peer = new JsonRpcPeer({ send: (line) => socket.write(`${line}\n`), handle });
 * socket.on('data', (chunk) => peer.receive(chunk));
 * const result = await peer.request('ping', {}, { timeoutMs: 1_000 });
 */
export class JsonRpcPeer {
  readonly #options: JsonRpcPeerOptions;
  readonly #maxMessageBytes: number;
  readonly #pending = new Map<number, Pending>();
  #chunks: Buffer[] = [];
  #buffered = 0;
  #nextId = 1;
  #closed: string | undefined;

  constructor(options: JsonRpcPeerOptions) {
    this.#options = options;
    this.#maxMessageBytes = options.maxMessageBytes ?? 1024 * 1024;
  }

  /** Calls `method` and waits for its answer, at most `timeoutMs`. */
  request(method: string, params: unknown, options: { timeoutMs?: number } = {}): Promise<unknown> {
    if (this.#closed !== undefined) return Promise.reject(new JsonRpcClosedError(this.#closed));
    const id = this.#nextId++;
    const timeoutMs = options.timeoutMs ?? this.#options.defaultTimeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new JsonRpcTimeoutError(method, timeoutMs));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      this.#write({ jsonrpc: '2.0', id, method, params });
    });
  }

  /** Sends a notification: no answer, no deadline. */
  notify(method: string, params: unknown): void {
    if (this.#closed === undefined) this.#write({ jsonrpc: '2.0', method, params });
  }

  /** Takes bytes from the other side; complete lines are handled at once. */
  receive(chunk: Buffer | string): void {
    if (this.#closed !== undefined) return;
    let data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let newline = data.indexOf(NEWLINE);
    while (newline !== -1) {
      const tail = data.subarray(0, newline);
      if (this.#buffered + tail.length > this.#maxMessageBytes) {
        this.#tooLarge(this.#buffered + tail.length);
        return;
      }
      const line = this.#chunks.length === 0 ? tail : Buffer.concat([...this.#chunks, tail]);
      this.#chunks = [];
      this.#buffered = 0;
      this.#line(line.toString('utf8'));
      if (this.#closed !== undefined) return;
      data = data.subarray(newline + 1);
      newline = data.indexOf(NEWLINE);
    }
    if (data.length === 0) return;
    if (this.#buffered + data.length > this.#maxMessageBytes) {
      this.#tooLarge(this.#buffered + data.length);
      return;
    }
    this.#chunks.push(data);
    this.#buffered += data.length;
  }

  /** Rejects every pending call with {@link JsonRpcClosedError}; later calls reject at once. */
  close(reason: string): void {
    if (this.#closed !== undefined) return;
    this.#closed = reason;
    this.#chunks = [];
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      this.#pending.delete(id);
      pending.reject(new JsonRpcClosedError(reason));
    }
  }

  get closed(): boolean {
    return this.#closed !== undefined;
  }

  #tooLarge(bytes: number): void {
    this.#chunks = [];
    this.#buffered = 0;
    this.#options.onViolation?.({ reason: 'message_too_large', bytes });
    this.close(`a message over ${this.#maxMessageBytes} bytes`);
  }

  #write(message: object): void {
    this.#options.send(JSON.stringify(message));
  }

  #line(line: string): void {
    if (line.trim() === '') return;
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch (error) {
      this.#options.onViolation?.({ reason: 'invalid_json', detail: (error as Error).message });
      this.#write({
        jsonrpc: '2.0',
        id: null,
        error: { code: RpcErrorCode.parseError, message: 'parse error' },
      });
      return;
    }
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      this.#invalid('not a JSON-RPC object (batches are not supported)');
      return;
    }
    const { id, method, params, result, error } = message as Record<string, unknown>;
    if (typeof method === 'string') {
      if (id !== undefined && typeof id !== 'string' && typeof id !== 'number') {
        this.#invalid('id must be a string or a number');
        return;
      }
      void this.#dispatch(method, params, id);
      return;
    }
    if (result === undefined && error === undefined) {
      this.#invalid('neither a request nor a response');
      return;
    }
    // Never answer an answer (two peers could echo errors forever): report it and go on.
    const pending = typeof id === 'number' ? this.#pending.get(id) : undefined;
    if (!pending) {
      this.#options.onViolation?.({ reason: 'unexpected_response', id });
      return;
    }
    this.#pending.delete(id as number);
    clearTimeout(pending.timer);
    if (error !== undefined) {
      const { code, message: text, data } = (error ?? {}) as Record<string, unknown>;
      pending.reject(
        new JsonRpcError(
          typeof code === 'number' ? code : RpcErrorCode.internalError,
          typeof text === 'string' ? text : 'error',
          data,
        ),
      );
    } else pending.resolve(result);
  }

  #invalid(detail: string): void {
    this.#options.onViolation?.({ reason: 'invalid_message', detail });
    this.#write({ jsonrpc: '2.0', id: null, error: { code: RpcErrorCode.invalidRequest, message: detail } });
  }

  async #dispatch(method: string, params: unknown, id: string | number | undefined): Promise<void> {
    try {
      const result = await this.#options.handle(method, params, id);
      if (id !== undefined && this.#closed === undefined)
        this.#write({ jsonrpc: '2.0', id, result: result ?? {} });
    } catch (error) {
      if (id === undefined || this.#closed !== undefined) return;
      const rpc =
        error instanceof JsonRpcError
          ? error
          : new JsonRpcError(
              RpcErrorCode.handlerFailed,
              error instanceof Error ? error.message : String(error),
            );
      const body: Record<string, unknown> = { code: rpc.code, message: rpc.message };
      if (rpc.data !== undefined) body.data = rpc.data;
      this.#write({ jsonrpc: '2.0', id, error: body });
    }
  }
}
