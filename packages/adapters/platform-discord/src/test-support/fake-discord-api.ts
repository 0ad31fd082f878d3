import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

/*
 * A local stand-in for the part of Discord that discord.js talks to: the REST API (`/api/v10/...`) and the
 * gateway WebSocket (HELLO, IDENTIFY → READY + GUILD_CREATE, heartbeats, RESUME, dispatches). It listens on
 * 127.0.0.1 with a free port, records every REST request and every gateway frame the client sends, and lets
 * a test play inbound dispatches and inject failures (a 429 once, a 500 ...).
 */

/** One REST request as the fake received it. */
export interface FakeDiscordRequest {
  method: string;
  /** Path below `/api/v10`, decoded only as far as the wire: `/channels/1/messages/2/reactions/%F0%9F%91%8D/@me`. */
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body, or for multipart `{ payload_json, files }`. */
  body: unknown;
  files: { field: string; name: string; contentType: string; data: Uint8Array }[];
}

/** A failure the fake answers instead of handling the next matching request. */
export interface FakeDiscordFailure {
  method?: string;
  path: string | RegExp;
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** How many requests to fail; 1 by default. */
  times?: number;
}

export interface FakeDiscordApiOptions {
  bot?: { id: string; username: string };
  applicationId?: string;
  guild?: { id: string; name: string };
  /** Channels of the guild sent in GUILD_CREATE; text channels (type 0) and threads (type 11, with parent_id). */
  channels?: { id: string; name: string; type?: number; parent_id?: string }[];
  /** Heartbeat interval sent in HELLO, in ms. */
  heartbeatIntervalMs?: number;
}

interface StoredMessage {
  id: string;
  channel_id: string;
  content: string;
  author: Record<string, unknown>;
  webhook_id?: string;
  attachments: unknown[];
  edited_timestamp: string | null;
  timestamp: string;
}

/**
 * The fake Discord API: `apiUrl` goes into discord.js's `rest.api`; `GET /gateway/bot` answers with
 * `gatewayUrl`.
 *
 * @example
 * const discord = await startFakeDiscordApi();
 * const client = new Client({ intents, rest: { api: discord.apiUrl } });
 * await client.login('token');
 * discord.dispatch('MESSAGE_CREATE', discord.message({ content: 'hi' }));
 */
export class FakeDiscordApi {
  readonly requests: FakeDiscordRequest[] = [];
  /** Frames the client sent on the gateway (IDENTIFY, heartbeats, RESUME). */
  readonly gatewayFrames: { op: number; d: unknown }[] = [];
  /** Query strings of gateway connections (`v`, `encoding`, `compress`). */
  readonly gatewayQueries: Record<string, string>[] = [];
  readonly bot: { id: string; username: string };
  readonly applicationId: string;
  readonly guild: { id: string; name: string };
  readonly channels: { id: string; name: string; type?: number; parent_id?: string }[];
  readonly messages = new Map<string, StoredMessage>();
  readonly webhooks: { id: string; token: string; channel_id: string; name: string }[] = [];
  /** The bot's own reactions (`👍`, or `name:id` for custom emoji) on each message, by message id. */
  readonly reactions = new Map<string, string[]>();
  readonly sessionId = 'fake-session-1';

  private readonly server: Server;
  private readonly sockets = new Set<WebSocket>();
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly failures: FakeDiscordFailure[] = [];
  private readonly heartbeatIntervalMs: number;
  private sequence = 0;
  private nextId = 1_000_000_000_000_000n;
  private readyWaiters: (() => void)[] = [];
  private identified = false;
  private port = 0;

