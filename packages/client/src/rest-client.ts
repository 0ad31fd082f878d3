import type {
  ApiKey,
  CreateProjectInput,
  CreateRoomInput,
  CreateTicketInput,
  FileQuery,
  FileRecord,
  MemberRole,
  Membership,
  Message,
  MessagePage,
  Project,
  ProjectQuery,
  Room,
  RoomEvent,
  RoomRights,
  RoomSummary,
  SearchQuery,
  ServerInfo,
  Session,
  Ticket,
  TicketQuery,
  UpdateProjectInput,
  UpdateRoomInput,
  UpdateRoomPreferencesInput,
  UpdateTicketInput,
  UpdateUserInput,
  User,
  UserRole,
  WorkflowDefinitionSummary,
  WorkflowRunDetails,
  WorkflowRunRecord,
  WorkflowRunStatus,
} from '@kaiwa/protocol';
import { type KeyValueStorage, MemoryStorage, pageStorage } from './key-value-storage.js';

/*
 * The REST client: JSON requests under `<baseUrl>/api/v1` with the access token, one refresh when the token
 * is about to run out or was refused (shared by every tab through a Web Lock where the runtime has them),
 * and the session kept in a storage (localStorage in a page, memory elsewhere) so a reload stays signed in.
 * It runs in browsers and in Node 20+: fetch is the runtime's unless one is passed.
 */

/** The path of the REST API under the server's origin. */
export const API_PATH = '/api/v1';
const DEFAULT_STORAGE_KEY = 'kaiwa.session';
/** Refresh this long before the access token runs out. */
const REFRESH_MARGIN_MS = 30_000;

/**
 * A failed request, with the server's error code (`invalid_credentials`, `password_change_required`,
 * `not_found`, …), its HTTP status (0 when the server could not be reached) and the details it sent.
 *
 * @example
 * try {
 *   await rest.login('ada', 'wrong');
 * } catch (error) {
 *   if (error instanceof KaiwaApiError && error.code === 'invalid_credentials') showTryAgain();
 * }
 */
export class KaiwaApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;

  constructor(status: number, code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'KaiwaApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** Whether trying the same request again later may help (the network, rate limits, the server's own faults). */
  get isRetryable(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }

  /** The message of the first field issue when there is one ("newPassword: must be at least …"). */
  get explanation(): string {
    const issues = this.details?.issues;
    if (Array.isArray(issues) && issues.length > 0) {
      const first = issues[0] as { path?: unknown[]; message?: string };
      const field = Array.isArray(first.path) && first.path.length > 0 ? `${first.path.join('.')}: ` : '';
      if (first.message) return `${field}${first.message}`;
    }
    return this.message;
  }
}

/** Why the session ended, for the sign-in screen. */
export type SignOutReason = 'signed-out' | 'expired' | 'elsewhere';

export type SessionListener = (session: Session | null, reason?: SignOutReason) => void;

/** The fetch function the client calls; the runtime's by default. */
export type FetchFunction = (url: string, init?: RequestInit) => Promise<Response>;

export interface KaiwaRestClientOptions {
  /**
   * The server's origin, such as `https://chat.example.com`; empty (the default) for the page's own server.
   * The API is under `<baseUrl>/api/v1`.
   */
  baseUrl?: string;
  /** The fetch to use (tests, proxies, Node without a global fetch); the runtime's by default. */
  fetch?: FetchFunction;
  /** Where the session is kept: localStorage in a page, memory elsewhere by default. */
  storage?: KeyValueStorage;
  /** The storage key of the session (two clients of different servers in one page need two). */
  storageKey?: string;
}

/** A page of a list: items after `after` (the last id of the previous page), at most `limit`. */
export interface PageQuery {
  after?: string;
  limit?: number;
}

/** Query of `GET /rooms/:roomId/messages`: the newest page by default, or before/after a message, or a thread. */
export interface MessagePageQuery {
  before?: string;
  after?: string;
  threadRootId?: string;
  limit?: number;
}

export interface UserListQuery extends PageQuery {
  role?: UserRole;
  /** Admins: also list deactivated accounts. */
  includeDeactivated?: boolean;
}

export interface WorkflowRunQuery extends PageQuery {
  workflowId?: string;
  status?: WorkflowRunStatus;
}

/** A new account (admins); without a password it gets a one-time password that must be changed at first sign-in. */
export interface NewAccount {
  username: string;
  displayName?: string;
  role?: UserRole;
  password?: string;
}

/** A file to upload: its bytes, its name, and where it belongs (a room, a project and/or a ticket). */
export interface FileUpload {
  file: Blob;
  /** The file's name; a browser `File`'s own name by default. */
  name?: string;
  roomId?: string;
  projectId?: string;
  ticketId?: string;
}

/** A message to send over REST; the realtime `send` of {@link KaiwaChatClient} is the usual way. */
export interface NewMessage {
  text: string;
  /** Makes the send idempotent: repeating it returns the first message. */
  clientMessageId?: string;
  threadRootId?: string;
  attachmentIds?: string[];
}

/** What `GET /voice` says: whether voice messages get a transcript, and which voices read text aloud. */
export interface VoiceInfo {
  /** null: voice messages get no transcript. */
  transcriber: {
    provider: string;
    model: string;
    /** `lower`: a fallback clearly weaker than Whisper (pocketsphinx). */
    quality: 'standard' | 'lower';
    languages: string[] | 'any';
  } | null;
  /** null: {@link KaiwaRestClient.speech} fails with `speech_off`. */
  synthesizer: {
    provider: string;
    voices: { id: string; language: string; name?: string }[];
    maxTextLength: number;
  } | null;
}

