import {
  type BlobStore,
  type ChatEngine,
  type ChatEvent,
  type EmbeddingModel,
  ImageTooLargeError,
  type JsonValue,
  type KnowledgeStorage,
  type Message,
  SYSTEM_ACTOR,
  type TextRecognizer,
  timeOfId,
  type VectorStore,
} from '@kaiwa/core';
import type { KnowledgeBase, MessageSource, RetrievedPassage } from '@kaiwa/knowledge';
import type { AssistantKnowledge, AssistantPassage } from '@kaiwa/llm';
import { createTesseractTextRecognizer, type TesseractTextRecognizer } from '@kaiwa/workflow-steps';
import type { FastifyBaseLogger } from 'fastify';
import { z } from 'zod';
import type { EmbeddingSettings, OcrSettings } from './config.js';
import { PdfPreviewError, PdfPreviewer } from './files/pdf-preview.js';

/*
 * `@kaiwa/knowledge` (with the PDF and DOCX readers it loads) and `@kaiwa/llm` are imported only when
 * KAIWA_EMBEDDINGS is set: a server without knowledge never loads them (lazy-dependencies.test.ts checks).
 */
type KnowledgeModule = typeof import('@kaiwa/knowledge');

/** Where a room's knowledge sources are chosen: `{ messages, files }`. */
export const KNOWLEDGE_SETTINGS_KEY = 'knowledge';
/** Where the server keeps how far a room's messages are indexed, so a restart finishes what a crash cut off. */
const KNOWLEDGE_STATE_KEY = 'knowledge.state';
/** Where the server keeps what became of the room's last documents: indexed, or skipped and why. */
const KNOWLEDGE_FILES_KEY = 'knowledge.files';
/**
 * Where the server keeps which embedding model the room's documents are indexed with, and whether that
 * index is complete, so that a re-index a crash cut off runs again and an old model's index is dropped only
 * once every room's documents are in the new one.
 */
const KNOWLEDGE_FILES_MODEL_KEY = 'knowledge.files.model';
/** Documents whose outcome a room keeps, the latest. */
const MAX_FILE_STATES = 100;
/**
 * Where an instance claims work on a room (`knowledge.claim:<what>:<attempt>`: a batch of its events by
 * its first sequence number, `full:<model>` its full index, `files:<model>` its documents' re-index), so
 * that of several instances on one database exactly one does it; removed when the work is done.
 */
const KNOWLEDGE_CLAIM_KEY = 'knowledge.claim';
/**
 * How long a claim holds: one whose instance died is taken over after this (by a later attempt key). Long
 * work (a full index) renews its claim every third of it.
 */
const CLAIM_TTL_MS = 5 * 60_000;
/** The prefix of the vector indexes this service makes (`knowledgeIndexName`), one per embedding model. */
const INDEX_PREFIX = 'knowledge:';
/** Room events read per batch. */
const EVENT_BATCH = 500;

const ClaimSchema = z.object({ expiresAt: z.string() });

const FilesModelSchema = z.object({
  model: z.string(),
  state: z.enum(['indexing', 'done', 'failed']),
  updatedAt: z.string(),
});

export const RoomKnowledgeSettingsSchema = z.object({
  messages: z.boolean().describe("the room's messages and threads are knowledge its readers can ask about"),
  files: z
    .boolean()
    .describe(
      'documents uploaded in the room (text, Markdown, HTML, PDF, DOCX; images, TIFF scans and scanned PDFs through OCR) are knowledge',
    ),
});
export type RoomKnowledgeSettings = z.infer<typeof RoomKnowledgeSettingsSchema>;

const OFF: RoomKnowledgeSettings = { messages: false, files: false };

const RoomIndexStateSchema = z.object({
  state: z.enum(['indexing', 'done', 'failed']),
  /** The embedding model of the index; another model at start re-indexes the room. */
  model: z.string().optional(),
  messages: z.number().int().min(0),
  chunks: z.number().int().min(0),
  /**
   * The watermark: the room's events up to this sequence number are indexed. Advanced only after their
   * chunks are written, so what a crash cut off is read again from the room's events at the next start.
   */
  seq: z.number().int().min(0).optional(),
  updatedAt: z.string(),
  error: z.string().optional(),
});
export type RoomIndexState = z.infer<typeof RoomIndexStateSchema>;

export const FileIndexStateSchema = z.object({
  fileId: z.string(),
  name: z.string(),
  state: z
    .enum(['indexed', 'skipped', 'failed'])
    .describe('skipped: the document cannot be read (see code); failed: indexing broke, it is tried again'),
  chunks: z.number().int().min(0).describe('passages indexed of it'),
  code: z
    .string()
    .optional()
    .describe(
      'why it was skipped: unsupported_type, unreadable, too_large, ocr_unavailable (an image or scan, and no OCR configured) or timeout',
    ),
  reason: z.string().optional(),
  updatedAt: z.string(),
});
export type FileIndexState = z.infer<typeof FileIndexStateSchema>;

/**
 * The types of documents whose text knowledge reads (EXTRACTABLE_TYPES and OCR_IMAGE_TYPES of
 * `@kaiwa/knowledge`, which is loaded only when knowledge is on). Images are taken also without OCR, so that
 * their status says `ocr_unavailable` rather than nothing.
 */
