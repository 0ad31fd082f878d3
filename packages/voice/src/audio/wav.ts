import { UnsupportedAudioError } from '@kaiwa/core';
import type { MonoAudio, PcmAudio } from './audio-buffer.js';

type WavefileModule = typeof import('wavefile');

// Streamed WAV (espeak-ng --stdout, ffmpeg to a pipe) cannot know its length and writes a huge data size.
const STREAMED_SIZE = 0x7fff0000;

/** The WAV formats decoded in TypeScript; anything else (ADPCM, µ-law…) goes through ffmpeg. */
const PCM = 1;
const FLOAT = 3;
const EXTENSIBLE = 0xfffe;

/** True when the bytes start like a RIFF/WAVE file. */
export function isWav(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 12 &&
    String.fromCharCode(...bytes.subarray(0, 4)) === 'RIFF' &&
    String.fromCharCode(...bytes.subarray(8, 12)) === 'WAVE'
  );
}

/**
 * Decodes a PCM or float WAV file in TypeScript (`wavefile` reads the chunks). Returns undefined for WAV
 * encodings it does not decode (the caller hands those to ffmpeg).
 *
 * @throws UnsupportedAudioError for a truncated or malformed file.
 */
export async function decodeWav(bytes: Uint8Array): Promise<PcmAudio | undefined> {
  // wavefile ships CommonJS (main) and ESM (module): the class is a named export in one, on the default in the other.
  const loaded = (await import('wavefile')) as unknown as WavefileModule & { default?: WavefileModule };
  const WaveFile = loaded.WaveFile ?? loaded.default?.WaveFile;
  if (!WaveFile) throw new UnsupportedAudioError('the wavefile package did not load');
  let wave: InstanceType<WavefileModule['WaveFile']>;
  try {
    wave = new WaveFile(bytes);
  } catch (error) {
    throw new UnsupportedAudioError(`malformed WAV file: ${(error as Error).message}`, { cause: error });
  }
  const fmt = wave.fmt as {
    audioFormat: number;
    numChannels: number;
    sampleRate: number;
    bitsPerSample: number;
  };
  const data = wave.data as { chunkSize: number; samples: Uint8Array };
  if (fmt.audioFormat !== PCM && fmt.audioFormat !== FLOAT && fmt.audioFormat !== EXTENSIBLE)
    return undefined;
  const { numChannels: channelCount, sampleRate, bitsPerSample: bits } = fmt;
  if (channelCount < 1 || sampleRate < 1 || ![8, 16, 24, 32, 64].includes(bits)) {
    throw new UnsupportedAudioError(
      `malformed WAV header: ${channelCount} channels, ${sampleRate} Hz, ${bits} bits`,
    );
  }
  const raw = data.samples;
  if (data.chunkSize < STREAMED_SIZE && raw.length < data.chunkSize) {
    throw new UnsupportedAudioError(
      `truncated WAV file: the header announces ${data.chunkSize} bytes of audio, the file holds ${raw.length}`,
    );
  }
  const float = fmt.audioFormat === FLOAT || (fmt.audioFormat === EXTENSIBLE && bits === 64);
  const step = bits / 8;
  const frames = Math.floor(raw.length / (step * channelCount));
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const channels = Array.from({ length: channelCount }, () => new Float32Array(frames));
  for (let frame = 0; frame < frames; frame++) {
    for (let channel = 0; channel < channelCount; channel++) {
      const at = (frame * channelCount + channel) * step;
      let value: number;
      if (bits === 16) value = view.getInt16(at, true) / 32768;
      else if (bits === 8) value = (view.getUint8(at) - 128) / 128;
      else if (bits === 24)
        value = (((view.getUint8(at + 2) << 24) | (view.getUint16(at, true) << 8)) >> 8) / 8388608;
      else if (bits === 32) value = float ? view.getFloat32(at, true) : view.getInt32(at, true) / 2147483648;
      else value = view.getFloat64(at, true);
      (channels[channel] as Float32Array)[frame] = value;
    }
  }
  return { sampleRate, channels };
}

/**
 * Encodes mono audio as a 16-bit PCM WAV file.
 *
 * @example
 * await writeFile('speech.wav', encodeWav({ sampleRate: 16000, samples }));
 */
export function encodeWav(audio: MonoAudio): Uint8Array {
  const { samples, sampleRate } = audio;
  const bytes = new Uint8Array(44 + samples.length * 2);
  const view = new DataView(bytes.buffer);
  const text = (offset: number, value: string) => {
    for (let index = 0; index < value.length; index++) view.setUint8(offset + index, value.charCodeAt(index));
  };
  text(0, 'RIFF');
  view.setUint32(4, 36 + samples.length * 2, true);
  text(8, 'WAVE');
  text(12, 'fmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, PCM, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  text(36, 'data');
  view.setUint32(40, samples.length * 2, true);
  for (let index = 0; index < samples.length; index++) {
    const value = Math.max(-1, Math.min(1, samples[index] ?? 0));
    view.setInt16(44 + index * 2, Math.round(value < 0 ? value * 32768 : value * 32767), true);
  }
  return bytes;
}