/** Text to read aloud (`POST /speech`). */
export interface SpeechInput {
  text: string;
  /** A voice id from {@link VoiceInfo}; else one of `language`, else the server's default. */
  voice?: string;
  /** A language tag such as `en` or `ja`. */
  language?: string;
}

/**
 * A room's voice settings: the language its voice messages are transcribed in (unset: the server's default),
 * and whether the assistant's answers to voice messages are also spoken. `setRoomVoiceSettings` replaces
 * them: send every field you want kept.
 */
export interface RoomVoiceSettings {
  language?: string;
  speakReplies?: boolean;
}

/** What `GET /knowledge` says: whether this server answers questions from its rooms' knowledge. */
/** A slash command of a running plugin (`GET /commands`). */
export interface PluginCommand {
  name: string;
  description: string;
  pluginId: string;
}

/** An installed plugin as admins see it (`GET /plugins`). */
export interface PluginSummary {
  id: string;
  version: string;
  /** `stopped`, `starting`, `running`, `restarting` or `failed`. */
  state: string;
  /** The bot user the plugin acts as. */
  botUsername: string;
  /** The last crash, refusal or timeout since it was started. */
  lastProblem: { type: string; detail: string; at: string } | null;
}

/** One setting a plugin's manifest declares, as its settings form shows it (`GET /plugins/:pluginId/settings`). */
export interface PluginSettingDefinition {
  key: string;
  type: 'string' | 'number' | 'integer' | 'boolean';
  /** The label to show. */
  title?: string;
  /** Help text to show under the field. */
  description?: string;
  required: boolean;
  /** What the plugin gets when none is saved; never a secret's. */
  default?: PluginSettingValue;
  /** The only values a string setting may take. */
  enum?: string[];
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  /** Never answered by the server; shown masked. */
  secret: boolean;
}

export type PluginSettingValue = string | number | boolean;

/** A plugin's settings schema and the values it runs with (admins). */
export interface PluginSettings {
  pluginId: string;
  /** In the manifest's order. */
  definitions: PluginSettingDefinition[];
  /** The saved value, else the default; secret settings are left out. */
  values: Record<string, PluginSettingValue>;
  /** Secret settings that have a saved value. */
  secretsSet: string[];
  /** When and by whom they were last saved; null: never (defaults). */
  updatedAt: string | null;
  updatedBy: string | null;
  /** The plugin's state (after a save: after its restart). */
  state: string;
}

/** A plugin tarball to install or upgrade from, with its SHA-256 (hex), which the server checks. */
export interface PluginTarball {
  /** The `.tgz` (or `.tar`): the manifest at the top, or in one folder holding everything (`npm pack`'s). */
  file: Blob;
  sha256: string;
}

/** An installed plugin with what the server keeps of its installation (`POST /plugins`). */
export interface InstalledPlugin extends PluginSummary {
  installation: {
    /** Whether an admin wants it running; the server honours it when it starts. */
    enabled: boolean;
    /** Of the tarball installed; null for a folder placed by hand. */
    sha256: string | null;
    installedAt: string;
    updatedAt: string;
  };
}

/** A plugin after a good upgrade (`POST /plugins/:pluginId/upgrade`). */
export interface UpgradedPlugin extends InstalledPlugin {
  fromVersion: string;
  toVersion: string;
  /** Whether the new version had a migration hook and ran it. */
  migrated: boolean;
}

/** One run of a plugin's scheduled job, as the instance that ran it recorded it (`GET /plugins/:pluginId/jobs`). */
export interface PluginJobRun {
  pluginId: string;
  job: string;
  /** The slot the schedule named (UTC). */
  scheduledAt: string;
  /** `running` until it finished (or its instance died). */
  status: 'running' | 'done' | 'failed';
  /** The server instance that claimed the slot and ran it. */
  instanceId: string;
  claimedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  /** Why it failed. */
  reason: string | null;
}

export interface KnowledgeInfo {
  /** false: `KAIWA_EMBEDDINGS` is unset, and the other knowledge calls fail with `knowledge_off`. */
  enabled: boolean;
  /** The embedding model, as `provider:model`. */
  model: string | null;
  dimensions: number | null;
  /** Passages indexed, over all rooms. */
  chunks: number | null;
}

/** Where a passage comes from: messages of a room (oldest first), or a document (with its page, for a PDF). */
export type KnowledgeSource =
  | { type: 'message'; roomId: string; messageIds: string[] }
  | {
      type: 'file';
      fileId: string;
      roomId: string | null;
      projectId: string | null;
      /** 1-based page of a PDF. */
      page: number | null;
      name?: string;
    };

/** One passage found by {@link KaiwaRestClient.searchKnowledge}, most relevant first. */
export interface KnowledgePassage {
  text: string;
  /** Reciprocal rank fusion of the vector and full-text rankings. */
  score: number;
  ranks: { vector?: number; fullText?: number };
  source: KnowledgeSource;
  /** A permalink to the passage's first message (`/rooms/<id>?message=<id>`), or the file's content. */
  link: string;
}

/** A room's knowledge sources: its messages (and threads), its documents. */
export interface RoomKnowledgeSettings {
  messages: boolean;
  files: boolean;
}

/** How far a room's messages are indexed. */
export interface RoomKnowledgeIndexing {
  state: 'indexing' | 'done' | 'failed';
  /** Messages read so far. */
  messages: number;
  chunks: number;
  updatedAt: string;
  /** Why it failed (`failed` only). */
  error?: string;
}

