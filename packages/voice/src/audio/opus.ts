import { runProgram } from '../process/run-program.js';
import type { MonoAudio } from './audio-buffer.js';
import { encodeWav } from './wav.js';

/**
 * Options of {@link encodeOpus}.
 *
 * @example
 * await encodeOpus(speech, { bitrateKbps: 32, container: 'webm' });
 */
export interface EncodeOpusOptions {
  /** Default 24 kb/s: clear speech, about 3 KB per second. */
  bitrateKbps?: number;
  /** Default `ogg` (`audio/ogg`); `webm` plays in every browser's `<audio>` too. */
  container?: 'ogg' | 'webm';
  ffmpegPath?: string;
  abortSignal?: AbortSignal;
}

/**
 * Encodes audio as Opus through ffmpeg, for storing voice messages small. Takes decoded audio or an audio
 * file's bytes.
 *
 * @throws EngineMissingError naming `ffmpeg` when it is not installed.
 * @example
 * const { bytes, mediaType } = await encodeOpus(speech);
 */
export async function encodeOpus(
  input: MonoAudio | Uint8Array,
  options: EncodeOpusOptions = {},
): Promise<{ bytes: Uint8Array; mediaType: string }> {
  const container = options.container ?? 'ogg';
  const bytes = input instanceof Uint8Array ? input : encodeWav(input);
  const args = ['-hide_banner', '-loglevel', 'error', '-nostdin', '-i', 'pipe:0', '-vn', '-c:a', 'libopus'];
  args.push('-b:a', `${options.bitrateKbps ?? 24}k`, '-application', 'voip', '-f', container, 'pipe:1');
  const output = await runProgram(options.ffmpegPath ?? 'ffmpeg', args, {
    input: bytes,
    abortSignal: options.abortSignal,
  });
  return { bytes: new Uint8Array(output), mediaType: container === 'ogg' ? 'audio/ogg' : 'audio/webm' };
}
