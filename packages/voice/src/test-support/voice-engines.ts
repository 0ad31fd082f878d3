import { execFileSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { MonoAudio } from '../audio/audio-buffer.js';
import { toMono } from '../audio/processing.js';
import { decodeWav } from '../audio/wav.js';

const INSTALL = 'apt-get install pocketsphinx pocketsphinx-en-us flite espeak-ng ffmpeg';

/** Whether a program is on PATH. */
export function hasProgram(program: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((folder) => {
    try {
      accessSync(join(folder, program), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * Why a test needing these programs is skipped, or undefined to run it. With `KAIWA_TEST_VOICE=1` (set by
 * `.ci/run`) nothing is skipped: a missing program then fails the test instead.
 */
export function skipWithout(...programs: string[]): string | undefined {
  if (process.env.KAIWA_TEST_VOICE === '1') return undefined;
  const missing = programs.filter((program) => !hasProgram(program));
  if (missing.length === 0) return undefined;
  return `${missing.join(', ')} not installed: ${INSTALL} (KAIWA_TEST_VOICE=1 makes this a failure)`;
}

/** Speech made by flite (pocketsphinx recognises flite's voices, not espeak-ng's), as WAV bytes. */
export function fliteWav(text: string, voice = 'kal16'): Uint8Array {
  const folder = mkdtempSync(join(tmpdir(), 'kaiwa-voice-test-'));
  try {
    execFileSync('flite', ['-voice', voice, '-t', text, '-o', join(folder, 'speech.wav')]);
    return new Uint8Array(readFileSync(join(folder, 'speech.wav')));
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/** Decodes WAV bytes made by a test to mono. */
export async function monoOf(bytes: Uint8Array): Promise<MonoAudio> {
  const audio = await decodeWav(bytes);
  if (!audio) throw new Error('not a PCM WAV');
  return toMono(audio);
}

/**
 * Joins silences and speech clips into one recording, and returns where the speech is (the truth a voice
 * activity detector is checked against). Clips must be trimmed and share the sample rate.
 */
export function joinClips(
  sampleRate: number,
  parts: (number | Float32Array)[],
): { audio: MonoAudio; speech: { start: number; end: number }[] } {
  const length = parts.reduce<number>(
    (sum, part) => sum + (typeof part === 'number' ? Math.round(part * sampleRate) : part.length),
    0,
  );
  const samples = new Float32Array(length);
  const speech: { start: number; end: number }[] = [];
  let at = 0;
  for (const part of parts) {
    if (typeof part === 'number') at += Math.round(part * sampleRate);
    else {
      samples.set(part, at);
      speech.push({ start: at / sampleRate, end: (at + part.length) / sampleRate });
      at += part.length;
    }
  }
  return { audio: { sampleRate, samples }, speech };
}