/** What became of one of a room's documents as knowledge. */
export interface RoomKnowledgeDocument {
  fileId: string;
  name: string;
  /** `skipped`: it cannot be read (see `code`); `failed`: indexing broke, it is tried again. */
  state: 'indexed' | 'skipped' | 'failed';
  /** Passages indexed of it. */
  chunks: number;
  /** Why it was skipped: `unsupported_type`, `unreadable`, `too_large`, `ocr_unavailable` or `timeout`. */
  code?: string;
  reason?: string;
  updatedAt: string;
}

/** A room's knowledge sources and, while its messages are knowledge, how far they are indexed. */
export interface RoomKnowledge extends RoomKnowledgeSettings {
  /** null: the room's messages are not knowledge. */
  indexing: RoomKnowledgeIndexing | null;
  /**
   * The room's last documents (at most 100, the latest first) while its documents are knowledge: indexed, or
   * skipped and why. Absent from servers older than this field.
   */
  documents?: RoomKnowledgeDocument[];
}

type Query = Record<string, string | number | boolean | undefined>;

function queryString(query: Query | undefined): string {
  if (!query) return '';
  const parts: string[] = [];
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined) parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`);
  }
  return parts.length > 0 ? `?${parts.join('&')}` : '';
}

const segment = encodeURIComponent;

function expiresWithin(isoTime: string, ms: number): boolean {
  return Date.parse(isoTime) - Date.now() < ms;
}

interface LockManagerLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

interface StorageEventLike {
  key: string | null;
}

type EventTargetLike = {
  addEventListener?: (type: string, listener: (event: StorageEventLike) => void) => void;
  removeEventListener?: (type: string, listener: (event: StorageEventLike) => void) => void;
};

/**
 * Every REST call a Kaiwa client needs, typed from the protocol's shapes, with the session kept and its
 * tokens refreshed. `request` and `publicRequest` reach any other route.
 *
 * @example
 * // Node: a bot-like script
 * const rest = new KaiwaRestClient({ baseUrl: 'https://chat.example.com' });
 * await rest.login('ada', process.env.KAIWA_PASSWORD!);
 * const { rooms } = await rest.listRooms();
 * await rest.sendMessage(rooms[0]!.room.id, { text: 'hello' });
 */
export class KaiwaRestClient {
  /** The server's origin ('' for the page's own). */
  readonly baseUrl: string;
  /** Where the session (and the chat client's outbox) is kept. */
  readonly storage: KeyValueStorage;
  #session: Session | null = null;
  #refreshing: Promise<Session> | null = null;
  readonly #listeners = new Set<SessionListener>();
  readonly #fetch: FetchFunction | undefined;
  readonly #storageKey: string;
  readonly #onStorage = (event: StorageEventLike): void => {
    if (event.key !== this.#storageKey) return;
    const next = this.#readStored();
    if (!next) {
      if (this.#session) this.#setSession(null, 'elsewhere', false);
    } else if (!this.#session || next.user.id === this.#session.user.id) {
      // Another tab refreshed or changed the password: use its tokens.
      this.#setSession(next, undefined, false);
    }
  };

  constructor(options: KaiwaRestClientOptions = {}) {
    this.baseUrl = (options.baseUrl ?? '').replace(/\/+$/, '');
    this.#fetch = options.fetch;
    this.#storageKey = options.storageKey ?? DEFAULT_STORAGE_KEY;
    const shared = options.storage ?? pageStorage();
    this.storage = shared ?? new MemoryStorage();
    const stored = this.#readStored();
    if (stored && !expiresWithin(stored.refreshTokenExpiresAt, 0)) this.#session = stored;
    // Other tabs write the same storage: follow their sign-outs and refreshes.
    if (shared) (globalThis as EventTargetLike).addEventListener?.('storage', this.#onStorage);
  }

  /** Stops following other tabs' sessions. */
  dispose(): void {
    (globalThis as EventTargetLike).removeEventListener?.('storage', this.#onStorage);
  }

  get session(): Session | null {
    return this.#session;
  }

  get user(): User | null {
    return this.#session?.user ?? null;
  }

  /** Calls `listener` whenever the session starts, changes or ends; returns the function that stops it. */
  onSession(listener: SessionListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Starts a session (sign-in, password change) or ends it. */
  setSession(session: Session | null, reason?: SignOutReason): void {
    this.#setSession(session, reason, true);
  }

  #setSession(session: Session | null, reason: SignOutReason | undefined, store: boolean): void {
    this.#session = session;
    if (store) {
      try {
        if (session) this.storage.setItem(this.#storageKey, JSON.stringify(session));
        else this.storage.removeItem(this.#storageKey);
      } catch {
        // Private mode or a full storage: the session lives until the page closes.
      }
    }
    for (const listener of this.#listeners) listener(session, reason);
  }

  /** Marks the signed-in user as having to change their password (the server said so). */
  requirePasswordChange(): void {
    const session = this.#session;
    if (!session || session.user.forcePasswordChange) return;
    this.setSession({ ...session, user: { ...session.user, forcePasswordChange: true } });
  }

  /** Takes a newer copy of the signed-in user into the session (after a profile change, or from `me()`). */
  setSessionUser(user: User): void {
    const session = this.#session;
    if (session && session.user.id === user.id) this.setSession({ ...session, user });
  }

  #readStored(): Session | null {
    try {
      const text = this.storage.getItem(this.#storageKey);
      if (!text) return null;
      const parsed = JSON.parse(text) as Session;
      return typeof parsed.refreshToken === 'string' && parsed.user ? parsed : null;
    } catch {
      return null;
    }
  }

  /** A valid access token, refreshed first when it is about to run out. */
  async accessToken(): Promise<string> {
    const session = this.#session;
    if (!session) throw new KaiwaApiError(401, 'unauthorized', 'sign in first');
    if (!expiresWithin(session.accessTokenExpiresAt, REFRESH_MARGIN_MS)) return session.accessToken;
    return (await this.refresh()).accessToken;
  }

  /** Milliseconds until the access token should be refreshed. */
  refreshDueInMs(): number | undefined {
    const session = this.#session;
    if (!session) return undefined;
    return Math.max(0, Date.parse(session.accessTokenExpiresAt) - Date.now() - REFRESH_MARGIN_MS);
  }

  /** Trades the refresh token for a new pair; one refresh at a time, across tabs too. */
  refresh(): Promise<Session> {
    this.#refreshing ??= this.#refreshOnce().finally(() => {
      this.#refreshing = null;
    });
    return this.#refreshing;
  }

  async #refreshOnce(): Promise<Session> {
    const run = async (): Promise<Session> => {
      const current = this.#session;
      if (!current) throw new KaiwaApiError(401, 'unauthorized', 'sign in first');
      const stored = this.#readStored();
      if (
        stored &&
        stored.user.id === current.user.id &&
        stored.refreshToken !== current.refreshToken &&
        !expiresWithin(stored.accessTokenExpiresAt, REFRESH_MARGIN_MS)
      ) {
        // Another tab traded the token while this one waited for the lock.
        this.#setSession(stored, undefined, false);
        return stored;
      }
      const refreshToken =
        stored && stored.user.id === current.user.id ? stored.refreshToken : current.refreshToken;
      try {
        const session = await this.#send<Session>('POST', '/auth/refresh', { refreshToken }, undefined);
        this.setSession(session);
        return session;
      } catch (error) {
        if (error instanceof KaiwaApiError && error.status === 401) this.setSession(null, 'expired');
        throw error;
      }
    };
    const locks = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks;
    return locks ? locks.request('kaiwa-token-refresh', run) : run();
  }

  /** A JSON request with the access token; a refused token is refreshed and the request tried once more. */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    try {
      return await this.#send<T>(method, path, body, await this.accessToken());
    } catch (error) {
      if (error instanceof KaiwaApiError && error.status === 401 && error.code === 'invalid_token') {
        return this.#send<T>(method, path, body, (await this.refresh()).accessToken);
      }
      throw error;
    }
  }

  /** A request that needs no token (sign-in, server info). */
  publicRequest<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.#send<T>(method, path, body, undefined);
  }

  #call(url: string, init: RequestInit): Promise<Response> {
    return this.#fetch ? this.#fetch(url, init) : globalThis.fetch(url, init);
  }

  async #send<T>(method: string, path: string, body: unknown, token: string | undefined): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    let payload: FormData | string | undefined;
    if (body instanceof FormData) {
      payload = body;
    } else if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    if (token) headers.authorization = `Bearer ${token}`;
    let response: Response;
    try {
      response = await this.#call(`${this.baseUrl}${API_PATH}${path}`, {
        method,
        headers,
        ...(payload === undefined ? {} : { body: payload }),
      });
    } catch {
      throw new KaiwaApiError(0, 'network', 'the server cannot be reached; check your connection');
    }
    if (!response.ok) throw await this.#errorOf(response);
    if (response.status === 204) return undefined as T;
    return (await response.json()) as T;
  }

  async #errorOf(response: Response): Promise<KaiwaApiError> {
    let code = `http_${response.status}`;
    let message = response.statusText || `the server answered ${response.status}`;
    let details: Record<string, unknown> | undefined;
    try {
      const body = (await response.json()) as {
        error?: { code?: string; message?: string; details?: Record<string, unknown> };
      };
      if (body.error?.code) code = body.error.code;
      if (body.error?.message) message = body.error.message;
      details = body.error?.details;
    } catch {
      // Not the JSON error format (a proxy's page): the status says enough.
    }
    if (code === 'password_change_required') this.requirePasswordChange();
    return new KaiwaApiError(response.status, code, message, details);
  }

  // ---------------------------------------------------------------- server and sign-in

  /** What this server offers: how people sign in, upload limits. */
  serverInfo(): Promise<ServerInfo> {
    return this.publicRequest('GET', '/server');
  }

  /** Signs in with a username and password and keeps the session. */
  async login(username: string, password: string): Promise<Session> {
    const session = await this.publicRequest<Session>('POST', '/auth/login', { username, password });
    this.setSession(session);
    return session;
  }

  /** Creates an account and signs in (where the server allows sign-up). */
  async signup(input: { username: string; password: string; displayName?: string }): Promise<Session> {
    const session = await this.publicRequest<Session>('POST', '/auth/signup', input);
    this.setSession(session);
    return session;
  }

  /** Signs in as a guest with only a nickname (where the server allows it). */
  async signInAnonymously(nickname: string): Promise<Session> {
    const session = await this.publicRequest<Session>('POST', '/auth/anonymous', { nickname });
    this.setSession(session);
    return session;
  }

  /** Ends the session on the server (or every session of the user) and here; never fails for the network. */
  async logout(options: { allSessions?: boolean } = {}): Promise<void> {
    const session = this.#session;
    if (session) {
      const body = { refreshToken: session.refreshToken, ...options };
      const call = options.allSessions
        ? this.request('POST', '/auth/logout', body)
        : this.publicRequest('POST', '/auth/logout', body);
      await call.catch(() => undefined);
    }
    this.setSession(null, 'signed-out');
  }

  /** Changes my password; the server signs out my other sessions and this one continues with new tokens. */
  async changePassword(currentPassword: string, newPassword: string): Promise<Session> {
    const token = await this.accessToken();
    const change = this.#send<Session>(
      'POST',
      '/auth/change-password',
      { currentPassword, newPassword },
      token,
    ).then((session) => {
      this.setSession(session);
      return session;
    });
    // The server ends the old sessions before it answers, this one's socket too: a refresh asked for meanwhile
    // waits for the new session instead of trading the revoked refresh token (which would sign me out).
    if (!this.#refreshing) {
      const waiting: Promise<Session> = change.finally(() => {
        if (this.#refreshing === waiting) this.#refreshing = null;
      });
      waiting.catch(() => undefined);
      this.#refreshing = waiting;
    }
    return change;
  }

  /** The signed-in user, as the server has it now. */
  me(): Promise<User> {
    return this.request('GET', '/auth/me');
  }

  // ---------------------------------------------------------------- rooms

  /** My rooms, each with my membership and unread count. */
  listRooms(): Promise<{ rooms: RoomSummary[] }> {
    return this.request('GET', '/rooms');
  }

  /** Unread message counts by room id. */
  unreadCounts(): Promise<{ unread: Record<string, number> }> {
    return this.request('GET', '/rooms/unread');
  }

  /** Public channels anyone but a guest may join. */
  listChannels(query: PageQuery = {}): Promise<{ rooms: Room[] }> {
    return this.request('GET', `/rooms/channels${queryString({ ...query })}`);
  }

  /** A channel, or a private group (a group DM: `kind: 'group'` with `memberIds`); I become its owner. */
  createRoom(input: CreateRoomInput): Promise<Room> {
    return this.request('POST', '/rooms', input);
  }

  /** The direct room with another user, created on first use. */
  openDirectRoom(userId: string): Promise<Room> {
    return this.request('POST', '/rooms/direct', { userId });
  }

  getRoom(roomId: string): Promise<Room> {
    return this.request('GET', `/rooms/${segment(roomId)}`);
  }

  /** Renames, changes the topic or archives (`{ archived: true }`) a room. */
  updateRoom(roomId: string, input: UpdateRoomInput): Promise<Room> {
    return this.request('PATCH', `/rooms/${segment(roomId)}`, input);
  }

  /** Joins a public channel. */
  joinRoom(roomId: string): Promise<Membership> {
    return this.request('POST', `/rooms/${segment(roomId)}/join`);
  }

  leaveRoom(roomId: string): Promise<void> {
    return this.request('POST', `/rooms/${segment(roomId)}/leave`);
  }

  /**
   * A page of a room's members, and what I may do in the room (`rights`: which controls to show; absent
   * from servers older than it).
   *
   * @example
   * const { members, rights } = await rest.listMembers(roomId, { limit: 200 });
   * const removable = members.filter((member) => rights?.removeRoles.includes(member.role));
   */
  listMembers(
    roomId: string,
    query: PageQuery = {},
  ): Promise<{ members: Membership[]; rights?: RoomRights }> {
    return this.request('GET', `/rooms/${segment(roomId)}/members${queryString({ ...query })}`);
  }

  /** Invites someone into a room. */
  addMember(roomId: string, userId: string): Promise<Membership> {
    return this.request('POST', `/rooms/${segment(roomId)}/members`, { userId });
  }

  /** Changes a member's room role (room owners, admins). */
  setMemberRole(roomId: string, userId: string, role: MemberRole): Promise<Membership> {
    return this.request('PATCH', `/rooms/${segment(roomId)}/members/${segment(userId)}`, { role });
  }

  /** Removes someone from a room (room owners and moderators, admins). */
  removeMember(roomId: string, userId: string): Promise<void> {
    return this.request('DELETE', `/rooms/${segment(roomId)}/members/${segment(userId)}`);
  }

  /** Moves my read marker to a message, or to the newest one when none is given. */
  markRead(roomId: string, messageId?: string): Promise<Membership> {
    return this.request('POST', `/rooms/${segment(roomId)}/read`, messageId ? { messageId } : {});
  }

  /**
   * Changes my own view of a room (seen by nobody else): favourite, notification level, muted. Returns the
   * room as my room list shows it.
   */
  setRoomPreferences(roomId: string, input: UpdateRoomPreferencesInput): Promise<RoomSummary> {
    return this.request('PATCH', `/rooms/${segment(roomId)}/preferences`, input);
  }

  /** Mutes a room (no unread badge, no notifications) or unmutes it. */
  muteRoom(roomId: string, muted = true): Promise<RoomSummary> {
    return this.setRoomPreferences(roomId, { muted });
  }

  /** Room events after a sequence number: what a client missed, over REST. */
  roomEvents(
    roomId: string,
    query: { afterSeq?: number; limit?: number } = {},
  ): Promise<{ events: RoomEvent[]; hasMore: boolean }> {
    return this.request('GET', `/rooms/${segment(roomId)}/events${queryString({ ...query })}`);
  }

  // ---------------------------------------------------------------- messages

  /** A page of history, oldest first: the newest by default, or before/after a message, or a thread. */
  messagePage(roomId: string, query: MessagePageQuery = {}): Promise<MessagePage> {
    return this.request('GET', `/rooms/${segment(roomId)}/messages${queryString({ ...query })}`);
  }

  /** Sends a message over REST; with a clientMessageId, repeating it returns the first message. */
  sendMessage(roomId: string, message: NewMessage): Promise<Message> {
    return this.request('POST', `/rooms/${segment(roomId)}/messages`, message);
  }

  getMessage(messageId: string): Promise<Message> {
    return this.request('GET', `/messages/${segment(messageId)}`);
  }

  /** Changes the text of my message. */
  editMessage(messageId: string, text: string): Promise<Message> {
    return this.request('PATCH', `/messages/${segment(messageId)}`, { text });
  }

  /** Deletes a message (author, room moderators, staff); returns the tombstone. */
  deleteMessage(messageId: string): Promise<Message> {
    return this.request('DELETE', `/messages/${segment(messageId)}`);
  }

  /** Adds my reaction (a `:shortcode:` or one emoji); adding it twice changes nothing. */
  addReaction(messageId: string, emoji: string): Promise<Message> {
    return this.request('POST', `/messages/${segment(messageId)}/reactions`, { emoji });
  }

  removeReaction(messageId: string, emoji: string): Promise<Message> {
    return this.request('DELETE', `/messages/${segment(messageId)}/reactions/${segment(emoji)}`);
  }

  /** Full-text search over the messages I may read, newest first. */
  search(query: SearchQuery): Promise<{ messages: Message[] }> {
    return this.request('GET', `/search${queryString({ ...query })}`);
  }

  // ---------------------------------------------------------------- users

  listUsers(query: UserListQuery = {}): Promise<{ users: User[] }> {
    return this.request('GET', `/users${queryString({ ...query })}`);
  }

  getUser(userId: string): Promise<User> {
    return this.request('GET', `/users/${segment(userId)}`);
  }

  getUserByUsername(username: string): Promise<User> {
    return this.request('GET', `/users/by-username/${segment(username)}`);
  }

  /** Changes a display name (yourself), or a role or forced password change (admins). */
  async updateUser(userId: string, input: UpdateUserInput): Promise<User> {
    const user = await this.request<User>('PATCH', `/users/${segment(userId)}`, input);
    this.setSessionUser(user);
    return user;
  }

  /** Admins: a new user or bot; the answer carries its one-time password when none was given. */
  createUser(input: NewAccount): Promise<{ user: User; oneTimePassword?: string }> {
    return this.request('POST', '/users', input);
  }

  /** Admins: changes a user's server role. */
  setUserRole(userId: string, role: UserRole): Promise<User> {
    return this.updateUser(userId, { role });
  }

  /** Admins: a new one-time password for a user, who is signed out everywhere. */
  resetPassword(userId: string): Promise<{ user: User; oneTimePassword: string }> {
    return this.request('POST', `/users/${segment(userId)}/reset-password`);
  }

  /** Admins: the account can no longer sign in; its sessions end. */
  deactivateUser(userId: string): Promise<User> {
    return this.request('POST', `/users/${segment(userId)}/deactivate`);
  }

  reactivateUser(userId: string): Promise<User> {
    return this.request('POST', `/users/${segment(userId)}/reactivate`);
  }

  /** A bot's API keys, without the keys themselves (admins, or the bot). */
  listApiKeys(userId: string): Promise<{ apiKeys: ApiKey[] }> {
    return this.request('GET', `/users/${segment(userId)}/api-keys`);
  }

  /** Admins: an API key for a bot; `key` is shown only in this answer. */
  createApiKey(userId: string, name: string): Promise<{ apiKey: ApiKey; key: string }> {
    return this.request('POST', `/users/${segment(userId)}/api-keys`, { name });
  }

  revokeApiKey(userId: string, apiKeyId: string): Promise<void> {
    return this.request('DELETE', `/users/${segment(userId)}/api-keys/${segment(apiKeyId)}`);
  }

  // ---------------------------------------------------------------- files

  /** Uploads a file into a room, a project or a ticket (multipart); the server judges the type from the bytes. */
  uploadFile(upload: FileUpload): Promise<FileRecord> {
    const form = new FormData();
    if (upload.roomId) form.append('roomId', upload.roomId);
    if (upload.projectId) form.append('projectId', upload.projectId);
    if (upload.ticketId) form.append('ticketId', upload.ticketId);
    const name = upload.name ?? (upload.file as { name?: string }).name ?? 'file';
    form.append('file', upload.file, name);
    return this.request('POST', '/files', form);
  }

  /** Uploads a file into a room. */
  upload(roomId: string, file: Blob, name?: string): Promise<FileRecord> {
    return this.uploadFile({ roomId, file, ...(name === undefined ? {} : { name }) });
  }

  listFiles(query: FileQuery): Promise<{ files: FileRecord[] }> {
    return this.request('GET', `/files${queryString({ ...query })}`);
  }

  getFile(fileId: string): Promise<FileRecord> {
    return this.request('GET', `/files/${segment(fileId)}`);
  }

  deleteFile(fileId: string): Promise<void> {
    return this.request('DELETE', `/files/${segment(fileId)}`);
  }

  /** A file's bytes, fetched with the token (downloads are not public). */
  async fileBlob(fileId: string): Promise<Blob> {
    const fetchWith = (token: string) =>
      this.#call(`${this.fileContentUrl(fileId)}`, { headers: { authorization: `Bearer ${token}` } });
    let response = await fetchWith(await this.accessToken());
    if (response.status === 401) response = await fetchWith((await this.refresh()).accessToken);
    if (!response.ok) throw await this.#errorOf(response);
    return response.blob();
  }

  /**
   * A page of a PDF file as a PNG, with the number of pages the PDF has (for a preview; 415 for other files).
   *
   * @example const { image, pageCount } = await rest.filePreview(fileId, 2);
   */
  async filePreview(fileId: string, page = 1): Promise<{ image: Blob; pageCount: number }> {
    const url = `${this.baseUrl}${API_PATH}/files/${segment(fileId)}/preview?page=${page}`;
    const fetchWith = (token: string) => this.#call(url, { headers: { authorization: `Bearer ${token}` } });
    let response = await fetchWith(await this.accessToken());
    if (response.status === 401) response = await fetchWith((await this.refresh()).accessToken);
    if (!response.ok) throw await this.#errorOf(response);
    return { image: await response.blob(), pageCount: Number(response.headers.get('x-page-count') ?? 1) };
  }

  /** The URL of a file's content on this client's server (fetching it needs the token). */
  fileContentUrl(fileId: string, download = false): string {
    return fileContentUrl(fileId, download, this.baseUrl);
  }

  // ---------------------------------------------------------------- projects and tickets

  listProjects(query: ProjectQuery = {}): Promise<{ projects: Project[] }> {
    return this.request('GET', `/projects${queryString({ ...query })}`);
  }

  /** A project; I become its owner. */
  createProject(input: CreateProjectInput): Promise<Project> {
    return this.request('POST', '/projects', input);
  }

  getProject(projectId: string): Promise<Project> {
    return this.request('GET', `/projects/${segment(projectId)}`);
  }

  updateProject(projectId: string, input: UpdateProjectInput): Promise<Project> {
    return this.request('PATCH', `/projects/${segment(projectId)}`, input);
  }

  /** Tickets filtered by project, status, priority, assignee or due date. */
  listTickets(query: TicketQuery = {}): Promise<{ tickets: Ticket[] }> {
    return this.request('GET', `/tickets${queryString({ ...query })}`);
  }

  createTicket(input: CreateTicketInput): Promise<Ticket> {
    return this.request('POST', '/tickets', input);
  }

  getTicket(ticketId: string): Promise<Ticket> {
    return this.request('GET', `/tickets/${segment(ticketId)}`);
  }

  updateTicket(ticketId: string, input: UpdateTicketInput): Promise<Ticket> {
    return this.request('PATCH', `/tickets/${segment(ticketId)}`, input);
  }

  // ---------------------------------------------------------------- workflows

  /** The defined workflows (the newest version of each). */
  listWorkflows(): Promise<{ workflows: WorkflowDefinitionSummary[] }> {
    return this.request('GET', '/workflows');
  }

  /** Starts a run; it goes on in the background (follow it with `workflow.*` frames or `getWorkflowRun`). */
  startWorkflowRun(workflowId: string, trigger?: unknown): Promise<WorkflowRunRecord> {
    return this.request(
      'POST',
      `/workflows/${segment(workflowId)}/runs`,
      trigger === undefined ? {} : { trigger },
    );
  }

  /** Runs of every workflow, or of one, oldest first (admins see all, others their own). */
  listWorkflowRuns(query: WorkflowRunQuery = {}): Promise<{ runs: WorkflowRunRecord[] }> {
    return this.request('GET', `/workflow-runs${queryString({ ...query })}`);
  }

  /** A run with its step timeline. */
  getWorkflowRun(runId: string): Promise<WorkflowRunDetails> {
    return this.request('GET', `/workflow-runs/${segment(runId)}`);
  }

  /** Cancels an unfinished run (who started it, or an admin). */
  cancelWorkflowRun(runId: string): Promise<WorkflowRunRecord> {
    return this.request('POST', `/workflow-runs/${segment(runId)}/cancel`);
  }

  // ---------------------------------------------------------------- voice

  /** Whether this server transcribes voice messages and reads text aloud. */
  voiceInfo(): Promise<VoiceInfo> {
    return this.request('GET', '/voice');
  }

  /** Text read aloud, as audio (WAV from the local engines); `speech_off` when the server has no synthesizer. */
  async speech(input: SpeechInput): Promise<Blob> {
    const post = (token: string) =>
      this.#call(`${this.baseUrl}${API_PATH}/speech`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'audio/*' },
        body: JSON.stringify(input),
      });
    let response: Response;
    try {
      response = await post(await this.accessToken());
      if (response.status === 401) response = await post((await this.refresh()).accessToken);
    } catch (error) {
      if (error instanceof KaiwaApiError) throw error;
      throw new KaiwaApiError(0, 'network', 'the server cannot be reached; check your connection');
    }
    if (!response.ok) throw await this.#errorOf(response);
    return response.blob();
  }

  /** Transcribes a voice message again (its author, room moderators, staff); its transcript turns `pending`. */
  retryTranscript(messageId: string): Promise<Message> {
    return this.request('POST', `/messages/${segment(messageId)}/transcript`);
  }

  roomVoiceSettings(roomId: string): Promise<RoomVoiceSettings> {
    return this.request('GET', `/rooms/${segment(roomId)}/voice`);
  }

  /** Sets the language a room's voice messages are transcribed in (room owners and admins). */
  setRoomVoiceSettings(roomId: string, settings: RoomVoiceSettings): Promise<RoomVoiceSettings> {
    return this.request('PUT', `/rooms/${segment(roomId)}/voice`, settings);
  }

  // ---------------------------------------------------------------- plugins

  /** The slash commands of the server's running plugins (none without plugins). */
  listCommands(): Promise<{ commands: PluginCommand[] }> {
    return this.request('GET', '/commands');
  }

  /**
   * Runs a plugin's slash command (name without the slash) in a room I belong to; its answer is posted there
   * by the plugin's bot user. Typing `/name args` as a message does the same.
   *
   * @example await rest.runCommand(roomId, 'hello', 'Ada') // { reply: 'Hello, Ada!', messageId: '01J…' }
   */
  runCommand(
    roomId: string,
    command: string,
    args = '',
    options: { threadRootId?: string } = {},
  ): Promise<{ reply?: string; messageId?: string }> {
    return this.request('POST', `/rooms/${segment(roomId)}/commands`, { command, args, ...options });
  }

  /** The installed plugins and their state (admins; none where plugins are off). */
  listPlugins(): Promise<{ plugins: PluginSummary[] }> {
    return this.request('GET', '/plugins');
  }

  /** Starts or stops a plugin (admins; audited). Answers with its state after. */
  setPluginRunning(pluginId: string, running: boolean): Promise<PluginSummary> {
    return this.request('POST', `/plugins/${segment(pluginId)}/${running ? 'start' : 'stop'}`);
  }

  /**
   * A plugin's settings schema and the values it runs with (admins); secret values are never answered.
   *
   * @example const { definitions, values } = await rest.pluginSettings('hello');
   */
  pluginSettings(pluginId: string): Promise<PluginSettings> {
    return this.request('GET', `/plugins/${segment(pluginId)}/settings`);
  }

  /**
   * Saves a plugin's settings (admins; audited): checked against its manifest (a 400 `invalid_settings` names
   * each bad key in `details.issues`), and the plugin restarted with them if it runs. A setting left out gets its
   * default, except a secret one, which keeps its saved value.
   *
   * @example await rest.savePluginSettings('hello', { greeting: 'Hi' });
   */
  savePluginSettings(pluginId: string, values: Record<string, PluginSettingValue>): Promise<PluginSettings> {
    return this.request('PUT', `/plugins/${segment(pluginId)}/settings`, { values });
  }

  /**
   * A plugin's scheduled job runs, latest slot first (admins): of one job when named, at most `limit` (1–200,
   * default 50).
   *
   * @example const { runs } = await rest.pluginJobRuns('hello', { limit: 20 });
   */
  pluginJobRuns(
    pluginId: string,
    query: { job?: string; limit?: number } = {},
  ): Promise<{ runs: PluginJobRun[] }> {
    return this.request('GET', `/plugins/${segment(pluginId)}/jobs${queryString({ ...query })}`);
  }

  /**
   * Installs a plugin from a tarball and starts it (admins; audited). A 400 names what is wrong
   * (`checksum_mismatch`, `invalid_package` or `invalid_manifest` with `details.issues`); a plugin id installed
   * already answers 409 `already_installed` (upgrade it instead).
   *
   * @example const plugin = await rest.installPlugin({ file: tarball, sha256 });
   */
  installPlugin(tarball: PluginTarball): Promise<InstalledPlugin> {
    return this.request('POST', '/plugins', tarballForm(tarball));
  }

  /**
   * Upgrades a plugin to a tarball of a higher version (admins; audited): the new version starts, runs its
   * migration hook and must pass a health check, or it is rolled back to the old one and the call fails with
   * 422 `upgrade_rolled_back` (`details.stage` and `details.reason` say why).
   *
   * @example const { fromVersion, toVersion } = await rest.upgradePlugin('hello', { file: tarball, sha256 });
   */
  upgradePlugin(pluginId: string, tarball: PluginTarball): Promise<UpgradedPlugin> {
    return this.request('POST', `/plugins/${segment(pluginId)}/upgrade`, tarballForm(tarball));
  }

  /**
   * Uninstalls a plugin (admins; audited): stops it, removes its folder and deactivates its bot user; its
   * key-value storage and job runs are deleted unless `keepData`.
   *
   * @example await rest.uninstallPlugin('hello', { keepData: true });
   */
  uninstallPlugin(
    pluginId: string,
    options: { keepData?: boolean } = {},
  ): Promise<{ id: string; version: string | null; keptData: boolean }> {
    return this.request(
      'DELETE',
      `/plugins/${segment(pluginId)}${queryString({ keepData: options.keepData ? 'true' : 'false' })}`,
    );
  }

  // ---------------------------------------------------------------- knowledge

  /** Whether knowledge is on here, and its embedding model. */
  knowledgeInfo(): Promise<KnowledgeInfo> {
    return this.request('GET', '/knowledge');
  }

  /**
   * The passages most relevant to a question, from the rooms I read whose knowledge is on (at most `limit`,
   * default 8, up to 50); `knowledge_off` when the server has no embeddings.
   *
   * @example
   * const { passages } = await rest.searchKnowledge('where is the backup key?', { limit: 5 });
   */
  searchKnowledge(
    question: string,
    options: { limit?: number } = {},
  ): Promise<{ passages: KnowledgePassage[] }> {
    return this.request('GET', `/knowledge/search${queryString({ q: question, k: options.limit })}`);
  }

  /** A room's knowledge sources and how far its messages are indexed. */
  roomKnowledge(roomId: string): Promise<RoomKnowledge> {
    return this.request('GET', `/rooms/${segment(roomId)}/knowledge`);
  }

  /**
   * Chooses a room's knowledge sources (room owners and admins): what is turned on is indexed in the
   * background (poll {@link roomKnowledge} while `indexing.state` is `indexing`), what is turned off is deleted.
   */
  setRoomKnowledge(roomId: string, settings: RoomKnowledgeSettings): Promise<RoomKnowledge> {
    return this.request('PUT', `/rooms/${segment(roomId)}/knowledge`, settings);
  }
}

/** The URL of a file's content (for links; fetching it needs the token), on `baseUrl` or the page's server. */
export function fileContentUrl(fileId: string, download = false, baseUrl = ''): string {
  return `${baseUrl}${API_PATH}/files/${segment(fileId)}/content${download ? '?download=true' : ''}`;
}

/** A plugin tarball as the install and upgrade routes take it: the field `sha256`, then the file. */
function tarballForm(tarball: PluginTarball): FormData {
  const form = new FormData();
  form.append('sha256', tarball.sha256);
  form.append('file', tarball.file, (tarball.file as { name?: string }).name ?? 'plugin.tgz');
  return form;
}
