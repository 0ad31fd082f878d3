import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { ConflictError, NotFoundError, ValidationError } from '@kaiwa/core';
import { blobStoreContract } from '@kaiwa/core/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { assertSafeKey, createFileSystemBlobStore } from './file-system-blob-store.js';

const root = mkdtempSync(join(tmpdir(), 'kaiwa-blob-fs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let counter = 0;
function freshStore() {
  counter += 1;
  const directory = join(root, `store-${counter}`);
  return { directory, blobs: createFileSystemBlobStore({ directory }) };
}

/** Every file under `directory`, relative, temporary files included. */
function filesUnder(directory: string): string[] {
  try {
    return readdirSync(directory, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name).slice(directory.length + 1));
  } catch {
    return [];
  }
}

blobStoreContract({ name: 'fs', create: () => freshStore().blobs });

describe('FileSystemBlobStore', () => {
  it('stores bytes and streams under nested keys and reads them back', async () => {
    const { blobs, directory } = freshStore();
    expect(await blobs.put('2026/11/01JDQ6R0Q7ZK4M3B8Y2V5N1C9X', Buffer.from('hello'))).toEqual({
      key: '2026/11/01JDQ6R0Q7ZK4M3B8Y2V5N1C9X',
      size: 5,
    });
    const stream = ReadableStream.from([
      Buffer.from('こんにちは, '),
      Buffer.from('world'),
      new Uint8Array([33]),
    ]);
    expect(await blobs.put('a/b.txt', stream)).toEqual({ key: 'a/b.txt', size: 17 + 5 + 1 });

    expect(await text(await blobs.get('2026/11/01JDQ6R0Q7ZK4M3B8Y2V5N1C9X'))).toBe('hello');
    expect(await text(await blobs.get('a/b.txt'))).toBe('こんにちは, world!');
    expect(await blobs.stat('a/b.txt')).toEqual({ key: 'a/b.txt', size: 23 });
    expect(filesUnder(directory).sort()).toEqual(['2026/11/01JDQ6R0Q7ZK4M3B8Y2V5N1C9X', 'a/b.txt']);
  });

  it('writes files only the server can read', async () => {
    const { blobs } = freshStore();
    await blobs.put('private', Buffer.from('secret'));
    expect(statSync(blobs.pathOf('private')).mode & 0o777).toBe(0o600);
  });

  it('never replaces an existing key', async () => {
    const { blobs, directory } = freshStore();
    await blobs.put('once', Buffer.from('first'));
    await expect(blobs.put('once', Buffer.from('second'))).rejects.toBeInstanceOf(ConflictError);
    expect(await text(await blobs.get('once'))).toBe('first');
    expect(filesUnder(directory)).toEqual(['once']);
  });

  it('leaves nothing behind when the source stream fails', async () => {
    const { blobs, directory } = freshStore();
    let sent = false;
    const failing = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent) return controller.error(new Error('client went away'));
        sent = true;
        controller.enqueue(Buffer.alloc(1024, 1));
      },
    });
    await expect(blobs.put('2026/broken', failing)).rejects.toThrow('client went away');
    expect(filesUnder(directory)).toEqual([]);
    expect(await blobs.stat('2026/broken')).toBeUndefined();
  });

  it('answers NotFoundError for a missing blob and undefined from stat', async () => {
    const { blobs } = freshStore();
    await expect(blobs.get('missing/key')).rejects.toBeInstanceOf(NotFoundError);
    expect(await blobs.stat('missing/key')).toBeUndefined();
    await blobs.put('folder/file', Buffer.from('x'));
    // A key that names a folder is not a blob.
    await expect(blobs.get('folder')).rejects.toBeInstanceOf(NotFoundError);
    expect(await blobs.stat('folder')).toBeUndefined();
  });

  it('deletes blobs and the folders they leave empty; deleting twice is a no-op', async () => {
    const { blobs, directory } = freshStore();
    await blobs.put('2026/11/one', Buffer.from('1'));
    await blobs.put('2026/12/two', Buffer.from('2'));
    await blobs.delete('2026/11/one');
    await blobs.delete('2026/11/one');
    expect(await blobs.stat('2026/11/one')).toBeUndefined();
    expect(readdirSync(join(directory, '2026'))).toEqual(['12']);
    await blobs.delete('2026/12/two');
    expect(readdirSync(directory)).toEqual([]);
  });

  it.each([
    ['../escape'],
    ['a/../../escape'],
    ['..'],
    ['.'],
    ['/etc/passwd'],
    ['C:/windows'],
    ['a\\b'],
    ['a//b'],
    ['a/'],
    ['.hidden'],
    ['a/.tmp'],
    [''],
    ['x'.repeat(513)],
    ['a/b c'],
    ['a\u0000b'],
  ])('refuses the unsafe key %j and writes nothing', async (key) => {
    const { blobs, directory } = freshStore();
    await expect(blobs.put(key, Buffer.from('x'))).rejects.toBeInstanceOf(ValidationError);
    await expect(blobs.get(key)).rejects.toBeInstanceOf(ValidationError);
    await expect(blobs.delete(key)).rejects.toBeInstanceOf(ValidationError);
    expect(filesUnder(directory)).toEqual([]);
    expect(filesUnder(root).some((path) => path.endsWith('escape'))).toBe(false);
  });

  it('does not follow a key outside the root even when a file with that name exists there', async () => {
    const { blobs } = freshStore();
    writeFileSync(join(root, 'outside.txt'), 'do not touch');
    expect(() => assertSafeKey('../outside.txt')).toThrow(ValidationError);
    await expect(blobs.get('../outside.txt')).rejects.toBeInstanceOf(ValidationError);
    await expect(blobs.delete('../outside.txt')).rejects.toBeInstanceOf(ValidationError);
    expect(readFileSync(join(root, 'outside.txt'), 'utf8')).toBe('do not touch');
  });

  it('accepts the keys the server makes', () => {
    expect(() => assertSafeKey('2026/11/01JDQ6R0Q7ZK4M3B8Y2V5N1C9X')).not.toThrow();
    expect(() => assertSafeKey('uploads/file_1.part-2.bin')).not.toThrow();
  });
});
