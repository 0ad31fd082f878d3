import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * A local stand-in for the Bot Framework connector that Teams bots talk to (the `serviceUrl` of every
 * activity): `/v3/conversations/:id/activities[/:activityId]` for send, reply, update and delete. It listens
 * on 127.0.0.1 with a free port, records requests, can fail the next ones (429 with Retry-After, 503...), and
 * plays inbound activities by POSTing them to the bot's endpoint the way the Bot Framework service does.
 */

export interface FakeConnectorRequest {
  method: string;
  /** Decoded conversation id. */
  conversationId: string;
  /** Decoded activity id from the path (reply target, edited or deleted activity), if any. */
  activityId: string | undefined;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown> | undefined;
}

export interface FakeConnectorFailure {
  method?: string;
  /** Matches the decoded path. */
  path?: string | RegExp;
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  times?: number;
}

/** An activity as stored by the fake: what the bot sent, with the id the fake gave it. */
export interface FakeStoredActivity {
  id: string;
  conversationId: string;
  replyToId?: string;
  activity: Record<string, unknown>;
  deleted: boolean;
}

export interface FakeBotConnectorOptions {
  /** The bot's channel account, sent as `recipient`. */
  bot?: { id: string; name: string };
  tenantId?: string;
}

/**
 * The fake connector; its `serviceUrl` goes into inbound activities (and the adapter's `serviceUrl` config).
 *
 * @example
 * const connector = await startFakeBotConnector();
 * await connector.deliver(`${botUrl}/api/messages`, connector.messageActivity({ text: 'hi' }));
 */
export class FakeBotConnector {
  readonly requests: FakeConnectorRequest[] = [];
  readonly activities = new Map<string, FakeStoredActivity>();
  readonly bot: { id: string; name: string };
  readonly tenantId: string;
  private readonly server: Server;
  private readonly failures: FakeConnectorFailure[] = [];
  private port = 0;
  private counter = 0;

  constructor(options: FakeBotConnectorOptions = {}) {
    this.bot = options.bot ?? { id: '28:kaiwa-bot-app-id', name: 'Kaiwa Bot' };
    this.tenantId = options.tenantId ?? 'tenant-1';
    this.server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        response.statusCode = 500;
        response.end(JSON.stringify({ error: { code: 'ServiceError', message: String(error) } }));
      });
    });
  }

  /** What activities carry as `serviceUrl`: where the bot sends its answers. */
  get serviceUrl(): string {
    return `http://127.0.0.1:${this.port}/`;
  }

  async listen(): Promise<this> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  fail(failure: FakeConnectorFailure): void {
    this.failures.push({ times: 1, ...failure });
  }

  find(method: string, conversationId?: string): FakeConnectorRequest[] {
    return this.requests.filter(
      (request) =>
        request.method === method &&
        (conversationId === undefined || request.conversationId === conversationId),
    );
  }

  nextId(): string {
    this.counter += 1;
    return `${Date.now()}${String(this.counter).padStart(4, '0')}`;
  }

  /** A Teams message activity from `from` in a channel conversation, with the bot as recipient. */
  messageActivity(fields: Record<string, unknown> = {}): Record<string, unknown> {
    const id = this.nextId();
    return {
      type: 'message',
      id,
      timestamp: new Date().toISOString(),
      localTimestamp: new Date().toISOString(),
      serviceUrl: this.serviceUrl,
      channelId: 'msteams',
      from: { id: '29:alice-id', name: 'Alice Example', aadObjectId: 'aad-alice' },
      conversation: {
        id: `19:general@thread.tacv2;messageid=${id}`,
        conversationType: 'channel',
        isGroup: true,
        tenantId: this.tenantId,
      },
      recipient: this.bot,
      textFormat: 'plain',
      text: '',
      entities: [],
      channelData: {
        tenant: { id: this.tenantId },
        teamsChannelId: '19:general@thread.tacv2',
        teamsTeamId: '19:team@thread.tacv2',
        channel: { id: '19:general@thread.tacv2' },
        team: { id: '19:team@thread.tacv2' },
      },
      ...fields,
    };
  }

  /** A mention entity as Teams sends it (and the `<at>` text to put in the message). */
  mention(id: string, name: string): { text: string; entity: Record<string, unknown> } {
    const text = `<at>${name}</at>`;
    return { text, entity: { type: 'mention', text, mentioned: { id, name } } };
  }

  /** POSTs an activity to the bot's endpoint like the Bot Framework service; returns the HTTP status. */
  async deliver(
    bot: string | { handleWebhook(request: Request): Promise<Response> },
    activity: Record<string, unknown>,
  ): Promise<{ status: number; body: string }> {
    const init = {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(activity),
    };
    const response =
      typeof bot === 'string'
        ? await fetch(bot, init)
        : await bot.handleWebhook(new Request('http://kaiwa.test/api/messages', init));
    return { status: response.status, body: await response.text() };
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const body = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
    const method = request.method ?? 'GET';
    const match = /^\/v3\/conversations\/([^/]+)\/activities(?:\/([^/]+))?$/.exec(url.pathname);
    const conversationId = match ? decodeURIComponent(match[1]!) : '';
    const activityId = match?.[2] ? decodeURIComponent(match[2]) : undefined;
    const path = match
      ? `/v3/conversations/${conversationId}/activities${activityId ? `/${activityId}` : ''}`
      : url.pathname;
    this.requests.push({ method, conversationId, activityId, path, headers: request.headers, body });

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
        (candidate.path === undefined ||
          (typeof candidate.path === 'string' ? candidate.path === path : candidate.path.test(path))),
    );
    if (failure) {
      failure.times = (failure.times ?? 1) - 1;
      if (failure.times <= 0) this.failures.splice(this.failures.indexOf(failure), 1);
      reply(
        failure.status,
        failure.body ?? { error: { code: 'Throttled', message: 'fake failure' } },
        failure.headers,
      );
      return;
    }
    if (!match)
      return reply(404, { error: { code: 'NotFound', message: `no route ${method} ${url.pathname}` } });

    if (method === 'POST') {
      const id = this.nextId();
      this.activities.set(id, {
        id,
        conversationId,
        ...(activityId ? { replyToId: activityId } : {}),
        activity: body ?? {},
        deleted: false,
      });
      return reply(201, { id });
    }
    const stored = activityId ? this.activities.get(activityId) : undefined;
    if (!stored || stored.deleted)
      return reply(404, { error: { code: 'ActivityNotFound', message: 'no such activity' } });
    if (method === 'PUT') {
      stored.activity = body ?? {};
      return reply(200, { id: stored.id });
    }
    if (method === 'DELETE') {
      stored.deleted = true;
      return reply(200);
    }
    reply(405, { error: { code: 'BadRequest', message: 'method not allowed' } });
  }
}

/** Starts a {@link FakeBotConnector} on 127.0.0.1 with a free port. */
export async function startFakeBotConnector(
  options: FakeBotConnectorOptions = {},
): Promise<FakeBotConnector> {
  return new FakeBotConnector(options).listen();
}
