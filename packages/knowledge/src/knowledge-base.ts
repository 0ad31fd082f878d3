import {
  type ChatEngine,
  type EmbeddingModel,
  type FileRecord,
  firstIdAt,
  KaiwaError,
  type KnowledgeChunk,
  type Message,
  SYSTEM_ACTOR,
  type TextRecognizer,
  type VectorChunk,
  type VectorIndex,
  type VectorStore,
} from '@kaiwa/core';
import { type ChunkOptions, chunkDocument, chunkMessages } from './chunking.js';
import { ExtractionError, extractText } from './extract-text.js';
import { hourEnd, type MessageSource, threadSource, timelineHour } from './message-sources.js';

/** What retrieval needs from the chat engine: every read goes through its permission checks. */
export type KnowledgeChat = Pick<
  ChatEngine,
  'readableScope' | 'search' | 'history' | 'getUsers' | 'getMessage'
>;

export interface KnowledgeBaseConfig {
  /** The chat engine: the only way into chat data (ADR 0007). */
  chat: KnowledgeChat;
  /** Where chunks and vectors live, e.g. `store.knowledge` of `@kaiwa/store-kysely`. */
  vectors: VectorStore;
  embedder: EmbeddingModel;
  /** The vector index's name; `knowledge` by default. One index holds one model's vectors. */
  index?: string;
  /** Chunk sizes; see `chunkDocument`. */
  chunking?: ChunkOptions;
  /** Texts per `embed` call; 32 by default. */
  embedBatchSize?: number;
  /**
   * Reads images and the pages of scanned PDFs (e.g. `createTesseractTextRecognizer()` of
   * `@kaiwa/workflow-steps`). Without it, `indexFile` refuses an image, or a PDF with no text layer, as
   * `ocr_unavailable`.
   */
  textRecognizer?: TextRecognizer;
  /** Bounds of OCR per document: pages read (50 by default) and the deadline of each (60 s by default). */
  ocrLimits?: { maxPages?: number; pageTimeoutMs?: number };
}

/** A passage retrieval found, with where it came from for a citation. */
export interface RetrievedPassage {
  /** Stable per passage: the chunk id, or `message:<id>` for a message only full-text search found. */
  key: string;
  text: string;
  source:
    | { type: 'message'; roomId: string; messageIds: string[] }
    | { type: 'file'; fileId: string; roomId: string | null; projectId: string | null; page: number | null };
  /** Reciprocal rank fusion score: the sum of 1 / (60 + rank) over the rankings that found it. */
  score: number;
  /** Its 1-based rank in each ranking that found it. */
  ranks: { vector?: number; fullText?: number };
}

/** The constant of reciprocal rank fusion (Cormack et al. 2009): damps the weight of the very top ranks. */
const RRF_K = 60;

/**
 * Knowledge for the assistant: indexes documents and chat history as chunks with vectors, and retrieves
 * passages for a question by hybrid search.
 *
 * Guarantees: retrieval only ever considers what the asking user may read — the vector search and the
 * documents' full-text search are filtered by the rooms and projects the engine says they may read
 * (`readableScope`) before ranking, and the messages' full-text side is the engine's own permission-checked
 * search — so a chunk of a room they cannot read is never returned, however near its vector or many its
 * matching words. Indexing a source replaces its chunks all or nothing: a document
 * that cannot be read or embedded throws before anything is written, and a reader sees the old chunks or
 * the new ones. One index holds the vectors of one embedding model; `open()` refuses an index made with
 * another model (`VectorIndexMismatchError`).
 *
 * @example
 * const knowledge = await KnowledgeBase.open({ chat: engine, vectors: store.knowledge, embedder });
 * await knowledge.indexFile(file, bytes);
 * const passages = await knowledge.retrieve({ actorId: alice.id, query: 'How do we back up the database?' });
 */
export class KnowledgeBase {
  readonly index: VectorIndex;
  readonly #config: KnowledgeBaseConfig;
  readonly #model: string;
  /** Users whose mentions make a message a question to them, not knowledge (the assistant's bot user). */
  readonly #askedUsers = new Set<string>();

  private constructor(config: KnowledgeBaseConfig, index: VectorIndex) {
    this.#config = config;
    this.index = index;
    this.#model = index.model;
  }

