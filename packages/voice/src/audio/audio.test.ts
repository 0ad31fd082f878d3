import { AudioTooLongError, EngineMissingError, VoiceError } from '@kaiwa/core';
import { describe, expect, it } from 'vitest';
import { skipWithout } from '../test-support/voice-engines.js';
import { durationOf, type MonoAudio } from './audio-buffer.js';
import { checkAudio, decodeAudio, sniffContainer } from './decode.js';
import { encodeOpus } from './opus.js';
import {
  normalizeLoudness,
  normalizePeak,
  peakOf,
  resample,
  rmsOf,
  toMono,
  trimSilence,
} from './processing.js';
import { decodeWav, encodeWav } from './wav.js';

const tone = (frequency: number, seconds: number, sampleRate: number, amplitude = 0.5): MonoAudio => {
  const samples = new Float32Array(Math.round(seconds * sampleRate));
  for (let index = 0; index < samples.length; index++) {
    samples[index] = amplitude * Math.sin((2 * Math.PI * frequency * index) / sampleRate);
  }
  return { sampleRate, samples };
};

/** Frequency of a tone from its zero crossings. */
const frequencyOf = ({ samples, sampleRate }: MonoAudio) => {
  let crossings = 0;
  for (let index = 1; index < samples.length; index++) {
    if ((samples[index - 1] ?? 0) < 0 && (samples[index] ?? 0) >= 0) crossings++;
  }
  return crossings / (samples.length / sampleRate);
};

const codeOf = (promise: Promise<unknown>) =>
  promise.then(
    () => 'resolved',
    (error: unknown) => (VoiceError.isInstance(error) ? error.code : `not a VoiceError: ${String(error)}`),
  );

describe('WAV', () => {
  it('round-trips 16-bit mono through encodeWav and decodeWav', async () => {
    const audio = tone(440, 0.5, 16_000);
    const decoded = await decodeWav(encodeWav(audio));
    expect(decoded?.sampleRate).toBe(16_000);
    expect(decoded?.channels).toHaveLength(1);
    const samples = decoded?.channels[0] ?? new Float32Array();
    expect(samples.length).toBe(audio.samples.length);
    for (const index of [10, 1000, 7000]) expect(samples[index]).toBeCloseTo(audio.samples[index] ?? 0, 3);
  });

  it('decodes stereo 32-bit float WAV and mixes it to mono', async () => {
    const frames = 800;
    const bytes = new Uint8Array(44 + frames * 8);
    const view = new DataView(bytes.buffer);
    bytes.set(new TextEncoder().encode('RIFF'), 0);
    view.setUint32(4, 36 + frames * 8, true);
    bytes.set(new TextEncoder().encode('WAVEfmt '), 8);
    view.setUint32(16, 16, true);
    view.setUint16(20, 3, true);
    view.setUint16(22, 2, true);
    view.setUint32(24, 8000, true);
    view.setUint32(28, 8000 * 8, true);
    view.setUint16(32, 8, true);
    view.setUint16(34, 32, true);
    bytes.set(new TextEncoder().encode('data'), 36);
    view.setUint32(40, frames * 8, true);
    for (let frame = 0; frame < frames; frame++) {
      view.setFloat32(44 + frame * 8, 0.5, true);
      view.setFloat32(48 + frame * 8, -0.25, true);
    }
    const audio = await decodeAudio(bytes);
    expect(audio.sampleRate).toBe(8000);
    expect(audio.channels.map((channel) => channel[3])).toEqual([0.5, -0.25]);
    expect(toMono(audio).samples[3]).toBeCloseTo(0.125, 6);
    expect(durationOf(audio)).toBeCloseTo(0.1, 6);
  });
});

describe('processing', () => {
  it('resamples 48 kHz to 16 kHz keeping a 1 kHz tone and removing one above the new Nyquist frequency', () => {
    const kept = resample(tone(1000, 1, 48_000), 16_000);
    expect(kept.sampleRate).toBe(16_000);
    expect(kept.samples.length).toBe(16_000);
    expect(frequencyOf(kept)).toBeCloseTo(1000, -1);
    expect(rmsOf(kept.samples)).toBeCloseTo(0.5 / Math.SQRT2, 2);
    // 12 kHz cannot exist at 16 kHz; without the low-pass it would fold to 4 kHz at full strength.
    const folded = resample(tone(12_000, 1, 48_000), 16_000);
    expect(rmsOf(folded.samples, 100, 15_900)).toBeLessThan(0.02);
  });

  it('upsamples 8 kHz to 16 kHz keeping the tone', () => {
    const up = resample(tone(500, 1, 8000), 16_000);
    expect(up.samples.length).toBe(16_000);
    expect(frequencyOf(up)).toBeCloseTo(500, -1);
  });

  it('normalises the peak and the loudness, and leaves silence alone', () => {
    expect(peakOf(normalizePeak(tone(300, 0.2, 16_000, 0.1), -1).samples)).toBeCloseTo(10 ** (-1 / 20), 3);
    const quiet = normalizeLoudness(tone(300, 0.5, 16_000, 0.01), -20);
    expect(20 * Math.log10(rmsOf(quiet.samples))).toBeCloseTo(-20, 0);
    const silence = { sampleRate: 16_000, samples: new Float32Array(1600) };
    expect(normalizeLoudness(silence)).toBe(silence);
    expect(normalizePeak(silence)).toBe(silence);
  });

  it('trims leading and trailing silence and says where the kept audio starts', () => {
    const sampleRate = 16_000;
    const samples = new Float32Array(sampleRate * 3);
    samples.set(tone(440, 1, sampleRate).samples, sampleRate);
    const { audio, offsetSeconds } = trimSilence({ sampleRate, samples }, { paddingSeconds: 0.1 });
    expect(offsetSeconds).toBeCloseTo(0.9, 2);
    expect(durationOf(audio)).toBeCloseTo(1.2, 1);
    expect(trimSilence({ sampleRate, samples: new Float32Array(100) }).audio.samples.length).toBe(0);
  });
});

