import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename, isAbsolute, join } from 'node:path';
import { ChatEngine, type EmbeddingModel } from '@kaiwa/core';
import { createOpenAICompatibleEmbeddingModel } from '@kaiwa/llm';
import { createSqliteStore } from '@kaiwa/store-kysely';
import {
  chunkDocument,
  createHashedNgramTestEmbedding,
  KnowledgeBase,
  type RetrievedPassage,
} from '../../packages/knowledge/src/index.js';

/*
 * Retrieval quality of `KnowledgeBase.retrieve` on a labelled set (bench/rag/questions.json): real documents
 * under a free licence (Kaiwa's own docs and ADRs, MIT; the licence texts Debian installs in
 * /usr/share/common-licenses), questions written in other words than the text, each with the document and a
 * substring of it that marks the answering passage. A question counts as answered at rank r when the r-th
 * passage is the first to contain its answer (whitespace collapsed).
 *
 * Two set-ups, each on a fresh SQLite store (sqlite-vec) with the real engine:
 * - "messages": each document's chunks (chunkDocument, as indexFile makes them, headings in front) are posted
 *   as chat messages in a channel per document and indexed with indexRoomMessages. retrieve() then runs both
 *   of its rankings — vectors over the message chunks, and the engine's full-text search (FTS5) over the
 *   messages — and fuses them (RRF). Full-text alone and vectors alone are read from each passage's `ranks`.
 * - "files": each document uploaded and indexed with indexFile. retrieve() then runs vectors over the file
 *   chunks and the store's full-text search over the same chunks (FTS5 on SQLite; the document's name and
 *   headings in front of each chunk's text), fused the same way.
 */

/** One labelled question. */
interface Question {
  /** A path from the repository root, or an absolute one (licence texts). */
  document: string;
  question: string;
  /** A substring of the document, unique in it, inside the passage that answers the question. */
  answer: string;
}

interface QuestionSet {
  /** Documents indexed besides those the questions name, so that ranking has something to get wrong. */
  distractors?: string[];
  questions: Question[];
}

export interface QualityOptions {
  questions: string;
  /** An OpenAI-compatible `/v1` base URL; the hashed n-gram test embedding when absent. */
  embeddings?: string;
  model?: string;
  apiKey?: string;
  dimensions: number;
}

type Mode = 'fullText' | 'vector' | 'hybrid';

interface Scores {
  questions: number;
  recallAt1: number;
  recallAt5: number;
  recallAt10: number;
  /** Mean reciprocal rank, counting ranks up to 10 (MRR@10). */
  mrr: number;
}

const collapse = (text: string) => text.replace(/\s+/g, ' ').trim().toLowerCase();

function embedderFrom(options: QualityOptions): EmbeddingModel {
  if (!options.embeddings) return createHashedNgramTestEmbedding({ dimensions: options.dimensions });
  if (!options.model) throw new Error('--embeddings needs --model (the embedding model the server serves)');
  return createOpenAICompatibleEmbeddingModel({
    baseURL: options.embeddings,
    model: options.model,
    ...(options.apiKey ? { apiKey: options.apiKey } : {}),
  });
}

function score(ranks: (number | undefined)[]): Scores {
  const within = (limit: number) => ranks.filter((rank) => rank !== undefined && rank <= limit).length;
  const reciprocal = ranks.reduce<number>(
    (sum, rank) => sum + (rank !== undefined && rank <= 10 ? 1 / rank : 0),
    0,
  );
  return {
    questions: ranks.length,
    recallAt1: within(1) / ranks.length,
    recallAt5: within(5) / ranks.length,
    recallAt10: within(10) / ranks.length,
    mrr: reciprocal / ranks.length,
  };
}

/** The rank in one ranking of the first passage holding the answer. */
function rankOf(
  passages: RetrievedPassage[],
  holds: (passage: RetrievedPassage) => boolean,
  mode: Mode,
): number | undefined {
  if (mode === 'hybrid') {
    const position = passages.findIndex(holds);
    return position < 0 ? undefined : position + 1;
  }
  const ranked = passages
    .filter((passage) => passage.ranks[mode] !== undefined)
    .sort((a, b) => (a.ranks[mode] as number) - (b.ranks[mode] as number));
  return ranked.find(holds)?.ranks[mode];
}