  /**
   * Messages that mention `userId` (questions to the assistant, whose bot user it is) are not knowledge from
   * now on, as its answers are not: they are left out of what is indexed and of what full-text search finds,
   * so an answer never cites an earlier question as its source. Passages indexed before keep them until
   * their source is indexed again.
   *
   * @example knowledge.ignoreQuestionsTo(assistant.botUser.id);
   */
  ignoreQuestionsTo(userId: string): void {
    this.#askedUsers.add(userId);
  }

  /** Not knowledge: the assistant's answers and the questions put to it. */
  #notKnowledge(message: Message): boolean {
    return isAssistantAnswer(message) || message.mentions.userIds.some((id) => this.#askedUsers.has(id));
  }

  /**
   * Opens (creating when missing) the vector index for the embedder's model and dimension. An embedder that
   * does not say its dimension in advance embeds one text to find it out.
   *
   * @throws VectorIndexMismatchError when the index holds another model's vectors.
   */
  static async open(config: KnowledgeBaseConfig): Promise<KnowledgeBase> {
    const dimensions =
      config.embedder.dimensions ?? (await config.embedder.embed(['dimension probe'])).embeddings[0]?.length;
    if (!dimensions) throw new Error(`embedding model ${config.embedder.modelId} returned no vector`);
    const index = await config.vectors.ensureIndex({
      name: config.index ?? 'knowledge',
      model: modelName(config.embedder),
      dimensions,
    });
    return new KnowledgeBase(config, index);
  }

