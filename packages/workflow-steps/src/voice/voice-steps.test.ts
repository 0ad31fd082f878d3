import {
  type SpeechRequest,
  type Synthesizer,
  type Transcriber,
  type TranscriptionRequest,
  UnsupportedAudioError,
  VoiceError,
} from '@kaiwa/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRetryableStepError, MissingServiceError } from '../errors.js';
import { openStepHarness, runStep, type StepHarness } from '../test-support/step-harness.js';
import { synthesizeStep } from './synthesize-step.js';
import { transcribeStep } from './transcribe-step.js';

/*
 * The steps' wiring: blob in, port called with the step's input, result out (and into the blob store). The
 * backends themselves run for real in packages/voice and in the server's voice test.
 */

const heard: TranscriptionRequest[] = [];
const transcriber: Transcriber = {
  specificationVersion: 'v1',
  provider: 'scripted',
  modelId: 'scripted-1',
  capabilities: { languages: ['en'], timestamps: true, streaming: false, prompt: false, quality: 'lower' },
  async transcribe(request) {
    heard.push(request);
    if (Buffer.from(request.audio).toString('latin1').startsWith('PK')) {
      throw new UnsupportedAudioError('a zip archive, not audio', { provider: 'scripted' });
    }
    return {
      text: 'the quick brown fox',
      segments: [{ start: 0.2, end: 1.5, text: 'the quick brown fox' }],
      language: request.language ?? 'en',
      durationSeconds: 1.6,
      confidence: 0.7,
      warnings: [],
    };
  },
  stream: () => new ReadableStream(),
};

const spoken: SpeechRequest[] = [];
const synthesizer: Synthesizer = {
  specificationVersion: 'v1',
  provider: 'scripted',
  modelId: 'scripted-tts',
  capabilities: {
    voices: [{ id: 'en-us', language: 'en' }],
    formats: ['wav'],
    speed: false,
    maxTextLength: 100,
  },
  async synthesize(request) {
    spoken.push(request);
    if (request.text.length > 100)
      throw new VoiceError('invalid_input', 'the text is longer than 100 characters');
    return {
      audio: new Uint8Array(Buffer.from('RIFF....WAVEfmt ')),
      format: 'wav',
      mediaType: 'audio/wav',
      sampleRate: 22_050,
      durationSeconds: 0.5,
      voice: request.voice ?? 'en-us',
      warnings: [],
    };
  },
};

let harness: StepHarness;
beforeAll(async () => {
  harness = await openStepHarness();
});
afterAll(async () => {
  await harness?.close();
});

describe('transcribe step', () => {
  it('transcribes a recording from the blob store with the language asked for', async () => {
    await harness.blobs.put('uploads/voice/note.wav', Buffer.from('RIFF-audio'));
    const context = harness.context({ services: { ...harness.services, transcriber } });
    const output = await runStep(
      transcribeStep,
      { key: 'uploads/voice/note.wav', mimeType: 'audio/wav', language: 'en' },
      context,
    );
    expect(output).toEqual({
      text: 'the quick brown fox',
      language: 'en',
      durationSeconds: 1.6,
      segments: [{ start: 0.2, end: 1.5, text: 'the quick brown fox' }],
      provider: 'scripted',
    });
    expect(heard.at(-1)).toMatchObject({ mediaType: 'audio/wav', language: 'en' });
  });

  it('fails at once on bad audio and names a missing transcriber', async () => {
    await harness.blobs.put('uploads/voice/fake.ogg', Buffer.from('PK\x03\x04zip'));
    const context = harness.context({ services: { ...harness.services, transcriber } });
    const error = await runStep(transcribeStep, { key: 'uploads/voice/fake.ogg' }, context).catch((e) => e);
    expect(VoiceError.isInstance(error) && error.code).toBe('unsupported_audio');
    expect(isRetryableStepError(error)).toBe(false);
    expect(isRetryableStepError(new VoiceError('backend_unreachable', 'down', { isRetryable: true }))).toBe(
      true,
    );
    await expect(
      runStep(transcribeStep, { key: 'uploads/voice/fake.ogg' }, harness.context()),
    ).rejects.toThrow(MissingServiceError);
    await expect(runStep(transcribeStep, { key: 'x', language: 'not a tag' }, context)).rejects.toThrow(
      /language/,
    );
  });
});

describe('synthesize step', () => {
  it('writes the speech to the blob store under the run and step', async () => {
    const context = harness.context({ stepId: 'spoken', services: { ...harness.services, synthesizer } });
    const output = await runStep(synthesizeStep, { text: 'Guten Tag', language: 'de' }, context);
    expect(output).toEqual({
      key: `workflows/${context.runId}/spoken.wav`,
      mimeType: 'audio/wav',
      size: 16,
      voice: 'en-us',
      durationSeconds: 0.5,
    });
    expect(spoken.at(-1)).toEqual({ text: 'Guten Tag', language: 'de' });
    expect((await harness.blobs.stat(output.key))?.size).toBe(16);
  });

  it("passes the backend's refusal on and names a missing synthesizer", async () => {
    const context = harness.context({ services: { ...harness.services, synthesizer } });
    const error = await runStep(synthesizeStep, { text: 'x'.repeat(101) }, context).catch((e) => e);
    expect(VoiceError.isInstance(error) && error.code).toBe('invalid_input');
    await expect(runStep(synthesizeStep, { text: 'hello' }, harness.context())).rejects.toThrow(
      /needs a synthesizer/,
    );
  });
});
