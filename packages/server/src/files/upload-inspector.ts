import { createHash } from 'node:crypto';
import { TextDecoder } from 'node:util';
import { fileTypeFromBuffer } from 'file-type';

/** Bytes kept from the start of an upload for content sniffing; enough for the zip-based office formats. */
const HEAD_BYTES = 64 * 1024;

export interface UploadFacts {
  size: number;
  sha256: string;
  /** Judged from the content, never from the name or the client's word. */
  mimeType: string;
}

/**
 * Watches an upload stream go by: counts and hashes it, keeps its first bytes for magic-byte detection and
 * checks whether it is UTF-8 text without NULs, all without holding the whole file in memory.
 *
 * @example
 * const inspector = new UploadInspector();
 * for await (const chunk of stream) inspector.update(chunk);
 * const { mimeType, sha256 } = await inspector.finish();
 */
export class UploadInspector {
  readonly #hash = createHash('sha256');
  readonly #head: Buffer[] = [];
  #headLength = 0;
  #size = 0;
  #decoder: TextDecoder | undefined = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

  update(chunk: Uint8Array): void {
    this.#hash.update(chunk);
    this.#size += chunk.byteLength;
    if (this.#headLength < HEAD_BYTES) {
      const part = chunk.subarray(0, HEAD_BYTES - this.#headLength);
      this.#head.push(Buffer.from(part));
      this.#headLength += part.byteLength;
    }
    if (this.#decoder) {
      try {
        if (chunk.includes(0)) this.#decoder = undefined;
        else this.#decoder.decode(chunk, { stream: true });
      } catch {
        this.#decoder = undefined;
      }
    }
  }

  async finish(): Promise<UploadFacts> {
    const detected = await fileTypeFromBuffer(Buffer.concat(this.#head));
    let mimeType = detected?.mime;
    if (!mimeType) mimeType = this.#size > 0 && this.#isText() ? 'text/plain' : 'application/octet-stream';
    return { size: this.#size, sha256: this.#hash.digest('hex'), mimeType };
  }

  #isText(): boolean {
    if (!this.#decoder) return false;
    try {
      // A multi-byte character cut off at the end is not valid text.
      this.#decoder.decode();
      return true;
    } catch {
      return false;
    }
  }
}

/** Whether `mimeType` matches one of `patterns` (`image/png`, `image/*`, `*\/*`). */
export function isTypeAllowed(mimeType: string, patterns: readonly string[]): boolean {
  const [type] = mimeType.split('/');
  return patterns.some((pattern) => pattern === mimeType || pattern === '*/*' || pattern === `${type}/*`);
}

/** Raster images are shown in the page; everything else downloads. SVG never counts (it is detected as text). */
export function isInlineImage(mimeType: string): boolean {
  return /^image\/(png|jpeg|gif|webp|avif|bmp)$/.test(mimeType);
}

/**
 * A display name from whatever the client sent: the last path segment, without control characters or
 * direction overrides (which make `cod.exe` look like `exe.doc`), trimmed to 255 characters keeping the
 * extension. It is only ever shown; storage keys are made by the server.
 */
export function safeFileName(raw: string | undefined): string {
  let name = (raw ?? '').split(/[/\\]/).pop() ?? '';
  name = name.replace(/[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu, '').trim();
  if (name === '' || name === '.' || name === '..') return 'file';
  if (name.length > 255) {
    const dot = name.lastIndexOf('.');
    const extension = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : '';
    // Never cut a surrogate pair in half.
    name = name.slice(0, 255 - extension.length).replace(/[\ud800-\udbff]$/, '') + extension;
  }
  return name;
}
