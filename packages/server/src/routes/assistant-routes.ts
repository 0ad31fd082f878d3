import {
  ASSISTANT_SETTINGS_KEY,
  AssistantSettingsSchema,
  defaultSystemPrompt,
} from '../assistant-composition.js';
import { errorResponses, RoomParamsSchema } from '../http/api-schemas.js';
import { requireUser } from '../http/authentication.js';
import { HttpError } from '../http/http-error.js';
import type { ApiInstance, RouteContext } from './route-context.js';

const tags = ['assistant'];

/**
 * Per-room assistant settings, stored in the room settings table and cached by the running assistant of
 * every instance; a change is announced on the bus, so each instance reads it again at once.
 */
export function registerAssistantRoutes(app: ApiInstance, { engine, assistant }: RouteContext): void {
  const enabled = () => {
    if (!assistant)
      throw new HttpError(404, 'not_found', 'the assistant is off (KAIWA_LLM_BASE_URL is unset)');
    return assistant;
  };

  app.get(
    '/rooms/:roomId/assistant',
    {
      config: { access: { signedIn: 'visible', guest: 'mine' } },
      schema: {
        tags,
        summary: "The room's assistant settings",
        params: RoomParamsSchema,
        response: { 200: AssistantSettingsSchema, ...errorResponses },
      },
    },
    async (request) => {
      const bot = enabled();
      const room = await engine.getRoom(requireUser(request).id, request.params.roomId);
      return bot.roomSettings(room.id);
    },
  );

  app.put(
    '/rooms/:roomId/assistant',
    {
      config: { access: { signedIn: 'mine', admin: 'visible' } },
      schema: {
        tags,
        summary: "Sets the room's assistant model, preset and system prompt (room owners and admins)",
        params: RoomParamsSchema,
        body: AssistantSettingsSchema,
        response: { 200: AssistantSettingsSchema, ...errorResponses },
      },
    },
    async (request) => {
      const bot = enabled();
      const user = requireUser(request);
      const { model, systemPrompt, preset } = request.body;
      const settings = {
        ...(model ? { model } : {}),
        ...(preset ? { preset } : {}),
        ...(systemPrompt
          ? { systemPrompt }
          : preset && preset !== 'none'
            ? { systemPrompt: await defaultSystemPrompt(preset) }
            : {}),
      };
      // The engine checks who may (the room's owner, admins) and tells every instance's assistant.
      await engine.setRoomSetting(user.id, request.params.roomId, ASSISTANT_SETTINGS_KEY, settings);
      bot.setRoomSettings(request.params.roomId, settings);
      return bot.roomSettings(request.params.roomId);
    },
  );
}
