import { createHash } from 'node:crypto';
import { type LocalS3Server, startLocalS3Server } from '@kaiwa/blob-s3/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { multipartBody, startTestServer, type TestServer } from '../test-support.js';

/** A real 1×1 PNG. */
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360f8cf' +
    'c00000000301010018dd8db40000000049454e44ae426082',
  'hex',
);

// The credentials s3Settings puts in the environment go when this file ends: a worker that runs more than one
// file (vitest's isolate: false) would otherwise hand them to the next.
const credentialsBefore = {
  AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID,
  AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY,
};
afterAll(() => {
  for (const [name, value] of Object.entries(credentialsBefore)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

/** The server's S3 settings for a local bucket, read the way an operator would set them. */
function s3Settings(s3: LocalS3Server, presignedDownloads: boolean) {
  process.env.AWS_ACCESS_KEY_ID = s3.client.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = s3.client.credentials.secretAccessKey;
  return loadConfig({
    env: {
      KAIWA_BLOB_STORE: 's3',
      KAIWA_S3_BUCKET: s3.bucket,
      KAIWA_S3_ENDPOINT: s3.endpoint,
      KAIWA_S3_PREFIX: 'uploads/',
      KAIWA_S3_PRESIGNED_DOWNLOADS: String(presignedDownloads),
    },
  }).blobStore;
}

describe.each([false, true])('uploads on S3 (s3rver), pre-signed downloads %s', (presigned) => {
  let s3: LocalS3Server;
  let test: TestServer;
  let token: string;
  let roomId: string;

  beforeAll(async () => {
    s3 = await startLocalS3Server();
    test = await startTestServer({ blobStore: s3Settings(s3, presigned) });
    token = (await test.signedIn('member')).token;
    roomId = (
      await test.call('POST', '/api/v1/rooms', { token, body: { kind: 'channel', name: 'bucket' } })
    ).json().id;
  });
  afterAll(async () => {
    await test?.close();
    await s3?.close();
  });

  it('stores the upload in the bucket and serves it back', async () => {
    const { payload, headers } = multipartBody(
      { roomId },
      { name: '画像.png', content: PNG, type: 'image/png' },
    );
    const uploaded = await test.server.app.inject({
      method: 'POST',
      url: '/api/v1/files',
      headers: { ...headers, authorization: `Bearer ${token}` },
      payload,
    });
    expect(uploaded.statusCode).toBe(201);
    const file = uploaded.json();
    expect(file.sha256).toBe(createHash('sha256').update(PNG).digest('hex'));
    // The object really is in the bucket, under the configured prefix.
    const direct = await fetch(`${s3.endpoint}/${s3.bucket}/uploads/${file.storageKey}`);
    expect(Buffer.from(await direct.arrayBuffer()).equals(PNG)).toBe(true);

    const content = await test.call('GET', `/api/v1/files/${file.id}/content`, { token });
    if (presigned) {
      expect(content.statusCode).toBe(302);
      const location = String(content.headers.location);
      expect(location.startsWith(`${s3.endpoint}/${s3.bucket}/uploads/${file.storageKey}?`)).toBe(true);
      expect(location).toContain('X-Amz-Signature=');
      const followed = await fetch(location);
      expect(followed.status).toBe(200);
      expect(Buffer.from(await followed.arrayBuffer()).equals(PNG)).toBe(true);
      expect(followed.headers.get('content-disposition')).toContain('inline;');
      // The page may show the image from the bucket's origin.
      const page = await test.call('GET', '/');
      expect(page.headers['content-security-policy']).toContain(`img-src 'self' data: blob: ${s3.endpoint}`);
    } else {
      expect(content.statusCode).toBe(200);
      expect(content.rawPayload.equals(PNG)).toBe(true);
    }

    const removed = await test.call('DELETE', `/api/v1/files/${file.id}`, { token });
    expect(removed.statusCode).toBe(204);
    expect((await fetch(`${s3.endpoint}/${s3.bucket}/uploads/${file.storageKey}`)).status).toBe(404);
  });
});

describe('S3 settings', () => {
  it('names the missing bucket', () => {
    expect(() => loadConfig({ env: { KAIWA_BLOB_STORE: 's3' } })).toThrow(/KAIWA_S3_BUCKET: must be set/);
  });
});
