import type { BlobStore } from '@kaiwa/core';
import { ValidationError } from '@kaiwa/core';

/** Reads a whole blob into memory, refusing more than `maxBytes` (the stream is cancelled, not drained). */
export async function readBlob(
  blobs: BlobStore,
  key: string,
  options: { maxBytes: number; field?: string; signal?: AbortSignal },
): Promise<Buffer> {
  const reader = (await blobs.get(key)).getReader();
  const chunks: Buffer[] = [];
  let size = 0;
  let done = false;
  try {
    for (;;) {
      const next = await reader.read();
      if (next.done) {
        done = true;
        break;
      }
      options.signal?.throwIfAborted();
      const buffer = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
      size += buffer.length;
      if (size > options.maxBytes) {
        throw ValidationError.field(
          options.field ?? 'key',
          `the file is larger than the limit of ${options.maxBytes} bytes`,
        );
      }
      chunks.push(buffer);
    }
  } finally {
    // Stopped early (too large, aborted): cancelling releases the file or connection behind the stream.
    if (!done) await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks, size);
}

const SIGNATURES: { mimeType: string; test: (head: Buffer) => boolean }[] = [
  { mimeType: 'image/png', test: (h) => h.subarray(0, 8).equals(Buffer.from('89504e470d0a1a0a', 'hex')) },
  { mimeType: 'image/jpeg', test: (h) => h[0] === 0xff && h[1] === 0xd8 && h[2] === 0xff },
  { mimeType: 'image/gif', test: (h) => h.subarray(0, 4).toString('latin1') === 'GIF8' },
  {
    mimeType: 'image/webp',
    test: (h) =>
      h.subarray(0, 4).toString('latin1') === 'RIFF' && h.subarray(8, 12).toString('latin1') === 'WEBP',
  },
  { mimeType: 'image/bmp', test: (h) => h.subarray(0, 2).toString('latin1') === 'BM' },
  {
    mimeType: 'image/tiff',
    test: (h) => ['49492a00', '4d4d002a'].includes(h.subarray(0, 4).toString('hex')),
  },
  { mimeType: 'application/pdf', test: (h) => h.subarray(0, 5).toString('latin1') === '%PDF-' },
];

/** The MIME type the first bytes show, for files whose declared type is missing or generic. */
export function sniffMimeType(head: Buffer): string | undefined {
  return SIGNATURES.find((signature) => signature.test(head))?.mimeType;
}

/** Reads just enough of a blob to sniff its type (its first chunk), then cancels the stream. */
export async function sniffBlob(blobs: BlobStore, key: string): Promise<string | undefined> {
  const reader = (await blobs.get(key)).getReader();
  try {
    const first = await reader.read();
    if (first.done) return undefined;
    return sniffMimeType(Buffer.from(first.value.buffer, first.value.byteOffset, first.value.byteLength));
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}
