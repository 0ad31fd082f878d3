import type { Message, User } from '@kaiwa/protocol';

/*
 * The REST shapes the UI reads (the server's src/http/api-schemas.ts). Entities and realtime frames come
 * from @kaiwa/protocol.
 */

export interface MessagePage {
  messages: Message[];
  hasMore: boolean;
}

/** A stored file as the API shows it (without its storage key and hash). */
export interface FileRecord {
  id: string;
  name: string;
  mimeType: string;
  size: number;
  uploaderId: string;
  roomId: string | null;
  createdAt: string;
}

export interface Session {
  tokenType: 'Bearer';
  accessToken: string;
  expiresIn: number;
  accessTokenExpiresAt: string;
  refreshToken: string;
  refreshTokenExpiresAt: string;
  user: User;
}

export interface ServerInfo {
  accountsEnabled: boolean;
  signupEnabled: boolean;
  maxUploadBytes: number;
  uploadAllowedTypes: string[];
}

/*
 * The REST client: JSON requests under /api/v1 with the access token, one refresh (shared by every tab
 * through a Web Lock where the browser has them) when the token is about to run out or was refused, and the
 * session kept in localStorage so a reload stays signed in.
 */

export const API_BASE = '/api/v1';
const STORAGE_KEY = 'kaiwa.session';
/** Refresh this long before the access token runs out. */
const REFRESH_MARGIN_MS = 30_000;

/** A failed request, with the server's error code (`invalid_credentials`, `password_change_required`, …). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;

  constructor(status: number, code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
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

type SessionListener = (session: Session | null, reason?: SignOutReason) => void;

function expiresWithin(isoTime: string, ms: number): boolean {
  return Date.parse(isoTime) - Date.now() < ms;
}

export class ApiClient {
  #session: Session | null = null;
  #refreshing: Promise<Session> | null = null;
  readonly #listeners = new Set<SessionListener>();
  readonly #storage: Storage | undefined;

  constructor(storage: Storage | undefined = globalThis.localStorage) {
    this.#storage = storage;
    const stored = this.#readStored();
    if (stored && !expiresWithin(stored.refreshTokenExpiresAt, 0)) this.#session = stored;
    globalThis.addEventListener?.('storage', (event: StorageEvent) => {
      if (event.key !== STORAGE_KEY) return;
      const next = this.#readStored();
      if (!next) {
        if (this.#session) this.#setSession(null, 'elsewhere', false);
      } else if (!this.#session || next.user.id === this.#session.user.id) {
        // Another tab refreshed or changed the password: use its tokens.
        this.#setSession(next, undefined, false);
      }
    });
  }

  get session(): Session | null {
    return this.#session;
  }

  get user(): User | null {
    return this.#session?.user ?? null;
  }

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
        if (session) this.#storage?.setItem(STORAGE_KEY, JSON.stringify(session));
        else this.#storage?.removeItem(STORAGE_KEY);
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

  updateUser(user: User): void {
    const session = this.#session;
    if (session && session.user.id === user.id) this.setSession({ ...session, user });
  }

  #readStored(): Session | null {
    try {
      const text = this.#storage?.getItem(STORAGE_KEY);
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
    if (!session) throw new ApiError(401, 'unauthorized', 'sign in first');
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
      if (!current) throw new ApiError(401, 'unauthorized', 'sign in first');
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
        if (error instanceof ApiError && error.status === 401) this.setSession(null, 'expired');
        throw error;
      }
    };
    const locks = globalThis.navigator?.locks;
    return locks ? locks.request('kaiwa-token-refresh', run) : run();
  }

  /** A JSON request with the access token; a refused token is refreshed and the request tried once more. */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    try {
      return await this.#send<T>(method, path, body, await this.accessToken());
    } catch (error) {
      if (error instanceof ApiError && error.status === 401 && error.code === 'invalid_token') {
        return this.#send<T>(method, path, body, (await this.refresh()).accessToken);
      }
      throw error;
    }
  }

  /** A request that needs no token (sign-in, server info). */
  publicRequest<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.#send<T>(method, path, body, undefined);
  }

  async #send<T>(method: string, path: string, body: unknown, token: string | undefined): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    let payload: BodyInit | undefined;
    if (body instanceof FormData) {
      payload = body;
    } else if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    if (token) headers.authorization = `Bearer ${token}`;
    let response: Response;
    try {
      response = await fetch(`${API_BASE}${path}`, {
        method,
        headers,
        ...(payload === undefined ? {} : { body: payload }),
      });
    } catch {
      throw new ApiError(0, 'network', 'the server cannot be reached; check your connection');
    }
    if (!response.ok) throw await this.#errorOf(response);
    if (response.status === 204) return undefined as T;
    return (await response.json()) as T;
  }

  async #errorOf(response: Response): Promise<ApiError> {
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
    return new ApiError(response.status, code, message, details);
  }

  /** Uploads a file into a room (multipart); the type is judged by the server from the bytes. */
  upload(roomId: string, file: File): Promise<FileRecord> {
    const form = new FormData();
    form.append('roomId', roomId);
    form.append('file', file, file.name);
    return this.request<FileRecord>('POST', '/files', form);
  }

  /** A file's bytes, fetched with the token (downloads are not public). */
  async fileBlob(fileId: string): Promise<Blob> {
    const fetchWith = (token: string) =>
      fetch(`${API_BASE}/files/${encodeURIComponent(fileId)}/content`, {
        headers: { authorization: `Bearer ${token}` },
      });
    let response = await fetchWith(await this.accessToken());
    if (response.status === 401) response = await fetchWith((await this.refresh()).accessToken);
    if (!response.ok) throw await this.#errorOf(response);
    return response.blob();
  }
}

/** The URL of a file's content, for links (the click handler fetches it with the token). */
export function fileUrl(fileId: string, download = false): string {
  return `${API_BASE}/files/${encodeURIComponent(fileId)}/content${download ? '?download=true' : ''}`;
}
