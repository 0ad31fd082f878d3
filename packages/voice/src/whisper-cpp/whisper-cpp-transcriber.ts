import { type ChildProcess, fork } from 'node:child_process';
import { access, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  EngineMissingError,
  type Transcriber,
  type TranscriberCapabilities,
  type TranscriptionRequest,
  type TranscriptionResult,
  type TranscriptionSegment,
  type TranscriptionStreamPart,
  type VoiceCallOptions,
  VoiceError,
  type VoiceWarning,
} from '@kaiwa/core';
import type { MonoAudio } from '../audio/audio-buffer.js';
import { createEnergyVoiceActivityDetector, type VoiceActivityDetector } from '../audio/vad.js';
import { throwIfAborted } from '../process/run-program.js';
import {
  resultOf,
  speechInputOf,
  type TranscriptionRun,
  transcriptionCalls,
} from '../transcription-support.js';
import type { ChildMessage, TranscribeMessage } from './whisper-cpp-child.js';

export interface WhisperCppTranscriberConfig {
  /** A ggml Whisper model file (whisper.cpp's `ggml-*.bin`, e.g. `ggml-base.en.bin`, `ggml-small.bin`). */
  modelPath: string;
  /** The language when a request names none (BCP 47 primary tag). Default: detected (multilingual models). */
  language?: string;
  /** whisper.cpp threads. Default the machine's parallelism, at most 4. */
  threads?: number;
  /** Per transcription; the child is killed past it. Default 300 000 ms. */
  timeoutMs?: number;
  /** For a cold start's model load (a large model from a slow disk takes a while). Default `timeoutMs`. */
  loadTimeoutMs?: number;
  /** The child's resident memory limit (read from `/proc` on Linux); past it the child is killed. Default 4096. */
  maxMemoryMb?: number;
  /** Longer recordings are an `AudioTooLongError`. Default 3600 s. */
  maxDurationSeconds?: number;
  /** Recordings without speech are answered with an empty transcript, without waking Whisper. Default energy-based. */
  voiceActivityDetector?: VoiceActivityDetector;
  ffmpegPath?: string;
}

const PROVIDER = 'whisper.cpp';
const INSTALL = 'npm install @napi-rs/whisper';
const MEMORY_POLL_MS = 200;

// From `src` (tests, tsx) the child is the TypeScript file beside this one, run through tsx; from `dist` it is
// the bundle tsup writes next to index.js (tsup.config.ts names it `whisper-cpp-child`).
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const CHILD_PATH = fileURLToPath(
  new URL(FROM_SOURCE ? './whisper-cpp-child.ts' : './whisper-cpp-child.js', import.meta.url),
);

/** tsx, found from this file (not from the working folder), to run the TypeScript child. */
const tsxLoader = () => pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** One forked child with the model loaded (or loading), and the call it is running. */
interface WarmChild {
  process: ChildProcess;
  /** Settles once: the model loaded (with whether it is multilingual), or the load failed. */
  ready: Promise<{ multilingual: boolean }>;
  /** The call in flight: told of its result, or of the child's death. */
  call: { id: number; settle: (outcome: ChildOutcome) => void } | undefined;
  /** Why the parent killed it, for the error of the call in flight. */
  killedFor: 'memory' | undefined;
  exited: Promise<void>;
}

type ChildOutcome =
  | { ok: true; message: Extract<ChildMessage, { type: 'transcribed' }> }
  | { ok: false; error: VoiceError };

/**
 * Speech recognition with whisper.cpp (`@napi-rs/whisper`, prebuilt for Linux x64 and macOS) on a local ggml
 * model the operator names.
 *
 * **Crash isolation.** whisper.cpp runs in a child process (`whisper-cpp-child`), never in the server: a
 * malformed model, a failed ggml assertion or a Rust panic aborts only the child, and the call gets a typed
 * `engine_failed` error; the next call forks a fresh child. **Warm model.** The child loads the model once, on
 * the first call, and keeps it between calls; calls run one at a time, in order. **Deadlines.** Each call has
 * `timeoutMs` (model load included when the child is cold); past it, on an abort signal, or when the child's
 * resident memory passes `maxMemoryMb`, the child is killed (whisper.cpp cannot be interrupted mid-window)
 * and the call fails with `timeout`, `aborted` or `engine_failed`; the next call reloads the model.
 * `close()` ends the child. An idle child does not keep the Node process alive.
 *
 * Audio is decoded and resampled to 16 kHz mono in the parent (WAV in TypeScript, the rest through ffmpeg);
 * whisper.cpp cuts it into its own 30-second windows. Recordings without speech skip the model. Segments
 * arrive all at once when the recording is done (`capabilities.streaming` is false); whisper.cpp gives no
 * per-segment confidence.
 *
 * @example
 * const transcriber = createWhisperCppTranscriber({ modelPath: '/models/ggml-base.bin' });
 * const { text, segments, language } = await transcriber.transcribe({ audio: await readFile('note.ogg') });
 * await transcriber.close();
 */
