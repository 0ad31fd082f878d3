/*
 * The malware-scanner port of the upload path. The file routes ask it for a verdict before any byte reaches
 * the blob store; ClamAV's clamd (clamav-scanner.ts) is the one implementation the server ships.
 */

/** What a scanner found: nothing, or a named signature. */
export type ScanVerdict = { result: 'clean' } | { result: 'infected'; signature: string };

/** The bytes of one upload: a buffer, or a stream of chunks read once. */
export type ScanInput = Uint8Array | AsyncIterable<Uint8Array>;

/**
 * Scans one upload and says whether it is clean. It never answers `clean` for bytes it did not see whole:
 * a scanner that is down, hangs, refuses the size or answers nonsense throws an {@link UploadScanError}.
 *
 * @example
 * const verdict = await scanner.scan(createReadStream(path));
 * if (verdict.result === 'infected') refuse(verdict.signature);
 */
export interface UploadScanner {
  scan(content: ScanInput): Promise<ScanVerdict>;
  /** Where it scans, for logs (`clamd at /run/clamav/clamd.ctl`). */
  readonly description: string;
}

/**
 * Why a scan gave no verdict: `unreachable` (no connection), `timeout`, `size_limit` (the scanner refuses
 * streams this long: clamd's StreamMaxLength), `connection_lost` (closed before answering) or `protocol` (an
 * answer that is neither clean nor infected, such as a clamd `ERROR`).
 */
export type ScanFailure = 'unreachable' | 'timeout' | 'size_limit' | 'connection_lost' | 'protocol';

/** A scan that gave no verdict; the upload policy (`KAIWA_CLAMAV_ON_ERROR`) decides what happens to the file. */
export class UploadScanError extends Error {
  readonly reason: ScanFailure;

  constructor(reason: ScanFailure, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UploadScanError';
    this.reason = reason;
  }
}
