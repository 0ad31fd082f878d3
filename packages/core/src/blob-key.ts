import { ValidationError } from './errors.js';

/** Longest blob key accepted; matches the `storageKey` limit of a file record. */
export const MAX_BLOB_KEY_LENGTH = 512;

/*
 * A key is one or more `/`-separated segments of letters, digits, `_`, `-` and `.`, each starting with a letter
 * or digit. That rules out `..`, hidden files (our temporary files start with a dot), absolute paths,
 * backslashes, drive letters and empty segments, so every key maps to exactly one file under the root.
 */
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const MAX_SEGMENTS = 16;

/**
 * Throws unless `key` is a relative key of safe segments, so every key maps to one file or object name.
 * @throws ValidationError naming the problem.
 */
export function assertSafeBlobKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw ValidationError.field('key', 'must not be empty');
  if (key.length > MAX_BLOB_KEY_LENGTH) {
    throw ValidationError.field('key', `must be at most ${MAX_BLOB_KEY_LENGTH} characters`);
  }
  if (key.startsWith('/') || key.includes('\\') || /^[A-Za-z]:/.test(key)) {
    throw ValidationError.field('key', 'must be a relative key without backslashes or drive letters');
  }
  const segments = key.split('/');
  if (segments.length > MAX_SEGMENTS) {
    throw ValidationError.field('key', `must have at most ${MAX_SEGMENTS} segments`);
  }
  for (const segment of segments) {
    if (!SEGMENT.test(segment)) {
      throw ValidationError.field(
        'key',
        'each segment must be letters, digits, "_", "-" or ".", starting with a letter or digit (no "..")',
      );
    }
  }
}