  constructor(options: FakeDiscordApiOptions = {}) {
    this.bot = options.bot ?? { id: '900000000000000001', username: 'kaiwa-bot' };
    this.applicationId = options.applicationId ?? '900000000000000002';
    this.guild = options.guild ?? { id: '800000000000000001', name: 'Kaiwa Test' };
    this.channels = options.channels ?? [
      { id: '700000000000000001', name: 'general', type: 0 },
      { id: '700000000000000002', name: 'random', type: 0 },
    ];
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 41_250;
    this.server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        response.statusCode = 500;
        response.end(JSON.stringify({ message: String(error), code: 0 }));
      });
    });
    this.server.on('upgrade', (request, socket, head) => {
      this.wss.handleUpgrade(request, socket, head, (ws) => this.onGateway(ws, request));
    });
  }

  /** Base URL for discord.js `rest.api` (without the version). */
  get apiUrl(): string {
    return `http://127.0.0.1:${this.port}/api`;
  }

  get gatewayUrl(): string {
    return `ws://127.0.0.1:${this.port}/gateway`;
  }

  async listen(): Promise<this> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.terminate();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Answers the next `times` requests matching `path` (and `method`) with a failure. */
  fail(failure: FakeDiscordFailure): void {
    this.failures.push({ times: 1, ...failure });
  }

  /** Resolves once a client has identified and received READY. */
  waitForReady(): Promise<void> {
    if (this.identified) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /** Sends a dispatch (`op 0`) to every connected client; returns its sequence number. */
  dispatch(type: string, data: unknown): number {
    this.sequence += 1;
    const frame = JSON.stringify({ op: 0, t: type, s: this.sequence, d: data });
    for (const socket of this.sockets) socket.send(frame);
    return this.sequence;
  }

  /** Closes the gateway connections with `code`, so the client reconnects (resume or identify). */
  dropGateway(code = 4000): void {
    for (const socket of this.sockets) socket.close(code, 'fake drop');
  }

  newId(): string {
    this.nextId += 1n;
    return this.nextId.toString();
  }

  /** A user payload. */
  user(id: string, username: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { id, username, global_name: null, avatar: null, discriminator: '0', bot: false, ...extra };
  }

  /** A MESSAGE_CREATE payload in the first channel by default. */
  message(fields: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      id: this.newId(),
      channel_id: this.channels[0]!.id,
      guild_id: this.guild.id,
      author: this.user('600000000000000001', 'alice', { global_name: 'Alice' }),
      content: '',
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: [],
      embeds: [],
      pinned: false,
      type: 0,
      ...fields,
    };
  }

  /** An INTERACTION_CREATE payload for a slash command (type 2) named `name`, in the first channel by default. */
  interaction(name: string, fields: Record<string, unknown> = {}): Record<string, unknown> {
    const id = this.newId();
    return {
      id,
      type: 2,
      version: 1,
      token: `interaction-token-${id}`,
      application_id: this.applicationId,
      channel_id: this.channels[0]!.id,
      guild_id: this.guild.id,
      guild_locale: 'en-US',
      locale: 'en-US',
      app_permissions: '0',
      entitlements: [],
      authorizing_integration_owners: {},
      context: 0,
      member: {
        user: this.user('600000000000000001', 'alice'),
        roles: [],
        joined_at: new Date().toISOString(),
        permissions: '0',
      },
      data: { id: this.newId(), name, type: 1, options: [] },
      ...fields,
    };
  }

  /** Requests whose method and path match. */
  find(method: string, path: string | RegExp): FakeDiscordRequest[] {
    return this.requests.filter(
      (request) =>
        request.method === method &&
        (typeof path === 'string' ? request.path === path : path.test(request.path)),
    );
  }

  private onGateway(ws: WebSocket, request: IncomingMessage): void {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    this.gatewayQueries.push(Object.fromEntries(url.searchParams));
    this.sockets.add(ws);
    ws.on('close', () => this.sockets.delete(ws));
    ws.on('message', (raw) => {
      const frame = JSON.parse(raw.toString()) as { op: number; d: Record<string, unknown> };
      this.gatewayFrames.push(frame);
      if (frame.op === 1) ws.send(JSON.stringify({ op: 11 }));
      if (frame.op === 2) this.onIdentify(ws);
      if (frame.op === 6) {
        this.sequence += 1;
        ws.send(JSON.stringify({ op: 0, t: 'RESUMED', s: this.sequence, d: {} }));
      }
    });
    ws.send(JSON.stringify({ op: 10, d: { heartbeat_interval: this.heartbeatIntervalMs } }));
  }

  private onIdentify(ws: WebSocket): void {
    const send = (t: string, d: unknown) => {
      this.sequence += 1;
      ws.send(JSON.stringify({ op: 0, t, s: this.sequence, d }));
    };
    send('READY', {
      v: 10,
      user: { ...this.user(this.bot.id, this.bot.username), bot: true },
      guilds: [{ id: this.guild.id, unavailable: true }],
      session_id: this.sessionId,
      resume_gateway_url: this.gatewayUrl,
      application: { id: this.applicationId, flags: 0 },
      private_channels: [],
    });
    const textChannels = this.channels.filter((channel) => channel.type !== 11);
    const threads = this.channels.filter((channel) => channel.type === 11);
    send('GUILD_CREATE', {
      id: this.guild.id,
      name: this.guild.name,
      owner_id: '600000000000000001',
      unavailable: false,
      member_count: 2,
      large: false,
      features: [],
      roles: [{ id: this.guild.id, name: '@everyone', permissions: '0', position: 0, color: 0 }],
      emojis: [],
      stickers: [],
      members: [],
      presences: [],
      voice_states: [],
      stage_instances: [],
      guild_scheduled_events: [],
      channels: textChannels.map((channel, position) => ({
        id: channel.id,
        name: channel.name,
        type: channel.type ?? 0,
        position,
        guild_id: this.guild.id,
        permission_overwrites: [],
      })),
      threads: threads.map((thread) => ({
        id: thread.id,
        name: thread.name,
        type: 11,
        parent_id: thread.parent_id,
        guild_id: this.guild.id,
        thread_metadata: { archived: false, auto_archive_duration: 1440, locked: false },
      })),
    });
    this.identified = true;
    for (const resolve of this.readyWaiters.splice(0)) resolve();
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const raw = request.url?.split('?')[0] ?? '/';
    const path = raw.replace(/^\/api\/v\d+/, '');
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const bytes = Buffer.concat(chunks);
    const contentType = String(request.headers['content-type'] ?? '');
    let body: unknown;
    const files: FakeDiscordRequest['files'] = [];
    if (contentType.startsWith('multipart/form-data')) {
      const form = await new Response(bytes, { headers: { 'content-type': contentType } }).formData();
      const fields: Record<string, unknown> = {};
      for (const [field, value] of form) {
        if (typeof value === 'string') {
          fields[field] = field === 'payload_json' ? JSON.parse(value) : value;
        } else {
          files.push({
            field,
            name: value.name,
            contentType: value.type,
            data: new Uint8Array(await value.arrayBuffer()),
          });
        }
      }
      body = (fields.payload_json as Record<string, unknown>) ?? fields;
    } else if (bytes.length > 0) {
      body = JSON.parse(bytes.toString('utf8'));
    }
    const method = request.method ?? 'GET';
    this.requests.push({
      method,
      path,
      query: Object.fromEntries(url.searchParams),
      headers: request.headers,
      body,
      files,
    });

    const reply = (status: number, payload?: unknown, headers: Record<string, string> = {}) => {
      response.statusCode = status;
      for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
      if (payload === undefined) {
        response.end();
        return;
      }
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify(payload));
    };

    const failure = this.failures.find(
      (candidate) =>
        (candidate.method === undefined || candidate.method === method) &&
        (typeof candidate.path === 'string' ? candidate.path === path : candidate.path.test(path)),
    );
    if (failure) {
      failure.times = (failure.times ?? 1) - 1;
      if (failure.times <= 0) this.failures.splice(this.failures.indexOf(failure), 1);
      reply(failure.status, failure.body ?? { message: 'fake failure', code: 0 }, failure.headers);
      return;
    }

    const route = (pattern: string) => {
      const names: string[] = [];
      const regex = new RegExp(
        `^${pattern.replace(/:(\w+)/g, (_, name: string) => {
          names.push(name);
          return '([^/]+)';
        })}$`,
      );
      const match = regex.exec(path);
      if (!match) return undefined;
      return Object.fromEntries(names.map((name, index) => [name, decodeURIComponent(match[index + 1]!)]));
    };
    const json = (body ?? {}) as Record<string, unknown>;
    const botAuthor = { ...this.user(this.bot.id, this.bot.username), bot: true };
    const storeMessage = (channelId: string, author: Record<string, unknown>, webhookId?: string) => {
      const message: StoredMessage = {
        id: this.newId(),
        channel_id: channelId,
        content: String(json.content ?? ''),
        author,
        attachments: files.map((file, index) => ({
          id: this.newId(),
          filename: file.name,
          size: file.data.byteLength,
          content_type: file.contentType,
          url: `http://127.0.0.1:${this.port}/attachments/${index}/${file.name}`,
        })),
        edited_timestamp: null,
        timestamp: new Date().toISOString(),
        ...(webhookId ? { webhook_id: webhookId } : {}),
      };
      this.messages.set(message.id, message);
      return message;
    };
    const unknownMessage = () => reply(404, { message: 'Unknown Message', code: 10008 });
    type Params = Record<string, string>;
    const routes: [method: string, pattern: string, handle: (params: Params) => void][] = [
      [
        'GET',
        '/gateway/bot',
        () =>
          reply(200, {
            url: this.gatewayUrl,
            shards: 1,
            session_start_limit: { total: 1000, remaining: 999, reset_after: 0, max_concurrency: 1 },
          }),
      ],
      ['GET', '/users/@me', () => reply(200, botAuthor)],
      [
        'POST',
        '/channels/:channel/messages',
        (params) => {
          if (!this.channels.some((channel) => channel.id === params.channel)) {
            return reply(404, { message: 'Unknown Channel', code: 10003 });
          }
          reply(200, storeMessage(params.channel!, botAuthor));
        },
      ],
      [
        'PATCH',
        '/channels/:channel/messages/:message',
        (params) => {
          const message = this.messages.get(params.message!);
          if (!message) return unknownMessage();
          if (message.webhook_id) {
            return reply(403, { message: 'Cannot edit a message authored by another user', code: 50005 });
          }
          message.content = String(json.content ?? message.content);
          message.edited_timestamp = new Date().toISOString();
          reply(200, message);
        },
      ],
      [
        'DELETE',
        '/channels/:channel/messages/:message',
        (params) => (this.messages.delete(params.message!) ? reply(204) : unknownMessage()),
      ],
      [
        'PUT',
        '/channels/:channel/messages/:message/reactions/:emoji/@me',
        (params) => {
          const held = this.reactions.get(params.message!) ?? [];
          if (!held.includes(params.emoji!)) held.push(params.emoji!);
          this.reactions.set(params.message!, held);
          reply(204);
        },
      ],
      [
        'DELETE',
        '/channels/:channel/messages/:message/reactions/:emoji/@me',
        (params) => {
          const held = this.reactions.get(params.message!) ?? [];
          this.reactions.set(
            params.message!,
            held.filter((emoji) => emoji !== params.emoji),
          );
          reply(204);
        },
      ],
      [
        'POST',
        '/channels/:channel/messages/:message/threads',
        (params) => {
          const thread = {
            id: params.message!,
            name: String(json.name),
            type: 11,
            parent_id: params.channel!,
          };
          this.channels.push(thread);
          reply(201, { ...thread, guild_id: this.guild.id });
        },
      ],
      [
        'GET',
        '/channels/:channel',
        (params) => {
          const channel = this.channels.find((candidate) => candidate.id === params.channel);
          if (!channel) return reply(404, { message: 'Unknown Channel', code: 10003 });
          reply(200, { type: 0, ...channel, guild_id: this.guild.id });
        },
      ],
      [
        'GET',
        '/channels/:channel/webhooks',
        (params) =>
          reply(
            200,
            this.webhooks
              .filter((webhook) => webhook.channel_id === params.channel)
              .map((webhook) => ({ ...webhook, type: 1, application_id: this.applicationId })),
          ),
      ],
      [
        'POST',
        '/channels/:channel/webhooks',
        (params) => {
          const webhook = {
            id: this.newId(),
            token: `token-${this.webhooks.length + 1}`,
            channel_id: params.channel!,
            name: String(json.name),
          };
          this.webhooks.push(webhook);
          reply(200, { ...webhook, type: 1, application_id: this.applicationId });
        },
      ],
      ['POST', '/interactions/:id/:token/callback', () => reply(204)],
      [
        '*',
        '/webhooks/:id/:token/messages/:message',
        (params) => {
          const isOriginal = params.message === '@original';
          let message = isOriginal
            ? [...this.messages.values()].find(
                (candidate) => candidate.webhook_id === `interaction:${params.token}`,
              )
            : this.messages.get(params.message!);
          if (method === 'DELETE') {
            if (!message) return unknownMessage();
            this.messages.delete(message.id);
            return reply(204);
          }
          // An interaction's deferred answer exists once Discord shows "thinking…".
          if (!message && isOriginal) {
            message = storeMessage(this.channels[0]!.id, botAuthor, `interaction:${params.token}`);
          }
          if (!message) return unknownMessage();
          message.content = String(json.content ?? message.content);
          message.edited_timestamp = new Date().toISOString();
          reply(200, message);
        },
      ],
      [
        'POST',
        '/webhooks/:id/:token',
        (params) => {
          const webhook = this.webhooks.find((candidate) => candidate.id === params.id);
          if (!webhook || webhook.token !== params.token) {
            return reply(404, { message: 'Unknown Webhook', code: 10015 });
          }
          const channelId = url.searchParams.get('thread_id') ?? webhook.channel_id;
          const author = { ...this.user(webhook.id, String(json.username ?? webhook.name)), bot: true };
          reply(200, storeMessage(channelId, author, webhook.id));
        },
      ],
    ];
    for (const [routeMethod, pattern, handle] of routes) {
      if (routeMethod !== '*' && routeMethod !== method) continue;
      const params = route(pattern);
      if (params) return handle(params);
    }
    reply(404, { message: '404: Not Found', code: 0 });
  }
}

/** Starts a {@link FakeDiscordApi} on 127.0.0.1 with a free port. */
export async function startFakeDiscordApi(options: FakeDiscordApiOptions = {}): Promise<FakeDiscordApi> {
  return new FakeDiscordApi(options).listen();
}
