import { z } from 'zod';
import { errorResponses, RoomParamsSchema } from '../http/api-schemas.js';
import { requireUser } from '../http/authentication.js';
import { HttpError } from '../http/http-error.js';
import {
  FileIndexStateSchema,
  type KnowledgeService,
  passageLink,
  RoomKnowledgeSettingsSchema,
} from '../knowledge-composition.js';
import type { ApiInstance, RouteContext } from './route-context.js';

const tags = ['knowledge'];

const KnowledgeInfoSchema = z.object({
  enabled: z
    .boolean()
    .describe('false: KAIWA_EMBEDDINGS is unset, and the other knowledge routes answer 404'),
  model: z.string().nullable().describe('the embedding model, as provider:model'),
  dimensions: z.number().int().nullable(),
  chunks: z.number().int().nullable().describe('passages indexed, over all rooms'),
});

const SearchQuerySchema = z.object({
  q: z.string().trim().min(1, 'must not be empty').max(1000),
  k: z.coerce.number().int().min(1).max(50).default(8),
});

const PassageSchema = z.object({
  text: z.string(),
  score: z.number().describe('reciprocal rank fusion of the vector and full-text rankings'),
  ranks: z.object({ vector: z.number().int().optional(), fullText: z.number().int().optional() }),
  source: z.discriminatedUnion('type', [
    z.object({
      type: z.literal('message'),
      roomId: z.string(),
      messageIds: z.array(z.string()).describe('the messages the passage holds, oldest first'),
    }),
    z.object({
      type: z.literal('file'),
      fileId: z.string(),
      roomId: z.string().nullable(),
      projectId: z.string().nullable(),
      page: z.number().int().nullable().describe('1-based page of a PDF'),
      name: z.string().optional(),
    }),
  ]),
  link: z.string().describe('where the passage is: a permalink to its first message, or the file'),
});

const RoomKnowledgeSchema = RoomKnowledgeSettingsSchema.extend({
  indexing: z
    .object({
      state: z.enum(['indexing', 'done', 'failed']),
      messages: z.number().int().describe('messages read so far'),
      chunks: z.number().int(),
      updatedAt: z.string(),
      error: z.string().optional(),
    })
    .nullable()
    .describe("how far the room's messages are indexed; null when they are not knowledge"),
  documents: z
    .array(FileIndexStateSchema)
    .describe(
      "what became of the room's last documents (at most 100, the latest first): indexed, or skipped and why; empty when they are not knowledge",
    ),
});

function requireKnowledge(knowledge: KnowledgeService | undefined): KnowledgeService {
  if (!knowledge)
    throw new HttpError(404, 'knowledge_off', 'knowledge is off on this server (KAIWA_EMBEDDINGS is unset)');
  return knowledge;
}

/**
 * Knowledge: what the server indexes (`GET /knowledge`), search over the knowledge of the rooms the caller
 * reads (`GET /knowledge/search`, for apps and the web client), and a room's sources (`/rooms/:id/knowledge`).
 */
export function registerKnowledgeRoutes(app: ApiInstance, { engine, knowledge }: RouteContext): void {
  app.get(
    '/knowledge',
    {
      config: { access: { signedIn: 'allowed' } },
      schema: {
        tags,
        summary: 'Whether knowledge is on, and its embedding model',
        response: { 200: KnowledgeInfoSchema, ...errorResponses },
      },
    },
    async () => {
      if (!knowledge) return { enabled: false, model: null, dimensions: null, chunks: null };
      return {
        enabled: true,
        model: knowledge.model.name,
        dimensions: knowledge.model.dimensions,
        chunks: await knowledge.chunkCount(),
      };
    },
  );

  app.get(
    '/knowledge/search',
    {
      config: { userRateLimit: 'searches', access: { signedIn: 'visible', guest: 'mine' } },
      schema: {
        tags,
        summary:
          'The passages most relevant to a question, from the rooms I read whose knowledge is on (hybrid: vectors and full text), with where each is',
        querystring: SearchQuerySchema,
        response: { 200: z.object({ passages: z.array(PassageSchema) }), ...errorResponses },
      },
    },
    async (request) => {
      const service = requireKnowledge(knowledge);
      const passages = await service.search(requireUser(request).id, request.query.q, request.query.k);
      return {
        passages: passages.map((passage) => ({
          text: passage.text,
          score: passage.score,
          ranks: passage.ranks,
          source: passage.source,
          link: passageLink(passage),
        })),
      };
    },
  );

  app.get(
    '/rooms/:roomId/knowledge',
    {
      config: { access: { signedIn: 'visible', guest: 'mine' } },
      schema: {
        tags,
        summary: "The room's knowledge sources (its messages, its documents) and how far they are indexed",
        params: RoomParamsSchema,
        response: { 200: RoomKnowledgeSchema, ...errorResponses },
      },
    },
    async (request) => {
      const service = requireKnowledge(knowledge);
      const room = await engine.getRoom(requireUser(request).id, request.params.roomId);
      const settings = service.settingsOf(room.id);
      return {
        ...settings,
        indexing: settings.messages ? ((await service.roomState(room.id)) ?? null) : null,
        documents: settings.files ? await service.fileStates(room.id) : [],
      };
    },
  );

  app.put(
    '/rooms/:roomId/knowledge',
    {
      config: { access: { signedIn: 'mine', admin: 'visible' } },
      schema: {
        tags,
        summary:
          "Chooses the room's knowledge sources (room owners and admins); what is turned on is indexed in the background, what is turned off is deleted",
        params: RoomParamsSchema,
        body: RoomKnowledgeSettingsSchema,
        response: { 200: RoomKnowledgeSchema, ...errorResponses },
      },
    },
    async (request) => {
      const service = requireKnowledge(knowledge);
      const user = requireUser(request);
      await service.setRoomSettings(user.id, request.params.roomId, request.body);
      const settings = service.settingsOf(request.params.roomId);
      return {
        ...settings,
        indexing: settings.messages ? ((await service.roomState(request.params.roomId)) ?? null) : null,
        documents: settings.files ? await service.fileStates(request.params.roomId) : [],
      };
    },
  );
}
