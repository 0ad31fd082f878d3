import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { type ScanInput, type ScanVerdict, UploadScanError, type UploadScanner } from './upload-scanner.js';

/*
 * A clamd client speaking the INSTREAM protocol (clamd(8)): `zINSTREAM\0`, then the bytes as chunks of
 * `<u32 big-endian length><bytes>`, then a zero length; clamd answers `stream: OK\0` or
 * `stream: <signature> FOUND\0`. No library: the protocol is these few lines, and the ones on npm buffer
 * whole files or treat a closed socket as clean.
 */

/** Where clamd listens: its `LocalSocket` or its `TCPAddr`:`TCPSocket`. */
export type ClamdAddress = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

export interface ClamavScannerOptions {
  address: ClamdAddress;
  /** For one whole exchange, connecting included. */
  timeoutMs: number;
  /** Largest chunk sent at once; smaller chunks are sent as they come. */
  chunkBytes?: number;
}

const DEFAULT_CHUNK_BYTES = 64 * 1024;
const END_OF_STREAM = Buffer.alloc(4);

/** Reads `host:port`, `[v6]:port` or a socket path (`/run/clamav/clamd.ctl`); undefined when it is neither. */
export function parseClamdAddress(value: string): ClamdAddress | undefined {
  const trimmed = value.trim();
  const hostPort = /^(\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?):(\d{1,5})$/i.exec(trimmed);
  if (hostPort) {
    const port = Number(hostPort[2]);
    if (port < 1 || port > 65_535) return undefined;
    return { kind: 'tcp', host: hostPort[1]!.replace(/^\[|\]$/g, ''), port };
  }
  if (trimmed.includes('/') && !/\s/.test(trimmed)) return { kind: 'unix', path: trimmed };
  return undefined;
}

/**
 * Scans uploads with a running clamd. Each scan opens its own connection, so scans run side by side and a
 * clamd restart costs only the scans in flight. Every failure is an {@link UploadScanError}, never `clean`:
 * clamd closing the socket early (it does so past its `StreamMaxLength`, the client seeing EPIPE) is
 * `size_limit` when clamd said so and `connection_lost` otherwise.
 *
 * @example
 * const scanner = new ClamavScanner({ address: { kind: 'unix', path: '/run/clamav/clamd.ctl' }, timeoutMs: 30_000 });
 * const verdict = await scanner.scan(Buffer.from('hello'));
 * // { result: 'clean' }
 */
export class ClamavScanner implements UploadScanner {
  readonly description: string;
  readonly #address: ClamdAddress;
  readonly #timeoutMs: number;
  readonly #chunkBytes: number;

  constructor(options: ClamavScannerOptions) {
    this.#address = options.address;
    this.#timeoutMs = options.timeoutMs;
    this.#chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    this.description =
      options.address.kind === 'unix'
        ? `clamd at ${options.address.path}`
        : `clamd at ${options.address.host}:${options.address.port}`;
  }