describe('bad audio', () => {
  const wav = encodeWav(tone(440, 2, 16_000));

  it('names what non-audio bytes are, before any decoder runs', async () => {
    const zip = Uint8Array.from([0x50, 0x4b, 0x03, 0x04, ...new Array(100).fill(1)]);
    const pdf = new TextEncoder().encode('%PDF-1.7 ...');
    const text = new TextEncoder().encode('just some text');
    expect(() => checkAudio(zip)).toThrow(/zip archive/);
    expect(() => checkAudio(pdf)).toThrow(/PDF/);
    expect(() => checkAudio(text)).toThrow(/not in any audio container/);
    expect(() => checkAudio(new Uint8Array(0))).toThrow(/empty/);
    for (const bytes of [zip, pdf, text, new Uint8Array(0)]) {
      expect(await codeOf(decodeAudio(bytes, { ffmpegPath: '/nonexistent/ffmpeg' }))).toBe(
        'unsupported_audio',
      );
    }
  });

  it('rejects a truncated WAV file and a malformed header', async () => {
    expect(await codeOf(decodeAudio(wav.subarray(0, 1000)))).toBe('unsupported_audio');
    expect(await codeOf(decodeAudio(wav.subarray(0, 30)))).toBe('unsupported_audio');
    const broken = wav.slice();
    new DataView(broken.buffer).setUint16(34, 13, true);
    expect(await codeOf(decodeAudio(broken))).toBe('unsupported_audio');
  });

  it('rejects audio over the length limit with AudioTooLongError', async () => {
    const error = await decodeAudio(wav, { maxDurationSeconds: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AudioTooLongError);
    expect(error).toMatchObject({ code: 'audio_too_long', maxSeconds: 1, isRetryable: false });
  });

  it('names ffmpeg when a non-WAV file meets a machine without it', async () => {
    const ogg = Uint8Array.from([...new TextEncoder().encode('OggS'), ...new Array(100).fill(0)]);
    const error = await decodeAudio(ogg, { ffmpegPath: '/nonexistent/ffmpeg' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineMissingError);
    expect(error).toMatchObject({ code: 'engine_missing', program: 'ffmpeg' });
    expect((error as Error).message).toMatch(/apt-get install ffmpeg/);
  });
});

describe.skipIf(skipWithout('ffmpeg'))(
  `through ffmpeg${skipWithout('ffmpeg') ? ` (skipped: ${skipWithout('ffmpeg')})` : ''}`,
  () => {
    const speechLike = tone(220, 3, 16_000, 0.3);

    it('encodes Opus for storage (~3 KB/s at 24 kb/s) and decodes it back to 16 kHz mono', async () => {
      const { bytes, mediaType } = await encodeOpus(speechLike);
      expect(mediaType).toBe('audio/ogg');
      expect(sniffContainer(bytes)).toBe('ogg');
      expect(bytes.length).toBeLessThan(16_000);
      const decoded = await decodeAudio(bytes, { sampleRate: 16_000 });
      expect(decoded.sampleRate).toBe(16_000);
      expect(durationOf(decoded)).toBeCloseTo(3, 1);
      const webm = await encodeOpus(encodeWav(speechLike), { container: 'webm' });
      expect(sniffContainer(webm.bytes)).toBe('webm');
      expect(durationOf(await decodeAudio(webm.bytes))).toBeCloseTo(3, 1);
    });

    it('rejects a truncated Ogg file, garbage in an Ogg header, and too long Opus (reading only past the limit)', async () => {
      const { bytes } = await encodeOpus(speechLike);
      expect(await codeOf(decodeAudio(bytes.subarray(0, 60)))).toBe('unsupported_audio');
      const garbage = Uint8Array.from([...new TextEncoder().encode('OggS'), ...new Array(4000).fill(0x5a)]);
      expect(await codeOf(decodeAudio(garbage))).toBe('unsupported_audio');
      expect(await codeOf(decodeAudio(bytes, { maxDurationSeconds: 1 }))).toBe('audio_too_long');
    });
  },
);
