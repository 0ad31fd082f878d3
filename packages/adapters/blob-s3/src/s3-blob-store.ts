import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import {
  assertSafeBlobKey,
  type BlobBody,
  type BlobInfo,
  type BlobStore,
  ConflictError,
  NotFoundError,
  ValidationError,
} from '@kaiwa/core';

export interface S3BlobStoreConfig {
  bucket: string;
  /** Prepended to every key (`kaiwa/uploads/`), so one bucket can hold several deployments. */
  prefix?: string;
  /** An existing client; otherwise one is made from `client` options. */
  s3?: S3Client;
  /**
   * Options for a new client: `region`, `endpoint` (MinIO, Ceph, R2, a local test server), `credentials`,
   * `forcePathStyle`. Checksums are sent only when the operation requires them, which every
   * S3-compatible server understands.
   */
  client?: S3ClientConfig;
  /** Size of each part of a multipart upload; S3's minimum is 5 MiB. Default 8 MiB. */
  partSize?: number;
  /** Longest a pre-signed URL may live, in seconds. Default 3600. */
  maxPresignSeconds?: number;
}

export interface PresignedUpload {
  url: string;
  method: 'PUT';
  /** Headers the uploader must send exactly as given (they are part of the signature). */
  headers: Record<string, string>;
  expiresAt: string;
}

export interface PresignedDownload {
  url: string;
  expiresAt: string;
}

const MIN_PART_SIZE = 5 * 1024 * 1024;
const MAX_PARTS = 10_000;

/**
 * Blobs as objects in an S3-compatible bucket: key `2026/11/01JD…` is object `<prefix>2026/11/01JD…`.
 * Small bodies go up in one PutObject; streams larger than one part go up as a multipart upload that is
 * aborted when the source fails, so a reader never sees half a blob and nothing is left behind.
 *
 * Existing keys are never replaced: a HEAD check answers ConflictError at once, and the write itself
 * carries `If-None-Match: *` so servers with conditional writes (AWS S3, MinIO, R2) also close the race
 * between two writers of one key.
 *
 * @example
 * const blobs = createS3BlobStore({ bucket: 'kaiwa', client: { region: 'eu-central-1' } });
 * await blobs.put('2026/11/01JDQ6R0Q7ZK4M3B8Y2V5N1C9X', new TextEncoder().encode('hello'));
 * const { url } = await blobs.presignDownload('2026/11/01JDQ6R0Q7ZK4M3B8Y2V5N1C9X', { expiresInSeconds: 300 });
 */
export class S3BlobStore implements BlobStore {
  readonly bucket: string;
  readonly prefix: string;
  readonly s3: S3Client;
  readonly #partSize: number;
  readonly #maxPresignSeconds: number;
  readonly #ownsClient: boolean;

  constructor(config: S3BlobStoreConfig) {
    if (!config.bucket) throw ValidationError.field('bucket', 'must not be empty');
    this.bucket = config.bucket;
    this.prefix = config.prefix ?? '';
    if (this.prefix && !/^[A-Za-z0-9_.\-/]*\/$/.test(this.prefix)) {
      throw ValidationError.field('prefix', 'must be letters, digits, "_", "-", "." or "/" and end with "/"');
    }
    this.#partSize = config.partSize ?? 8 * 1024 * 1024;
    if (this.#partSize < MIN_PART_SIZE) {
      throw ValidationError.field('partSize', `must be at least ${MIN_PART_SIZE} bytes (S3's minimum)`);
    }
    this.#maxPresignSeconds = config.maxPresignSeconds ?? 3600;
    this.#ownsClient = !config.s3;
    this.s3 =
      config.s3 ??
      new S3Client({
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        ...config.client,
      });
  }