export class WhisperCppTranscriber implements Transcriber {
  readonly specificationVersion = 'v1';
  readonly provider = PROVIDER;
  readonly modelId: string;
  readonly capabilities: TranscriberCapabilities = {
    languages: 'any',
    timestamps: true,
    streaming: false,
    prompt: true,
    quality: 'standard',
  };
  readonly #config: WhisperCppTranscriberConfig;
  readonly #detector: VoiceActivityDetector;
  #child: WarmChild | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #nextId = 1;

  constructor(config: WhisperCppTranscriberConfig) {
    if (typeof config?.modelPath !== 'string' || config.modelPath.length === 0) {
      throw new VoiceError('invalid_input', 'modelPath must name a ggml Whisper model file', {
        provider: PROVIDER,
      });
    }
    this.#config = config;
    this.modelId = basename(config.modelPath).replace(/\.bin$/, '');
    this.#detector = config.voiceActivityDetector ?? createEnergyVoiceActivityDetector();
  }

  readonly #calls = transcriptionCalls(PROVIDER, this.capabilities, (request, warnings, options) =>
    this.#run(request, warnings, options.abortSignal),
  );

  transcribe(request: TranscriptionRequest, options?: VoiceCallOptions): Promise<TranscriptionResult> {
    return this.#calls.transcribe(request, options);
  }

  stream(request: TranscriptionRequest, options?: VoiceCallOptions): ReadableStream<TranscriptionStreamPart> {
    return this.#calls.stream(request, options);
  }

  /**
   * Ends the child and frees the model's memory. A later call starts a fresh child.
   *
   * @example
   * process.on('SIGTERM', () => transcriber.close());
   */
  async close(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#child = undefined;
    // Held until it is gone, or an idle Node process would end before the exit is seen.
    holdProcess(child.process, true);
    child.process.kill('SIGKILL');
    await child.exited;
  }

  /** The child's process id while one runs (for tests and monitoring). */
  get childPid(): number | undefined {
    return this.#child?.process.pid;
  }

  #run(
    request: TranscriptionRequest,
    warnings: VoiceWarning[],
    signal: AbortSignal | undefined,
  ): TranscriptionRun {
    return async (onSegment) => {
      const config = this.#config;
      const { speech, durationSeconds } = await speechInputOf(request.audio, config, signal);
      const language = (request.language ?? config.language)?.split('-')[0]?.toLowerCase();
      throwIfAborted(signal, PROVIDER);
      if ((await this.#detector.detect(speech)).length === 0) {
        return resultOf([], { language, durationSeconds, warnings });
      }
      // Calls run one at a time: whisper.cpp's `full` holds the child until it is done.
      const turn = this.#queue.then(() => this.#call(speech, language, request.prompt, signal));
      this.#queue = turn.catch(() => {});
      const answer = await turn;
      const segments = answer.segments.flatMap((segment): TranscriptionSegment[] => {
        // whisper.cpp counts hundredths of a second, and ends the last window at 30 s: keep it inside the audio.
        const start = round(Math.min(segment.start / 100, durationSeconds));
        const end = round(Math.min(segment.end / 100, durationSeconds));
        const text = segment.text.trim();
        return end > start && text.length > 0 ? [{ start, end, text }] : [];
      });
      for (const segment of segments) onSegment(segment);
      return resultOf(segments, { language: answer.language ?? language, durationSeconds, warnings });
    };
  }

  /** Sends one recording to the warm child (starting one if needed) under the call's deadline and signal. */
  async #call(
    speech: MonoAudio,
    language: string | undefined,
    prompt: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Extract<ChildMessage, { type: 'transcribed' }>> {
    throwIfAborted(signal, PROVIDER);
    const child = this.#child ?? (await this.#start());
    const timeoutMs = this.#config.timeoutMs ?? 300_000;
    const loadTimeoutMs = this.#config.loadTimeoutMs ?? timeoutMs;
    const id = this.#nextId++;
    const outcome = await new Promise<ChildOutcome>((resolve) => {
      let settled = false;
      const settle = (value: ChildOutcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (child.call?.id === id) child.call = undefined;
        holdProcess(child.process, false);
        resolve(value);
      };
      const stop = (error: VoiceError) => {
        this.#kill(child);
        settle({ ok: false, error });
      };
      // The model load and the transcription each get their own time: a cold start does not eat the call's.
      const expire = (what: string, ms: number) => () =>
        stop(
          new VoiceError('timeout', `whisper.cpp did not ${what} within ${ms} ms; its process was killed`, {
            provider: PROVIDER,
            isRetryable: true,
          }),
        );
      let timer = setTimeout(expire('load the model', loadTimeoutMs), loadTimeoutMs);
      const onAbort = () =>
        stop(
          new VoiceError('aborted', 'the voice call was aborted; the whisper.cpp process was killed', {
            provider: PROVIDER,
          }),
        );
      signal?.addEventListener('abort', onAbort, { once: true });
      child.call = { id, settle };
      holdProcess(child.process, true);
      child.ready.then(
        async ({ multilingual }) => {
          if (settled) return;
          // Checked before each recording as well as every MEMORY_POLL_MS while one runs: a short one can
          // finish between two polls.
          const resident = await readResidentBytes(child.process.pid);
          if (settled) return;
          if (resident !== undefined && resident > (this.#config.maxMemoryMb ?? 4096) * 1024 * 1024) {
            child.killedFor = 'memory';
            this.#kill(child);
            return;
          }
          if (!multilingual && language && language !== 'en') {
            settle({
              ok: false,
              error: new VoiceError(
                'unsupported_language',
                `${this.modelId} is an English-only model, not ${language}`,
                {
                  provider: PROVIDER,
                },
              ),
            });
            return;
          }
          clearTimeout(timer);
          timer = setTimeout(expire('finish', timeoutMs), timeoutMs);
          const message: TranscribeMessage = {
            type: 'transcribe',
            id,
            samples: speech.samples,
            language: language ?? 'auto',
            prompt,
            threads: this.#config.threads ?? Math.min(4, availableParallelism()),
          };
          child.process.send(message);
        },
        (error: VoiceError) => settle({ ok: false, error }),
      );
    });
    if (!outcome.ok) throw outcome.error;
    return outcome.message;
  }

  /** Forks a child that loads the model; it becomes the warm child until it dies. */
  async #start(): Promise<WarmChild> {
    const { modelPath } = this.#config;
    try {
      await access(modelPath);
    } catch (error) {
      throw new EngineMissingError(
        `the whisper.cpp model ${modelPath}`,
        'download a ggml model, e.g. ggml-base.bin',
        {
          provider: PROVIDER,
          cause: error,
        },
      );
    }
    const subprocess = fork(CHILD_PATH, [modelPath], {
      execArgv: FROM_SOURCE ? ['--import', tsxLoader()] : [],
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    subprocess.stderr?.setEncoding('utf8');
    subprocess.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    let loaded = false;
    let markReady: (info: { multilingual: boolean }) => void = () => {};
    let failLoad: (error: VoiceError) => void = () => {};
    const ready = new Promise<{ multilingual: boolean }>((resolve, reject) => {
      markReady = resolve;
      failLoad = reject;
    });
    ready.catch(() => {});
    let announceExit: () => void = () => {};
    const exited = new Promise<void>((resolve) => {
      announceExit = resolve;
    });
    const child: WarmChild = { process: subprocess, ready, call: undefined, killedFor: undefined, exited };
    this.#child = child;
    holdProcess(subprocess, false);

    subprocess.on('message', (message: ChildMessage) => {
      if (message.type === 'ready') {
        loaded = true;
        markReady({ multilingual: message.multilingual });
      } else if (message.type === 'load-failed') {
        if (this.#child === child) this.#child = undefined;
        failLoad(loadError(modelPath, message.message));
      } else if (child.call?.id === message.id) {
        child.call.settle(
          message.type === 'transcribed'
            ? { ok: true, message }
            : {
                ok: false,
                error: new VoiceError('engine_failed', `whisper.cpp failed: ${message.message}`, {
                  provider: PROVIDER,
                }),
              },
        );
      }
    });
    const memoryLimit = (this.#config.maxMemoryMb ?? 4096) * 1024 * 1024;
    const memoryTimer = setInterval(() => {
      readResidentBytes(subprocess.pid).then((bytes) => {
        if (bytes !== undefined && bytes > memoryLimit && child.killedFor === undefined) {
          child.killedFor = 'memory';
          this.#kill(child);
        }
      });
    }, MEMORY_POLL_MS);
    memoryTimer.unref();
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      clearInterval(memoryTimer);
      if (this.#child === child) this.#child = undefined;
      const how = signal ? `killed by ${signal}` : `exited with ${code}`;
      const tail = lastLines(stderr);
      const reason =
        child.killedFor === 'memory'
          ? `killed: it used more than ${this.#config.maxMemoryMb ?? 4096} MB (maxMemoryMb)`
          : `${how}${tail ? `: ${tail}` : ''}`;
      if (!loaded) {
        const error = loadError(modelPath, `the process died (${reason})`);
        failLoad(error);
        child.call?.settle({ ok: false, error });
      } else {
        child.call?.settle({
          ok: false,
          error: new VoiceError(
            'engine_failed',
            `the whisper.cpp process died while transcribing with ${basename(modelPath)} (${reason})`,
            { provider: PROVIDER },
          ),
        });
      }
      announceExit();
    };
    subprocess.once('exit', onExit);
    subprocess.once('error', (error) => {
      failLoad(
        new VoiceError('engine_failed', `the whisper.cpp process could not start: ${error.message}`, {
          provider: PROVIDER,
          cause: error,
        }),
      );
    });
    return child;
  }

  #kill(child: WarmChild): void {
    if (this.#child === child) this.#child = undefined;
    child.process.kill('SIGKILL');
  }
}

/** A model that did not load: the package missing, or a file whisper.cpp refused or died on. */
function loadError(modelPath: string, detail: string): VoiceError {
  if (/Cannot find (package|module) '@napi-rs\/whisper/.test(detail) || /@napi-rs\/whisper-/.test(detail)) {
    return new EngineMissingError('@napi-rs/whisper', INSTALL, { provider: PROVIDER });
  }
  return new VoiceError('engine_failed', `whisper.cpp could not load the model ${modelPath}: ${detail}`, {
    provider: PROVIDER,
  });
}

/** An idle child must not keep the Node process alive; one with a call in flight must. */
function holdProcess(child: ChildProcess, hold: boolean): void {
  const stderr = child.stderr as Socket | null;
  if (hold) {
    child.ref();
    child.channel?.ref();
    stderr?.ref();
  } else {
    child.unref();
    child.channel?.unref();
    stderr?.unref();
  }
}

async function readResidentBytes(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined || process.platform !== 'linux') return undefined;
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kilobytes = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    return kilobytes === undefined ? undefined : Number(kilobytes) * 1024;
  } catch {
    return undefined;
  }
}

const lastLines = (text: string) =>
  text
    .trim()
    .split('\n')
    .filter(
      (line) =>
        line.trim().length > 0 && !/^\s+\d+: |^note: |^stack backtrace:|^thread '.*' panicked at /.test(line),
    )
    .slice(-3)
    .join(' | ');

const round = (seconds: number) => Math.round(seconds * 1000) / 1000;

/**
 * Creates the whisper.cpp transcriber; nothing starts until the first call.
 *
 * @example
 * const transcriber = createWhisperCppTranscriber({ modelPath: '/models/ggml-base.en.bin', timeoutMs: 120_000 });
 */
export function createWhisperCppTranscriber(config: WhisperCppTranscriberConfig): WhisperCppTranscriber {
  return new WhisperCppTranscriber(config);
}
