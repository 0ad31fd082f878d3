import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TranscriptionSegment } from '@kaiwa/core';
import { transcriberContract, wordErrorRate } from '@kaiwa/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeOpus } from '../audio/opus.js';
import { trimSilence } from '../audio/processing.js';
import { encodeWav } from '../audio/wav.js';
import { fliteWav, joinClips, monoOf, skipWithout } from '../test-support/voice-engines.js';
import { createPocketsphinxTranscriber, parsePocketsphinxOutput } from './pocketsphinx-transcriber.js';

const skip = skipWithout('flite', 'pocketsphinx_continuous', 'ffmpeg');
const FOX = 'the quick brown fox jumps over the lazy dog';
// Measured here (pocketsphinx 0.8 + Debian's en-us model, flite kal16): 1 error in 9 words (0.11, "jumped"),
// as ../shared/DEPENDENCIES.md recorded. 0.25 allows one more error across Debian rebuilds, and still fails
// a broken chain (wrong sample rate, clipped chunks), which scores 0.8–1.0.
const FOX_MAX_WER = 0.25;
const HARVARD = [
  'The birch canoe slid on the smooth planks.',
  'Glue the sheet to the dark blue background.',
  'It is easy to tell the depth of a well.',
  'These days a chicken leg is a rare dish.',
  'Rice is often served in round bowls.',
];
// Measured on these five Harvard sentences (flite kal16, 0.8 s pauses): whole WAV 0.43, WAV in 8 s chunks 0.41,
// Opus 32 kb/s in 8 s chunks 0.50 ("the bird can use light on this with blanks…"); DEPENDENCIES.md has 0.35–0.37
// on ten of them. 0.6 holds that with room for one sentence's worth of Debian drift, and still fails a broken
// chain (a wrong sample rate or too loud audio scored 0.64–1.0).
const HARVARD_MAX_WER = 0.6;

let fox: Uint8Array = new Uint8Array();

describe('parsePocketsphinxOutput', () => {
  it('makes one segment per utterance, without fillers and pronunciation variants', () => {
    const output = [
      'the birds can use',
      '<s> 0.880 1.150 0.999700',
      'the 1.160 1.270 0.989851',
      'birds 1.280 1.560 0.756288',
      '<sil> 1.570 1.600 1.000000',
      'to(2) 1.610 1.780 0.519870',
      '</s> 3.430 3.860 1.000000',
      'blue',
      '<s> 5.560 5.660 0.999200',
      '[NOISE] 5.670 5.700 0.2',
      'blue 5.710 5.930 0.013204',
      '</s> 7.590 7.660 1.000000',
    ].join('\n');
    expect(parsePocketsphinxOutput(output)).toEqual([
      { start: 1.16, end: 1.78, text: 'the birds to', confidence: 0.755 },
      { start: 5.71, end: 5.93, text: 'blue', confidence: 0.013 },
    ]);
    expect(parsePocketsphinxOutput('')).toEqual([]);
  });
});

transcriberContract({
  name: 'pocketsphinx (flite speech)',
  ...(skip ? { skip } : {}),
  create: () => createPocketsphinxTranscriber(),
  setup: async () => {
    fox = fliteWav(FOX);
    return undefined;
  },
  sample: () => ({ audio: fox, text: FOX, language: 'en', maxWordErrorRate: FOX_MAX_WER }),
  failures: [
    {
      name: 'pocketsphinx not installed',
      create: () => createPocketsphinxTranscriber({ programPath: '/nonexistent/pocketsphinx_continuous' }),
      code: 'engine_missing',
    },
  ],
});

