import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { synthesizerContract, transcriberContract } from '@kaiwa/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWav } from '../audio/wav.js';
import { createMespeakSynthesizer } from '../mespeak/mespeak-synthesizer.js';
import { createOpenAICompatibleSynthesizer } from './openai-compatible-synthesizer.js';
import { createOpenAICompatibleTranscriber } from './openai-compatible-transcriber.js';

const SPOKEN = 'the birch canoe slid on the smooth planks';

interface Received {
  path: string;
  contentType: string;
  fields: Record<string, string>;
  file?: { name: string; type: string; sha256: string };
  json?: Record<string, unknown>;
}

/**
 * A server speaking OpenAI's audio API on 127.0.0.1: `/v1/audio/transcriptions` parses the multipart upload the
 * client sends and answers `verbose_json` (or plain `json`) with a fixed transcript; `/v1/audio/speech`
 * synthesizes the input with mespeak, honouring `speed`. Model `busy` answers 429, `broken` 500, `picky` 400.
 */
async function startServer(): Promise<{ baseURL: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const mespeak = createMespeakSynthesizer();
  const body = async (request: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  };
  const server = createServer(async (request, response) => {
    const bytes = await body(request);
    const contentType = request.headers['content-type'] ?? '';
    const entry: Received = { path: request.url ?? '', contentType, fields: {} };
    received.push(entry);
    const answer = (status: number, value: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(value));
    };
    const failures: Record<string, [number, string]> = {
      busy: [429, 'slow down'],
      broken: [500, 'server fell over'],
      picky: [400, 'Invalid file format: could not decode audio'],
    };
    const fail = (model: string) => {
      const failure = failures[model];
      if (failure) answer(failure[0], { error: { message: failure[1] } });
      return failure !== undefined;
    };
    if (request.url === '/v1/audio/transcriptions') {
      // The multipart body, parsed by the platform's own parser.
      const form = await new Request('http://local/', {
        method: 'POST',
        headers: { 'content-type': contentType },
        body: bytes,
      }).formData();
      for (const [key, value] of form.entries()) {
        if (typeof value === 'string') entry.fields[key] = value;
        else {
          const file = value as File;
          const sha256 = createHash('sha256')
            .update(Buffer.from(await file.arrayBuffer()))
            .digest('hex');
          entry.file = { name: file.name, type: file.type, sha256 };
        }
      }
      if (fail(entry.fields.model ?? '')) return;
      if (entry.fields.response_format !== 'verbose_json') return answer(200, { text: SPOKEN });
      return answer(200, {
        task: 'transcribe',
        language: entry.fields.language ?? 'english',
        duration: 3.2,
        text: ` ${SPOKEN}`,
        segments: [
          { id: 0, start: 0.4, end: 1.6, text: ' the birch canoe slid', avg_logprob: -0.2 },
          { id: 1, start: 1.6, end: 2.9, text: ' on the smooth planks', avg_logprob: -0.4 },
        ],
      });
    }
    if (request.url === '/v1/audio/speech') {
      const json = JSON.parse(bytes.toString('utf8')) as {
        model: string;
        input: string;
        voice: string;
        speed?: number;
        response_format?: string;
      };
      entry.json = json;
      if (fail(json.model)) return;
      const speech = await mespeak.synthesize({
        text: json.input,
        ...(json.speed ? { speed: json.speed } : {}),
      });
      response.writeHead(200, { 'content-type': 'audio/wav' });
      return response.end(Buffer.from(speech.audio));
    }
    answer(404, { error: { message: `no route ${request.url}` } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, received, server };
}

let server: Awaited<ReturnType<typeof startServer>> | undefined;
const baseURL = () => server?.baseURL ?? 'http://127.0.0.1:9/v1';
const setup = async () => {
  server ??= await startServer();
  return undefined;
};
afterAll(async () => {
  await new Promise((resolve) => server?.server.close(resolve));
});

const wav = encodeWav({
  sampleRate: 16_000,
  samples: new Float32Array(16_000).map((_, index) => Math.sin(index / 5) * 0.3),
});
const failing = (model: string) => () =>
  createOpenAICompatibleTranscriber({ baseURL: baseURL(), model, maxRetries: 0 });

transcriberContract({
  name: 'openai-compatible (local HTTP server)',
  setup,
  create: () => createOpenAICompatibleTranscriber({ baseURL: baseURL(), model: 'whisper-1', maxRetries: 0 }),
  sample: () => ({ audio: wav, text: SPOKEN, language: 'en', maxWordErrorRate: 0 }),
  failures: [
    { name: 'a rate-limited server (429)', create: failing('busy'), code: 'rate_limited' },
    { name: 'a failing server (500)', create: failing('broken'), code: 'backend_error' },
    {
      name: 'a server that cannot decode the audio (400)',
      create: failing('picky'),
      code: 'unsupported_audio',
    },
    {
      name: 'an unreachable server',
      create: () =>
        createOpenAICompatibleTranscriber({
          baseURL: 'http://127.0.0.1:9/v1',
          model: 'whisper-1',
          maxRetries: 0,
        }),
      code: 'backend_unreachable',
    },
  ],
});

synthesizerContract({
  name: 'openai-compatible (local HTTP server, mespeak behind it)',
  setup,
  create: () => createOpenAICompatibleSynthesizer({ baseURL: baseURL(), model: 'tts-1', maxRetries: 0 }),
  failures: [
    {
      name: 'a rate-limited server (429)',
      create: () => createOpenAICompatibleSynthesizer({ baseURL: baseURL(), model: 'busy', maxRetries: 0 }),
      code: 'rate_limited',
    },
    {
      name: 'an unreachable server',
      create: () =>
        createOpenAICompatibleSynthesizer({
          baseURL: 'http://127.0.0.1:9/v1',
          model: 'tts-1',
          maxRetries: 0,
        }),
      code: 'backend_unreachable',
    },
  ],
});

describe('what the OpenAI-compatible backends send', () => {
  beforeAll(setup);

  it('uploads the audio unchanged as multipart with model, language, prompt and verbose_json', async () => {
    const transcriber = createOpenAICompatibleTranscriber({
      baseURL: baseURL(),
      model: 'whisper-large-v3',
      maxRetries: 0,
    });
    const before = server?.received.length ?? 0;
    const result = await transcriber.transcribe({ audio: wav, language: 'ja-JP', prompt: 'Kaiwa' });
    const request = server?.received[before];
    expect(request?.path).toBe('/v1/audio/transcriptions');
    expect(request?.contentType).toMatch(/^multipart\/form-data; boundary=/);
    expect(request?.fields).toMatchObject({
      model: 'whisper-large-v3',
      language: 'ja',
      prompt: 'Kaiwa',
      response_format: 'verbose_json',
      'timestamp_granularities[]': 'segment',
    });
    expect(request?.file).toEqual({
      name: 'audio.wav',
      type: 'audio/wav',
      sha256: createHash('sha256').update(wav).digest('hex'),
    });
    expect(result).toMatchObject({ language: 'ja', durationSeconds: 3.2, text: SPOKEN });
    expect(result.segments[0]).toEqual({
      start: 0.4,
      end: 1.6,
      text: 'the birch canoe slid',
      confidence: 0.819,
    });
  });

  it('reads an English language name as its code', async () => {
    const transcriber = createOpenAICompatibleTranscriber({
      baseURL: baseURL(),
      model: 'whisper-1',
      maxRetries: 0,
    });
    expect((await transcriber.transcribe({ audio: wav })).language).toBe('en');
  });

  it('sends nothing to the server for audio that is not audio', async () => {
    const transcriber = createOpenAICompatibleTranscriber({
      baseURL: baseURL(),
      model: 'whisper-1',
      maxRetries: 0,
    });
    const before = server?.received.length ?? 0;
    const zip = Uint8Array.from([0x50, 0x4b, 0x03, 0x04, 1, 2, 3]);
    await expect(transcriber.transcribe({ audio: zip })).rejects.toMatchObject({ code: 'unsupported_audio' });
    expect(server?.received.length).toBe(before);
  });

  it('asks for speech as JSON with model, voice, input, format and speed', async () => {
    const synthesizer = createOpenAICompatibleSynthesizer({
      baseURL: baseURL(),
      model: 'kokoro',
      voices: [
        { id: 'af_heart', language: 'en-US' },
        { id: 'jf_alpha', language: 'ja' },
      ],
      maxRetries: 0,
    });
    const before = server?.received.length ?? 0;
    const result = await synthesizer.synthesize({ text: 'Hello there.', language: 'ja', speed: 1.5 });
    expect(server?.received[before]?.json).toEqual({
      model: 'kokoro',
      voice: 'jf_alpha',
      input: 'Hello there.',
      response_format: 'wav',
      speed: 1.5,
    });
    expect(result).toMatchObject({
      format: 'wav',
      mediaType: 'audio/wav',
      sampleRate: 22_050,
      voice: 'jf_alpha',
    });
  });
});
