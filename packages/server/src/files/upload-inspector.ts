import { createHash } from 'node:crypto';
import { TextDecoder } from 'node:util';

/** Bytes kept from the start of an upload for content sniffing; enough for the zip-based office formats. */
const HEAD_BYTES = 64 * 1024;

export interface UploadFacts {
  size: number;
  sha256: string;
  /** Judged from the content, never from the name or the client's word. */
  mimeType: string;
  /** The detected type's usual extension (`png`, `txt`); undefined for unknown bytes. */
  extension: string | undefined;
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
    // file-type and its tokenizers load with the first upload, not with the server.
    const { fileTypeFromBuffer } = await import('file-type');
    const detected = await fileTypeFromBuffer(Buffer.concat(this.#head));
    const facts = { size: this.#size, sha256: this.#hash.digest('hex') };
    if (detected) return { ...facts, mimeType: detected.mime, extension: detected.ext };
    if (this.#size > 0 && this.#isText()) return { ...facts, mimeType: 'text/plain', extension: 'txt' };
    return { ...facts, mimeType: 'application/octet-stream', extension: undefined };
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
/** Containers that hold either sound alone or a film: the bytes name the container, the sender the content. */
const AUDIO_OF_CONTAINER: Record<string, string> = { 'video/webm': 'audio/webm', 'video/mp4': 'audio/mp4' };

/**
 * The media type a file is stored under: the type judged from its bytes, without parameters
 * (`audio/ogg; codecs=opus` is `audio/ogg`), narrowed to audio where the bytes are a WebM or MP4 container
 * and the sender says it holds sound only (a browser's voice recording, `audio/webm`). The sender can never
 * change the container, so this decides nothing about how the file opens.
 *
 * @example refineMediaType({ mimeType: 'video/webm', … }, 'audio/webm;codecs=opus').mimeType // 'audio/webm'
 */
export function refineMediaType<T extends { mimeType: string }>(facts: T, declared: string | undefined): T {
  const essence = facts.mimeType.split(';')[0]!.trim().toLowerCase();
  const declaredEssence = (declared ?? '').split(';')[0]!.trim().toLowerCase();
  const audio = AUDIO_OF_CONTAINER[essence];
  const sound = declaredEssence.startsWith('audio/') ? audio : undefined;
  return { ...facts, mimeType: sound ?? essence };
}

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

/**
 * Extensions that agree with a type, besides the one file-type names. Text counts as plain only under the
 * names of formats no browser renders and no desktop runs on a double click: `notes.md` stays, `page.html`,
 * `image.svg` and `run.js` (Windows Script Host) do not.
 */
const EXTENSIONS_OF_TYPE: Record<string, readonly string[]> = {
  'text/plain': [
    ...['txt', 'text', 'md', 'markdown', 'rst', 'adoc', 'org', 'tex', 'log', 'csv', 'tsv', 'srt', 'vtt'],
    ...['json', 'jsonl', 'ndjson', 'yaml', 'yml', 'toml', 'ini', 'cfg', 'conf', 'env', 'properties'],
    ...['diff', 'patch', 'sql', 'graphql', 'proto', 'css', 'scss', 'less'],
    ...['py', 'rb', 'go', 'rs', 'java', 'kt', 'kts', 'scala', 'swift', 'c', 'h', 'cc', 'cpp', 'hpp', 'cs'],
    ...['ts', 'tsx', 'mts', 'cts', 'jsx', 'vue', 'svelte', 'php', 'pl', 'lua', 'r', 'dart', 'ex', 'exs'],
    ...['hs', 'ml', 'clj', 'sh', 'bash', 'zsh', 'fish', 'dockerfile', 'makefile', 'gradle', 'lock'],
  ],
  'image/jpeg': ['jpg', 'jpeg', 'jpe', 'jfif'],
  'image/tiff': ['tif', 'tiff'],
  'audio/mpeg': ['mp3', 'mpga', 'mpeg'],
  'audio/ogg': ['ogg', 'oga', 'opus'],
  'audio/wav': ['wav', 'wave'],
  'audio/webm': ['webm', 'weba'],
  'audio/mp4': ['m4a', 'mp4'],
  'audio/x-m4a': ['m4a', 'mp4'],
  'video/mp4': ['mp4', 'm4v'],
  'video/webm': ['webm'],
  'application/gzip': ['gz', 'tgz'],
  'application/x-cfb': ['doc', 'xls', 'ppt', 'msg', 'msi'],
};

/** Longest tail after the last dot that counts as an extension. */
const MAX_EXTENSION_LENGTH = 16;

/**
 * Makes a display name agree with the type judged from the bytes, so the name can never make a file open
 * as something else: a name whose extension belongs to another type gets the detected type's extension
 * appended (`poly.html` with PNG bytes becomes `poly.html.png`). Names without an extension claim nothing
 * and stay; so do names of unknown bytes (`application/octet-stream`), which always download.
 *
 * @example
 * nameMatchingType('poly.html', { mimeType: 'image/png', extension: 'png' }); // 'poly.html.png'
 * nameMatchingType('photo.JPG', { mimeType: 'image/jpeg', extension: 'jpg' }); // 'photo.JPG'
 */
export function nameMatchingType(
  name: string,
  type: { mimeType: string; extension: string | undefined },
): string {
  if (!type.extension) return name;
  // Windows drops trailing dots and spaces, so `poly.html.` opens as `poly.html`.
  const base = name.replace(/[.\s]+$/, '');
  const dot = base.lastIndexOf('.');
  if (dot <= 0 || base.length - dot - 1 > MAX_EXTENSION_LENGTH) return name;
  const agreeing = [type.extension, ...(EXTENSIONS_OF_TYPE[type.mimeType] ?? [])];
  if (agreeing.includes(base.slice(dot + 1).toLowerCase())) return name;
  const suffix = `.${type.extension}`;
  // Keep within 255 characters: shorten the old name, never the extension that decides how it opens.
  const kept = base.slice(0, 255 - suffix.length).replace(/[\ud800-\udbff]$/, '');
  return kept + suffix;
}
