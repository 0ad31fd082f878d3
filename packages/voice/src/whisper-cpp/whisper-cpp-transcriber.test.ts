import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VoiceError } from '@kaiwa/core';
import { transcriberContract } from '@kaiwa/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWav } from '../audio/wav.js';
import { fliteWav, monoOf, skipWithout } from '../test-support/voice-engines.js';
import { createWhisperCppTranscriber, type WhisperCppTranscriber } from './whisper-cpp-transcriber.js';

const GENERATOR = fileURLToPath(new URL('./test-support/write-tiny-ggml-whisper.py', import.meta.url));
const WORD = 'kaiwa';

/** Why these tests are skipped (the optional peer has no build for this platform, no python3/numpy, no flite). */
function skipReason(): string | undefined {
  const programs = skipWithout('flite', 'python3');
  if (programs) return programs;
  if (process.env.KAIWA_TEST_VOICE === '1') return undefined;
  try {
    createRequire(import.meta.url)('@napi-rs/whisper');
  } catch (error) {
    return `@napi-rs/whisper cannot load here (${(error as Error).message.split('\n')[0]}): npm install @napi-rs/whisper on Linux x64 or macOS (KAIWA_TEST_VOICE=1 makes this a failure)`;
  }
  try {
    execFileSync('python3', ['-c', 'import numpy']);
  } catch {
    return 'python3 has no numpy to write the tiny model: apt-get install python3-numpy (KAIWA_TEST_VOICE=1 makes this a failure)';
  }
  return undefined;
}

const skip = skipReason();
let folder = '';
let tinyModel = '';
let fox: Uint8Array = new Uint8Array();
let minute: Uint8Array = new Uint8Array();
/** Fifteen minutes: thirty windows, seconds of work even on an idle machine, for the deadline and abort tests. */
let quarterHour: Uint8Array = new Uint8Array();
const open: WhisperCppTranscriber[] = [];

/** A transcriber closed after the file's tests. */
function transcriber(config: Partial<Parameters<typeof createWhisperCppTranscriber>[0]> = {}) {
  const created = createWhisperCppTranscriber({ modelPath: tinyModel, ...config });
  open.push(created);
  return created;
}

function writeModel(name: string, ...flags: string[]): string {
  const path = join(folder, name);
  execFileSync('python3', [GENERATOR, path, ...flags]);
  return path;
}

const isRunning = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function waitForExit(pid: number): Promise<boolean> {
  for (let waited = 0; waited < 5000 && isRunning(pid); waited += 20) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return !isRunning(pid);
}

beforeAll(async () => {
  if (skip) return;
  folder = mkdtempSync(join(tmpdir(), 'kaiwa-whisper-test-'));
  tinyModel = writeModel('ggml-tiny-rigged.bin');
  fox = fliteWav('the quick brown fox jumps over the lazy dog');
  // A minute with the sentence every few seconds: two of whisper.cpp's 30-second windows, ~4 s of work here.
  const clip = await monoOf(fox);
  const samples = new Float32Array(60 * clip.sampleRate);
  for (let at = 0; at + clip.samples.length < samples.length; at += clip.samples.length * 2) {
    samples.set(clip.samples, at);
  }
  minute = encodeWav({ sampleRate: clip.sampleRate, samples });
  const long = new Float32Array(15 * 60 * clip.sampleRate);
  for (let at = 0; at < long.length; at += samples.length)
    long.set(samples.subarray(0, long.length - at), at);
  quarterHour = encodeWav({ sampleRate: clip.sampleRate, samples: long });
});

afterAll(async () => {
  await Promise.all(open.map((created) => created.close()));
  if (folder) rmSync(folder, { recursive: true, force: true });
});

transcriberContract({
  name: 'whisper.cpp (tiny rigged ggml model in a child process, flite speech)',
  ...(skip ? { skip } : {}),
  create: () => open[0] ?? transcriber(),
  sample: () => ({ audio: fox, text: WORD, language: 'en' }),
  skipTests: {
    accuracy: `the tiny model has random weights and is rigged to say "${WORD}": its word error rate means nothing`,
  },
  failures: [
    {
      name: 'the model file is missing',
      create: () => transcriber({ modelPath: join(folder, 'no-such-model.bin') }),
      code: 'engine_missing',
    },
    {
      name: 'garbage bytes as the model',
      create: () => {
        const path = join(folder, 'garbage.bin');
        writeFileSync(path, randomBytes(100_000));
        return transcriber({ modelPath: path });
      },
      code: 'engine_failed',
    },
  ],
});

