import { MessageSchema, VoiceError } from '@kaiwa/core';
import { z } from 'zod';
import { errorResponses, MessageParamsSchema, RoomParamsSchema } from '../http/api-schemas.js';
import { requireUser } from '../http/authentication.js';
import { HttpError } from '../http/http-error.js';
import {
  type RoomVoiceSettings,
  RoomVoiceSettingsSchema,
  roomVoiceSettings,
  VOICE_SETTINGS_KEY,
  type VoiceInfo,
} from '../voice-composition.js';
import type { ApiInstance, RouteContext } from './route-context.js';

const tags = ['voice'];

/** Longest text one `POST /speech` reads aloud; backends may allow less (see `GET /voice`). */
const MAX_SPEECH_TEXT = 4_000;

const VoiceInfoSchema = z.object({
  transcriber: z
    .object({
      provider: z.string().describe('e.g. pocketsphinx, openai-compatible'),
      model: z.string(),
      quality: z.enum(['standard', 'lower']).describe('lower: a fallback clearly weaker than Whisper'),
      languages: z.union([z.array(z.string()), z.literal('any')]),
    })
    .nullable()
    .describe('null: voice messages get no transcript'),
  synthesizer: z
    .object({
      provider: z.string(),
      voices: z.array(z.object({ id: z.string(), language: z.string(), name: z.string().optional() })),
      maxTextLength: z.number().int(),
    })
    .nullable()
    .describe('null: POST /speech answers 404 speech_off'),
});

const SpeechBodySchema = z.object({
  text: z.string().trim().min(1, 'must not be empty').max(MAX_SPEECH_TEXT),
  voice: z.string().trim().min(1).max(100).optional().describe('a voice id from GET /voice'),
  language: z
    .string()
    .regex(/^[a-z]{2,3}(?:-[a-z0-9]{2,8})*$/i, 'must be a language tag such as en or ja')
    .optional()
    .describe('picks a voice of this language when no voice is named'),
});

/** The HTTP answer to a voice error the caller can act on; anything else is the server's fault. */
function httpErrorOf(error: VoiceError): HttpError {
  switch (error.code) {
    case 'invalid_input':
    case 'unsupported_language':
      return new HttpError(400, 'validation_failed', error.message);
    case 'rate_limited':
      return new HttpError(429, 'rate_limited', error.message);
    case 'engine_missing':
      return new HttpError(503, 'speech_unavailable', error.message);
    default:
      return new HttpError(502, 'speech_failed', error.message, { code: error.code });
  }
}

/**
 * Voice: what the server offers (`GET /voice`), reading text aloud (`POST /speech`), asking again for a
 * voice message's transcript, and a room's spoken language.
 */
export function registerVoiceRoutes(app: ApiInstance, { engine, voice }: RouteContext): void {
  app.get(
    '/voice',
    {
      config: { access: { signedIn: 'allowed' } },
      schema: {
        tags,
        summary: 'Whether voice messages are transcribed and which voices read text aloud',
        response: { 200: VoiceInfoSchema, ...errorResponses },
      },
    },
    async (): Promise<VoiceInfo> => voice?.info() ?? { transcriber: null, synthesizer: null },
  );

  app.post(
    '/speech',
    {
      config: { access: { signedIn: 'allowed' }, rateLimit: { max: 60, timeWindow: '1 minute' } },
      schema: {
        tags,
        summary:
          'Reads text aloud: answers audio (WAV from the local engines); 404 speech_off when none is set',
        body: SpeechBodySchema,
        produces: ['audio/wav', 'audio/mpeg', 'application/octet-stream'],
      },
    },
    async (request, reply) => {
      requireUser(request);
      const synthesizer = voice?.synthesizer;
      if (!synthesizer)
        throw new HttpError(
          404,
          'speech_off',
          'reading aloud is off on this server (KAIWA_SYNTHESIZER is unset)',
        );
      const { text, voice: voiceId, language } = request.body;
      try {
        const speech = await synthesizer.synthesize(
          { text, ...(voiceId ? { voice: voiceId } : {}), ...(language ? { language } : {}) },
          { abortSignal: AbortSignal.timeout(60_000) },
        );
        return reply
          .header('content-type', speech.mediaType)
          .header('cache-control', 'private, no-store')
          .header('x-kaiwa-voice', speech.voice)
          .send(Buffer.from(speech.audio.buffer, speech.audio.byteOffset, speech.audio.byteLength));
      } catch (error) {
        if (VoiceError.isInstance(error)) throw httpErrorOf(error);
        throw error;
      }
    },
  );

  app.post(
    '/messages/:messageId/transcript',
    {
      config: { access: { signedIn: 'mine', moderator: 'visible', admin: 'visible' } },
      schema: {
        tags: ['messages', ...tags],
        summary:
          "Transcribes a voice message again (author, room moderators, staff): answers 202 with the message, its transcript 'pending'",
        params: MessageParamsSchema,
        response: { 202: MessageSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const user = requireUser(request);
      if (!voice?.transcriber) {
        // Same refusal as anywhere for messages the caller cannot see; then say why nothing happens.
        await engine.getMessage(user.id, request.params.messageId);
        throw new HttpError(
          404,
          'transcription_off',
          'transcription is off on this server (KAIWA_TRANSCRIBER is unset)',
        );
      }
      const message = await engine.requestTranscript(user.id, request.params.messageId);
      voice.transcribeInBackground(message);
      return reply.status(202).send(message);
    },
  );

  app.get(
    '/rooms/:roomId/voice',
    {
      config: { access: { signedIn: 'visible', guest: 'mine' } },
      schema: {
        tags,
        summary:
          "The room's voice settings: the language its voice messages are transcribed in, whether the assistant's answers to them are spoken",
        params: RoomParamsSchema,
        response: { 200: RoomVoiceSettingsSchema, ...errorResponses },
      },
    },
    async (request) =>
      roomVoiceSettings(
        await engine.getRoomSetting(requireUser(request).id, request.params.roomId, VOICE_SETTINGS_KEY),
      ),
  );

  app.put(
    '/rooms/:roomId/voice',
    {
      config: { access: { signedIn: 'mine', admin: 'visible' } },
      schema: {
        tags,
        summary:
          "Sets the room's voice settings (room owners and admins); replaces them: a field left out is unset",
        description:
          '`language`: the language voice messages are transcribed in (unset: the server default). `speakReplies`: the assistant also answers voice messages with speech, an audio attachment of its answer that follows the text when ready (`metadata.speech` says pending, done or failed).',
        params: RoomParamsSchema,
        body: RoomVoiceSettingsSchema,
        response: { 200: RoomVoiceSettingsSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { language, speakReplies } = request.body;
      const settings: RoomVoiceSettings = {
        ...(language ? { language: language.toLowerCase() } : {}),
        ...(speakReplies ? { speakReplies: true } : {}),
      };
      await engine.setRoomSetting(
        requireUser(request).id,
        request.params.roomId,
        VOICE_SETTINGS_KEY,
        settings,
      );
      return settings;
    },
  );
}
