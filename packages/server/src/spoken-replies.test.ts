import { execFileSync } from 'node:child_process';
import { type Message, type MessageSpeech, speechOf, transcriptOf } from '@kaiwa/core';
import { createEspeakNgSynthesizer } from '@kaiwa/voice';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type TestServer as ModelServer,
  startTestServer as startModelServer,
} from '../../llm/src/test-support/start-test-server.js';
import { fliteWav, skipWithout } from '../../voice/src/test-support/voice-engines.js';
import { loadConfig } from './config.js';
import { MAX_SPOKEN_REPLY_CHARS, speakableReply } from './spoken-replies.js';
import { multipartBody, startTestServer, type TestServer } from './test-support.js';

/*
 * The assistant answering voice messages, on real engines: flite speaks the question, the server stores the
 * upload, pocketsphinx transcribes it, the assistant (against @kaiwa/llm's OpenAI-compatible test server
 * process) answers the transcript in text, and in a room with `speakReplies` mespeak speaks the answer, stored
 * as Opus through ffmpeg and attached to it. Skipped with one line when a program is missing, unless
 * KAIWA_TEST_VOICE=1 (then a missing program fails), as the other voice tests.
 */

const skip = skipWithout('flite', 'pocketsphinx_continuous', 'ffmpeg');
if (skip) console.info(`[spoken replies] skipped: ${skip}`);

/** What the test model server answers every chat request with. */
const ANSWER = 'Hello from Kaiwa. The end STOP after stop.';

/** Seconds of audio in the file, decoded by ffmpeg to 16 kHz mono samples (it fails on what is not audio). */
function durationOf(bytes: Buffer): number {
  const samples = execFileSync(
    'ffmpeg',
    ['-v', 'error', '-i', 'pipe:0', '-f', 's16le', '-ac', '1', '-ar', '16000', 'pipe:1'],
    { input: bytes, maxBuffer: 64 * 1024 * 1024 },
  );
  return samples.length / 2 / 16_000;
}

