import {
  type SpeechRequest,
  type SynthesizerCapabilities,
  type SynthesizerVoice,
  VoiceError,
  type VoiceWarning,
} from '@kaiwa/core';

/**
 * Validates a speech request and picks its voice: the one named, else the first whose language matches
 * (`de` matches `de-DE`), else the default. Returns the voice and the warnings for settings it cannot honour.
 *
 * @throws VoiceError `invalid_input` (empty or too long text, an unknown voice), `unsupported_language`.
 */
export function checkSpeechRequest(
  request: SpeechRequest,
  capabilities: SynthesizerCapabilities,
  provider: string,
  defaultVoice: string,
): { voice: SynthesizerVoice; warnings: VoiceWarning[] } {
  const invalid = (message: string) => new VoiceError('invalid_input', message, { provider });
  if (typeof request !== 'object' || request === null || typeof request.text !== 'string') {
    throw invalid('request.text must be a string');
  }
  if (request.text.trim().length === 0) throw invalid('request.text is empty');
  if (request.text.length > capabilities.maxTextLength) {
    throw invalid(
      `request.text has ${request.text.length} characters, ${provider} takes at most ${capabilities.maxTextLength}`,
    );
  }
  if (request.speed !== undefined && !(request.speed > 0 && request.speed <= 4)) {
    throw invalid('request.speed must be above 0 and at most 4');
  }
  const { voices } = capabilities;
  let voice: SynthesizerVoice | undefined;
  if (request.voice !== undefined) {
    voice = voices.find((candidate) => candidate.id === request.voice);
    if (!voice)
      throw invalid(
        `${provider} has no voice ${request.voice}; it has ${voices.map((v) => v.id).join(', ')}`,
      );
  } else if (request.language) {
    const wanted = request.language.toLowerCase();
    const primary = wanted.split('-')[0];
    voice =
      voices.find((candidate) => candidate.language.toLowerCase() === wanted) ??
      voices.find((candidate) => candidate.language.toLowerCase().split('-')[0] === primary) ??
      voices.find((candidate) => candidate.language === 'mul');
    if (!voice) {
      throw new VoiceError('unsupported_language', `${provider} has no ${request.language} voice`, {
        provider,
      });
    }
  } else {
    voice = voices.find((candidate) => candidate.id === defaultVoice) ?? voices[0];
  }
  if (!voice) throw invalid(`${provider} has no voices`);
  const warnings: VoiceWarning[] = [];
  if (request.speed !== undefined && request.speed !== 1 && !capabilities.speed) {
    warnings.push({
      type: 'unsupported-setting',
      setting: 'speed',
      details: `${provider} speaks at one rate`,
    });
  }
  if (request.format !== undefined && !capabilities.formats.includes(request.format)) {
    warnings.push({
      type: 'unsupported-setting',
      setting: 'format',
      details: `${provider} returns ${capabilities.formats.join(', ')}, not ${request.format}`,
    });
  }
  return { voice, warnings };
}

/**
 * Reads a WAV header's sample rate and length, and writes the real sizes into the RIFF and data chunk headers
 * of a streamed WAV (espeak-ng writes 0x7fffffff), so browsers show the right duration.
 */
export function finishWav(bytes: Uint8Array): {
  audio: Uint8Array;
  sampleRate: number;
  durationSeconds: number;
} {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (offset: number) => String.fromCharCode(...bytes.subarray(offset, offset + 4));
  let offset = 12;
  let sampleRate = 0;
  let byteRate = 0;
  let durationSeconds = 0;
  while (offset + 8 <= bytes.length) {
    const id = tag(offset);
    let size = view.getUint32(offset + 4, true);
    if (id === 'fmt ') {
      sampleRate = view.getUint32(offset + 12, true);
      byteRate = view.getUint32(offset + 16, true);
    } else if (id === 'data') {
      size = Math.min(size, bytes.length - offset - 8);
      view.setUint32(offset + 4, size, true);
      view.setUint32(4, bytes.length - 8, true);
      durationSeconds = byteRate > 0 ? size / byteRate : 0;
      break;
    }
    offset += 8 + size + (size % 2);
  }
  return { audio: bytes, sampleRate, durationSeconds };
}
