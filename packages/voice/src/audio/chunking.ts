import type { TranscriptionSegment } from '@kaiwa/core';
import type { MonoAudio } from './audio-buffer.js';
import type { SpeechRegion } from './vad.js';

/**
 * A piece of a long recording to transcribe on its own. `start`/`end` are its place in the recording; it owns
 * the words whose middle falls in `[ownStart, ownEnd)`, so words in the overlap with a neighbour are kept once.
 */
export interface AudioChunk {
  start: number;
  end: number;
  ownStart: number;
  ownEnd: number;
  audio: MonoAudio;
}

/**
 * Options of {@link chunkOnSilences}.
 *
 * @example
 * chunkOnSilences(speech, regions, { maxChunkSeconds: 30, overlapSeconds: 0.5 });
 */
export interface ChunkOptions {
  /** No chunk is longer than this (plus the overlap). Default 30 s, Whisper's window. */
  maxChunkSeconds?: number;
  /** Audio shared with the neighbouring chunk on each side, so no word is cut. Default 0.5 s. */
  overlapSeconds?: number;
}

/**
 * Cuts a recording into chunks of at most `maxChunkSeconds`, cutting in the middle of the longest pause the
 * voice activity regions leave inside each window (at the window's end when there is none), with
 * `overlapSeconds` of shared audio on each cut. Silence before the first region and after the last is left out.
 *
 * @example
 * for (const chunk of chunkOnSilences(speech, await vad.detect(speech))) await transcribe(chunk.audio);
 */
export function chunkOnSilences(
  audio: MonoAudio,
  regions: SpeechRegion[],
  options: ChunkOptions = {},
): AudioChunk[] {
  const maxSeconds = options.maxChunkSeconds ?? 30;
  const overlap = options.overlapSeconds ?? 0.5;
  const total = audio.samples.length / audio.sampleRate;
  if (regions.length === 0) return [];
  const first = Math.max(0, (regions[0]?.start ?? 0) - 0.2);
  const last = Math.min(total, (regions.at(-1)?.end ?? total) + 0.2);
  const cuts: number[] = [first];
  let at = first;
  while (last - at > maxSeconds) {
    const limit = at + maxSeconds;
    // Pauses between regions that end inside this window; cut in the middle of the longest.
    let best: { middle: number; length: number } | undefined;
    for (let index = 0; index + 1 < regions.length; index++) {
      const gapStart = regions[index]?.end ?? 0;
      const gapEnd = regions[index + 1]?.start ?? 0;
      const middle = (gapStart + gapEnd) / 2;
      if (middle <= at + 1 || middle >= limit) continue;
      if (!best || gapEnd - gapStart > best.length) best = { middle, length: gapEnd - gapStart };
    }
    at = best ? best.middle : limit;
    cuts.push(at);
  }
  cuts.push(last);
  const chunks: AudioChunk[] = [];
  for (let index = 0; index + 1 < cuts.length; index++) {
    const ownStart = cuts[index] ?? 0;
    const ownEnd = cuts[index + 1] ?? total;
    const start = Math.max(0, index === 0 ? ownStart : ownStart - overlap);
    const end = Math.min(total, index === cuts.length - 2 ? ownEnd : ownEnd + overlap);
    const samples = audio.samples.subarray(
      Math.floor(start * audio.sampleRate),
      Math.ceil(end * audio.sampleRate),
    );
    chunks.push({ start, end, ownStart, ownEnd, audio: { sampleRate: audio.sampleRate, samples } });
  }
  return chunks;
}

/**
 * Moves a chunk's segments (times from the chunk's start) to the recording's timeline and keeps only those the
 * chunk owns, so the words of an overlap appear once.
 *
 * @example
 * const segments = chunks.flatMap((chunk, index) => placeSegments(chunk, results[index].segments));
 */
export function placeSegments(chunk: AudioChunk, segments: TranscriptionSegment[]): TranscriptionSegment[] {
  return segments
    .map((segment) => ({ ...segment, start: segment.start + chunk.start, end: segment.end + chunk.start }))
    .filter((segment) => {
      const middle = (segment.start + segment.end) / 2;
      return middle >= chunk.ownStart && middle < chunk.ownEnd;
    });
}