const DOCUMENT_TYPES = new Set([
  'text/plain',
  'text/markdown',
  'text/html',
  'application/pdf',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'image/png',
  'image/jpeg',
  'image/webp',
  'image/gif',
  'image/bmp',
  'image/tiff',
]);

function isDocument(mimeType: string): boolean {
  return DOCUMENT_TYPES.has(mimeType.split(';')[0]?.trim().toLowerCase() ?? '');
}

export interface KnowledgeCompositionConfig {
  engine: ChatEngine;
  blobs: BlobStore;
  /** The store's vector store; undefined for a store without one (knowledge then cannot start). */
  vectors: VectorStore | undefined;
  settings: EmbeddingSettings | undefined;
  logger: FastifyBaseLogger;
  /** Largest document read for indexing. */
  maxDocumentBytes: number;
  /** An embedding model instead of the configured one (tests, embedding apps). */
  embedder?: EmbeddingModel;
  /** How long a room's changes are gathered before they are indexed; 1.5 s by default. */
  debounceMs?: number;
  /**
   * How often every knowledge room is checked for events past its watermark (what a lost bus message or a
   * reconnect missed, or a batch that failed); 30 s by default.
   */
  catchUpIntervalMs?: number;
  /**
   * Reads images and scanned PDFs. Undefined: tesseract.js (`ocr`'s languages, English by default, one
   * worker, loaded on the first image; PDF pages rendered in a child process); null: no OCR, and images and
   * scans are skipped as `ocr_unavailable`.
   */
  textRecognizer?: TextRecognizer | null;
  /** OCR's languages and bounds (KAIWA_OCR_*); the bounds apply to a given `textRecognizer` too. */
  ocr?: OcrSettings;
}

/**
 * Knowledge in the server: the rooms whose messages or files are knowledge, their indexing as people
 * write, edit and delete, and retrieval for the search API and the assistant.
 *
 * Guarantees: retrieval returns only passages of rooms whose knowledge is on and that the asker may read
 * (the engine's `readableScope`, before ranking). A room's full index records its progress in the room
 * settings; one cut off by a crash or restart runs again at start (indexing is idempotent: each message
 * belongs to fixed sources, each replaced whole). After it, the room is indexed from its stored events
 * (created, edited, deleted, each with its sequence number) past a durable watermark that moves only once
 * their chunks are written: an event whose indexing a crash cut off is indexed at the next start, and one
 * whose bus message was lost at the next catch-up. Of several instances on one database, the one that claims
 * a batch of events (a room setting inserted once, with an expiry) indexes it; the others skip it. A room's
 * full index and its documents' re-index are claimed the same way (renewed while they run; one whose
 * instance died is taken over by the periodic check once its claim expires). A new embedding model gets an
 * index of its own, filled room by room while the old one still answers; once every knowledge room is in the
 * new index, the old models' indexes are dropped. Turning a source off deletes its chunks. Indexing errors
 * are logged and recorded, never thrown at chat: message delivery never waits for indexing.
 */
export class KnowledgeService {
  readonly knowledge: KnowledgeBase;
  readonly #config: KnowledgeCompositionConfig;
  readonly #rooms = new Map<string, RoomKnowledgeSettings>();
  /** Rooms with events waiting to be indexed, by room, with the timer that gathers them. */
  readonly #pending = new Map<string, ReturnType<typeof setTimeout>>();
  /** The catch-up running per room, and whether another was asked for meanwhile. */
  readonly #catchUps = new Map<string, { again: boolean }>();
  #sweep: ReturnType<typeof setInterval> | undefined;
  readonly #running = new Set<Promise<unknown>>();
  readonly #fullIndexes = new Map<string, Promise<void>>();
  readonly #filesReindexes = new Map<string, Promise<void>>();
  readonly #fileStateWrites = new Map<string, Promise<void>>();
  #stopListening: (() => void) | undefined;
  #closed = false;
  /** Other embedding models' indexes, dropped once every knowledge room is indexed with this model. */
  #oldIndexes: string[] = [];
  /** A check of whether old indexes can go: running, and whether another was asked for meanwhile. */
  #retiring: { again: boolean } | undefined;
  readonly #module: KnowledgeModule;
  readonly #ownRecognizer: TesseractTextRecognizer | undefined;

  constructor(
    config: KnowledgeCompositionConfig,
    module: KnowledgeModule,
    knowledge: KnowledgeBase,
    ownRecognizer?: TesseractTextRecognizer,
  ) {
    this.#config = config;
    this.#module = module;
    this.knowledge = knowledge;
    this.#ownRecognizer = ownRecognizer;
  }

  /** The embedding model's name and the vectors' size, for `GET /knowledge`. */
  get model(): { name: string; dimensions: number } {
    return { name: this.knowledge.index.model, dimensions: this.knowledge.index.dimensions };
  }

  /** How many passages are indexed, over all rooms. */
  chunkCount(): Promise<number> {
    return this.knowledge.chunkCount();
  }

