import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

/*
 * A local stand-in for the part of Slack the adapter uses: Web API methods as form or JSON POSTs to
 * `/api/<method>`, the external file upload URL, a Socket Mode WebSocket, and a player for signed Events API
 * requests. It binds 127.0.0.1 on port 0 and records every call so tests can assert on them.
 */

/** One Web API call the fake received. */
export interface FakeSlackCall {
  method: string;
  params: Record<string, unknown>;
  /** The bearer token the call carried. */
  token: string | undefined;
}

export interface FakeSlackUser {
  id: string;
  name: string;
  realName?: string;
  avatarUrl?: string;
  isBot?: boolean;
}

/** A canned failure for the next call of a method. */
export type FakeSlackFailure =
  | { status: 429; retryAfterSeconds: number }
  | { status: number; body?: string }
  | { error: string };

export interface FakeSlackApiOptions {
  /** Secret used to sign Events API requests; defaults to `test-signing-secret`. */
  signingSecret?: string;
  botUserId?: string;
  botId?: string;
  botName?: string;
  teamId?: string;
  users?: FakeSlackUser[];
}

/** A message as the fake now holds it, by `messageKey(channel, ts)`: what the SDK posted and updated. */
export interface FakeSlackMessage {
  channel: string;
  ts: string;
  /** The mrkdwn `text` of the last post or update. */
  text: string;
  /** Reaction names the bot added and has not removed. */
  reactions: string[];
}

export interface FakeSlackUpload {
  fileId: string;
  filename: string;
  bytes: Uint8Array;
}

interface Pending {
  resolve: (payload: unknown) => void;
}

/**
 * A fake Slack: start it, point `apiUrl` at {@link FakeSlackApi.apiUrl}, then assert on
 * {@link FakeSlackApi.calls}.
 *
 * @example
 * const slack = await FakeSlackApi.start();
 * const adapter = createSlackAdapter({ token: 'xoxb-test', apiUrl: slack.apiUrl, receiver: { type: 'socket', appToken: 'xapp-test' } });
 * await adapter.connect(sink);
 * await slack.sendSocketEvent(slackEventCallback({ type: 'message', channel: 'C1', user: 'U1', text: 'hi', ts: '1.1' }));
 */
export class FakeSlackApi {
  readonly requests: FakeSlackCall[] = [];
  readonly uploads: FakeSlackUpload[] = [];
  /** Messages posted through `chat.postMessage` and not deleted, by {@link FakeSlackApi.messageKey}. */
  readonly messages = new Map<string, FakeSlackMessage>();
  /** Bytes served (to bearer-token holders) at {@link FakeSlackApi.fileUrl}, by file id. */
  readonly files = new Map<string, Uint8Array>();
  readonly signingSecret: string;
  readonly botUserId: string;
  readonly botId: string;
  readonly botName: string;
  readonly teamId: string;
  readonly #server: Server;
  readonly #sockets = new WebSocketServer({ noServer: true });
  readonly #users = new Map<string, FakeSlackUser>();
  readonly #failures = new Map<string, FakeSlackFailure[]>();
  readonly #pendingAcks = new Map<string, Pending>();
  readonly #socketWaiters: ((socket: WebSocket) => void)[] = [];
  #socket: WebSocket | undefined;
  #sequence = 0;
  #url = '';

