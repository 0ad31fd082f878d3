export { durationOf, type MonoAudio, type PcmAudio } from './audio/audio-buffer.js';
export { type AudioChunk, type ChunkOptions, chunkOnSilences, placeSegments } from './audio/chunking.js';
export { checkAudio, type DecodeAudioOptions, decodeAudio, sniffContainer } from './audio/decode.js';
export { type EncodeOpusOptions, encodeOpus } from './audio/opus.js';
export {
  normalizeLoudness,
  normalizePeak,
  peakOf,
  resample,
  rmsOf,
  toMono,
  toSpeechAudio,
  trimSilence,
} from './audio/processing.js';
export {
  createEnergyVoiceActivityDetector,
  createSileroVoiceActivityDetector,
  type EnergyVoiceActivityOptions,
  type SileroVoiceActivityOptions,
  type SpeechRegion,
  type VoiceActivityDetector,
  type VoiceActivityOptions,
} from './audio/vad.js';
export { decodeWav, encodeWav, isWav } from './audio/wav.js';
export {
  createEspeakNgSynthesizer,
  EspeakNgSynthesizer,
  type EspeakNgSynthesizerConfig,
} from './espeak-ng/espeak-ng-synthesizer.js';
export {
  createFliteSynthesizer,
  FliteSynthesizer,
  type FliteSynthesizerConfig,
} from './flite/flite-synthesizer.js';
export {
  createMespeakSynthesizer,
  MespeakSynthesizer,
  type MespeakSynthesizerConfig,
} from './mespeak/mespeak-synthesizer.js';
export {
  createOpenAICompatibleSynthesizer,
  OpenAICompatibleSynthesizer,
  type OpenAICompatibleSynthesizerConfig,
} from './openai-compatible/openai-compatible-synthesizer.js';
export {
  createOpenAICompatibleTranscriber,
  OpenAICompatibleTranscriber,
  type OpenAICompatibleTranscriberConfig,
} from './openai-compatible/openai-compatible-transcriber.js';
export type { OpenAICompatibleVoiceConfig } from './openai-compatible/openai-voice-errors.js';
export {
  createPocketsphinxTranscriber,
  PocketsphinxTranscriber,
  type PocketsphinxTranscriberConfig,
  parsePocketsphinxOutput,
} from './pocketsphinx/pocketsphinx-transcriber.js';
export {
  createWhisperCppTranscriber,
  WhisperCppTranscriber,
  type WhisperCppTranscriberConfig,
} from './whisper-cpp/whisper-cpp-transcriber.js';
