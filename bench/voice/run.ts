import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Synthesizer } from '../../packages/core/src/index.js';
import { wordErrorRate } from '../../packages/core/src/testing/transcriber-contract.js';
import {
  chunkOnSilences,
  createEnergyVoiceActivityDetector,
  createEspeakNgSynthesizer,
  createFliteSynthesizer,
  createMespeakSynthesizer,
  createPocketsphinxTranscriber,
  createSileroVoiceActivityDetector,
  createWhisperCppTranscriber,
  decodeAudio,
  durationOf,
  encodeOpus,
  encodeWav,
  type MonoAudio,
  normalizeLoudness,
  resample,
  toMono,
  trimSilence,
} from '../../packages/voice/src/index.js';
import { runUploadLatency } from './upload-latency.js';

/*
 * npm run bench:voice [-- --rounds N]
 *
 * Real-time factor (processing time ÷ audio length; below 1 is faster than real time) of each @kaiwa/voice
 * processing stage on one minute of flite speech (Harvard sentences with pauses), and of each backend
 * available on this machine: pocketsphinx on a 10-second voice message stored as Opus (with its word error
 * rate), whisper.cpp in its child process on a tiny rigged model the bench writes (cold: fork + model load +
 * transcription; warm: transcription only; its word error rate means nothing, the model has random weights and
 * always says one word: the rows measure the child's overhead, not Whisper's speed on a real model), and each
 * synthesizer on one sentence. Median of N rounds (default 3) after one warm-up. Last, the latency of a
 * 10-second voice message from upload to transcript frame on a real server (./upload-latency.ts).
 */

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' } } });
const rounds = Math.max(1, Number(values.rounds));

const HARVARD = [
  'The birch canoe slid on the smooth planks.',
  'Glue the sheet to the dark blue background.',
  'It is easy to tell the depth of a well.',
  'These days a chicken leg is a rare dish.',
  'Rice is often served in round bowls.',
  'The juice of lemons makes fine punch.',
  'The box was thrown beside the parked truck.',
  'The hogs were fed chopped corn and garbage.',
  'Four hours of steady work faced us.',
  'A large size in stockings is hard to sell.',
];

const has = (program: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

function flite(text: string): Uint8Array {
  const folder = mkdtempSync(join(tmpdir(), 'kaiwa-bench-voice-'));
  try {
    execFileSync('flite', ['-voice', 'kal16', '-t', text, '-o', join(folder, 'speech.wav')]);
    return new Uint8Array(readFileSync(join(folder, 'speech.wav')));
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

async function median(run: () => Promise<unknown> | unknown): Promise<number> {
  await run();
  const samples: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const start = performance.now();
    await run();
    samples.push(performance.now() - start);
  }
  return [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)] ?? 0;
}

/** Sentences joined with 0.8 s pauses, repeated to `seconds`. */
async function speech(sentences: string[], seconds: number): Promise<MonoAudio> {
  const clips: Float32Array[] = [];
  for (const sentence of sentences) {
    const audio = toMono(await decodeAudio(flite(sentence)));
    clips.push(trimSilence(audio, { paddingSeconds: 0 }).audio.samples);
  }
  const pause = new Float32Array(12_800);
  const parts: Float32Array[] = [];
  let length = 0;
  while (length < seconds * 16_000) {
    for (const clip of clips) {
      parts.push(pause, clip);
      length += pause.length + clip.length;
      if (length >= seconds * 16_000) break;
    }
  }
  parts.push(pause);
  const samples = new Float32Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    samples.set(part, at);
    at += part.length;
  }
  return { sampleRate: 16_000, samples };
}

const rows: [string, string, string, string][] = [];
const row = (stage: string, seconds: number, milliseconds: number, note = '') => {
  rows.push([stage, seconds.toFixed(1), milliseconds.toFixed(1), (milliseconds / 1000 / seconds).toFixed(4)]);
  if (note) rows[rows.length - 1]?.push(note);
  console.error(`${stage}: ${milliseconds.toFixed(1)} ms`);
};

if (!has('flite')) {
  console.error(
    'bench:voice needs flite for its speech: apt-get install flite pocketsphinx pocketsphinx-en-us espeak-ng ffmpeg',
  );
  process.exit(1);
}

const minute = await speech(HARVARD, 60);
const seconds = durationOf(minute);
const wav16 = encodeWav(minute);
const upsampled = resample(minute, 48_000);
const stereo48 = { sampleRate: 48_000, channels: [upsampled.samples, upsampled.samples] };

