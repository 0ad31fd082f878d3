export {
  createS3BlobStore,
  type PresignedDownload,
  type PresignedUpload,
  S3BlobStore,
  type S3BlobStoreConfig,
} from './s3-blob-store.js';
