/*
 * Voice messages in the browser: recording from the microphone (MediaRecorder, Opus in WebM where the browser
 * has it, AAC in MP4 on Safari), and the pure parts the recorder, the player and "Read aloud" share: the
 * recording format, durations for people, waveform peaks, the input level, microphone errors in words, and
 * message text made fit to be spoken.
 */

import { t } from './i18n';

/** Recordings stop (and are sent) after this long: a voice message, not a podcast. */
export const MAX_RECORDING_SECONDS = 300;

/** Recording formats in order of preference: Opus is small and every transcriber reads it. */
const RECORDING_TYPES = [
  'audio/webm;codecs=opus',
  'audio/webm',
  'audio/mp4;codecs=mp4a.40.2',
  'audio/mp4',
  'audio/ogg;codecs=opus',
] as const;

/** The first format the browser records (`MediaRecorder.isTypeSupported`); '' lets it choose. */
export function pickRecordingType(isTypeSupported: (type: string) => boolean): string {
  return RECORDING_TYPES.find((type) => isTypeSupported(type)) ?? '';
}

/** The file extension of a recording's media type (`audio/mp4` is saved as `.m4a`). */
export function recordingExtension(mimeType: string): string {
  const essence = mimeType.split(';')[0]!.trim().toLowerCase();
  if (essence === 'audio/mp4' || essence === 'audio/x-m4a' || essence === 'audio/aac') return 'm4a';
  if (essence === 'audio/ogg') return 'ogg';
  if (essence === 'audio/wav' || essence === 'audio/wave') return 'wav';
  return 'webm';
}

/** A recording's file name, from when it was made: `voice-message-2026-12-06-1748.webm`. */
export function recordingFileName(mimeType: string, at: Date): string {
  const two = (value: number) => String(value).padStart(2, '0');
  const stamp = `${at.getFullYear()}-${two(at.getMonth() + 1)}-${two(at.getDate())}-${two(at.getHours())}${two(at.getMinutes())}${two(at.getSeconds())}`;
  return `voice-message-${stamp}.${recordingExtension(mimeType)}`;
}

