import { randomBytes } from 'node:crypto';
import { type FileHandle, link, mkdir, open, rename, rmdir, stat, unlink } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import {
  assertSafeBlobKey,
  type BlobBody,
  type BlobInfo,
  type BlobStore,
  ConflictError,
  NotFoundError,
  ValidationError,
} from '@kaiwa/core';

export interface FileSystemBlobStoreConfig {
  /** Root directory of the blobs; created on first write. */
  directory: string;
  /** Mode of new files; only the server process needs to read them. Default `0o600`. */
  fileMode?: number;
  /** Mode of new directories. Default `0o700`. */
  directoryMode?: number;
}

/** Longest key accepted; matches the `storageKey` limit of a file record. */
export { MAX_BLOB_KEY_LENGTH } from '@kaiwa/core';

/** Errors that mean the file system cannot make hard links; then publishing falls back to rename. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV', 'EMLINK']);

/**
 * Blobs as files under one directory: key `2026/11/01JD…` is the file `<directory>/2026/11/01JD…`.
 * Writes go to a temporary file in the target directory, are flushed to disk, and only then appear under
 * their key, so a reader never sees half a blob and a failed upload leaves nothing behind.
 *
 * @example
 * const blobs = createFileSystemBlobStore({ directory: '.data/uploads' });
 * await blobs.put('2026/11/01JDQ6R0Q7ZK4M3B8Y2V5N1C9X', new TextEncoder().encode('hello'));
 * const stream = await blobs.get('2026/11/01JDQ6R0Q7ZK4M3B8Y2V5N1C9X'); // a web ReadableStream
 * Readable.fromWeb(stream).pipe(response); // where a Node stream is wanted
 */
export class FileSystemBlobStore implements BlobStore {
  readonly directory: string;
  readonly #fileMode: number;
  readonly #directoryMode: number;

  constructor(config: FileSystemBlobStoreConfig) {
    this.directory = resolve(config.directory);
    this.#fileMode = config.fileMode ?? 0o600;
    this.#directoryMode = config.directoryMode ?? 0o700;
  }

  /**
   * Stores `body` under `key`, a chunk at a time. An existing key is never replaced.
   * @throws ValidationError for a key that is not safe; ConflictError when the key exists.
   */
  async put(key: string, body: BlobBody): Promise<BlobInfo> {
    const target = this.pathOf(key);
    const folder = dirname(target);
    await mkdir(folder, { recursive: true, mode: this.#directoryMode });
    const temporary = join(folder, `.${randomBytes(12).toString('hex')}.tmp`);
    let size = 0;
    const handle = await open(temporary, 'wx', this.#fileMode);
    try {
      try {
        if (body instanceof Uint8Array) {
          await writeAll(handle, body);
          size = body.byteLength;
        } else {
          // Leaving the loop early (a failed write) cancels the stream, which stops its source.
          for await (const chunk of body) {
            await writeAll(handle, chunk);
            size += chunk.byteLength;
          }
        }
        // Flush before the blob becomes visible: after a crash the key holds all the bytes or does not exist.
        await handle.sync();
      } finally {
        await handle.close();
      }
      await this.#publish(temporary, target, key);
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      throw error;
    }
    await syncDirectory(folder);
    return { key, size };
  }

  /**
   * The file as a web stream, read as it is consumed; cancelling it closes the file.
   * @throws NotFoundError when there is no such blob.
   */
  async get(key: string): Promise<ReadableStream<Uint8Array>> {
    const path = this.pathOf(key);
    try {
      // Opening first (not stat, then open) leaves no gap in which the file could vanish.
      const handle = await open(path, 'r');
      if (!(await handle.stat()).isFile()) {
        await handle.close();
        throw new NotFoundError('blob', key);
      }
      return Readable.toWeb(handle.createReadStream()) as ReadableStream<Uint8Array>;
    } catch (error) {
      if (isMissing(error)) throw new NotFoundError('blob', key);
      throw error;
    }
  }

  async stat(key: string): Promise<BlobInfo | undefined> {
    try {
      const info = await stat(this.pathOf(key));
      return info.isFile() ? { key, size: info.size } : undefined;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  /** Removes the blob and the folders it leaves empty; a missing blob is a no-op. */
  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    try {
      await unlink(path);
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    await this.#removeEmptyFolders(dirname(path));
  }

  /**
   * The file that holds `key`.
   * @throws ValidationError when the key is not a safe relative key.
   */
  pathOf(key: string): string {
    assertSafeKey(key);
    const path = join(this.directory, ...key.split('/'));
    // The key syntax already forbids escaping; this guards the guard.
    const inside = relative(this.directory, path);
    if (inside === '' || inside.startsWith(`..${sep}`) || inside === '..' || isAbsolute(inside)) {
      throw ValidationError.field('key', 'must stay inside the blob directory');
    }
    return path;
  }

  /** Makes the written file visible under its key without ever replacing an existing one. */
  async #publish(temporary: string, target: string, key: string): Promise<void> {
    try {
      // link() fails with EEXIST instead of overwriting, which rename() would do silently.
      await link(temporary, target);
      await unlink(temporary);
    } catch (error) {
      const code = errorCode(error);
      if (code === 'EEXIST') throw new ConflictError(`blob ${key} already exists`, 'key');
      if (!code || !NO_HARD_LINKS.has(code)) throw error;
      if (await this.stat(key)) throw new ConflictError(`blob ${key} already exists`, 'key');
      await rename(temporary, target);
    }
  }

  async #removeEmptyFolders(folder: string): Promise<void> {
    let current = folder;
    while (current !== this.directory && current.startsWith(this.directory + sep)) {
      try {
        await rmdir(current);
      } catch {
        return; // not empty (or already gone): the folders above are not empty either
      }
      current = dirname(current);
    }
  }
}

/** Creates a {@link FileSystemBlobStore}. */
export function createFileSystemBlobStore(config: FileSystemBlobStoreConfig): FileSystemBlobStore {
  return new FileSystemBlobStore(config);
}

/**
 * Throws unless `key` is a relative key of safe segments (see the class docs).
 * @throws ValidationError naming the problem.
 */
export const assertSafeKey: (key: string) => void = assertSafeBlobKey;

/** Writes every byte: a single write may write fewer than asked. */
async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.byteLength) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.byteLength - offset);
    offset += bytesWritten;
  }
}

async function syncDirectory(folder: string): Promise<void> {
  // Makes the new directory entry durable; not every platform can open a directory, which is fine.
  try {
    const handle = await open(folder, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // best effort
  }
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error
    ? String((error as { code: unknown }).code)
    : undefined;
}

function isMissing(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
}