  private constructor(options: FakeSlackApiOptions) {
    this.signingSecret = options.signingSecret ?? 'test-signing-secret';
    this.botUserId = options.botUserId ?? 'UBOT';
    this.botId = options.botId ?? 'BBOT';
    this.botName = options.botName ?? 'kaiwa';
    this.teamId = options.teamId ?? 'T1';
    for (const user of options.users ?? []) this.#users.set(user.id, user);
    this.#server = createServer((request, response) => {
      this.#handle(request, response).catch((error: unknown) => {
        response.writeHead(500).end(String(error));
      });
    });
    this.#server.on('upgrade', (request, socket, head) => {
      this.#sockets.handleUpgrade(request, socket, head, (webSocket) => this.#onSocket(webSocket));
    });
  }

  /** Starts a fake Slack on 127.0.0.1 with a free port. */
  static async start(options: FakeSlackApiOptions = {}): Promise<FakeSlackApi> {
    const fake = new FakeSlackApi(options);
    await new Promise<void>((resolve) => fake.#server.listen(0, '127.0.0.1', resolve));
    const { port } = fake.#server.address() as AddressInfo;
    fake.#url = `http://127.0.0.1:${port}`;
    return fake;
  }

  /** `http://127.0.0.1:<port>` */
  get url(): string {
    return this.#url;
  }

  /** What to pass as `apiUrl` (ends with a slash, as the SDK expects). */
  get apiUrl(): string {
    return `${this.#url}/api/`;
  }

  /** A `url_private`-style address for a file in {@link FakeSlackApi.files}. */
  fileUrl(fileId: string, name: string): string {
    return `${this.#url}/files-pri/${this.teamId}-${fileId}/${encodeURIComponent(name)}`;
  }

  /** The key of {@link FakeSlackApi.messages}. */
  static messageKey(channel: string, ts: string): string {
    return `${channel}:${ts}`;
  }

  /** The recorded calls of one Web API method, in order. */
  calls(method: string): FakeSlackCall[] {
    return this.requests.filter((call) => call.method === method);
  }

  addUser(user: FakeSlackUser): void {
    this.#users.set(user.id, user);
  }

  /** Makes the next call of `method` fail once (queue several by calling again). */
  failNext(method: string, failure: FakeSlackFailure): void {
    const queue = this.#failures.get(method) ?? [];
    queue.push(failure);
    this.#failures.set(method, queue);
  }

  /** Resolves once a Socket Mode client has connected and been greeted. */
  waitForSocket(): Promise<WebSocket> {
    if (this.#socket !== undefined) return Promise.resolve(this.#socket);
    return new Promise((resolve) => this.#socketWaiters.push(resolve));
  }

  /**
   * Sends one Socket Mode envelope and resolves with the ack the client sent back (by `envelope_id`).
   * `type` is `events_api` for event callbacks and `slash_commands` for commands.
   */
  async sendSocketEvent(
    payload: Record<string, unknown>,
    options: {
      type?: 'events_api' | 'slash_commands' | 'interactive';
      retryAttempt?: number;
      retryReason?: string;
    } = {},
  ): Promise<{ envelopeId: string; ack: unknown }> {
    const socket = await this.waitForSocket();
    const envelopeId = `env-${++this.#sequence}-${randomBytes(3).toString('hex')}`;
    const acked = new Promise<unknown>((resolve) => this.#pendingAcks.set(envelopeId, { resolve }));
    socket.send(
      JSON.stringify({
        envelope_id: envelopeId,
        type: options.type ?? 'events_api',
        payload,
        accepts_response_payload: options.type === 'slash_commands',
        retry_attempt: options.retryAttempt ?? 0,
        retry_reason: options.retryReason ?? '',
      }),
    );
    return { envelopeId, ack: await acked };
  }

  /** True when the envelope has not been acknowledged (yet). */
  isPendingAck(envelopeId: string): boolean {
    return this.#pendingAcks.has(envelopeId);
  }

  /**
   * POSTs a signed Events API request, as Slack does, with a real `X-Slack-Signature`, to a URL or straight
   * to an adapter's `handleWebhook`. Objects are sent as JSON; `form: true` sends them form-encoded (slash
   * commands).
   */
  async postToReceiver(
    target: string | { handleWebhook(request: Request): Promise<Response> },
    body: Record<string, unknown>,
    options: {
      retryNum?: number;
      retryReason?: string;
      form?: boolean;
      signingSecret?: string;
      timestamp?: number;
    } = {},
  ): Promise<{ status: number; body: string }> {
    const raw = options.form
      ? new URLSearchParams(
          Object.entries(body).map(([key, value]): [string, string] => [key, String(value)]),
        ).toString()
      : JSON.stringify(body);
    const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
    const signature = createHmac('sha256', options.signingSecret ?? this.signingSecret)
      .update(`v0:${timestamp}:${raw}`)
      .digest('hex');
    const headers: Record<string, string> = {
      'content-type': options.form ? 'application/x-www-form-urlencoded' : 'application/json',
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': `v0=${signature}`,
    };
    if (options.retryNum !== undefined) {
      headers['x-slack-retry-num'] = String(options.retryNum);
      headers['x-slack-retry-reason'] = options.retryReason ?? 'http_timeout';
    }
    const response =
      typeof target === 'string'
        ? await fetch(target, { method: 'POST', headers, body: raw })
        : await target.handleWebhook(
            new Request('http://kaiwa.test/slack/events', { method: 'POST', headers, body: raw }),
          );
    return { status: response.status, body: await response.text() };
  }

  async close(): Promise<void> {
    for (const client of this.#sockets.clients) client.terminate();
    this.#sockets.close();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #onSocket(socket: WebSocket): void {
    this.#socket = socket;
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { envelope_id?: string; payload?: unknown };
      if (message.envelope_id === undefined) return;
      const pending = this.#pendingAcks.get(message.envelope_id);
      this.#pendingAcks.delete(message.envelope_id);
      pending?.resolve(message.payload ?? {});
    });
    socket.on('close', () => {
      if (this.#socket === socket) this.#socket = undefined;
    });
    socket.send(
      JSON.stringify({
        type: 'hello',
        num_connections: 1,
        debug_info: { host: 'fake-slack', approximate_connection_time: 3600 },
        connection_info: { app_id: 'A1' },
      }),
    );
    for (const waiter of this.#socketWaiters.splice(0)) waiter(socket);
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const path = new URL(request.url ?? '/', this.#url).pathname;

    const download = /^\/files-pri\/[^-]+-([^/]+)\//.exec(path);
    if (download) {
      const bytes = this.files.get(download[1] ?? '');
      const authorized = request.headers.authorization?.startsWith('Bearer xox') ?? false;
      if (!authorized) response.writeHead(403).end();
      else if (bytes === undefined) response.writeHead(404).end();
      else response.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.from(bytes));
      return;
    }
    if (path.startsWith('/upload/')) {
      const fileId = path.slice('/upload/'.length);
      const form = await parseBody(raw, request.headers['content-type']);
      const file = form.body;
      const bytes = file instanceof Blob ? new Uint8Array(await file.arrayBuffer()) : new Uint8Array(raw);
      const filename = file instanceof File ? file.name : fileId;
      this.uploads.push({ fileId, filename, bytes });
      response.writeHead(200, { 'content-type': 'text/plain' }).end(`OK - ${bytes.length}`);
      return;
    }
    if (!path.startsWith('/api/')) {
      response.writeHead(404).end();
      return;
    }
    const method = path.slice('/api/'.length);
    const params = await parseBody(raw, request.headers['content-type']);
    const authorization = request.headers.authorization;
    const token = authorization?.startsWith('Bearer ')
      ? authorization.slice(7)
      : (params.token as string | undefined);
    this.requests.push({ method, params, token });

    const failure = this.#failures.get(method)?.shift();
    if (failure !== undefined) {
      if ('error' in failure) {
        json(response, 200, { ok: false, error: failure.error });
      } else if ('retryAfterSeconds' in failure) {
        response
          .writeHead(429, {
            'retry-after': String(failure.retryAfterSeconds),
            'content-type': 'application/json',
          })
          .end(JSON.stringify({ ok: false, error: 'ratelimited' }));
      } else {
        response.writeHead(failure.status).end(failure.body ?? '');
      }
      return;
    }
    json(response, 200, this.#answer(method, params));
  }

  #answer(method: string, params: Record<string, unknown>): Record<string, unknown> {
    const ts = () => `${Math.floor(Date.now() / 1000)}.${String(++this.#sequence).padStart(6, '0')}`;
    switch (method) {
      case 'auth.test':
        return {
          ok: true,
          url: 'https://fake.slack.com/',
          team: 'Fake',
          user: this.botName,
          team_id: this.teamId,
          user_id: this.botUserId,
          bot_id: this.botId,
        };
      case 'apps.connections.open':
        return {
          ok: true,
          url: `${this.#url.replace('http', 'ws')}/socket-mode?ticket=${randomBytes(4).toString('hex')}`,
        };
      case 'users.info': {
        const user = this.#users.get(String(params.user));
        if (user === undefined) return { ok: false, error: 'user_not_found' };
        return {
          ok: true,
          user: {
            id: user.id,
            name: user.name,
            real_name: user.realName ?? user.name,
            is_bot: user.isBot ?? false,
            profile: { display_name: user.realName ?? user.name, image_72: user.avatarUrl },
          },
        };
      }
      case 'chat.postMessage': {
        const posted = { channel: String(params.channel), ts: ts(), text: String(params.text ?? '') };
        this.messages.set(FakeSlackApi.messageKey(posted.channel, posted.ts), { ...posted, reactions: [] });
        return {
          ok: true,
          channel: params.channel,
          ts: posted.ts,
          message: { text: params.text, user: this.botUserId, bot_id: this.botId },
        };
      }
      case 'chat.update': {
        const held = this.messages.get(FakeSlackApi.messageKey(String(params.channel), String(params.ts)));
        if (held) held.text = String(params.text ?? '');
        return { ok: true, channel: params.channel, ts: params.ts, text: params.text };
      }
      case 'chat.delete':
        this.messages.delete(FakeSlackApi.messageKey(String(params.channel), String(params.ts)));
        return { ok: true, channel: params.channel, ts: params.ts };
      case 'reactions.add':
      case 'reactions.remove': {
        const held = this.messages.get(
          FakeSlackApi.messageKey(String(params.channel), String(params.timestamp)),
        );
        const name = String(params.name);
        if (held && method === 'reactions.add' && !held.reactions.includes(name)) held.reactions.push(name);
        if (held && method === 'reactions.remove') held.reactions = held.reactions.filter((r) => r !== name);
        return { ok: true };
      }
      case 'files.getUploadURLExternal': {
        const fileId = `F${++this.#sequence}`;
        return { ok: true, upload_url: `${this.#url}/upload/${fileId}`, file_id: fileId };
      }
      case 'files.completeUploadExternal': {
        const files = (params.files as { id: string; title?: string }[] | undefined) ?? [];
        const channel = params.channel_id as string | undefined;
        return {
          ok: true,
          files: files.map((file) => ({
            id: file.id,
            title: file.title,
            shares: channel ? { public: { [channel]: [{ ts: ts() }] } } : {},
          })),
        };
      }
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }
}

/** Wraps a Slack event in the Events API `event_callback` envelope, as both transports deliver it. */
export function slackEventCallback(
  event: Record<string, unknown>,
  options: { eventId?: string; teamId?: string; eventTime?: number } = {},
): Record<string, unknown> {
  return {
    token: 'verification-token',
    team_id: options.teamId ?? 'T1',
    api_app_id: 'A1',
    event,
    type: 'event_callback',
    event_id: options.eventId ?? `Ev${randomBytes(5).toString('hex').toUpperCase()}`,
    event_time: options.eventTime ?? Math.floor(Date.now() / 1000),
    authorizations: [{ team_id: options.teamId ?? 'T1', user_id: 'UBOT', is_bot: true }],
  };
}

async function parseBody(raw: Buffer, contentType: string | undefined): Promise<Record<string, unknown>> {
  if (raw.length === 0) return {};
  const type = contentType ?? '';
  if (type.includes('application/json')) return JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
  if (type.includes('multipart/form-data') || type.includes('application/x-www-form-urlencoded')) {
    const form = await new Response(raw, { headers: { 'content-type': type } }).formData();
    const result: Record<string, unknown> = {};
    for (const [key, value] of form.entries())
      result[key] = typeof value === 'string' ? decodeValue(value) : value;
    return result;
  }
  return { raw };
}

/** The SDK JSON-encodes objects and arrays inside form fields. */
function decodeValue(value: string): unknown {
  if (value.startsWith('[') || value.startsWith('{')) {
    try {
      return JSON.parse(value);
    } catch {
      return value;
    }
  }
  return value;
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
