export {
  assertSafeKey,
  createFileSystemBlobStore,
  FileSystemBlobStore,
  type FileSystemBlobStoreConfig,
  MAX_BLOB_KEY_LENGTH,
} from './file-system-blob-store.js';
