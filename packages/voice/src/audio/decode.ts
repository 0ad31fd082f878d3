import { AudioTooLongError, UnsupportedAudioError, VoiceError } from '@kaiwa/core';
import { runProgram } from '../process/run-program.js';
import { durationOf, type PcmAudio } from './audio-buffer.js';
import { decodeWav, isWav } from './wav.js';

/**
 * Options of {@link decodeAudio}.
 *
 * @example
 * await decodeAudio(bytes, { maxDurationSeconds: 600, sampleRate: 16000 });
 */
export interface DecodeAudioOptions {
  /** Longer audio is an `AudioTooLongError`; ffmpeg stops reading just past the limit. Default 3600 (one hour). */
  maxDurationSeconds?: number;
  /** The ffmpeg program. Default `ffmpeg` from PATH. */
  ffmpegPath?: string;
  /** Asks ffmpeg to resample and mix to mono while decoding (faster than doing it after). */
  sampleRate?: number;
  /** Mix to one channel while decoding (ffmpeg only; WAV is mixed by `toMono`). */
  mono?: boolean;
  abortSignal?: AbortSignal | undefined;
  timeoutMs?: number;
}

/** What the first bytes say the file is; `undefined` when nothing known matches. */
export function sniffContainer(bytes: Uint8Array): string | undefined {
  const ascii = (start: number, end: number) => String.fromCharCode(...bytes.subarray(start, end));
  if (isWav(bytes)) return 'wav';
  if (ascii(0, 4) === 'OggS') return 'ogg';
  if (bytes[0] === 0x1a && bytes[1] === 0x45 && bytes[2] === 0xdf && bytes[3] === 0xa3) return 'webm';
  if (ascii(4, 8) === 'ftyp') return 'mp4';
  if (ascii(0, 4) === 'fLaC') return 'flac';
  if (ascii(0, 3) === 'ID3' || (bytes[0] === 0xff && ((bytes[1] ?? 0) & 0xe0) === 0xe0)) return 'mp3';
  if (ascii(0, 4) === 'FORM' && ['AIFF', 'AIFC'].includes(ascii(8, 12))) return 'aiff';
  if (ascii(0, 4) === 'caff') return 'caf';
  if (ascii(0, 5) === '#!AMR') return 'amr';
  if (bytes[0] === 0x30 && bytes[1] === 0x26 && bytes[2] === 0xb2 && bytes[3] === 0x75) return 'asf';
  return undefined;
}

/** Formats that are certainly not audio, named in the error. */
function notAudio(bytes: Uint8Array): string | undefined {
  const ascii = String.fromCharCode(...bytes.subarray(0, 8));
  if (ascii.startsWith('PK\u0003\u0004') || ascii.startsWith('PK\u0005\u0006')) return 'a zip archive';
  if (ascii.startsWith('%PDF')) return 'a PDF document';
  if (bytes[0] === 0x89 && ascii.slice(1, 4) === 'PNG') return 'a PNG image';
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'a JPEG image';
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) return 'a gzip archive';
  if (ascii.startsWith('\u007fELF')) return 'a program';
  return undefined;
}

/**
 * Checks, without decoding, that the bytes can be audio: not empty, not a known non-audio format, a container
 * Kaiwa knows. Returns the container's name.
 *
 * @throws UnsupportedAudioError naming what the bytes are instead.
 * @example
 * const container = checkAudio(bytes); // 'webm'
 */
export function checkAudio(bytes: Uint8Array): string {
  if (!(bytes instanceof Uint8Array)) throw new VoiceError('invalid_input', 'audio must be a Uint8Array');
  if (bytes.length === 0) throw new UnsupportedAudioError('the audio file is empty (zero bytes)');
  const other = notAudio(bytes);
  if (other) throw new UnsupportedAudioError(`the file is ${other}, not audio`);
  const container = sniffContainer(bytes);
  if (!container) throw new UnsupportedAudioError('the file is not in any audio container Kaiwa knows');
  if (container === 'wav' && bytes.length <= 44) throw new UnsupportedAudioError('truncated WAV file');
  return container;
}

/**
 * Decodes an audio file: WAV (PCM or float) in TypeScript, everything else (Ogg/Opus, WebM, MP4/AAC, MP3,
 * FLAC, other WAV encodings) through ffmpeg. Checks before decoding what it can (empty, a zip renamed `.ogg`,
 * a truncated WAV) and the length after.
 *
 * @throws UnsupportedAudioError (not audio, truncated, unknown container), AudioTooLongError,
 * EngineMissingError naming `ffmpeg` when a non-WAV file meets a machine without it.
 * @example
 * const audio = await decodeAudio(await readFile('note.webm'), { maxDurationSeconds: 600 });
 */
export async function decodeAudio(bytes: Uint8Array, options: DecodeAudioOptions = {}): Promise<PcmAudio> {
  const maxSeconds = options.maxDurationSeconds ?? 3600;
  const container = checkAudio(bytes);
  let audio: PcmAudio | undefined;
  if (container === 'wav') audio = await decodeWav(bytes);
  if (!audio) audio = await decodeWithFfmpeg(bytes, container, maxSeconds, options);
  if ((audio.channels[0]?.length ?? 0) === 0)
    throw new UnsupportedAudioError('the audio file holds no samples');
  if (durationOf(audio) > maxSeconds) throw new AudioTooLongError(maxSeconds);
  return audio;
}

async function decodeWithFfmpeg(
  bytes: Uint8Array,
  container: string,
  maxSeconds: number,
  options: DecodeAudioOptions,
): Promise<PcmAudio> {
  const sampleRate = options.sampleRate ?? 16_000;
  const channelCount = options.mono === false ? 2 : 1;
  const args = ['-hide_banner', '-loglevel', 'error', '-nostdin', '-i', 'pipe:0', '-vn'];
  // Read just past the limit: a three-hour file costs a second of decoding, not three hours.
  args.push('-t', String(maxSeconds + 1), '-ac', String(channelCount), '-ar', String(sampleRate));
  args.push('-f', 'f32le', '-acodec', 'pcm_f32le', 'pipe:1');
  let output: Buffer;
  try {
    output = await runProgram(options.ffmpegPath ?? 'ffmpeg', args, {
      input: bytes,
      abortSignal: options.abortSignal,
      timeoutMs: options.timeoutMs ?? 120_000,
    });
  } catch (error) {
    if (VoiceError.isInstance(error) && error.code === 'engine_failed') {
      throw new UnsupportedAudioError(`ffmpeg could not decode this ${container} file: ${error.message}`, {
        cause: error,
      });
    }
    throw error;
  }
  const frames = Math.floor(output.length / 4 / channelCount);
  if (frames === 0) throw new UnsupportedAudioError(`ffmpeg found no audio in this ${container} file`);
  const floats = new Float32Array(
    output.buffer.slice(output.byteOffset, output.byteOffset + frames * channelCount * 4),
  );
  const channels = Array.from({ length: channelCount }, () => new Float32Array(frames));
  for (let frame = 0; frame < frames; frame++) {
    for (let channel = 0; channel < channelCount; channel++) {
      (channels[channel] as Float32Array)[frame] = floats[frame * channelCount + channel] ?? 0;
    }
  }
  return { sampleRate, channels };
}