  /**
   * Indexes an uploaded file (replacing what was indexed of it before): extracts its text (images and
   * scanned PDF pages through the `textRecognizer`, within `ocrLimits`), chunks it by headings and
   * paragraphs (page by page for PDF), embeds and writes the chunks in one transaction. The chunks carry the
   * file's room and project, which decide who retrieves them, and their page.
   *
   * @returns how many chunks were written.
   * @throws ExtractionError, its message starting with the file's name, for a document that cannot be read
   * (`ocr_unavailable` for an image or scan when no recognizer is configured); nothing of it is indexed then,
   * and what was indexed of it before stays.
   */
  async indexFile(
    file: Pick<FileRecord, 'id' | 'name' | 'mimeType' | 'roomId' | 'projectId'>,
    bytes: Uint8Array,
  ): Promise<number> {
    const { textRecognizer, ocrLimits } = this.#config;
    const { format, parts } = await extractText(
      bytes,
      file.mimeType,
      textRecognizer ? { ocr: { recognizer: textRecognizer, ...ocrLimits } } : {},
    ).catch((error: unknown) => {
      if (!ExtractionError.isInstance(error)) throw error;
      throw new ExtractionError(error.code, `${file.name}: ${error.message}`, { cause: error });
    });
    const chunks = parts.flatMap((part) =>
      chunkDocument(format === 'markdown' ? part.text : plainParagraphs(part.text), {
        ...this.#config.chunking,
        ...(part.page === undefined ? {} : { page: part.page }),
      }).map((chunk) => ({ ...chunk, ocr: part.ocr === true })),
    );
    if (chunks.length === 0) throw new ExtractionError('unreadable', `${file.name}: it holds no text`);
    const titled = chunks.map((chunk) => withHeadings(chunk.text, [file.name, ...chunk.headings]));
    const vectors = await this.#embed(titled);
    const rows: VectorChunk[] = chunks.map((chunk, position) => ({
      id: `file:${file.id}:${position}`,
      sourceType: 'file',
      sourceId: file.id,
      roomId: file.roomId,
      projectId: file.projectId,
      fileId: file.id,
      page: chunk.page ?? null,
      text: chunk.text,
      // Full-text search finds a passage by the document's name and its section's headings too.
      fullText: titled[position] as string,
      metadata: { fileName: file.name, headings: chunk.headings, ...(chunk.ocr ? { ocr: true } : {}) },
      vector: vectors[position] as number[],
    }));
    await this.#config.vectors.replaceSource(
      this.index.name,
      { sourceType: 'file', sourceId: file.id },
      rows,
    );
    return rows.length;
  }

  /** Removes a file's chunks (when the file is deleted). @returns how many there were. */
  removeFile(fileId: string): Promise<number> {
    return this.#config.vectors.deleteBySource(this.index.name, { sourceType: 'file', sourceId: fileId });
  }

  /**
   * Indexes one message source (a thread, or an hour of a room's timeline; see `messageSourcesOf`) as it
   * is now, read as the server itself: its chunks replace the source's old ones, and a source with no
   * text left (all deleted) is removed. Call it after a message of the source was sent, edited or deleted.
   *
   * @returns how many chunks the source has now.
   */
  async indexMessageSource(source: MessageSource): Promise<number> {
    return this.#writeMessageSource(source, await this.#messagesOf(source));
  }

  /**
   * Indexes a whole room's messages, hour by hour of its timeline and thread by thread, replacing what was
   * indexed of them. Messages are read as the server itself (`SYSTEM_ACTOR`); who may retrieve them is
   * decided at query time by the room's readers.
   *
   * @returns how many messages were read and chunks written.
   */
  async indexRoomMessages(
    roomId: string,
    options: { onProgress?: (progress: { messages: number; chunks: number }) => void } = {},
  ): Promise<{ messages: number; chunks: number }> {
    const threads: string[] = [];
    let hour: Extract<MessageSource, { kind: 'timeline-hour' }> | undefined;
    let pending: Message[] = [];
    const progress = { messages: 0, chunks: 0 };
    const flush = async () => {
      if (hour) progress.chunks += await this.#writeMessageSource(hour, pending);
      options.onProgress?.({ ...progress });
    };
    for (let after = firstIdAt(0); ; ) {
      const page = await this.#config.chat.history(SYSTEM_ACTOR, { roomId, after, limit: 200 });
      for (const message of page.messages) {
        progress.messages += 1;
        if (message.replyCount > 0) threads.push(message.id);
        const source = timelineHour(roomId, message.createdAt);
        if (source.kind === 'timeline-hour' && source.sourceId !== hour?.sourceId) {
          await flush();
          hour = source;
          pending = [];
        }
        pending.push(message);
      }
      const last = page.messages.at(-1);
      if (!page.hasMore || !last) break;
      after = last.id;
    }
    await flush();
    for (const rootId of threads) {
      progress.chunks += await this.indexMessageSource(threadSource(roomId, rootId));
      options.onProgress?.({ ...progress });
    }
    return progress;
  }

  /** How many chunks the index holds. */
  chunkCount(): Promise<number> {
    return this.#config.vectors.count(this.index.name);
  }

  /** Removes a room's chunks: its messages' (`'message'`), its files' (`'file'`), or both. */
  removeRoom(roomId: string, sourceType?: 'message' | 'file'): Promise<number> {
    return this.#config.vectors.deleteByRoom(this.index.name, {
      roomId,
      ...(sourceType ? { sourceType } : {}),
    });
  }

  async #messagesOf(source: MessageSource): Promise<Message[]> {
    const { chat } = this.#config;
    const messages: Message[] = [];
    if (source.kind === 'thread') {
      const root = await chat.getMessage(SYSTEM_ACTOR, source.rootId).catch((error: unknown) => {
        if (KaiwaError.isInstance(error) && error.code === 'not_found') return undefined;
        throw error;
      });
      if (!root) return [];
      messages.push(root);
    }
    const end = source.kind === 'timeline-hour' ? hourEnd(source) : Number.POSITIVE_INFINITY;
    let after = source.kind === 'timeline-hour' ? firstIdAt(source.hourStart) : firstIdAt(0);
    for (;;) {
      const page = await chat.history(SYSTEM_ACTOR, {
        roomId: source.roomId,
        after,
        limit: 200,
        ...(source.kind === 'thread' ? { threadRootId: source.rootId } : {}),
      });
      for (const message of page.messages) {
        if (Date.parse(message.createdAt) >= end) return messages;
        messages.push(message);
      }
      const last = page.messages.at(-1);
      if (!page.hasMore || !last) return messages;
      after = last.id;
    }
  }

  async #writeMessageSource(source: MessageSource, messages: readonly Message[]): Promise<number> {
    const live = messages.filter(
      (message) => message.deletedAt === null && message.text.trim() !== '' && !this.#notKnowledge(message),
    );
    const authors = new Map(
      (await this.#config.chat.getUsers([...new Set(live.map((message) => message.authorId))])).map(
        (user) => [user.id, user.displayName],
      ),
    );
    const groups = chunkMessages(
      live.map((message) => ({
        id: message.id,
        roomId: message.roomId,
        authorName: authors.get(message.authorId) ?? 'someone',
        text: message.text,
        createdAt: message.createdAt,
        // In an hour of the timeline, a thread's root is one more timeline message.
        threadRootId: source.kind === 'thread' ? message.threadRootId : null,
      })),
      this.#config.chunking?.maxCharacters === undefined
        ? {}
        : { maxCharacters: this.#config.chunking.maxCharacters },
    );
    const vectors = groups.length > 0 ? await this.#embed(groups.map((group) => group.text)) : [];
    const rows: VectorChunk[] = groups.map((group, position) => ({
      id: `message:${source.sourceId}:${position}`,
      sourceType: 'message',
      sourceId: source.sourceId,
      roomId: source.roomId,
      text: group.text,
      metadata: {
        messageIds: group.messageIds,
        threadRootId: source.kind === 'thread' ? source.rootId : null,
      },
      vector: vectors[position] as number[],
    }));
    await this.#config.vectors.replaceSource(
      this.index.name,
      { sourceType: 'message', sourceId: source.sourceId },
      rows,
    );
    return rows.length;
  }

  /**
   * The `k` passages most relevant to `query` among what `actorId` may read: the nearest chunks by vector,
   * the engine's full-text matches among messages and the store's full-text matches among document chunks
   * (FTS5, tsvector or FULLTEXT), fused by reciprocal rank fusion. Every side is restricted to the actor's
   * rooms, public channels and projects before it ranks anything.
   *
   * @example
   * const passages = await knowledge.retrieve({ actorId: alice.id, query: 'backup schedule', k: 5 });
   */
  async retrieve(request: {
    actorId: string;
    query: string;
    k?: number;
    /** Only these rooms (still only those the actor reads), e.g. the rooms whose knowledge is on. */
    withinRooms?: ReadonlySet<string>;
    /** Messages that are not knowledge for this query, e.g. the question itself. */
    excludeMessageIds?: readonly string[];
  }): Promise<RetrievedPassage[]> {
    const k = Math.min(Math.max(1, request.k ?? 8), 100);
    const candidates = Math.max(20, k * 4);
    const readable = await this.#config.chat.readableScope(request.actorId);
    const within = request.withinRooms;
    const scope = within
      ? { roomIds: readable.roomIds.filter((roomId) => within.has(roomId)), projectIds: [] }
      : readable;
    const [vector] = await this.#embed([request.query]);
    const filter = { roomIds: scope.roomIds, projectIds: scope.projectIds };
    const [nearest, documents, fullText] = await Promise.all([
      this.#config.vectors.query({
        index: this.index.name,
        model: this.#model,
        vector: vector as number[],
        k: candidates,
        filter,
      }),
      // Documents by the store's full-text search; messages by the engine's below (it sees an edit at once).
      this.#config.vectors.searchText({
        index: this.index.name,
        text: documentQuery(request.query),
        k: candidates,
        filter: { ...filter, sourceType: 'file' },
      }),
      // Within rooms none of which the actor reads, nothing; within one (the assistant's case), the engine
      // is asked for that room only.
      (within && scope.roomIds.length === 0
        ? Promise.resolve([] as Message[])
        : this.#fullText(
            request.actorId,
            request.query,
            candidates,
            within && scope.roomIds.length === 1 ? scope.roomIds[0] : undefined,
          )
      ).then((messages) =>
        messages.filter(
          (message) =>
            (!within || within.has(message.roomId)) &&
            !this.#notKnowledge(message) &&
            !request.excludeMessageIds?.includes(message.id),
        ),
      ),
    ]);

    const passages = new Map<string, RetrievedPassage>();
    const byMessage = new Map<string, string>();
    for (const [position, { chunk }] of nearest.entries()) {
      const passage = passageOf(chunk);
      passage.ranks.vector = position + 1;
      passage.score = 1 / (RRF_K + position + 1);
      passages.set(passage.key, passage);
      if (passage.source.type === 'message')
        for (const id of passage.source.messageIds) if (!byMessage.has(id)) byMessage.set(id, passage.key);
    }
    // Each full-text ranking counts on its own: a document passage's rank among documents, a message's
    // among messages.
    for (const [position, { chunk }] of documents.entries()) {
      let passage = passages.get(chunk.id);
      if (!passage) {
        passage = passageOf(chunk);
        passages.set(passage.key, passage);
      }
      passage.ranks.fullText = position + 1;
      passage.score += 1 / (RRF_K + position + 1);
    }
    for (const [position, message] of fullText.entries()) {
      // A message inside a chunk the vectors found counts for that chunk; otherwise it stands alone.
      const key = byMessage.get(message.id) ?? `message:${message.id}`;
      let passage = passages.get(key);
      if (!passage) {
        passage = {
          key,
          text: message.text,
          source: { type: 'message', roomId: message.roomId, messageIds: [message.id] },
          score: 0,
          ranks: {},
        };
        passages.set(key, passage);
      }
      if (passage.ranks.fullText !== undefined) continue;
      passage.ranks.fullText = position + 1;
      passage.score += 1 / (RRF_K + position + 1);
    }
    return [...passages.values()].sort((a, b) => b.score - a.score).slice(0, k);
  }

  /**
   * The engine's full-text search ranks by recency and requires every term, which a question rarely
   * satisfies: search the whole query, then its longest words (of four letters or more, or CJK) one by one,
   * and keep messages the whole query found or at least two words found, ranked by those hits (the whole
   * query counts two), then by the order the engine gave.
   */
  async #fullText(actorId: string, query: string, limit: number, roomId?: string): Promise<Message[]> {
    const words = [
      ...new Set(
        query
          .toLowerCase()
          .match(
            /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]{2,}|[\p{L}\p{N}]{4,}/gu,
          ) ?? [],
      ),
    ]
      .sort((a, b) => b.length - a.length)
      .slice(0, 5);
    const whole = query.trim().slice(0, 256);
    const searches = [whole, ...(words.length > 1 ? words : [])];
    const results = await Promise.all(
      searches.map((text) =>
        this.#config.chat
          .search(actorId, { query: text, limit: Math.min(limit, 100), ...(roomId ? { roomId } : {}) })
          // A query the search syntax refuses finds nothing; any other failure is the caller's to see.
          .catch((error: unknown) => {
            if (KaiwaError.isInstance(error) && error.code === 'validation_failed') return [] as Message[];
            throw error;
          }),
      ),
    );
    const found = new Map<string, { message: Message; hits: number; first: number }>();
    for (const [searchIndex, messages] of results.entries()) {
      for (const [position, message] of messages.entries()) {
        const entry = found.get(message.id) ?? { message, hits: 0, first: searchIndex * 1000 + position };
        entry.hits += searchIndex === 0 ? 2 : 1;
        found.set(message.id, entry);
      }
    }
    return [...found.values()]
      .filter((entry) => entry.hits >= 2)
      .sort((a, b) => b.hits - a.hits || a.first - b.first)
      .slice(0, limit)
      .map((entry) => entry.message);
  }

  async #embed(texts: string[]): Promise<number[][]> {
    const batchSize = this.#config.embedBatchSize ?? 32;
    const vectors: number[][] = [];
    for (let start = 0; start < texts.length; start += batchSize) {
      const { embeddings } = await this.#config.embedder.embed(texts.slice(start, start + batchSize));
      vectors.push(...embeddings);
    }
    return vectors;
  }
}