  /** Loads the rooms' choices, follows chat as it happens, and finishes full indexes a restart cut off. */
  async start(): Promise<void> {
    const { engine } = this.#config;
    for (const { roomId, value } of await engine.listRoomSettings(SYSTEM_ACTOR, KNOWLEDGE_SETTINGS_KEY)) {
      const settings = RoomKnowledgeSettingsSchema.safeParse(value);
      if (settings.success) this.#rooms.set(roomId, settings.data);
    }
    this.#stopListening = engine.subscribe((event) => this.#onEvent(event));
    const model = this.knowledge.index.model;
    this.#oldIndexes = (await (this.#config.vectors as VectorStore).listIndexes())
      .map((index) => index.name)
      .filter((name) => name.startsWith(INDEX_PREFIX) && name !== this.knowledge.index.name);
    for (const [roomId, settings] of this.#rooms) {
      if (!settings.messages && !settings.files) continue;
      const state = await this.roomState(roomId);
      // A new embedding model has an index of its own, empty at first: the room is indexed again into it.
      const newModel = state?.model !== model;
      const files = await this.#filesState(roomId, state);
      if (!settings.messages && (newModel || state?.seq === undefined)) await this.#startWatermark(roomId);
      if (settings.files && files !== 'done') this.#reindexFilesInBackground(roomId);
      if (this.#needsFullIndex(settings, state)) this.#indexRoomInBackground(roomId);
      else this.#requestCatchUp(roomId);
    }
    this.#retireOldIndexes();
    const every = this.#config.catchUpIntervalMs ?? 30_000;
    this.#sweep = setInterval(() => this.#check(), every);
    this.#sweep.unref?.();
  }

  /**
   * The periodic check: each knowledge room catches up on its events; a full index or a documents'
   * re-index that is due and not running here is claimed (it runs here when its instance died, or it
   * failed to start); old models' indexes go once every room is in this model's.
   */
  #check(): void {
    if (this.#closed) return;
    this.#track(
      (async () => {
        for (const [roomId, settings] of this.#rooms) {
          if (!settings.messages && !settings.files) continue;
          const state = await this.roomState(roomId);
          // A full index that failed is tried again at the next start, not every few seconds.
          if (this.#needsFullIndex(settings, state) && state?.state !== 'failed')
            this.#indexRoomInBackground(roomId);
          else this.#requestCatchUp(roomId);
          // A documents' re-index that failed is tried again at the next start too.
          if (settings.files && (await this.#filesState(roomId, state)) === 'due')
            this.#reindexFilesInBackground(roomId);
        }
        this.#retireOldIndexes();
      })(),
      'all',
    );
  }

  /** Whether the room's messages need a full index into this model's index. */
  #needsFullIndex(settings: RoomKnowledgeSettings, state: RoomIndexState | undefined): boolean {
    return (
      settings.messages &&
      (state?.state !== 'done' || state.model !== this.knowledge.index.model || state.seq === undefined)
    );
  }

  /**
   * Whether the room's documents are all indexed with this model (`done`), are to be (`due`), or their
   * re-index failed (`failed`: a document could not be embedded). A room from before this was recorded
   * counts as indexed with the model of its messages' state.
   */
  async #filesState(roomId: string, state: RoomIndexState | undefined): Promise<'done' | 'due' | 'failed'> {
    const value = await this.#config.engine.getRoomSetting(SYSTEM_ACTOR, roomId, KNOWLEDGE_FILES_MODEL_KEY);
    const parsed = FilesModelSchema.safeParse(value);
    const model = this.knowledge.index.model;
    if (!parsed.success) return state?.model === model ? 'done' : 'due';
    if (parsed.data.model !== model) return 'due';
    return parsed.data.state === 'indexing' ? 'due' : parsed.data.state;
  }

  #recordFilesModel(roomId: string, state: 'indexing' | 'done' | 'failed'): Promise<void> {
    const value = { model: this.knowledge.index.model, state, updatedAt: new Date().toISOString() };
    return this.#config.engine.setRoomSetting(SYSTEM_ACTOR, roomId, KNOWLEDGE_FILES_MODEL_KEY, value);
  }

  /**
   * Drops the other models' indexes once every knowledge room's messages and documents are indexed with
   * this model (read from the rooms' states, which any instance may have advanced), one check at a time.
   */
  #retireOldIndexes(): void {
    if (this.#closed || this.#oldIndexes.length === 0) return;
    if (this.#retiring) {
      this.#retiring.again = true;
      return;
    }
    const entry = { again: false };
    this.#retiring = entry;
    const work = (async () => {
      try {
        do {
          entry.again = false;
          if (await this.#everyRoomCurrent()) {
            const vectors = this.#config.vectors as VectorStore;
            for (const name of this.#oldIndexes) {
              // Another instance may have dropped it first.
              if (await vectors.dropIndex(name))
                this.#config.logger.info(
                  { index: name, model: this.knowledge.index.model },
                  'knowledge: every room is indexed with the new embedding model; the old index was dropped',
                );
            }
            this.#oldIndexes = [];
          }
        } while (entry.again && this.#oldIndexes.length > 0 && !this.#closed);
      } finally {
        this.#retiring = undefined;
      }
    })();
    this.#track(work, 'all');
  }

