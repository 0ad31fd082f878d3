import { Readable } from 'node:stream';
import { buffer, text } from 'node:stream/consumers';
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

/**
 * What every `BlobStore` must do, run by each adapter's own test file.
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

    it('stores bytes and streams under nested keys and reads them back', async () => {
      const blobs = await options.create();
      expect(await blobs.put('2026/11/01JDQ6R0Q7ZK4M3B8Y2V5N1C9X', Buffer.from('hello'))).toEqual({
        key: '2026/11/01JDQ6R0Q7ZK4M3B8Y2V5N1C9X',
        size: 5,
      });
      const stream = Readable.from([Buffer.from('こんにちは, '), Buffer.from('world'), new Uint8Array([33])]);
      expect(await blobs.put('a/b.txt', stream)).toEqual({ key: 'a/b.txt', size: 23 });
      expect(await text(await blobs.get('2026/11/01JDQ6R0Q7ZK4M3B8Y2V5N1C9X'))).toBe('hello');
      expect(await text(await blobs.get('a/b.txt'))).toBe('こんにちは, world!');
      expect(await blobs.stat('a/b.txt')).toEqual({ key: 'a/b.txt', size: 23 });
    });

    it('stores an empty blob', async () => {
      const blobs = await options.create();
      expect(await blobs.put('empty', new Uint8Array())).toEqual({ key: 'empty', size: 0 });
      expect((await buffer(await blobs.get('empty'))).length).toBe(0);
    });

    it('keeps every byte of a large streamed blob', async () => {
      const blobs = await options.create();
      // 12 MiB in uneven chunks: larger than one multipart part on object stores.
      const chunks: Buffer[] = [];
      for (let index = 0; index < 48; index += 1) chunks.push(Buffer.alloc(256 * 1024 + 7, index));
      const expected = Buffer.concat(chunks);
      expect(await blobs.put('big/blob.bin', Readable.from(chunks))).toEqual({
        key: 'big/blob.bin',
        size: expected.length,
      });
      const read = await buffer(await blobs.get('big/blob.bin'));
      expect(read.length).toBe(expected.length);
      expect(read.equals(expected)).toBe(true);
    });

    it('never replaces an existing key', async () => {
      const blobs = await options.create();
      await blobs.put('once', Buffer.from('first'));
      await expect(blobs.put('once', Buffer.from('second'))).rejects.toBeInstanceOf(ConflictError);
      expect(await text(await blobs.get('once'))).toBe('first');
    });

    it('leaves nothing behind when the source stream fails', async () => {
      const blobs = await options.create();
      const failing = new Readable({
        read() {
          this.push(Buffer.alloc(1024, 1));
          this.destroy(new Error('client went away'));
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
      await blobs.put('2026/11/one', Buffer.from('1'));
      await blobs.delete('2026/11/one');
      await blobs.delete('2026/11/one');
      expect(await blobs.stat('2026/11/one')).toBeUndefined();
      await expect(blobs.get('2026/11/one')).rejects.toBeInstanceOf(NotFoundError);
    });

    it.each([['../escape'], ['/etc/passwd'], ['a\\b'], ['a//b'], [''], ['x'.repeat(513)], ['a\u0000b']])(
      'refuses the unsafe key %j',
      async (key) => {
        const blobs = await options.create();
        await expect(blobs.put(key, Buffer.from('x'))).rejects.toBeInstanceOf(ValidationError);
        await expect(blobs.get(key)).rejects.toBeInstanceOf(ValidationError);
        await expect(blobs.delete(key)).rejects.toBeInstanceOf(ValidationError);
      },
    );
  });
}
