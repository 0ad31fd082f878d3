import type { BlobStore } from '@kaiwa/core';
import { ValidationError } from '@kaiwa/core';

/** Reads a whole blob into memory, refusing more than `maxBytes` (the stream is stopped, not drained). */
export async function readBlob(
  blobs: BlobStore,
  key: string,
  options: { maxBytes: number; field?: string; signal?: AbortSignal },
): Promise<Buffer> {
  const stream = await blobs.get(key);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      options.signal?.throwIfAborted();
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
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
    stream.destroy();
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

/** Reads just enough of a blob to sniff its type. */
export async function sniffBlob(blobs: BlobStore, key: string): Promise<string | undefined> {
  const stream = await blobs.get(key);
  try {
    for await (const chunk of stream) {
      return sniffMimeType(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
    }
    return undefined;
  } finally {
    stream.destroy();
  }
}