/** A duration as a clock: `0:07`, `12:30`, `1:02:03`; nothing known (NaN, Infinity) is `0:00`. */
export function formatDuration(seconds: number): string {
  const whole = Number.isFinite(seconds) && seconds > 0 ? Math.floor(seconds) : 0;
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const rest = String(whole % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${rest}` : `${minutes}:${rest}`;
}

/** A duration in words for screen readers: `1 minute 5 seconds`. */
export function describeDuration(seconds: number): string {
  const whole = Number.isFinite(seconds) && seconds > 0 ? Math.round(seconds) : 0;
  const minutes = Math.floor(whole / 60);
  const rest = whole % 60;
  const inSeconds = t('voice.seconds', { count: rest });
  if (minutes === 0) return inSeconds;
  const inMinutes = t('voice.minutes', { count: minutes });
  return rest === 0 ? inMinutes : t('voice.minutesSeconds', { minutes: inMinutes, seconds: inSeconds });
}

/**
 * The loudness of `bars` equal slices of a recording, 0 to 1 relative to its loudest slice (the peak of
 * every channel), for the waveform. Silence gives zeros; fewer samples than bars give fewer bars.
 */
export function computePeaks(channels: readonly ArrayLike<number>[], bars: number): number[] {
  const length = channels[0]?.length ?? 0;
  const count = Math.max(0, Math.min(bars, length));
  if (count === 0) return [];
  const peaks = new Array<number>(count).fill(0);
  for (let bar = 0; bar < count; bar++) {
    const start = Math.floor((bar * length) / count);
    const end = Math.floor(((bar + 1) * length) / count);
    let peak = 0;
    for (const channel of channels) {
      for (let index = start; index < end; index++) {
        const value = Math.abs(channel[index] ?? 0);
        if (value > peak) peak = value;
      }
    }
    peaks[bar] = peak;
  }
  const loudest = Math.max(...peaks);
  return loudest > 0 ? peaks.map((peak) => Math.round((peak / loudest) * 1000) / 1000) : peaks;
}

/** The input level of samples in -1…1 as 0…1 (RMS, scaled so speech reaches the upper half). */
export function levelOf(samples: ArrayLike<number>): number {
  if (samples.length === 0) return 0;
  let sum = 0;
  for (let index = 0; index < samples.length; index++) sum += (samples[index] ?? 0) ** 2;
  const rms = Math.sqrt(sum / samples.length);
  return Math.min(1, rms * 4);
}

/** Why recording could not start, in words a person can act on. */
export function describeMicrophoneError(error: unknown): string {
  const name = (error as { name?: unknown } | null)?.name;
  switch (name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
    case 'SecurityError':
      return t('voice.micNotAllowed');
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return t('voice.micNotFound');
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return t('voice.micBusy');
    case 'InsecureContextError':
      return t('voice.micInsecure');
    case 'NotSupportedError':
      return t('voice.micUnsupported');
    default:
      return t('voice.micFailed', { error: error instanceof Error ? error.message : String(error) });
  }
}

/**
 * Message text (markdown) as it should be spoken: no code, link targets, emphasis marks, heading or list
 * markers; at most `maxLength` characters, cut at a word.
 */
export function speakableText(markdown: string, maxLength = 4_000): string {
  const text = markdown
    .replace(/```[\s\S]*?```/g, ' ')
    .replace(/`([^`]*)`/g, '$1')
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/https?:\/\/\S+/g, ' ')
    .replace(/^\s{0,3}(?:#{1,6}|>|[-*+]|\d+[.)])\s+/gm, '')
    .replace(/(\*\*|__|~~|\*|_)(?=\S)([\s\S]*?\S)\1/g, '$2')
    .replace(/\s+/g, ' ')
    .trim();
  if (text.length <= maxLength) return text;
  const cut = text.slice(0, maxLength);
  const space = cut.lastIndexOf(' ');
  return space > maxLength / 2 ? cut.slice(0, space) : cut;
}

/** A recording in progress: the microphone's stream, the MediaRecorder and a level meter on the stream. */
export class VoiceRecording {
  readonly mimeType: string;
  readonly startedAt = performance.now();
  readonly #stream: MediaStream;
  readonly #recorder: MediaRecorder;
  readonly #chunks: Blob[] = [];
  readonly #audio: AudioContext | undefined;
  readonly #analyser: AnalyserNode | undefined;
  readonly #samples: Float32Array<ArrayBuffer> | undefined;
  readonly #stopped: Promise<Blob>;

  private constructor(stream: MediaStream, mimeType: string) {
    this.#stream = stream;
    this.#recorder = new MediaRecorder(stream, mimeType ? { mimeType } : {});
    this.mimeType = this.#recorder.mimeType || mimeType || 'audio/webm';
    this.#recorder.addEventListener('dataavailable', (event) => {
      if (event.data.size > 0) this.#chunks.push(event.data);
    });
    this.#stopped = new Promise((resolve, reject) => {
      this.#recorder.addEventListener('stop', () => resolve(new Blob(this.#chunks, { type: this.mimeType })));
      this.#recorder.addEventListener('error', (event) =>
        reject((event as ErrorEvent).error ?? new Error(t('voice.recorderStopped'))),
      );
    });
    try {
      this.#audio = new AudioContext();
      this.#analyser = this.#audio.createAnalyser();
      this.#analyser.fftSize = 1024;
      this.#audio.createMediaStreamSource(stream).connect(this.#analyser);
      this.#samples = new Float32Array(this.#analyser.fftSize);
    } catch {
      // No level meter; the recording itself does not need one.
    }
    this.#recorder.start(250);
  }

  /** Asks for the microphone and starts recording; rejects with a message from {@link describeMicrophoneError}. */
  static async start(): Promise<VoiceRecording> {
    const devices = globalThis.navigator?.mediaDevices;
    if (!devices?.getUserMedia) {
      const name = globalThis.isSecureContext === false ? 'InsecureContextError' : 'NotSupportedError';
      throw new Error(describeMicrophoneError({ name }));
    }
    if (typeof MediaRecorder === 'undefined') {
      throw new Error(describeMicrophoneError({ name: 'NotSupportedError' }));
    }
    let stream: MediaStream;
    try {
      stream = await devices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
      });
    } catch (error) {
      throw new Error(describeMicrophoneError(error));
    }
    try {
      const type = pickRecordingType((each) => MediaRecorder.isTypeSupported(each));
      return new VoiceRecording(stream, type);
    } catch (error) {
      for (const track of stream.getTracks()) track.stop();
      throw new Error(describeMicrophoneError(error));
    }
  }

  /** Seconds since the recording started. */
  elapsed(): number {
    return (performance.now() - this.startedAt) / 1000;
  }

  /** The input level now, 0…1. */
  level(): number {
    if (!this.#analyser || !this.#samples) return 0;
    this.#analyser.getFloatTimeDomainData(this.#samples);
    return levelOf(this.#samples);
  }

  /** Stops and answers the recording. */
  async stop(): Promise<Blob> {
    if (this.#recorder.state !== 'inactive') this.#recorder.stop();
    try {
      return await this.#stopped;
    } finally {
      this.#release();
    }
  }

  /** Stops and throws the recording away. */
  cancel(): void {
    if (this.#recorder.state !== 'inactive') this.#recorder.stop();
    this.#stopped.catch(() => undefined);
    this.#release();
  }

  #release(): void {
    for (const track of this.#stream.getTracks()) track.stop();
    void this.#audio?.close().catch(() => undefined);
  }
}