  /**
   * Whether every knowledge room's messages and documents are indexed with this model. A documents'
   * re-index that ran through with some documents failed counts (each failure is in the room's document
   * states, and this model's index is all that is searched here anyway); a room's messages must be done.
   */
  async #everyRoomCurrent(): Promise<boolean> {
    for (const [roomId, settings] of this.#rooms) {
      if (!settings.messages && !settings.files) continue;
      const state = await this.roomState(roomId);
      if (this.#needsFullIndex(settings, state)) return false;
      if (settings.files && (await this.#filesState(roomId, state)) === 'due') return false;
    }
    return true;
  }

  /** The room's knowledge sources (both off unless chosen). */
  settingsOf(roomId: string): RoomKnowledgeSettings {
    return this.#rooms.get(roomId) ?? OFF;
  }

  /** How far the room's messages are indexed; undefined when they never were. */
  async roomState(roomId: string): Promise<RoomIndexState | undefined> {
    const value = await this.#config.engine.getRoomSetting(SYSTEM_ACTOR, roomId, KNOWLEDGE_STATE_KEY);
    const parsed = RoomIndexStateSchema.safeParse(value);
    return parsed.success ? parsed.data : undefined;
  }

  /**
   * Chooses a room's sources as `actorId` (the engine lets room owners and admins change room settings),
   * then indexes what was turned on and deletes the chunks of what was turned off, in the background.
   *
   * @throws ForbiddenError (from the engine) for anyone else.
   */
  async setRoomSettings(actorId: string, roomId: string, settings: RoomKnowledgeSettings): Promise<void> {
    const before = this.settingsOf(roomId);
    await this.#config.engine.setRoomSetting(actorId, roomId, KNOWLEDGE_SETTINGS_KEY, settings);
    this.#rooms.set(roomId, settings);
    if (settings.messages && !before.messages) {
      await this.#recordState(roomId, { state: 'indexing', messages: 0, chunks: 0 });
      this.#indexRoomInBackground(roomId);
    }
    if (!settings.messages && before.messages) {
      this.#track(
        (async () => {
          await this.#fullIndexes.get(roomId);
          await this.knowledge.removeRoom(roomId, 'message');
          if (settings.files) await this.#startWatermark(roomId);
          else await this.#config.engine.setRoomSetting(SYSTEM_ACTOR, roomId, KNOWLEDGE_STATE_KEY, null);
        })(),
        roomId,
      );
    }
    if (settings.files && !before.files) {
      // Documents shared from now on are followed through the room's events, from the watermark.
      if (!settings.messages) await this.#startWatermark(roomId);
      await this.#recordFilesModel(roomId, 'indexing');
      this.#track(
        (async () => {
          const failed = await this.#indexRoomFiles(actorId, roomId);
          if (this.settingsOf(roomId).files)
            await this.#recordFilesModel(roomId, failed > 0 ? 'failed' : 'done');
        })(),
        roomId,
      );
    }
    if (!settings.files && before.files)
      this.#track(
        (async () => {
          await this.knowledge.removeRoom(roomId, 'file');
          await this.#config.engine.deleteRoomSetting(SYSTEM_ACTOR, roomId, KNOWLEDGE_FILES_MODEL_KEY);
        })(),
        roomId,
      );
  }

  /** The passages most relevant to `query` in the rooms `actorId` reads whose knowledge is on. */
  search(actorId: string, query: string, k: number): Promise<RetrievedPassage[]> {
    const within = new Set(
      [...this.#rooms]
        .filter(([, settings]) => settings.messages || settings.files)
        .map(([roomId]) => roomId),
    );
    if (within.size === 0) return Promise.resolve([]);
    return this.knowledge.retrieve({ actorId, query, k, withinRooms: within });
  }

  /**
   * Knowledge for the assistant: in a room whose knowledge is on, the passages of that room alone (an answer
   * posted there must not carry text from rooms its other readers cannot see), titled and linked for citing.
   */
  forAssistant(): AssistantKnowledge {
    return {
      passagesFor: async ({ actorId, roomId, question, messageId }) => {
        const settings = this.settingsOf(roomId);
        if (!settings.messages && !settings.files) return undefined;
        const passages = await this.knowledge.retrieve({
          actorId,
          query: question,
          k: 5,
          withinRooms: new Set([roomId]),
          excludeMessageIds: [messageId],
        });
        return Promise.all(passages.map((passage) => this.#titled(actorId, passage)));
      },
    };
  }

  async #titled(actorId: string, passage: RetrievedPassage): Promise<AssistantPassage> {
    const { engine } = this.#config;
    const { source } = passage;
    const link = passageLink(passage);
    if (source.type === 'file') {
      const file = await engine.getFileRecord(actorId, source.fileId).catch(() => undefined);
      const name = file?.name ?? 'a document';
      return { text: passage.text, title: source.page ? `${name}, page ${source.page}` : name, link };
    }
    const room = await engine.getRoom(actorId, source.roomId).catch(() => undefined);
    const first = source.messageIds[0];
    const when = first ? new Date(timeOfId(first)).toISOString().slice(0, 16).replace('T', ' ') : '';
    const where = room?.name ? `#${room.name}` : 'this conversation';
    return { text: passage.text, title: `${where}, ${when} UTC`, link };
  }

  /** Waits until nothing is being indexed or waiting to be (tests). */
  async idle(): Promise<void> {
    while (this.#pending.size > 0 || this.#running.size > 0) {
      for (const [roomId, timer] of this.#pending) {
        clearTimeout(timer);
        this.#pending.delete(roomId);
        this.#requestCatchUp(roomId);
      }
      await Promise.allSettled([...this.#running]);
    }
  }

  /**
   * Indexes the room's events past its watermark now (what `start` and the periodic catch-up do), and
   * waits for it; other instances' claims are respected.
   */
  async catchUp(roomId: string): Promise<void> {
    this.#requestCatchUp(roomId);
    await this.idle();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#stopListening?.();
    if (this.#sweep) clearInterval(this.#sweep);
    for (const timer of this.#pending.values()) clearTimeout(timer);
    this.#pending.clear();
    await Promise.allSettled([...this.#running]);
    await this.#ownRecognizer?.close();
  }

  /** What became of the room's last documents (at most 100), the latest first. */
  async fileStates(roomId: string): Promise<FileIndexState[]> {
    const value = await this.#config.engine.getRoomSetting(SYSTEM_ACTOR, roomId, KNOWLEDGE_FILES_KEY);
    const parsed = z.array(FileIndexStateSchema).safeParse(value);
    return parsed.success ? [...parsed.data].reverse() : [];
  }

  #onEvent(event: ChatEvent): void {
    if (this.#closed) return;
    if (event.type === 'room.settings.updated' && event.payload.key === KNOWLEDGE_SETTINGS_KEY) {
      // Another instance changed a room's sources: follow (it does the indexing).
      const roomId = event.payload.roomId;
      this.#track(
        this.#config.engine.getRoomSetting(SYSTEM_ACTOR, roomId, KNOWLEDGE_SETTINGS_KEY).then((value) => {
          const parsed = RoomKnowledgeSettingsSchema.safeParse(value);
          this.#rooms.set(roomId, parsed.success ? parsed.data : OFF);
        }),
        roomId,
      );
      return;
    }
    if (
      event.type !== 'message.created' &&
      event.type !== 'message.updated' &&
      event.type !== 'message.deleted'
    )
      return;
    const settings = this.settingsOf(event.roomId);
    if (settings.messages || settings.files) this.#schedule(event.roomId);
  }

  /** Gathers a room's changes for a moment, then indexes its events past the watermark. */
  #schedule(roomId: string): void {
    if (this.#pending.has(roomId)) return;
    const timer = setTimeout(() => {
      this.#pending.delete(roomId);
      this.#requestCatchUp(roomId);
    }, this.#config.debounceMs ?? 1_500);
    timer.unref?.();
    this.#pending.set(roomId, timer);
  }

  /** Runs the room's catch-up, one at a time per room: one asked for while one runs runs after it. */
  #requestCatchUp(roomId: string): void {
    if (this.#closed) return;
    const running = this.#catchUps.get(roomId);
    if (running) {
      running.again = true;
      return;
    }
    const entry = { again: false };
    this.#catchUps.set(roomId, entry);
    const work = (async () => {
      try {
        do {
          entry.again = false;
          await this.#catchUpRoom(roomId);
        } while (entry.again && !this.#closed);
      } finally {
        this.#catchUps.delete(roomId);
      }
    })();
    this.#track(work, roomId);
  }

  /**
   * Indexes the room's events past its watermark, batch by batch: claims the batch (skipping one another
   * instance holds), indexes the message sources and documents its events touched, then moves the
   * watermark to its last event and gives the claim back.
   */
  async #catchUpRoom(roomId: string): Promise<void> {
    const { engine } = this.#config;
    let state = await this.roomState(roomId);
    for (;;) {
      const settings = this.settingsOf(roomId);
      if (this.#closed || (!settings.messages && !settings.files) || this.#fullIndexes.has(roomId)) return;
      // No watermark yet (a full index is to run or running) or one of another model: nothing to follow.
      if (state?.state !== 'done' || state.seq === undefined || state.model !== this.knowledge.index.model)
        return;
      const from = state.seq;
      const events = await engine.eventsSince(SYSTEM_ACTOR, roomId, from, EVENT_BATCH);
      const last = events.at(-1);
      if (!last) return;
      const claim = await this.#claim(roomId, String(from + 1));
      if (!claim) return;
      try {
        // Another instance may have finished this batch between the read and the claim.
        const current = await this.roomState(roomId);
        if (current?.seq !== from) {
          state = current;
          continue;
        }
        const created = await this.#indexEvents(roomId, settings, events);
        await this.#recordState(roomId, {
          state: 'done',
          messages: state.messages + created,
          chunks: state.chunks,
          seq: last.seq,
        });
        state = { ...state, messages: state.messages + created, seq: last.seq };
      } finally {
        await this.#release(roomId, claim);
      }
    }
  }

  /** Indexes what a batch of the room's events changed. @returns how many messages it created. */
  async #indexEvents(
    roomId: string,
    settings: RoomKnowledgeSettings,
    events: readonly ChatEvent[],
  ): Promise<number> {
    const sources = new Map<string, MessageSource>();
    const files: { fileId: string; deleted: boolean }[] = [];
    let created = 0;
    for (const event of events) {
      if (
        event.type !== 'message.created' &&
        event.type !== 'message.updated' &&
        event.type !== 'message.deleted'
      )
        continue;
      const message: Message = event.payload.message;
      if (event.type === 'message.created') created += 1;
      if (settings.messages)
        for (const source of this.#module.messageSourcesOf(message)) sources.set(source.sourceId, source);
      if (settings.files && event.type !== 'message.updated')
        for (const attachment of message.attachments)
          if (isDocument(attachment.mimeType))
            files.push({ fileId: attachment.fileId, deleted: event.type === 'message.deleted' });
    }
    // A source that cannot be indexed (the embedding model down) throws: the watermark stays, and the
    // batch is tried again.
    for (const source of sources.values()) await this.knowledge.indexMessageSource(source);
    for (const { fileId, deleted } of files) {
      // One document that cannot be read (its blob gone, say) does not hold the room's index back.
      if (deleted) await this.knowledge.removeFile(fileId);
      else
        await this.#indexFile(fileId).catch((error: unknown) =>
          this.#config.logger.warn({ err: error, fileId, roomId }, 'knowledge: a document was not indexed'),
        );
    }
    return created;
  }

  /**
   * Claims work on the room (`what`: the first sequence number of a batch of its events, or `full:…` and
   * `files:…`): the first attempt key nobody holds, past attempts whose claim expired (their instance
   * died). @returns the keys to remove when done (the last one is held), or undefined when another
   * instance holds the work.
   */
  async #claim(roomId: string, what: string): Promise<string[] | undefined> {
    const { engine } = this.#config;
    const keys: string[] = [];
    for (let attempt = 1; ; attempt++) {
      const key = `${KNOWLEDGE_CLAIM_KEY}:${what}:${attempt}`;
      keys.push(key);
      const held = await engine.getRoomSetting(SYSTEM_ACTOR, roomId, key);
      if (held === undefined) {
        const expiresAt = new Date(Date.now() + CLAIM_TTL_MS).toISOString();
        return (await engine.claimRoomSetting(SYSTEM_ACTOR, roomId, key, { expiresAt })) ? keys : undefined;
      }
      const claim = ClaimSchema.safeParse(held);
      if (claim.success && Date.parse(claim.data.expiresAt) > Date.now()) return undefined;
    }
  }

  async #release(roomId: string, keys: readonly string[]): Promise<void> {
    for (const key of keys) await this.#config.engine.deleteRoomSetting(SYSTEM_ACTOR, roomId, key);
  }

  /**
   * Runs long work on the room under a claim renewed every third of its lifetime, so that another instance
   * takes it over only when this one died. @returns false when another instance holds it.
   */
  async #whileClaimed(roomId: string, what: string, work: () => Promise<void>): Promise<boolean> {
    const claim = await this.#claim(roomId, what);
    if (!claim) return false;
    const held = claim.at(-1) as string;
    const renew = setInterval(() => {
      const expiresAt = new Date(Date.now() + CLAIM_TTL_MS).toISOString();
      void this.#config.engine
        .setRoomSetting(SYSTEM_ACTOR, roomId, held, { expiresAt })
        .catch((error: unknown) =>
          this.#config.logger.warn({ err: error, roomId }, 'knowledge: a claim was not renewed'),
        );
    }, CLAIM_TTL_MS / 3);
    renew.unref?.();
    try {
      await work();
    } finally {
      clearInterval(renew);
      await this.#release(roomId, claim);
    }
    return true;
  }

  /** Indexes the room's documents again into this model's index, claimed across instances. */
  #reindexFilesInBackground(roomId: string): void {
    if (this.#filesReindexes.has(roomId)) return;
    const work = (async () => {
      try {
        await this.#whileClaimed(roomId, `files:${shortHash(this.knowledge.index.model)}`, async () => {
          // Another instance may have finished it between the check and the claim.
          if ((await this.#filesState(roomId, await this.roomState(roomId))) === 'done') return;
          await this.#recordFilesModel(roomId, 'indexing');
          const failed = await this.#indexRoomFiles(SYSTEM_ACTOR, roomId);
          if (this.settingsOf(roomId).files)
            await this.#recordFilesModel(roomId, failed > 0 ? 'failed' : 'done');
        });
      } finally {
        this.#filesReindexes.delete(roomId);
      }
      this.#retireOldIndexes();
    })();
    this.#filesReindexes.set(roomId, work);
    this.#track(work, roomId);
  }

  /** A watermark at the room's latest event, for a room whose documents alone are knowledge. */
  async #startWatermark(roomId: string): Promise<void> {
    const room = await this.#config.engine.getRoom(SYSTEM_ACTOR, roomId);
    await this.#recordState(roomId, { state: 'done', messages: 0, chunks: 0, seq: room.lastSeq });
  }

  async #indexFile(fileId: string): Promise<void> {
    const { engine, blobs, maxDocumentBytes } = this.#config;
    const file = await engine.getFileRecord(SYSTEM_ACTOR, fileId);
    const record = (state: Omit<FileIndexState, 'fileId' | 'name' | 'updatedAt'>) =>
      file.roomId
        ? this.#recordFileState(file.roomId, { fileId, name: file.name, ...state })
        : Promise.resolve();
    if (file.size > maxDocumentBytes) {
      this.#config.logger.warn({ fileId, size: file.size }, 'knowledge: a document is too large to index');
      await record({
        state: 'skipped',
        chunks: 0,
        code: 'too_large',
        reason: `${file.name}: the document has ${file.size} bytes, over the limit of ${maxDocumentBytes}`,
      });
      return;
    }
    try {
      const bytes = await readAll(await blobs.get(file.storageKey), maxDocumentBytes);
      const chunks = await this.knowledge.indexFile(file, bytes);
      await record({ state: 'indexed', chunks });
    } catch (error) {
      if (!this.#module.ExtractionError.isInstance(error)) {
        await record({
          state: 'failed',
          chunks: 0,
          reason: error instanceof Error ? error.message.slice(0, 500) : 'indexing failed',
        }).catch(() => undefined);
        throw error;
      }
      this.#config.logger.info(
        { fileId, code: error.code },
        `knowledge: ${file.name} was not indexed (${error.message})`,
      );
      await record({ state: 'skipped', chunks: 0, code: error.code, reason: error.message.slice(0, 500) });
    }
  }

  /** Writes one document's outcome into its room's list, one write at a time per room. */
  #recordFileState(roomId: string, state: Omit<FileIndexState, 'updatedAt'>): Promise<void> {
    const write = (this.#fileStateWrites.get(roomId) ?? Promise.resolve()).then(async () => {
      const { engine } = this.#config;
      const parsed = z
        .array(FileIndexStateSchema)
        .safeParse(await engine.getRoomSetting(SYSTEM_ACTOR, roomId, KNOWLEDGE_FILES_KEY));
      const states = (parsed.success ? parsed.data : []).filter((entry) => entry.fileId !== state.fileId);
      states.push({ ...state, updatedAt: new Date().toISOString() });
      await engine.setRoomSetting(
        SYSTEM_ACTOR as never,
        roomId,
        KNOWLEDGE_FILES_KEY,
        states.slice(-MAX_FILE_STATES) as unknown as JsonValue,
      );
    });
    const settled = write.catch(() => undefined);
    this.#fileStateWrites.set(roomId, settled);
    void settled.then(() => {
      if (this.#fileStateWrites.get(roomId) === settled) this.#fileStateWrites.delete(roomId);
    });
    return write;
  }

  /** Indexes the room's documents. @returns how many failed (recorded in the room's document states). */
  async #indexRoomFiles(actorId: string | typeof SYSTEM_ACTOR, roomId: string): Promise<number> {
    let failed = 0;
    for (let after: string | undefined; ; ) {
      const files = await this.#config.engine.listFiles(actorId, { roomId, ...(after ? { after } : {}) });
      for (const file of files) {
        if (!isDocument(file.mimeType)) continue;
        // One document that cannot be read (its blob gone, say) does not keep the others from being indexed.
        await this.#indexFile(file.id).catch((error: unknown) => {
          failed += 1;
          this.#config.logger.warn(
            { err: error, fileId: file.id, roomId },
            'knowledge: a document was not indexed',
          );
        });
      }
      if (files.length === 0) return failed;
      const last = files.at(-1)?.id;
      if (!last || last === after) return failed;
      after = last;
    }
  }

  /**
   * Indexes the room's messages whole, claimed across instances: of several starting together, one does
   * it and the others follow its watermark once it is done.
   */
  #indexRoomInBackground(roomId: string): void {
    if (this.#fullIndexes.has(roomId)) return;
    const work = (async () => {
      try {
        await this.#whileClaimed(roomId, `full:${shortHash(this.knowledge.index.model)}`, async () => {
          // Another instance may have finished it between the check and the claim.
          if (!this.#needsFullIndex(this.settingsOf(roomId), await this.roomState(roomId))) return;
          await this.#indexRoomMessagesNow(roomId);
        });
      } finally {
        this.#fullIndexes.delete(roomId);
      }
      this.#requestCatchUp(roomId);
      this.#retireOldIndexes();
    })();
    this.#fullIndexes.set(roomId, work);
    this.#track(work, roomId);
  }

  /** Indexes the room's messages whole now, recording its progress and outcome in the room's state. */
  async #indexRoomMessagesNow(roomId: string): Promise<void> {
    let last = 0;
    try {
      // Events from here on are followed from the watermark: the full index reads the room as it is now.
      const { lastSeq } = await this.#config.engine.getRoom(SYSTEM_ACTOR, roomId);
      const result = await this.knowledge.indexRoomMessages(roomId, {
        onProgress: (progress) => {
          // A few records while a large room is indexed, not one per hour of its history.
          if (progress.messages - last < 1_000) return;
          last = progress.messages;
          void this.#recordState(roomId, { state: 'indexing', ...progress }).catch(() => {});
        },
      });
      if (this.settingsOf(roomId).messages)
        await this.#recordState(roomId, { state: 'done', ...result, seq: lastSeq });
    } catch (error) {
      this.#config.logger.error({ err: error, roomId }, "knowledge: indexing a room's messages failed");
      await this.#recordState(roomId, {
        state: 'failed',
        messages: 0,
        chunks: 0,
        error: error instanceof Error ? error.message.slice(0, 500) : 'indexing failed',
      });
    }
  }

  #recordState(roomId: string, state: Omit<RoomIndexState, 'updatedAt' | 'model'>): Promise<void> {
    const value: RoomIndexState = {
      ...state,
      model: this.knowledge.index.model,
      updatedAt: new Date().toISOString(),
    };
    return this.#config.engine.setRoomSetting(
      SYSTEM_ACTOR as never,
      roomId,
      KNOWLEDGE_STATE_KEY,
      value as unknown as JsonValue,
    );
  }

  #track(work: Promise<unknown>, roomId: string): void {
    const tracked = work.catch((error: unknown) =>
      this.#config.logger.error({ err: error, roomId }, 'knowledge: indexing failed'),
    );
    this.#running.add(tracked);
    void tracked.finally(() => this.#running.delete(tracked));
  }
}

