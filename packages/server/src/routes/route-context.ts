import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { BlobStore, ChatEngine, ChatStore } from '@kaiwa/core';
import type { Assistant } from '@kaiwa/llm';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AuditLog } from '../audit/audit-log.js';
import type { AccountService } from '../auth/account-service.js';
import type { ServerConfig } from '../config.js';
import type { RequestSigning } from '../http/request-signing.js';
import type { KnowledgeService } from '../knowledge-composition.js';
import type { UserRateLimiter } from '../limits/user-rate-limits.js';
import type { ServerMetrics } from '../operations/server-metrics.js';
import type { PluginService } from '../plugin-composition.js';
import type { PresigningBlobStore } from '../storage/open-blob-store.js';
import type { VoiceService } from '../voice-composition.js';

/** The Fastify instance routes are declared on: zod schemas type the requests and replies. */
export type ApiInstance = FastifyInstance<
  Server,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  ZodTypeProvider
>;

/** What route modules need from the server. */
export interface RouteContext {
  config: ServerConfig;
  engine: ChatEngine;
  /** The store itself, for operations only (readiness): chat data goes through the engine. */
  store: ChatStore;
  accounts: AccountService;
  /** The audit log: record security-relevant actions with `audit.record({ action, actorId, target, request })`. */
  audit: AuditLog;
  /** Signing keys and the signed-request checks (docs/security.md). */
  signing: RequestSigning;
  /** Per-user limits on messages, uploads, workflow runs and searches; routes name theirs in `config`. */
  userLimits: UserRateLimiter;
  blobs: BlobStore;
  /** Set when downloads redirect to pre-signed URLs of the blob store (S3). */
  presigner?: PresigningBlobStore | undefined;
  metrics: ServerMetrics;
  /** The in-chat assistant, when configured. */
  assistant?: Assistant | undefined;
  /** Transcription and reading aloud, when KAIWA_TRANSCRIBER or KAIWA_SYNTHESIZER is set. */
  voice?: VoiceService | undefined;
  /** Knowledge (indexing and retrieval), when KAIWA_EMBEDDINGS is set. */
  knowledge?: KnowledgeService | undefined;
  /** Plugins, when KAIWA_PLUGIN_DIR is set. */
  plugins?: PluginService | undefined;
  /** The bus shared with other instances, for /ready: its kind and whether it is connected now. */
  busStatus?: (() => { kind: 'memory' | 'redis' | 'nats'; connected: boolean }) | undefined;
}