describe.skipIf(skip)(`the whole chain on flite speech${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let recording: { audio: Uint8Array; speech: { start: number; end: number }[] };
  beforeAll(async () => {
    const clips = await Promise.all(
      HARVARD.map(
        async (sentence) =>
          trimSilence(await monoOf(fliteWav(sentence)), { paddingSeconds: 0 }).audio.samples,
      ),
    );
    const { audio, speech } = joinClips(16_000, clips.flatMap((clip) => [0.8, clip]).concat([0.8]));
    // Stored as voice messages are: Opus in Ogg, 48 kHz after ffmpeg's decode.
    recording = { audio: (await encodeOpus(encodeWav(audio), { bitrateKbps: 32 })).bytes, speech };
  });

  it(`Opus → decode → 16 kHz → VAD → chunks of ≤ 8 s → pocketsphinx, streamed: WER ≤ ${HARVARD_MAX_WER}, timestamps in place`, async () => {
    const transcriber = createPocketsphinxTranscriber({ maxChunkSeconds: 8, overlapSeconds: 0.4 });
    const segments: TranscriptionSegment[] = [];
    let finish: string | undefined;
    let durationSeconds: number | undefined;
    for await (const part of transcriber.stream({ audio: recording.audio, mediaType: 'audio/ogg' })) {
      if (part.type === 'segment') segments.push(part.segment);
      if (part.type === 'finish') ({ text: finish, durationSeconds } = part);
      if (part.type === 'error') throw part.error;
    }
    const rate = wordErrorRate(HARVARD.join(' '), finish ?? '');
    console.info(
      `pocketsphinx on five Harvard sentences (flite kal16, Opus 32 kb/s, 8 s chunks): WER ${rate.toFixed(3)}`,
    );
    expect(rate, finish).toBeLessThanOrEqual(HARVARD_MAX_WER);
    expect(durationSeconds).toBeGreaterThan(recording.speech.at(-1)?.end ?? 0);
    // Every segment lies inside a sentence of the recording (±0.35 s), whichever chunk decoded it, in order.
    for (const segment of segments) {
      const inside = recording.speech.some(
        (region) => segment.start >= region.start - 0.35 && segment.end <= region.end + 0.35,
      );
      expect(inside, `${JSON.stringify(segment)} in ${JSON.stringify(recording.speech)}`).toBe(true);
    }
    expect(segments.map((segment) => segment.start)).toEqual(
      [...segments.map((segment) => segment.start)].sort((a, b) => a - b),
    );
    // Each sentence is heard: some segment overlaps it.
    for (const region of recording.speech) {
      expect(segments.some((segment) => segment.end > region.start && segment.start < region.end)).toBe(true);
    }
  });

  it('reports the failing chunk, not the chunks it stopped, and kills a chunk past its timeout', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'kaiwa-fake-pocketsphinx-'));
    try {
      // A stand-in CLI: chunk 1 fails at once, the others take 2 s (and are stopped by the failure).
      const program = join(folder, 'pocketsphinx_continuous');
      await writeFile(
        program,
        '#!/bin/sh\ncase "$2" in *chunk-1.wav) echo "bad chunk" >&2; exit 3;; esac\nsleep 2\n',
        {
          mode: 0o755,
        },
      );
      const chunked = createPocketsphinxTranscriber({
        programPath: program,
        maxChunkSeconds: 8,
        concurrency: 3,
      });
      const error = await chunked.transcribe({ audio: recording.audio }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'engine_failed', provider: 'pocketsphinx' });
      expect((error as Error).message).toMatch(/exited with 3: bad chunk/);
      const slow = createPocketsphinxTranscriber({
        programPath: program,
        maxChunkSeconds: 60,
        timeoutMs: 200,
      });
      const timeout = await slow.transcribe({ audio: fox }).catch((e: unknown) => e);
      expect(timeout).toMatchObject({ code: 'timeout', isRetryable: true });
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('rejects a prompt with a warning and a Japanese request with unsupported_language', async () => {
    const transcriber = createPocketsphinxTranscriber();
    // Two seconds of silence: no speech, so no pocketsphinx run, an empty transcript.
    const silence = encodeWav({ sampleRate: 16_000, samples: new Float32Array(32_000) });
    const { warnings, text, segments } = await transcriber.transcribe({ audio: silence, prompt: 'Kaiwa' });
    expect([text, segments]).toEqual(['', []]);
    expect(warnings).toEqual([
      { type: 'unsupported-setting', setting: 'prompt', details: 'pocketsphinx takes no prompt' },
    ]);
    await expect(transcriber.transcribe({ audio: fox, language: 'ja-JP' })).rejects.toMatchObject({
      code: 'unsupported_language',
    });
  });
});