/** Where a passage is, for a person: the room at its first message, or the file's content. */
export function passageLink(passage: RetrievedPassage): string {
  const { source } = passage;
  if (source.type === 'message') return `/rooms/${source.roomId}?message=${source.messageIds[0] ?? ''}`;
  return `/api/v1/files/${source.fileId}/content${source.page ? `#page=${source.page}` : ''}`;
}

/** The vector index of one embedding model (index names are at most 128 characters). */
export function knowledgeIndexName(model: string): string {
  const name = `knowledge:${model}`;
  if (name.length <= 128) return name;
  let hash = 0x811c9dc5;
  for (let index = 0; index < name.length; index++)
    hash = Math.imul(hash ^ name.charCodeAt(index), 0x01000193);
  return `${name.slice(0, 119)}:${(hash >>> 0).toString(16).padStart(8, '0')}`;
}

/** A short, stable name for an embedding model in a claim's key. */
function shortHash(text: string): string {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++)
    hash = Math.imul(hash ^ text.charCodeAt(index), 0x01000193);
  return (hash >>> 0).toString(16).padStart(8, '0');
}

/** The knowledge module's vector store of a store that has one (`@kaiwa/store-kysely`'s do). */
export function knowledgeStoreOf(store: object): VectorStore | undefined {
  const knowledge = (store as Partial<KnowledgeStorage>).knowledge;
  return knowledge && typeof knowledge.query === 'function' ? knowledge : undefined;
}