async function until<T>(check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

let modelServer: ModelServer;
beforeAll(async () => {
  modelServer = await startModelServer();
});
afterAll(async () => {
  await modelServer?.stop();
});

const assistantEnv = () => ({
  KAIWA_LLM_BASE_URL: modelServer.baseURL,
  KAIWA_LLM_MODEL: 'echo',
  KAIWA_ASSISTANT_USERNAME: 'helper',
});

/** Test helpers around one server: a signed-in member's room, uploads, sends and the bot's answers. */
function roomHelpers(test: () => TestServer, token: () => string) {
  return {
    async room(name: string, voice?: { speakReplies?: boolean; language?: string }): Promise<string> {
      const created = await test().call('POST', '/api/v1/rooms', {
        token: token(),
        body: { kind: 'channel', name },
      });
      const roomId = created.json().id as string;
      if (voice) {
        const set = await test().call('PUT', `/api/v1/rooms/${roomId}/voice`, {
          token: token(),
          body: voice,
        });
        expect(set.statusCode, set.body).toBe(200);
      }
      return roomId;
    },
    async sendVoice(roomId: string, caption: string, audio: Uint8Array): Promise<Message> {
      const { payload, headers } = multipartBody(
        { roomId },
        { name: 'question.wav', content: Buffer.from(audio), type: 'audio/wav' },
      );
      const file = await test().call('POST', '/api/v1/files', { token: token(), body: payload, headers });
      expect(file.statusCode, file.body).toBe(201);
      const sent = await test().call('POST', `/api/v1/rooms/${roomId}/messages`, {
        token: token(),
        body: { text: caption, attachmentIds: [file.json().id] },
      });
      expect(sent.statusCode, sent.body).toBe(201);
      return sent.json() as Message;
    },
    /** The bot's answer to `asking`, once it is stored. */
    answerTo(roomId: string, asking: Message): Promise<Message> {
      return until(async () => {
        const page = await test().call('GET', `/api/v1/rooms/${roomId}/messages`, { token: token() });
        return (page.json() as { messages: Message[] }).messages.find(
          (message) => message.replyToId === asking.id,
        );
      });
    },
    async message(id: string): Promise<Message> {
      return (await test().call('GET', `/api/v1/messages/${id}`, { token: token() })).json() as Message;
    },
  };
}

describe.skipIf(skip !== undefined)('the assistant answers voice messages, in text and speech', () => {
  let test: TestServer;
  let token: string;
  const helpers = roomHelpers(
    () => test,
    () => token,
  );

  beforeAll(async () => {
    const { assistant, voice } = loadConfig({
      env: { ...assistantEnv(), KAIWA_TRANSCRIBER: 'pocketsphinx', KAIWA_SYNTHESIZER: 'mespeak' },
    });
    test = await startTestServer({ assistant, voice });
    ({ token } = await test.signedIn('member'));
  });
  afterAll(async () => {
    await test?.close();
  });

  it('sets speakReplies with the language, validates it, and PUT replaces both', async () => {
    const roomId = await helpers.room('voice-settings');
    const url = `/api/v1/rooms/${roomId}/voice`;
    expect((await test.call('GET', url, { token })).json()).toEqual({});
    const set = await test.call('PUT', url, { token, body: { language: 'EN', speakReplies: true } });
    expect(set.json()).toEqual({ language: 'en', speakReplies: true });
    expect((await test.call('GET', url, { token })).json()).toEqual({ language: 'en', speakReplies: true });
    const bad = await test.call('PUT', url, { token, body: { speakReplies: 'yes' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('speakReplies');
    expect((await test.call('PUT', url, { token, body: { language: 'en' } })).json()).toEqual({
      language: 'en',
    });
    // Another member may read, not change them.
    const other = await test.signedIn('member');
    await test.call('POST', `/api/v1/rooms/${roomId}/join`, { token: other.token });
    expect(
      (await test.call('PUT', url, { token: other.token, body: { speakReplies: true } })).statusCode,
    ).toBe(403);
  });

  it('answers the transcript in text and attaches the spoken answer where the room says so', async () => {
    const roomId = await helpers.room('spoken', { language: 'en', speakReplies: true });
    const asking = await helpers.sendVoice(roomId, '@helper', fliteWav('what is the capital of france'));
    const answer = await helpers.answerTo(roomId, asking);
    expect(answer.text).toBe(ANSWER);

    // The model was asked what pocketsphinx heard.
    const transcript = transcriptOf(await helpers.message(asking.id));
    expect(transcript?.status).toBe('done');
    const heard = (transcript as { text: string }).text;
    expect(heard).toMatch(/capital/);
    const requests = await modelServer.requests();
    const asked = requests.at(-1)?.body.messages as { role: string; content: string }[];
    expect(asked.at(-1)?.content).toContain(heard);

    // The text came first; the speech follows on the same message.
    const spoken = await until(async () => {
      const speech = speechOf(await helpers.message(answer.id));
      return speech?.status === 'pending' ? undefined : speech;
    });
    expect(spoken).toMatchObject({ status: 'done', provider: 'mespeak', truncated: false });
    const done = spoken as Extract<MessageSpeech, { status: 'done' }>;
    const stored = await helpers.message(answer.id);
    expect(stored.text).toBe(ANSWER);
    expect(stored.attachments).toEqual([
      expect.objectContaining({ fileId: done.fileId, mimeType: 'audio/ogg' }),
    ]);
    // Nobody transcribes the assistant's own speech.
    expect(transcriptOf(stored)).toBeUndefined();

    const content = await test.call('GET', `/api/v1/files/${done.fileId}/content`, { token });
    expect(content.statusCode).toBe(200);
    const seconds = durationOf(content.rawPayload);
    // Eight words at mespeak's ~175 words a minute: about 3 s; a cut-off or empty file is far off.
    expect(seconds).toBeGreaterThan(1.5);
    expect(seconds).toBeLessThan(8);
    expect(done.durationSeconds).toBeCloseTo(seconds, 0);
  });

  it('answers in text only where speakReplies is off', async () => {
    const roomId = await helpers.room('unspoken', { language: 'en' });
    const asking = await helpers.sendVoice(roomId, '@helper', fliteWav('what is the time'));
    const answer = await helpers.answerTo(roomId, asking);
    expect(answer.text).toBe(ANSWER);
    await test.server.voice?.idle();
    await test.server.assistant?.idle();
    const stored = await helpers.message(answer.id);
    expect(speechOf(stored)).toBeUndefined();
    expect(stored.attachments).toEqual([]);
  });

  it('speaks no typed question: only answers to voice messages', async () => {
    const roomId = await helpers.room('typed', { speakReplies: true });
    const asked = await test.call('POST', `/api/v1/rooms/${roomId}/messages`, {
      token,
      body: { text: '@helper hello?' },
    });
    const answer = await helpers.answerTo(roomId, asked.json() as Message);
    await test.server.voice?.idle();
    expect(speechOf(await helpers.message(answer.id))).toBeUndefined();

    // Only the server writes the speech state.
    const forged = await test.call('POST', `/api/v1/rooms/${roomId}/messages`, {
      token,
      body: { text: 'spoken?', metadata: { speech: { status: 'pending', updatedAt: 'now' } } },
    });
    expect(forged.statusCode).toBe(400);
    expect(forged.body).toContain('metadata.speech');
  });
});

describe.skipIf(skip !== undefined)('a synthesizer that fails', () => {
  let test: TestServer;
  let token: string;
  const helpers = roomHelpers(
    () => test,
    () => token,
  );

  beforeAll(async () => {
    // No transcriber: the caption asks. espeak-ng where there is none: every answer fails to be spoken.
    const { assistant } = loadConfig({ env: assistantEnv() });
    test = await startTestServer(
      { assistant },
      { synthesizer: createEspeakNgSynthesizer({ programPath: '/nonexistent/espeak-ng' }) },
    );
    ({ token } = await test.signedIn('member'));
  });
  afterAll(async () => {
    await test?.close();
  });

  it('keeps the text answer and records why the speech failed', async () => {
    const roomId = await helpers.room('broken-voice', { speakReplies: true });
    const asking = await helpers.sendVoice(roomId, '@helper what now?', fliteWav('what now'));
    const answer = await helpers.answerTo(roomId, asking);
    const failed = await until(async () => {
      const speech = speechOf(await helpers.message(answer.id));
      return speech?.status === 'failed' ? speech : undefined;
    });
    expect(failed).toMatchObject({ status: 'failed', code: 'engine_missing' });
    const stored = await helpers.message(answer.id);
    expect(stored.text).toBe(ANSWER);
    expect(stored.attachments).toEqual([]);
  });
});

describe('speakable text of an answer', () => {
  it('drops markdown marks, code and link targets', () => {
    expect(
      speakableReply('## Plan\n- **ship** the _build_ on [staging](https://x.test)\n```\nnpm test\n```', 500),
    ).toEqual({ text: 'Plan ship the build on staging', truncated: false });
  });

  it('cuts a long answer after the last sentence that fits, else at a word', () => {
    const long = `${'This sentence has six words. '.repeat(60)}`;
    const { text, truncated } = speakableReply(long, MAX_SPOKEN_REPLY_CHARS);
    expect(truncated).toBe(true);
    expect(text.length).toBeLessThanOrEqual(MAX_SPOKEN_REPLY_CHARS);
    expect(text.endsWith('words.')).toBe(true);
    expect(speakableReply('one two three four', 12)).toEqual({ text: 'one two', truncated: true });
    expect(speakableReply('会議は三時です。資料は明日送ります。', 12)).toEqual({
      text: '会議は三時です。',
      truncated: true,
    });
  });
});