describe.skipIf(skip)(`whisper.cpp in a child process${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let warm: WhisperCppTranscriber;
  beforeAll(() => {
    warm = transcriber();
  });
  afterAll(async () => {
    await warm.close();
  });

  it(`decodes flite speech with the tiny model into "${WORD}", one segment inside the audio`, async () => {
    const result = await warm.transcribe({ audio: fox, language: 'en' });
    expect(result.text).toBe(WORD);
    expect(result.language).toBe('en');
    expect(result.segments).toHaveLength(1);
    const [segment] = result.segments;
    expect(segment?.start).toBe(0);
    // whisper.cpp ends a window at 30 s; the transcriber keeps segments inside the recording.
    expect(segment?.end).toBeCloseTo(result.durationSeconds ?? 0, 2);
  });

  it('keeps one warm child between calls: same process, model loaded once; a minute gives one segment per window', async () => {
    await warm.transcribe({ audio: fox });
    const pid = warm.childPid;
    expect(pid).toBeTypeOf('number');
    const started = performance.now();
    const result = await warm.transcribe({ audio: minute });
    console.info(
      `whisper.cpp tiny model, warm child: 60 s of audio in ${Math.round(performance.now() - started)} ms`,
    );
    expect(warm.childPid).toBe(pid);
    expect(result.segments.map((segment) => [segment.start, segment.end, segment.text])).toEqual([
      [0, 30, WORD],
      [30, 60, WORD],
    ]);
  });

  it('a model that aborts whisper.cpp while loading (ggml magic, then garbage) is engine_failed; this process lives on', async () => {
    const path = join(folder, 'ggml-magic-then-garbage.bin');
    // Every header field -1, the weight type included: whisper.cpp fails GGML_ASSERT(wtype != GGML_TYPE_COUNT).
    // (Random bytes here were not deterministic: some asked for gigabytes and hit the memory limit instead.)
    writeFileSync(path, Buffer.concat([Buffer.from('lmgg', 'latin1'), Buffer.alloc(5000, 0xff)]));
    const broken = transcriber({ modelPath: path });
    const error = await broken.transcribe({ audio: fox }).catch((e: unknown) => e);
    expect(VoiceError.isInstance(error), String(error)).toBe(true);
    expect(error).toMatchObject({ code: 'engine_failed', provider: 'whisper.cpp', isRetryable: false });
    expect((error as Error).message).toMatch(/could not load the model .*SIGABRT/);
    expect(broken.childPid).toBeUndefined();
    // The test process survived the abort, and a good model still works (in a fresh child of its own).
    expect((await transcriber().transcribe({ audio: fox })).text).toBe(WORD);
  });

  it('a model that aborts mid-transcription (a Rust panic) is engine_failed, and every call gets a fresh child', async () => {
    const crashing = transcriber({
      modelPath: writeModel('ggml-without-space.bin', '--without-space-token'),
    });
    for (let call = 0; call < 2; call++) {
      const error = await crashing.transcribe({ audio: fox }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'engine_failed', provider: 'whisper.cpp' });
      expect((error as Error).message).toMatch(
        /died while transcribing with ggml-without-space\.bin \(killed by SIGABRT/,
      );
      expect(crashing.childPid).toBeUndefined();
    }
  });

  it('past timeoutMs the busy child is killed and the call fails with a retryable timeout', async () => {
    // The model load has its own generous limit; the quarter hour of audio (over 3 s of work on an idle
    // machine here, more on a loaded one) cannot finish in 500 ms.
    const slow = transcriber({ timeoutMs: 500, loadTimeoutMs: 60_000 });
    const started = performance.now();
    const call = slow.transcribe({ audio: quarterHour }).catch((e: unknown) => e);
    let pid: number | undefined;
    while (pid === undefined && performance.now() - started < 60_000) {
      pid = slow.childPid;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const error = await call;
    expect(error).toMatchObject({ code: 'timeout', isRetryable: true, provider: 'whisper.cpp' });
    expect((error as Error).message).toMatch(/did not finish within 500 ms/);
    expect(pid).toBeTypeOf('number');
    expect(await waitForExit(pid as number)).toBe(true);
    expect(slow.childPid).toBeUndefined();
  });

  it('past loadTimeoutMs a child still loading its model is killed with a retryable timeout', async () => {
    const impatient = transcriber({ loadTimeoutMs: 1 });
    const error = await impatient.transcribe({ audio: fox }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'timeout', isRetryable: true, provider: 'whisper.cpp' });
    expect((error as Error).message).toMatch(/did not load the model within 1 ms/);
    expect(impatient.childPid).toBeUndefined();
  });

  it('an abort kills the busy child and fails with aborted; the next call works in a new child', async () => {
    await warm.transcribe({ audio: fox });
    const pid = warm.childPid as number;
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const error = await warm
      .transcribe({ audio: quarterHour }, { abortSignal: controller.signal })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'aborted', provider: 'whisper.cpp' });
    expect(await waitForExit(pid)).toBe(true);
    expect((await warm.transcribe({ audio: fox })).text).toBe(WORD);
    expect(warm.childPid).not.toBe(pid);
  });

  it('kills a child past maxMemoryMb with engine_failed', async () => {
    // A few MB is less than Node itself needs: the first poll finds the child over the limit.
    const small = transcriber({ maxMemoryMb: 5 });
    const error = await small.transcribe({ audio: fox }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'engine_failed' });
    expect((error as Error).message).toMatch(/more than 5 MB \(maxMemoryMb\)/);
  });

  it('refuses Japanese on an English-only model, and answers silence without waking whisper.cpp', async () => {
    const english = transcriber();
    await expect(english.transcribe({ audio: fox, language: 'ja' })).rejects.toMatchObject({
      code: 'unsupported_language',
    });
    const idle = transcriber();
    const silence = encodeWav({ sampleRate: 16_000, samples: new Float32Array(32_000) });
    expect(await idle.transcribe({ audio: silence })).toMatchObject({ text: '', segments: [] });
    expect(idle.childPid).toBeUndefined();
  });

  it('close() ends the child; a later call starts a new one', async () => {
    const closing = transcriber();
    await closing.transcribe({ audio: fox });
    const pid = closing.childPid as number;
    await closing.close();
    expect(isRunning(pid)).toBe(false);
    expect((await closing.transcribe({ audio: fox })).text).toBe(WORD);
  });
});