async function readAll(stream: ReadableStream<Uint8Array>, maxBytes: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.byteLength;
    if (size > maxBytes) throw new Error(`the document is larger than ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/**
 * Opens knowledge when an embedding model is configured (KAIWA_EMBEDDINGS) or given; undefined otherwise.
 * Loads `@kaiwa/knowledge` and `@kaiwa/llm` only then.
 *
 * @throws VectorIndexMismatchError when the index holds another model's vectors (see docs/configuration.md
 * on changing the embedding model).
 */
export async function composeKnowledge(
  config: KnowledgeCompositionConfig,
): Promise<KnowledgeService | undefined> {
  if (!config.settings && !config.embedder) return undefined;
  if (!config.vectors)
    throw new Error(
      'KAIWA_EMBEDDINGS is set, but the store has no vector store (knowledge module) to keep vectors in',
    );
  const vectors = config.vectors;
  const module = await import('@kaiwa/knowledge');
  const embedder = config.embedder ?? (await createEmbedder(config.settings as EmbeddingSettings));
  // tesseract.js and pdf.js load on the first image or scan, not here.
  const ownRecognizer = config.textRecognizer === undefined ? createOwnRecognizer(config.ocr) : undefined;
  const textRecognizer = config.textRecognizer ?? ownRecognizer;
  // One index per embedding model: vectors of two models are never compared, and a new model starts empty.
  const knowledge = await module.KnowledgeBase.open({
    chat: config.engine,
    vectors,
    embedder,
    index: knowledgeIndexName(`${embedder.provider}:${embedder.modelId}`),
    ...(textRecognizer ? { textRecognizer } : {}),
    ...(config.ocr
      ? { ocrLimits: { maxPages: config.ocr.maxPages, pageTimeoutMs: config.ocr.pageTimeoutMs } }
      : {}),
  });
  return new KnowledgeService(config, module, knowledge, ownRecognizer);
}

/**
 * tesseract.js with the configured languages and pixel bound. Scanned PDF pages are rendered by the file
 * previews' renderer, a child process per page under a deadline and a heap limit, so a hostile PDF exhausts
 * that child and never the server.
 */
function createOwnRecognizer(ocr: OcrSettings | undefined): TesseractTextRecognizer {
  const maxPixels = ocr?.maxPixels ?? 25_000_000;
  const renderer = new PdfPreviewer({
    dpi: 200,
    maxPixels,
    timeoutMs: ocr?.pageTimeoutMs ?? 60_000,
    concurrency: 1,
    // Rooms index in parallel; each page's own deadline bounds its wait, so none is refused as busy.
    maxWaiting: 1_000,
    cacheEntries: 0,
  });
  return createTesseractTextRecognizer({
    maxWorkers: 1,
    maxPixels,
    ...(ocr ? { languages: ocr.languages } : {}),
    renderPdfPage: async (pdf, page, { signal }) => {
      try {
        return (await renderer.render(pdf, page, undefined, signal)).png;
      } catch (error) {
        // Over the pixel bound is a document too large to read, not a damaged one.
        if (error instanceof PdfPreviewError && error.code === 'too_large')
          throw new ImageTooLargeError('page', error.message, maxPixels);
        throw error;
      }
    },
  });
}

async function createEmbedder(settings: EmbeddingSettings): Promise<EmbeddingModel> {
  const llm = await import('@kaiwa/llm');
  if (settings.kind === 'transformers') {
    return llm.createTransformersEmbeddingModel({
      localModelPath: settings.modelDirectory,
      model: settings.model,
    });
  }
  return llm.createOpenAICompatibleEmbeddingModel({
    baseURL: settings.baseUrl,
    model: settings.model,
    ...(settings.apiKey ? { apiKey: settings.apiKey } : {}),
    ...(settings.dimensions ? { dimensions: settings.dimensions } : {}),
  });
}