row('decode WAV 16 kHz (TypeScript)', seconds, await median(() => decodeAudio(wav16)));
row('mix 48 kHz stereo to mono', seconds, await median(() => toMono(stereo48)));
row('resample 48 → 16 kHz', seconds, await median(() => resample(upsampled, 16_000)));
row('normalise loudness', seconds, await median(() => normalizeLoudness(minute, -26, -6)));
row('trim silence', seconds, await median(() => trimSilence(minute)));
row(
  'voice activity, energy',
  seconds,
  await median(() => createEnergyVoiceActivityDetector().detect(minute)),
);
try {
  const silero = createSileroVoiceActivityDetector();
  row('voice activity, Silero (sherpa-onnx)', seconds, await median(() => silero.detect(minute)));
} catch (error) {
  console.error(`Silero skipped: ${String(error)}`);
}
const regions = await createEnergyVoiceActivityDetector().detect(minute);
row('chunk on pauses (30 s, 0.5 s overlap)', seconds, await median(() => chunkOnSilences(minute, regions)));
if (has('ffmpeg')) {
  const opus = (await encodeOpus(minute)).bytes;
  row('encode Opus 24 kb/s (ffmpeg)', seconds, await median(() => encodeOpus(minute)));
  row('decode Opus to 16 kHz mono (ffmpeg)', seconds, await median(() => decodeAudio(opus)));
  console.error(
    `Opus: ${opus.length} bytes for ${seconds.toFixed(1)} s (${(opus.length / seconds / 1024).toFixed(1)} KiB/s)`,
  );
}

let wer: string | undefined;
if (has('pocketsphinx_continuous') && has('ffmpeg')) {
  const message = await speech(HARVARD.slice(0, 4), 10);
  const spoken = HARVARD.slice(0, 4).join(' ');
  const opus = (await encodeOpus(message)).bytes;
  const transcriber = createPocketsphinxTranscriber();
  let text = '';
  const elapsed = await median(async () => {
    text = (await transcriber.transcribe({ audio: opus })).text;
  });
  wer = wordErrorRate(spoken, text).toFixed(3);
  row(
    `pocketsphinx, ${durationOf(message).toFixed(0)} s Opus voice message (WER ${wer})`,
    durationOf(message),
    elapsed,
  );
}

const whisperLoads = (() => {
  try {
    createRequire(import.meta.url)('@napi-rs/whisper');
    return true;
  } catch {
    return false;
  }
})();
if (whisperLoads && has('python3')) {
  const folder = mkdtempSync(join(tmpdir(), 'kaiwa-bench-whisper-'));
  try {
    const modelPath = join(folder, 'ggml-tiny-rigged.bin');
    const generator = new URL(
      '../../packages/voice/src/whisper-cpp/test-support/write-tiny-ggml-whisper.py',
      import.meta.url,
    );
    execFileSync('python3', [generator.pathname, modelPath]);
    const message = await speech(HARVARD.slice(0, 4), 10);
    const audio = encodeWav(message);
    const cold = await median(async () => {
      const transcriber = createWhisperCppTranscriber({ modelPath });
      await transcriber.transcribe({ audio });
      await transcriber.close();
    });
    row(
      'whisper.cpp child, tiny rigged model, 10 s WAV: cold (fork + load + decode)',
      durationOf(message),
      cold,
    );
    const warm = createWhisperCppTranscriber({ modelPath });
    await warm.transcribe({ audio });
    row(
      'whisper.cpp child, tiny rigged model, 10 s WAV: warm',
      durationOf(message),
      await median(() => warm.transcribe({ audio })),
    );
    const status = existsSync(`/proc/${warm.childPid}/status`)
      ? readFileSync(`/proc/${warm.childPid}/status`, 'utf8')
      : '';
    const peak = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
    if (peak)
      console.error(
        `whisper.cpp child peak resident memory (tiny model): ${(Number(peak) / 1024).toFixed(0)} MB`,
      );
    await warm.close();
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
} else {
  console.error('whisper.cpp skipped: @napi-rs/whisper cannot load here, or python3 is missing');
}

const synthesizers: [string, Synthesizer, boolean][] = [
  ['mespeak (in process)', createMespeakSynthesizer(), true],
  ['espeak-ng', createEspeakNgSynthesizer(), has('espeak-ng')],
  ['flite', createFliteSynthesizer(), has('flite')],
];
for (const [name, synthesizer, available] of synthesizers) {
  if (!available) continue;
  let produced = 0;
  const elapsed = await median(async () => {
    produced = (await synthesizer.synthesize({ text: HARVARD.slice(0, 2).join(' ') })).durationSeconds ?? 0;
  });
  row(`synthesize two sentences, ${name}`, produced, elapsed);
}

const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(
  `Node ${process.version}, ${cpus().length} cores (${cpu}), median of ${rounds} after a warm-up\n`,
);
console.log('| stage | audio s | ms | real-time factor |');
console.log('| --- | ---: | ---: | ---: |');
for (const [stage, audio, milliseconds, factor] of rows)
  console.log(`| ${stage} | ${audio} | ${milliseconds} | ${factor} |`);

if (has('pocketsphinx_continuous') && has('ffmpeg')) {
  console.log('');
  await runUploadLatency(rounds);
}
