import { createReadStream, createWriteStream, type ReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * An upload held in a private temporary file (a 0700 folder of its own under the system's temporary
 * directory, the file 0600) while the server decides about it: its type, the uploader's right to post, the
 * malware scan. Only an accepted upload is copied into the blob store, so a refused one never reaches it;
 * the file is removed by {@link discard} whatever happened. Memory use stays at one chunk whatever the size.
 *
 * @example
 * const spooled = await SpooledUpload.write(part.file, (chunk) => inspector.update(chunk));
 * try {
 *   await blobs.put(key, spooled.stream());
 * } finally {
 *   await spooled.discard();
 * }
 */
export class SpooledUpload {
  readonly path: string;
  readonly #folder: string;

  private constructor(folder: string) {
    this.#folder = folder;
    this.path = join(folder, 'upload');
  }

  /**
   * Writes `source` to a new temporary file, handing every chunk to `onChunk` on its way.
   * @throws whatever reading `source` or writing the file threw; nothing is left behind then.
   */
  static async write(
    source: AsyncIterable<Uint8Array>,
    onChunk: (chunk: Uint8Array) => void,
  ): Promise<SpooledUpload> {
    const spooled = new SpooledUpload(await mkdtemp(join(tmpdir(), 'kaiwa-upload-')));
    try {
      await pipeline(
        Readable.from(
          (async function* () {
            for await (const chunk of source) {
              onChunk(chunk);
              yield chunk;
            }
          })(),
        ),
        createWriteStream(spooled.path, { flags: 'wx', mode: 0o600 }),
      );
      return spooled;
    } catch (error) {
      await spooled.discard();
      throw error;
    }
  }

  /** The bytes, from the start; open it as often as needed. */
  open(): ReadStream {
    return createReadStream(this.path);
  }

  /** The bytes, from the start, as the web stream a `BlobStore` takes (read as it is consumed). */
  stream(): ReadableStream<Uint8Array> {
    return Readable.toWeb(this.open()) as ReadableStream<Uint8Array>;
  }

  /** Removes the file and its folder; safe to call twice. */
  async discard(): Promise<void> {
    await rm(this.#folder, { recursive: true, force: true });
  }
}
