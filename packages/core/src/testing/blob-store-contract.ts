import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import type { BlobStore } from '../ports/blob-store.js';

export interface BlobStoreContractOptions {
  /** Shown in the test names: `fs`, `s3`. */
  name: string;
  /** A fresh, empty store; called once per test. */
  create: () => Promise<BlobStore> | BlobStore;
  /** Runs once before the suite (start a server); return a teardown. */
  setup?: () => Promise<(() => Promise<void>) | undefined>;
  /** Why the suite is skipped (for example, a missing env var); undefined runs it. */
  skip?: string;
}

const encoder = new TextEncoder();

/** A web stream of `chunks`, one per pull; `state` counts the chunks pulled and records a cancel. */
function streamOf(chunks: Uint8Array[]) {
  let index = 0;
  const state = { cancelled: false, pulled: 0 };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[index++];
      if (chunk === undefined) {
        controller.close();
        return;
      }
      state.pulled += 1;
      controller.enqueue(chunk);
    },
    cancel() {
      state.cancelled = true;
    },
  });
  return { stream, state };
}

/** Every byte of a blob stream, checking each chunk is a Uint8Array. */
async function bytesOf(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  expect(typeof stream.getReader).toBe('function');
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    expect(value).toBeInstanceOf(Uint8Array);
    chunks.push(value);
    size += value.byteLength;
  }
  const all = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return all;
}

async function textOf(stream: ReadableStream<Uint8Array>): Promise<string> {
  return new TextDecoder().decode(await bytesOf(stream));
}

function equalBytes(left: Uint8Array, right: Uint8Array): boolean {
  if (left.byteLength !== right.byteLength) return false;
  for (let index = 0; index < left.byteLength; index += 1) if (left[index] !== right[index]) return false;
  return true;
}

/**
 * What every `BlobStore` must do, run by each adapter's own test file. Bodies go in as `Uint8Array`s and
 * web `ReadableStream`s and come back as web streams of `Uint8Array` chunks.
 *
 * @example
 * blobStoreContract({ name: 'fs', create: () => createFileSystemBlobStore({ directory: freshDir() }) });
 */
