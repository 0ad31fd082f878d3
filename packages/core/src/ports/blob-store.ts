import type { Readable } from 'node:stream';

export interface BlobInfo {
  key: string;
  size: number;
}

/**
 * Where file bytes live. Keys are made by Kaiwa (never taken from a client), so implementations may map
 * them to paths or object names directly.
 *
 * @example
 * const { size } = await blobs.put('2026/11/01JD…', Readable.from(buffer));
 * const stream = await blobs.get('2026/11/01JD…');
 */
export interface BlobStore {
  /** Stores the stream under `key`, replacing nothing: an existing key is an error. */
  put(key: string, body: Readable | Uint8Array): Promise<BlobInfo>;
  /** @throws NotFoundError when there is no such blob. */
  get(key: string): Promise<Readable>;
  stat(key: string): Promise<BlobInfo | undefined>;
  /** Deleting a missing blob is a no-op. */
  delete(key: string): Promise<void>;
}