  /**
   * Stores `body`; a stream goes up a part at a time (one part in memory), and is cancelled when the put
   * fails or is refused.
   * @throws ValidationError for an unsafe key; ConflictError when the key exists.
   */
  async put(key: string, body: BlobBody): Promise<BlobInfo> {
    let parts: AsyncGenerator<Buffer> | undefined;
    try {
      const objectKey = this.objectKey(key);
      if (await this.stat(key)) throw new ConflictError(`blob ${key} already exists`, 'key');
      parts = chunked(body instanceof Uint8Array ? [body] : body, this.#partSize);
      const first = await parts.next();
      const firstPart = first.done ? Buffer.alloc(0) : first.value;
      const second = first.done ? { done: true as const, value: undefined } : await parts.next();
      if (second.done) {
        await this.#send(
          new PutObjectCommand({ Bucket: this.bucket, Key: objectKey, Body: firstPart, IfNoneMatch: '*' }),
          key,
        );
        return { key, size: firstPart.length };
      }
      return await this.#multipart(key, objectKey, firstPart, second.value, parts);
    } catch (error) {
      // Stop the source: a stream not read to its end is cancelled (a no-op for one that failed itself).
      if (parts) await parts.return(undefined).catch(() => undefined);
      else if (!(body instanceof Uint8Array)) await body.cancel(error).catch(() => undefined);
      throw error;
    }
  }

  /**
   * The object as a web stream, read as it is consumed; cancelling it ends the download.
   * @throws NotFoundError when there is no such blob.
   */
  async get(key: string): Promise<ReadableStream<Uint8Array>> {
    const objectKey = this.objectKey(key);
    try {
      const answer = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: objectKey }));
      const stream = answer.Body;
      if (!(stream instanceof Readable))
        throw new Error(`S3 answered GetObject ${key} without a body stream`);
      return Readable.toWeb(stream) as ReadableStream<Uint8Array>;
    } catch (error) {
      if (isMissing(error)) throw new NotFoundError('blob', key);
      throw error;
    }
  }

  async stat(key: string): Promise<BlobInfo | undefined> {
    const objectKey = this.objectKey(key);
    try {
      const head = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: objectKey }));
      return { key, size: head.ContentLength ?? 0 };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  /** Deleting a missing blob is a no-op (S3 answers 204 either way). */
  async delete(key: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
  }

  /**
   * A URL a browser can PUT the file to directly, bypassing the server. The signature covers the content
   * type (and length when given), so the uploader cannot swap them.
   */
  async presignUpload(
    key: string,
    options: { contentType: string; contentLength?: number; expiresInSeconds?: number },
  ): Promise<PresignedUpload> {
    const expiresIn = this.#expiry(options.expiresInSeconds);
    if (!/^[\w.+-]+\/[\w.+-]+$/.test(options.contentType)) {
      throw ValidationError.field('contentType', 'must be a MIME type such as image/png');
    }
    if (
      options.contentLength !== undefined &&
      !(Number.isSafeInteger(options.contentLength) && options.contentLength >= 0)
    ) {
      throw ValidationError.field('contentLength', 'must be a whole number of bytes');
    }
    const command = new PutObjectCommand({
      Bucket: this.bucket,
      Key: this.objectKey(key),
      ContentType: options.contentType,
      ContentLength: options.contentLength,
    });
    const url = await getSignedUrl(this.s3, command, {
      expiresIn,
      signableHeaders: new Set(
        options.contentLength === undefined ? ['content-type'] : ['content-type', 'content-length'],
      ),
    });
    const headers: Record<string, string> = { 'content-type': options.contentType };
    if (options.contentLength !== undefined) headers['content-length'] = String(options.contentLength);
    return { url, method: 'PUT', headers, expiresAt: new Date(Date.now() + expiresIn * 1000).toISOString() };
  }

  /**
   * A URL that downloads the blob directly; `fileName` sets the name the browser saves it under, and
   * `inline` lets the browser show it (images) instead of saving it.
   */
  async presignDownload(
    key: string,
    options: { expiresInSeconds?: number; fileName?: string; inline?: boolean; contentType?: string } = {},
  ): Promise<PresignedDownload> {
    const expiresIn = this.#expiry(options.expiresInSeconds);
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: this.objectKey(key),
      ResponseContentDisposition: options.fileName
        ? contentDisposition(options.inline ? 'inline' : 'attachment', options.fileName)
        : undefined,
      ResponseContentType: options.contentType,
    });
    const url = await getSignedUrl(this.s3, command, { expiresIn });
    return { url, expiresAt: new Date(Date.now() + expiresIn * 1000).toISOString() };
  }

  /** Closes the client when this store made it. */
  async close(): Promise<void> {
    if (this.#ownsClient) this.s3.destroy();
  }

  /** The object name for `key`. @throws ValidationError for an unsafe key. */
  objectKey(key: string): string {
    assertSafeBlobKey(key);
    return `${this.prefix}${key}`;
  }

  #expiry(seconds: number | undefined): number {
    const value = seconds ?? 900;
    if (!Number.isInteger(value) || value < 1 || value > this.#maxPresignSeconds) {
      throw ValidationError.field(
        'expiresInSeconds',
        `must be a whole number from 1 to ${this.#maxPresignSeconds}`,
      );
    }
    return value;
  }

  async #send(command: PutObjectCommand | CompleteMultipartUploadCommand, key: string): Promise<void> {
    try {
      await this.s3.send(command as PutObjectCommand);
    } catch (error) {
      if (error instanceof S3ServiceException && error.$metadata.httpStatusCode === 412) {
        throw new ConflictError(`blob ${key} already exists`, 'key', { cause: error });
      }
      throw error;
    }
  }

  async #multipart(
    key: string,
    objectKey: string,
    first: Buffer,
    second: Buffer,
    rest: AsyncGenerator<Buffer>,
  ): Promise<BlobInfo> {
    const created = await this.s3.send(
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: objectKey }),
    );
    const uploadId = created.UploadId;
    if (!uploadId) throw new Error(`S3 answered CreateMultipartUpload ${key} without an upload id`);
    const parts: CompletedPart[] = [];
    let size = 0;
    try {
      const upload = async (bytes: Buffer) => {
        const partNumber = parts.length + 1;
        if (partNumber > MAX_PARTS)
          throw ValidationError.field('body', 'is too large for a multipart upload');
        const answer = await this.s3.send(
          new UploadPartCommand({
            Bucket: this.bucket,
            Key: objectKey,
            UploadId: uploadId,
            PartNumber: partNumber,
            Body: bytes,
          }),
        );
        parts.push({ PartNumber: partNumber, ETag: answer.ETag });
        size += bytes.length;
      };
      await upload(first);
      await upload(second);
      for await (const part of rest) await upload(part);
      await this.#send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: objectKey,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
          IfNoneMatch: '*',
        }),
        key,
      );
      return { key, size };
    } catch (error) {
      await this.s3
        .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: objectKey, UploadId: uploadId }))
        .catch(() => undefined);
      throw error;
    }
  }
}