export function blobStoreContract(options: BlobStoreContractOptions): void {
  const suite = options.skip ? describe.skip : describe;
  suite(`BlobStore contract: ${options.name}${options.skip ? ` (skipped: ${options.skip})` : ''}`, () => {
    let teardown: (() => Promise<void>) | undefined;
    beforeAll(async () => {
      teardown = (await options.setup?.()) ?? undefined;
    });
    afterAll(async () => {
      await teardown?.();
    });

    it('stores bytes and web streams under nested keys and reads them back as web streams', async () => {
      const blobs = await options.create();
      expect(await blobs.put('2026/11/01JDQ6R0Q7ZK4M3B8Y2V5N1C9X', encoder.encode('hello'))).toEqual({
        key: '2026/11/01JDQ6R0Q7ZK4M3B8Y2V5N1C9X',
        size: 5,
      });
      const { stream } = streamOf([
        encoder.encode('こんにちは, '),
        encoder.encode('world'),
        new Uint8Array([33]),
      ]);
      expect(await blobs.put('a/b.txt', stream)).toEqual({ key: 'a/b.txt', size: 23 });
      const read = await blobs.get('2026/11/01JDQ6R0Q7ZK4M3B8Y2V5N1C9X');
      expect(read).toBeInstanceOf(ReadableStream);
      expect(await textOf(read)).toBe('hello');
      expect(await textOf(await blobs.get('a/b.txt'))).toBe('こんにちは, world!');
      expect(await blobs.stat('a/b.txt')).toEqual({ key: 'a/b.txt', size: 23 });
    });

    it('stores an empty blob, from bytes and from an empty stream', async () => {
      const blobs = await options.create();
      expect(await blobs.put('empty', new Uint8Array())).toEqual({ key: 'empty', size: 0 });
      expect((await bytesOf(await blobs.get('empty'))).byteLength).toBe(0);
      expect(await blobs.put('empty-stream', streamOf([]).stream)).toEqual({ key: 'empty-stream', size: 0 });
      expect((await bytesOf(await blobs.get('empty-stream'))).byteLength).toBe(0);
    });

    it('keeps every byte of a large streamed blob', async () => {
      const blobs = await options.create();
      // 12 MiB in uneven chunks: larger than one multipart part on object stores.
      const chunks: Uint8Array[] = [];
      for (let index = 0; index < 48; index += 1) chunks.push(new Uint8Array(256 * 1024 + 7).fill(index));
      const size = chunks.reduce((total, chunk) => total + chunk.byteLength, 0);
      const source = streamOf(chunks);
      expect(await blobs.put('big/blob.bin', source.stream)).toEqual({ key: 'big/blob.bin', size });
      expect(source.state.pulled).toBe(chunks.length);
      const read = await bytesOf(await blobs.get('big/blob.bin'));
      expect(read.byteLength).toBe(size);
      const expected = new Uint8Array(size);
      let offset = 0;
      for (const chunk of chunks) {
        expected.set(chunk, offset);
        offset += chunk.byteLength;
      }
      expect(equalBytes(read, expected)).toBe(true);
    });

    it('lets a reader stop part-way by cancelling the stream', async () => {
      const blobs = await options.create();
      await blobs.put('2026/partial', new Uint8Array(3 * 1024 * 1024).fill(7));
      const reader = (await blobs.get('2026/partial')).getReader();
      const first = await reader.read();
      expect(first.done).toBe(false);
      expect(first.value?.[0]).toBe(7);
      await reader.cancel();
      await blobs.delete('2026/partial');
      expect(await blobs.stat('2026/partial')).toBeUndefined();
    });

    it('never replaces an existing key, and lets go of the refused stream', async () => {
      const blobs = await options.create();
      await blobs.put('once', encoder.encode('first'));
      await expect(blobs.put('once', encoder.encode('second'))).rejects.toBeInstanceOf(ConflictError);
      const refused = streamOf([encoder.encode('third')]);
      await expect(blobs.put('once', refused.stream)).rejects.toBeInstanceOf(ConflictError);
      // Read to its end or cancelled: either way not left half-read with its source open.
      expect(refused.state.cancelled || refused.state.pulled === 1).toBe(true);
      expect(await textOf(await blobs.get('once'))).toBe('first');
    });

    it('leaves nothing behind when the source stream fails', async () => {
      const blobs = await options.create();
      let sent = false;
      const failing = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (!sent) {
            sent = true;
            controller.enqueue(new Uint8Array(1024).fill(1));
            return;
          }
          controller.error(new Error('client went away'));
        },
      });
      await expect(blobs.put('2026/broken', failing)).rejects.toThrow('client went away');
      expect(await blobs.stat('2026/broken')).toBeUndefined();
    });

    it('answers NotFoundError for a missing blob and undefined from stat', async () => {
      const blobs = await options.create();
      await expect(blobs.get('missing/key')).rejects.toBeInstanceOf(NotFoundError);
      expect(await blobs.stat('missing/key')).toBeUndefined();
    });

    it('deletes blobs; deleting twice is a no-op', async () => {
      const blobs = await options.create();
      await blobs.put('2026/11/one', encoder.encode('1'));
      await blobs.delete('2026/11/one');
      await blobs.delete('2026/11/one');
      expect(await blobs.stat('2026/11/one')).toBeUndefined();
      await expect(blobs.get('2026/11/one')).rejects.toBeInstanceOf(NotFoundError);
    });

    it.each([['../escape'], ['/etc/passwd'], ['a\\b'], ['a//b'], [''], ['x'.repeat(513)], ['a\u0000b']])(
      'refuses the unsafe key %j',
      async (key) => {
        const blobs = await options.create();
        await expect(blobs.put(key, encoder.encode('x'))).rejects.toBeInstanceOf(ValidationError);
        await expect(blobs.get(key)).rejects.toBeInstanceOf(ValidationError);
        await expect(blobs.delete(key)).rejects.toBeInstanceOf(ValidationError);
      },
    );
  });
}
