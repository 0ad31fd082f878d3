import { ValidationError } from '@kaiwa/core';
import { blobStoreContract } from '@kaiwa/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3BlobStore, type S3BlobStore } from './s3-blob-store.js';
import { type LocalS3Server, startLocalS3Server } from './test-support/local-s3-server.js';

let server: LocalS3Server;
let counter = 0;
const stores: S3BlobStore[] = [];

/** A store on its own prefix of the shared local bucket, so every test starts empty. */
function freshStore(): S3BlobStore {
  counter += 1;
  const store = createS3BlobStore({
    bucket: server.bucket,
    prefix: `test-${counter}/`,
    client: server.client,
    partSize: 5 * 1024 * 1024,
  });
  stores.push(store);
  return store;
}

blobStoreContract({
  name: 's3 (s3rver on 127.0.0.1)',
  setup: async () => {
    server = await startLocalS3Server();
    return async () => {
      for (const store of stores) await store.close();
      await server.close();
    };
  },
  create: freshStore,
});

describe('S3BlobStore pre-signed URLs', () => {
  let local: LocalS3Server;
  let blobs: S3BlobStore;
  beforeAll(async () => {
    local = await startLocalS3Server('presign');
    blobs = createS3BlobStore({ bucket: local.bucket, prefix: 'uploads/', client: local.client });
  });
  afterAll(async () => {
    await blobs.close();
    await local.close();
  });

  it('lets a client upload straight to the bucket with the signed headers', async () => {
    const upload = await blobs.presignUpload('2026/11/direct.png', {
      contentType: 'image/png',
      contentLength: 4,
    });
    expect(upload.method).toBe('PUT');
    expect(upload.url).toContain('X-Amz-Signature=');
    expect(upload.url).toContain('X-Amz-Expires=900');
    expect(new URL(upload.url).pathname).toBe('/presign/uploads/2026/11/direct.png');
    const answer = await fetch(upload.url, {
      method: 'PUT',
      headers: upload.headers,
      body: new Uint8Array([1, 2, 3, 4]),
    });
    expect(answer.status).toBe(200);
    expect(await blobs.stat('2026/11/direct.png')).toEqual({ key: '2026/11/direct.png', size: 4 });
  });

  it('hands out download URLs that name the file, Japanese names included', async () => {
    await blobs.put('2026/11/report', Buffer.from('年次報告'));
    const download = await blobs.presignDownload('2026/11/report', {
      fileName: '報告 2026.txt',
      expiresInSeconds: 60,
    });
    const answer = await fetch(download.url);
    expect(answer.status).toBe(200);
    expect(await answer.text()).toBe('年次報告');
    expect(answer.headers.get('content-disposition')).toBe(
      `attachment; filename="__ 2026.txt"; filename*=UTF-8''${encodeURIComponent('報告 2026.txt')}`,
    );
    expect(Date.parse(download.expiresAt) - Date.now()).toBeLessThanOrEqual(60_000);
  });

  it('refuses bad expiry, content type and keys with errors naming the field', async () => {
    await expect(blobs.presignDownload('a', { expiresInSeconds: 0 })).rejects.toMatchObject({
      issues: [{ path: ['expiresInSeconds'] }],
    });
    await expect(blobs.presignDownload('a', { expiresInSeconds: 86_400 })).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(blobs.presignUpload('a', { contentType: 'not a type' })).rejects.toMatchObject({
      issues: [{ path: ['contentType'] }],
    });
    await expect(blobs.presignUpload('../a', { contentType: 'image/png' })).rejects.toMatchObject({
      issues: [{ path: ['key'] }],
    });
    expect(() => createS3BlobStore({ bucket: 'b', prefix: 'no-slash' })).toThrow(ValidationError);
    expect(() => createS3BlobStore({ bucket: 'b', partSize: 1024 })).toThrow(ValidationError);
  });
});