/**
 * The assistant's own answers are not knowledge: indexing them would let it cite itself (and repeat its
 * mistakes as sources).
 */
function isAssistantAnswer(message: Message): boolean {
  return typeof message.metadata === 'object' && message.metadata !== null && 'assistant' in message.metadata;
}

function modelName(embedder: EmbeddingModel): string {
  return `${embedder.provider}:${embedder.modelId}`;
}

/**
 * The words of a question worth looking for in documents: of three letters or more (or CJK), at most 16.
 * Any of them matches and the rarer weigh more, so short function words would only add cost.
 */
function documentQuery(query: string): string {
  const words =
    query
      .slice(0, 2_000)
      .match(
        /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]+|[\p{L}\p{N}\p{M}]{3,}/gu,
      ) ?? [];
  return [...new Set(words.map((word) => word.toLowerCase()))].slice(0, 16).join(' ');
}

/** Headings in front of the text that is embedded (not the text stored), so a section's context counts. */
function withHeadings(text: string, headings: string[]): string {
  return headings.length > 0 ? `${headings.join(' › ')}\n\n${text}` : text;
}

/** Plain text (PDF, DOCX) has no Markdown headings: keep a line starting with `#` from being read as one. */
function plainParagraphs(text: string): string {
  return text.replace(/^(\s*)#/gm, '$1\\#');
}

function passageOf(chunk: KnowledgeChunk): RetrievedPassage {
  const source: RetrievedPassage['source'] =
    chunk.sourceType === 'file'
      ? {
          type: 'file',
          fileId: chunk.fileId ?? chunk.sourceId,
          roomId: chunk.roomId ?? null,
          projectId: chunk.projectId ?? null,
          page: chunk.page ?? null,
        }
      : {
          type: 'message',
          roomId: chunk.roomId ?? '',
          messageIds: Array.isArray(chunk.metadata.messageIds)
            ? (chunk.metadata.messageIds as string[])
            : [chunk.sourceId],
        };
  return { key: chunk.id, text: chunk.text, source, score: 0, ranks: {} };
}
