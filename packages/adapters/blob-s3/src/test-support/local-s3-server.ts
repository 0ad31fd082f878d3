import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

export interface LocalS3Server {
  endpoint: string;
  bucket: string;
  /** Client options that point the AWS SDK at this server. */
  client: {
    region: string;
    endpoint: string;
    forcePathStyle: boolean;
    credentials: { accessKeyId: string; secretAccessKey: string };
  };
  close(): Promise<void>;
}

/**
 * Starts s3rver (an S3-compatible server on the local disk) on 127.0.0.1 with one bucket. It speaks the S3
 * REST API the AWS SDK uses, including multipart uploads and pre-signed URLs, but it does not check
 * signatures or honour `If-None-Match` — those are the real service's job.
 */
export async function startLocalS3Server(bucket = 'kaiwa-test'): Promise<LocalS3Server> {
  const directory = await mkdtemp(join(tmpdir(), 'kaiwa-s3-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    bucket,
    client: {
      region: 'us-east-1',
      endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    },
    async close() {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