/** Creates an {@link S3BlobStore}. */
export function createS3BlobStore(config: S3BlobStoreConfig): S3BlobStore {
  return new S3BlobStore(config);
}

/**
 * Re-chunks a stream into buffers of exactly `size` bytes (the last one may be shorter). Returning early
 * (the caller stopped) cancels a web stream source.
 */
async function* chunked(
  source: AsyncIterable<Uint8Array> | Uint8Array[],
  size: number,
): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingLength = 0;
  for await (const chunk of source) {
    let bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    while (pendingLength + bytes.length >= size) {
      const take = size - pendingLength;
      pending.push(bytes.subarray(0, take));
      yield Buffer.concat(pending);
      bytes = bytes.subarray(take);
      pending = [];
      pendingLength = 0;
    }
    if (bytes.length > 0) {
      pending.push(bytes);
      pendingLength += bytes.length;
    }
  }
  if (pendingLength > 0) yield Buffer.concat(pending);
}

function isMissing(error: unknown): boolean {
  if (!(error instanceof S3ServiceException)) return false;
  return error.name === 'NoSuchKey' || error.name === 'NotFound' || error.$metadata.httpStatusCode === 404;
}

/** RFC 6266 disposition with an ASCII fallback and the UTF-8 name. */
function contentDisposition(type: 'inline' | 'attachment', fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  return `${type}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(fileName)}`;
}
