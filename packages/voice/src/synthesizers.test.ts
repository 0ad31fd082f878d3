import { synthesizerContract } from '@kaiwa/core/testing';
import { describe, expect, it } from 'vitest';
import { createEspeakNgSynthesizer } from './espeak-ng/espeak-ng-synthesizer.js';
import { createFliteSynthesizer } from './flite/flite-synthesizer.js';
import { createMespeakSynthesizer } from './mespeak/mespeak-synthesizer.js';
import { skipWithout } from './test-support/voice-engines.js';

const mespeak = createMespeakSynthesizer();
synthesizerContract({ name: 'mespeak (pure JS)', create: () => mespeak, languages: ['en', 'de', 'fr'] });

const espeakSkip = skipWithout('espeak-ng');
synthesizerContract({
  name: 'espeak-ng',
  ...(espeakSkip ? { skip: espeakSkip } : {}),
  create: () => createEspeakNgSynthesizer(),
  languages: ['en', 'ja', 'de'],
  failures: [
    {
      name: 'espeak-ng not installed',
      create: () => createEspeakNgSynthesizer({ programPath: '/nonexistent/espeak-ng' }),
      code: 'engine_missing',
    },
  ],
});

const fliteSkip = skipWithout('flite');
synthesizerContract({
  name: 'flite',
  ...(fliteSkip ? { skip: fliteSkip } : {}),
  create: () => createFliteSynthesizer(),
  languages: ['en'],
  failures: [
    {
      name: 'flite not installed',
      create: () => createFliteSynthesizer({ programPath: '/nonexistent/flite' }),
      code: 'engine_missing',
    },
  ],
});

describe('synthesizer specifics', () => {
  it('mespeak has no Japanese voice and says so with unsupported_language', async () => {
    await expect(mespeak.synthesize({ text: 'こんにちは', language: 'ja' })).rejects.toMatchObject({
      code: 'unsupported_language',
    });
  });

  it('mespeak speaks from a second synthesizer in the same process, in a voice the first loaded and a new one', async () => {
    await mespeak.synthesize({ text: 'first', voice: 'en-us' });
    const second = createMespeakSynthesizer();
    for (const voice of ['en-us', 'fr']) {
      const { audio } = await second.synthesize({ text: 'encore une fois', voice });
      expect(audio.length).toBeGreaterThan(44);
    }
  });

  it('mespeak writes 22,050 Hz WAV with sizes that match the file', async () => {
    const { audio, sampleRate, durationSeconds } = await mespeak.synthesize({
      text: 'Guten Tag',
      voice: 'de',
    });
    const view = new DataView(audio.buffer, audio.byteOffset, audio.byteLength);
    expect(sampleRate).toBe(22_050);
    expect(view.getUint32(4, true)).toBe(audio.length - 8);
    expect(durationSeconds).toBeGreaterThan(0.3);
  });

  it.skipIf(espeakSkip)(
    `espeak-ng speaks Japanese and fixes its streamed WAV header${espeakSkip ? ` (skipped: ${espeakSkip})` : ''}`,
    async () => {
      const result = await createEspeakNgSynthesizer().synthesize({
        text: '会議は三時からです。',
        language: 'ja-JP',
      });
      expect(result.voice).toBe('ja');
      const view = new DataView(result.audio.buffer, result.audio.byteOffset, result.audio.byteLength);
      expect(view.getUint32(4, true)).toBe(result.audio.length - 8);
      expect(view.getUint32(40, true)).toBe(result.audio.length - 44);
      expect(result.durationSeconds).toBeGreaterThan(0.5);
    },
  );

  it.skipIf(espeakSkip)(
    `espeak-ng takes text starting with a dash as text, not as an option${espeakSkip ? ` (skipped: ${espeakSkip})` : ''}`,
    async () => {
      const result = await createEspeakNgSynthesizer().synthesize({ text: '--help me' });
      expect(result.durationSeconds).toBeGreaterThan(0.3);
    },
  );
});
