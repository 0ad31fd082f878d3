export {
  type ChunkableMessage,
  type ChunkOptions,
  chunkDocument,
  chunkMessages,
  type DocumentChunk,
  type MessageGroup,
} from './chunking.js';
export {
  EXTRACTABLE_TYPES,
  type ExtractedText,
  ExtractionError,
  type ExtractionErrorCode,
  extractText,
  OCR_IMAGE_TYPES,
  type OcrOptions,
} from './extract-text.js';
export { createHashedNgramTestEmbedding } from './hashed-ngram-test-embedding.js';
export {
  KnowledgeBase,
  type KnowledgeBaseConfig,
  type KnowledgeChat,
  type RetrievedPassage,
} from './knowledge-base.js';
export {
  type MessageSource,
  messageSourcesOf,
  threadSource,
  timelineHour,
} from './message-sources.js';