  async scan(content: ScanInput): Promise<ScanVerdict> {
    const progress = { bodyBytes: 0 };
    let reply: string;
    try {
      reply = await this.#exchange(
        'zINSTREAM\0',
        content instanceof Uint8Array ? [content] : content,
        progress,
      );
    } catch (error) {
      if (
        !(error instanceof UploadScanError) ||
        error.reason !== 'connection_lost' ||
        progress.bodyBytes === 0
      ) {
        throw error;
      }
      // clamd's "size limit exceeded" answer can be lost to the EPIPE of the next write. A clamd that is up
      // but dropped a stream half-way did so for its StreamMaxLength: it has no other reason to.
      const alive = await this.ping().then(
        () => true,
        () => false,
      );
      if (!alive) throw error;
      throw new UploadScanError(
        'size_limit',
        `${this.description} closed the stream after ${progress.bodyBytes} bytes while up: the file is past its StreamMaxLength`,
        { cause: error },
      );
    }
    return verdictOf(reply);
  }

  /**
   * Asks clamd whether it is up (`zPING` → `PONG`).
   * @throws UploadScanError when it is not.
   */
  async ping(): Promise<void> {
    const reply = await this.#exchange('zPING\0', undefined);
    if (reply !== 'PONG')
      throw new UploadScanError('protocol', `clamd answered ${JSON.stringify(reply)} to PING`);
  }

  /** Sends one command (and a stream), resolves with clamd's answer without its NUL terminator. */
  #exchange(
    command: string,
    body: AsyncIterable<Uint8Array> | Iterable<Uint8Array> | undefined,
    progress: { bodyBytes: number } = { bodyBytes: 0 },
  ) {
    return new Promise<string>((resolve, reject) => {
      const address = this.#address;
      const socket =
        address.kind === 'unix'
          ? connect({ path: address.path })
          : connect({ host: address.host, port: address.port });
      const received: Buffer[] = [];
      let connected = false;
      let settled = false;
      /** A write that failed because clamd closed its end; the answer it sent first may still come. */
      let writeError: Error | undefined;

      const settle = (error: Error | undefined, reply?: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        if (error) reject(error);
        else resolve(reply ?? '');
      };
      const timer = setTimeout(
        () =>
          settle(
            new UploadScanError('timeout', `${this.description} did not answer within ${this.#timeoutMs} ms`),
          ),
        this.#timeoutMs,
      );
      const answerSoFar = () => {
        const text = Buffer.concat(received).toString('utf8');
        const end = text.indexOf('\0');
        return { text: (end >= 0 ? text.slice(0, end) : text).trim(), complete: end >= 0 };
      };

      socket.on('data', (chunk: Buffer) => {
        received.push(chunk);
        const answer = answerSoFar();
        if (answer.complete) settle(undefined, answer.text);
      });
      socket.on('error', (error: NodeJS.ErrnoException) => {
        if (!connected) {
          settle(
            new UploadScanError(
              'unreachable',
              `cannot reach ${this.description}: ${error.code ?? error.message}`,
              {
                cause: error,
              },
            ),
          );
          return;
        }
        // EPIPE or ECONNRESET: clamd stopped reading. Wait for 'close' to read what it said before it left.
        writeError ??= error;
      });
      socket.on('close', () => {
        const answer = answerSoFar();
        if (answer.text !== '') settle(undefined, answer.text);
        else {
          const detail = writeError
            ? ` (${(writeError as NodeJS.ErrnoException).code ?? writeError.message})`
            : '';
          settle(
            new UploadScanError(
              'connection_lost',
              `${this.description} closed the connection before answering${detail}`,
              {
                cause: writeError,
              },
            ),
          );
        }
      });
      socket.on('connect', () => {
        connected = true;
        this.#send(socket, command, body, progress, () => settled || writeError !== undefined).catch(
          (error: Error) => {
            // Our own bytes failed to come (the upload's spool file): no verdict, and not clamd's fault.
            if (error instanceof SourceError) settle(error.cause as Error);
            else writeError ??= error;
          },
        );
      });
    });
  }

  async #send(
    socket: Socket,
    command: string,
    body: AsyncIterable<Uint8Array> | Iterable<Uint8Array> | undefined,
    progress: { bodyBytes: number },
    stopped: () => boolean,
  ): Promise<void> {
    const write = async (bytes: Uint8Array) => {
      if (stopped()) throw new Error('stopped');
      // Back-pressure: a slow clamd must not make the whole file pile up in memory.
      if (!socket.write(bytes)) await once(socket, 'drain');
      // One turn of the event loop, so an answer clamd sent before closing (its size limit) is read before
      // the next write fails with EPIPE and takes the socket down with that answer unread.
      await new Promise((next) => setImmediate(next));
    };
    await write(Buffer.from(command, 'latin1'));
    if (!body) return;
    const chunks = (async function* () {
      try {
        yield* body;
      } catch (error) {
        throw new SourceError(error);
      }
    })();
    for await (const chunk of chunks) {
      for (let start = 0; start < chunk.byteLength; start += this.#chunkBytes) {
        const piece = chunk.subarray(start, start + this.#chunkBytes);
        const header = Buffer.alloc(4);
        header.writeUInt32BE(piece.byteLength);
        await write(header);
        await write(piece);
        progress.bodyBytes += piece.byteLength;
      }
    }
    await write(END_OF_STREAM);
  }
}

/** The bytes to scan could not be read. */
class SourceError extends Error {
  constructor(cause: unknown) {
    super('could not read the bytes to scan', { cause });
  }
}

/** Reads clamd's answer to INSTREAM. Anything but `OK` and `FOUND` is a failure, never clean. */
function verdictOf(reply: string): ScanVerdict {
  const answer = reply.replace(/^stream:\s*/, '');
  if (answer === 'OK') return { result: 'clean' };
  const found = /^(.+) FOUND$/.exec(answer);
  if (found) return { result: 'infected', signature: found[1]!.trim() };
  if (/size limit exceeded/i.test(reply)) {
    throw new UploadScanError('size_limit', `clamd refused the stream: ${reply} (raise its StreamMaxLength)`);
  }
  throw new UploadScanError('protocol', `clamd answered ${JSON.stringify(reply.slice(0, 200))}`);
}
