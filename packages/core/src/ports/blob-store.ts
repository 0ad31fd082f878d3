export interface BlobInfo {
  key: string;
  size: number;
}

/**
 * What a blob is written from: the bytes, or a web `ReadableStream` of them (read to its end, never held
 * whole in memory by the store). A Node `Readable` converts with `Readable.toWeb(readable)`.
 */
export type BlobBody = ReadableStream<Uint8Array> | Uint8Array;

/**
 * Where file bytes live. Keys are made by Kaiwa (never taken from a client), so implementations may map
 * them to paths or object names directly. Bodies are web streams (`ReadableStream<Uint8Array>`) so the port
 * means the same in Node, Deno, Bun and edge runtimes; an adapter converts at its own edge.
 *
 * @example
 * const { size } = await blobs.put('2026/11/01JD…', new TextEncoder().encode('hello'));
 * await blobs.put('2026/11/01JE…', request.body); // a fetch Request's stream, as it arrives
 * const stream = await blobs.get('2026/11/01JD…'); // ReadableStream<Uint8Array>
 * const text = await new Response(stream).text();
 */
export interface BlobStore {
  /**
   * Stores the bytes or the stream under `key`, replacing nothing: an existing key is an error. A stream
   * that errors fails the put and leaves no blob; the store cancels a stream it stops reading.
   */
  put(key: string, body: BlobBody): Promise<BlobInfo>;
  /**
   * The blob's bytes as a web stream, read lazily; cancel it to stop early (that releases the file or
   * connection behind it).
   * @throws NotFoundError when there is no such blob.
   */
  get(key: string): Promise<ReadableStream<Uint8Array>>;
  stat(key: string): Promise<BlobInfo | undefined>;
  /** Deleting a missing blob is a no-op. */
  delete(key: string): Promise<void>;
}
