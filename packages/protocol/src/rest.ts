import type { User } from '@kaiwa/core';
import type { WorkflowRunStatus, WorkflowStepStatus } from './constants.js';

/*
 * The shapes of the REST API (`/api/v1`) that are not core entities: sessions, server facts, API keys and
 * the public views of workflows. The server's `src/http/api-schemas.ts` and `src/routes/workflow-routes.ts`
 * define them as zod schemas; these types follow them, so a client needs no zod and no server code.
 */

/** What a sign-in, sign-up, password change or refresh returns. */
export interface Session {
  tokenType: 'Bearer';
  /** JWT for `Authorization: Bearer …`, valid for `expiresIn` seconds. */
  accessToken: string;
  expiresIn: number;
  accessTokenExpiresAt: string;
  /** Single use: traded at `/auth/refresh` for a new pair. */
  refreshToken: string;
  refreshTokenExpiresAt: string;
  user: User;
}

/** `GET /server`: how people sign in here and what may be uploaded. */
export interface ServerInfo {
  accountsEnabled: boolean;
  signupEnabled: boolean;
  maxUploadBytes: number;
  uploadAllowedTypes: string[];
  /** Whether an assistant model is configured, so `@assistant` answers (absent from older servers). */
  assistantEnabled?: boolean;
  /** The assistant's username: a mention of it, or a direct room with it, asks the assistant (absent from older servers). */
  assistantUsername?: string;
}

/** A bot's API key as the API shows it (never the key itself, except once when it is created). */
export interface ApiKey {
  id: string;
  userId: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** The error of a failed workflow run or step. */
export interface WorkflowErrorDetails {
  name: string;
  message: string;
  code?: string;
  issues?: { path: (string | number)[]; message: string }[];
  stepId?: string;
}

/** A workflow definition as `GET /workflows` lists it (the newest version of each). */
export interface WorkflowDefinitionSummary {
  id: string;
  version: number;
  name: string;
  /** The checked definition, as stored. */
  definition: Record<string, unknown>;
  createdBy: string;
  createdAt: string;
}

/** One run of a workflow. */
export interface WorkflowRunRecord {
  id: string;
  workflowId: string;
  workflowVersion: number;
  status: WorkflowRunStatus;
  actorId: string;
  /** What started the run; JSON. */
  trigger: unknown;
  error: WorkflowErrorDetails | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  updatedAt: string;
}

/** One step of a run's timeline. */
export interface WorkflowRunStep {
  stepId: string;
  position: number;
  type: string;
  status: WorkflowStepStatus;
  attempts: number;
  /** The result once the step succeeded; JSON. */
  output: unknown;
  error: WorkflowErrorDetails | null;
  startedAt: string | null;
  finishedAt: string | null;
  updatedAt: string;
}

/** `GET /workflow-runs/:runId`: a run with its step timeline. */
export interface WorkflowRunDetails {
  run: WorkflowRunRecord;
  steps: WorkflowRunStep[];
}

/** The error body every failed REST request answers with. */
export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}
