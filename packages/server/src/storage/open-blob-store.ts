import type { BlobStore } from '@kaiwa/core';
import type { ServerConfig } from '../config.js';

/** A blob store that can hand out pre-signed download URLs (S3). */
export interface PresigningBlobStore extends BlobStore {
  presignDownload(
    key: string,
    options: { expiresInSeconds?: number; fileName?: string; inline?: boolean; contentType?: string },
  ): Promise<{ url: string; expiresAt: string }>;
}

export interface OpenedBlobStore {
  blobs: BlobStore;
  /** Set when downloads should redirect to pre-signed URLs. */
  presigner: PresigningBlobStore | undefined;
  close(): Promise<void>;
}

/**
 * Opens the blob store the configuration names. The S3 adapter (and the AWS SDK under it) is loaded only
 * when it is configured, so a server on local files never loads it.
 */
export async function openBlobStore(config: ServerConfig): Promise<OpenedBlobStore> {
  const settings = config.blobStore;
  if (settings.kind === 's3') {
    const { createS3BlobStore } = await import('@kaiwa/blob-s3');
    const store = createS3BlobStore({
      bucket: settings.bucket,
      prefix: settings.prefix,
      client: {
        region: settings.region,
        forcePathStyle: settings.forcePathStyle,
        ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
      },
    });
    return {
      blobs: store,
      presigner: settings.presignedDownloads ? store : undefined,
      close: () => store.close(),
    };
  }
  const { createFileSystemBlobStore } = await import('@kaiwa/blob-fs');
  return {
    blobs: createFileSystemBlobStore({ directory: config.uploadDirectory }),
    presigner: undefined,
    close: async () => {},
  };
}
