/**
 * Decoded audio: one `Float32Array` of samples in −1…1 per channel, all the same length.
 *
 * @example
 * const { sampleRate, channels } = await decodeAudio(bytes);
 */
export interface PcmAudio {
  /** @example 48000 */
  sampleRate: number;
  channels: Float32Array[];
}

/**
 * One channel of audio.
 *
 * @example
 * const speech: MonoAudio = toSpeechAudio(await decodeAudio(bytes));
 */
export interface MonoAudio {
  /** @example 16000 */
  sampleRate: number;
  samples: Float32Array;
}

/** Length of the audio in seconds. @example durationOf(audio) // 2.77 */
export function durationOf(audio: MonoAudio | PcmAudio): number {
  const length = 'samples' in audio ? audio.samples.length : (audio.channels[0]?.length ?? 0);
  return audio.sampleRate > 0 ? length / audio.sampleRate : 0;
}