export async function runQuality(options: QualityOptions): Promise<void> {
  const root = join(import.meta.dirname, '..', '..');
  const set = JSON.parse(readFileSync(options.questions, 'utf8')) as QuestionSet;
  const documents = new Map<string, string>();
  const usable: Question[] = [];
  const problems: string[] = [];
  const load = (document: string) => {
    const path = isAbsolute(document) ? document : join(root, document);
    if (!documents.has(document) && existsSync(path)) documents.set(document, readFileSync(path, 'utf8'));
    return documents.has(document);
  };
  for (const question of set.questions) {
    if (!load(question.document)) {
      problems.push(`${question.document}: missing on this machine`);
      continue;
    }
    const text = collapse(documents.get(question.document) as string);
    const answer = collapse(question.answer);
    const occurrences = text.split(answer).length - 1;
    if (occurrences !== 1) {
      problems.push(`${question.document}: answer found ${occurrences} times: "${question.answer}"`);
      continue;
    }
    usable.push(question);
  }
  for (const document of set.distractors ?? [])
    if (!load(document)) problems.push(`${document}: missing on this machine`);
  for (const line of new Set(problems)) console.warn(`skipped: ${line}`);

  const embedder = embedderFrom(options);
  const model = `${embedder.provider}:${embedder.modelId}`;
  const results: { setup: string; mode: Mode; scores: Scores; seconds: number }[] = [];

  for (const setup of ['messages', 'files'] as const) {
    const store = await createSqliteStore({ filename: ':memory:' });
    await store.migrate();
    const engine = new ChatEngine({ store });
    try {
      const reader = await engine.createUser({ username: 'reader', role: 'admin' });
      const knowledge = await KnowledgeBase.open({ chat: engine, vectors: store.knowledge, embedder });
      const started = performance.now();
      const roomOf = new Map<string, string>();
      for (const [path, body] of documents) {
        const name = basename(path);
        const room = await engine.createRoom(reader.id, {
          kind: 'channel',
          name: `doc-${createHash('sha256').update(path).digest('hex').slice(0, 12)}`,
        });
        roomOf.set(path, room.id);
        if (setup === 'messages') {
          for (const chunk of chunkDocument(body))
            await engine.sendMessage(reader.id, {
              roomId: room.id,
              text: `${[name, ...chunk.headings].join(' › ')}\n\n${chunk.text}`,
            });
          await knowledge.indexRoomMessages(room.id);
        } else {
          const bytes = new TextEncoder().encode(body);
          const file = await engine.createFileRecord(reader.id, {
            name: path.endsWith('.md') ? name : `${name}.txt`,
            mimeType: path.endsWith('.md') ? 'text/markdown' : 'text/plain',
            size: bytes.byteLength,
            sha256: createHash('sha256').update(bytes).digest('hex'),
            storageKey: `files/${name}`,
            roomId: room.id,
          });
          await knowledge.indexFile(file, bytes);
        }
      }
      console.warn(
        `${setup}: ${documents.size} documents, ${await knowledge.chunkCount()} chunks indexed in ${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
      const ranks: Record<Mode, (number | undefined)[]> = { fullText: [], vector: [], hybrid: [] };
      const asked = performance.now();
      for (const question of usable) {
        // k = 100: every passage ranked 1–10 by either side is among the fused top 100 (see the notes).
        const passages = await knowledge.retrieve({ actorId: reader.id, query: question.question, k: 100 });
        const answer = collapse(question.answer);
        const roomId = roomOf.get(question.document);
        // The passage must come from the question's document: licence texts share sentences.
        const holds = (passage: RetrievedPassage) =>
          passage.source.roomId === roomId && collapse(passage.text).includes(answer);
        for (const mode of ['fullText', 'vector', 'hybrid'] as const)
          ranks[mode].push(rankOf(passages, holds, mode));
      }
      const seconds = (performance.now() - asked) / 1000 / usable.length;
      for (const mode of ['fullText', 'vector', 'hybrid'] as const)
        results.push({ setup, mode, scores: score(ranks[mode]), seconds });
    } finally {
      engine.close();
      await store.close();
    }
  }

  const label: Record<Mode, string> = {
    fullText: 'full-text only (FTS5)',
    vector: 'vectors only',
    hybrid: 'hybrid (RRF)',
  };
  console.log(
    `\nRetrieval quality: ${usable.length} questions on ${new Set(usable.map((question) => question.document)).size} of ${documents.size} documents, embedding ${model} (${embedder.dimensions ?? '?'} dimensions)\n`,
  );
  console.log('| Passages | Ranking | Recall@1 | Recall@5 | Recall@10 | MRR@10 | ms / question |');
  console.log('|---|---|---:|---:|---:|---:|---:|');
  for (const { setup, mode, scores, seconds } of results) {
    console.log(
      `| ${setup === 'messages' ? 'chunks posted as messages' : 'files (indexFile)'} | ${label[mode]} | ${scores.recallAt1.toFixed(3)} | ${scores.recallAt5.toFixed(3)} | ${scores.recallAt10.toFixed(3)} | ${scores.mrr.toFixed(3)} | ${(seconds * 1000).toFixed(1)} |`,
    );
  }
}
