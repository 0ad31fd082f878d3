import type { Server } from 'node:http';
import type { ChatEngine, PresenceStore } from '@kaiwa/core';
import type { Registry } from 'prom-client';
import {
  attachRealtime,
  type RealtimeIdentity,
  type RealtimeLogger,
  type RealtimeOptions,
  type RealtimeServer,
} from './realtime/index.js';

export type { RealtimeServer };

/** What the server hands the realtime module. */
export interface RealtimeComposition {
  server: Server;
  engine: ChatEngine;
  /** Access token or bot API key → who; undefined also for users who must change their password. */
  authenticate: (token: string) => Promise<RealtimeIdentity | undefined>;
  /** Overrides of the realtime limits (KAIWA_REALTIME_LIMITS). */
  limits?: RealtimeOptions['limits'];
  /** Per-user limits shared with the REST API. */
  limitUser?: RealtimeOptions['limitUser'];
  /** Ended sessions as they become known (see SessionRevocations). */
  revocations?: RealtimeOptions['revocations'];
  /** The server's metrics registry, where the open-connection gauge goes. */
  registry: Registry;
  logger: RealtimeLogger;
  /** Presence shared with the other instances (Redis, NATS KV); default: this process only. */
  presence?: PresenceStore;
  /** Who started a workflow run, so its progress reaches them (and admins). */
  workflowRunActor?: RealtimeOptions['workflowRunActor'];
  /** A tracing span around the handling of each inbound frame (OTEL_*). */
  traceFrame?: RealtimeOptions['traceFrame'];
}

/** Path of the WebSocket endpoint. */
export const REALTIME_PATH = '/ws';

/**
 * The one place where the HTTP server meets the realtime WebSocket protocol (src/realtime, docs/protocol.md):
 * upgrade requests on /ws become protocol connections, authenticated with the same tokens as the REST API.
 */
export function composeRealtime(composition: RealtimeComposition): RealtimeServer {
  return attachRealtime({ ...composition, path: REALTIME_PATH });
}
