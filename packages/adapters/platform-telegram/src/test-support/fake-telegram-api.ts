import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * A local stand-in for the part of the Telegram Bot API the adapter uses: `/bot<token>/<method>` calls
 * (JSON or multipart), long-polled `getUpdates` fed from a queue, file downloads, and a player for webhook
 * POSTs. It binds 127.0.0.1 on port 0 and records every call.
 */

/** One Bot API call the fake received. */
export interface FakeTelegramCall {
  method: string;
  token: string;
  params: Record<string, unknown>;
}

/** A canned failure for the next call of a method. */
export type FakeTelegramFailure = { errorCode: number; description?: string; retryAfterSeconds?: number };

export interface FakeTelegramApiOptions {
  token?: string;
  botId?: number;
  botUsername?: string;
}

/** A message the bot sent, as the fake now holds it, by `messageKey(chatId, messageId)`. */
export interface FakeTelegramMessage {
  chatId: string;
  messageId: number;
  /** The `text` of the last send or edit (HTML where the bot used `parse_mode: 'HTML'`). */
  text: string;
  /** The bot's reactions, as set by the last `setMessageReaction`. */
  reactions: string[];
}

interface Poll {
  offset: number;
  response: ServerResponse;
  timer: NodeJS.Timeout;
}

/**
 * A fake Telegram: start it, pass {@link FakeTelegramApi.apiUrl} as the adapter's `apiUrl`, queue updates with
 * {@link FakeTelegramApi.pushUpdate} and assert on {@link FakeTelegramApi.calls}.
 *
 * @example
 * const telegram = await FakeTelegramApi.start();
 * const adapter = createTelegramAdapter({ token: telegram.token, apiUrl: telegram.apiUrl });
 * await adapter.connect(sink);
 * const id = telegram.pushUpdate({ message: { message_id: 1, date: 1, chat: { id: 5, type: 'private' }, text: 'hi' } });
 * await telegram.waitForConfirmed(id);
 */
export class FakeTelegramApi {
  readonly requests: FakeTelegramCall[] = [];
  /** Text messages the bot sent and has not deleted, by {@link FakeTelegramApi.messageKey}. */
  readonly messages = new Map<string, FakeTelegramMessage>();
  readonly token: string;
  readonly botId: number;
  readonly botUsername: string;
  /** Bytes served at `/file/bot<token>/<path>`, by path. */
  readonly files = new Map<string, Uint8Array>();
  readonly #server: Server;
  readonly #queue: Record<string, unknown>[] = [];
  readonly #failures = new Map<string, FakeTelegramFailure[]>();
  readonly #confirmWaiters: { updateId: number; resolve: () => void }[] = [];
  #polls: Poll[] = [];
  #confirmedBelow = 0;
  #nextUpdateId = 1000;
  #nextMessageId = 500;
  #url = '';

  private constructor(options: FakeTelegramApiOptions) {
    this.token = options.token ?? '123456:TEST-token';
    this.botId = options.botId ?? 123456;
    this.botUsername = options.botUsername ?? 'kaiwa_bot';
    this.#server = createServer((request, response) => {
      this.#handle(request, response).catch((error: unknown) => {
        if (!response.headersSent) response.writeHead(500);
        response.end(String(error));
      });
    });
  }

  static async start(options: FakeTelegramApiOptions = {}): Promise<FakeTelegramApi> {
    const fake = new FakeTelegramApi(options);
    await new Promise<void>((resolve) => fake.#server.listen(0, '127.0.0.1', resolve));
    fake.#url = `http://127.0.0.1:${(fake.#server.address() as AddressInfo).port}`;
    return fake;
  }

  /** What to pass as the adapter's `apiUrl` (telegraf's `telegram.apiRoot`). */
  get apiUrl(): string {
    return this.#url;
  }

  /** The same as {@link FakeTelegramApi.apiUrl}, under the adapter's old option name. */
  get apiRoot(): string {
    return this.#url;
  }

  /** The key of {@link FakeTelegramApi.messages}. */
  static messageKey(chatId: string | number, messageId: string | number): string {
    return `${chatId}:${messageId}`;
  }

  calls(method: string): FakeTelegramCall[] {
    return this.requests.filter((call) => call.method === method);
  }

  failNext(method: string, failure: FakeTelegramFailure): void {
    const queue = this.#failures.get(method) ?? [];
    queue.push(failure);
    this.#failures.set(method, queue);
  }

  /** Queues an update for `getUpdates` and returns its `update_id`. */
  pushUpdate(update: Record<string, unknown>): number {
    const updateId = typeof update.update_id === 'number' ? update.update_id : this.#nextUpdateId++;
    this.#queue.push({ ...update, update_id: updateId });
    this.#flushPolls();
    return updateId;
  }

  /** Resolves once a `getUpdates` offset has confirmed the update (the bot will not get it again). */
  waitForConfirmed(updateId: number): Promise<void> {
    if (this.#confirmedBelow > updateId) return Promise.resolve();
    return new Promise((resolve) => this.#confirmWaiters.push({ updateId, resolve }));
  }

  /**
   * POSTs an update to a webhook as Telegram does, with the secret token header: to a URL, or straight to an
   * adapter's `handleWebhook`.
   */
  async postWebhook(
    target: string | { handleWebhook(request: Request): Promise<Response> },
    update: Record<string, unknown>,
    options: { secretToken?: string } = {},
  ): Promise<{ status: number; body: string }> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (options.secretToken !== undefined) headers['x-telegram-bot-api-secret-token'] = options.secretToken;
    const body = { update_id: this.#nextUpdateId++, ...update };
    const init = { method: 'POST', headers, body: JSON.stringify(body) };
    const response =
      typeof target === 'string'
        ? await fetch(target, init)
        : await target.handleWebhook(new Request('http://kaiwa.test/telegram/webhook', init));
    return { status: response.status, body: await response.text() };
  }

  async close(): Promise<void> {
    for (const poll of this.#polls) {
      clearTimeout(poll.timer);
      poll.response.destroy();
    }
    this.#polls = [];
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #confirm(offset: number): void {
    if (offset <= this.#confirmedBelow) return;
    this.#confirmedBelow = offset;
    for (let index = this.#queue.length - 1; index >= 0; index--) {
      if ((this.#queue[index]?.update_id as number) < offset) this.#queue.splice(index, 1);
    }
    for (const waiter of this.#confirmWaiters.filter((w) => w.updateId < offset)) {
      this.#confirmWaiters.splice(this.#confirmWaiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  }

  #pending(offset: number): Record<string, unknown>[] {
    return this.#queue.filter((update) => (update.update_id as number) >= offset);
  }

  #flushPolls(): void {
    for (const poll of this.#polls.splice(0)) {
      const updates = this.#pending(poll.offset);
      if (updates.length === 0) {
        this.#polls.push(poll);
        continue;
      }
      clearTimeout(poll.timer);
      ok(poll.response, updates);
    }
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const path = new URL(request.url ?? '/', this.#url).pathname;

    const file = /^\/file\/bot([^/]+)\/(.+)$/.exec(path);
    if (file) {
      const bytes = file[1] === this.token ? this.files.get(file[2] ?? '') : undefined;
      if (bytes === undefined) response.writeHead(404).end();
      else response.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.from(bytes));
      return;
    }
    const call = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(path);
    if (!call) {
      response.writeHead(404).end();
      return;
    }
    const [, token = '', method = ''] = call;
    const params = await parseBody(raw, request.headers['content-type']);
    this.requests.push({ method, token, params });
    if (token !== this.token) {
      fail(response, { errorCode: 401, description: 'Unauthorized' });
      return;
    }
    const failure = this.#failures.get(method)?.shift();
    if (failure !== undefined) {
      fail(response, failure);
      return;
    }
    if (method === 'getUpdates') {
      const offset = Number(params.offset ?? 0);
      this.#confirm(offset);
      const updates = this.#pending(offset);
      const timeout = Number(params.timeout ?? 0);
      if (updates.length > 0 || timeout === 0) {
        ok(response, updates.slice(0, Number(params.limit ?? 100)));
        return;
      }
      const poll: Poll = {
        offset,
        response,
        timer: setTimeout(() => {
          this.#polls = this.#polls.filter((p) => p !== poll);
          ok(response, []);
        }, timeout * 1000),
      };
      response.on('close', () => {
        clearTimeout(poll.timer);
        this.#polls = this.#polls.filter((p) => p !== poll);
      });
      this.#polls.push(poll);
      return;
    }
    const result = this.#answer(method, params);
    if (result === undefined) fail(response, { errorCode: 404, description: 'Not Found: method not found' });
    else ok(response, result);
  }

  #answer(method: string, params: Record<string, unknown>): unknown {
    const message = (extra: Record<string, unknown>) => ({
      message_id: ++this.#nextMessageId,
      date: Math.floor(Date.now() / 1000),
      chat: { id: Number(params.chat_id), type: 'supergroup' },
      from: { id: this.botId, is_bot: true, first_name: 'Kaiwa', username: this.botUsername },
      ...(params.message_thread_id !== undefined
        ? { message_thread_id: Number(params.message_thread_id) }
        : {}),
      ...extra,
    });
    switch (method) {
      case 'getMe':
        return {
          id: this.botId,
          is_bot: true,
          first_name: 'Kaiwa',
          username: this.botUsername,
          can_join_groups: true,
          can_read_all_group_messages: false,
          supports_inline_queries: false,
        };
      case 'deleteWebhook':
      case 'setWebhook':
        return true;
      case 'deleteMessage':
        this.messages.delete(FakeTelegramApi.messageKey(String(params.chat_id), String(params.message_id)));
        return true;
      case 'setMessageReaction': {
        const held = this.messages.get(
          FakeTelegramApi.messageKey(String(params.chat_id), String(params.message_id)),
        );
        const reactions = Array.isArray(params.reaction) ? (params.reaction as { emoji?: string }[]) : [];
        if (held) held.reactions = reactions.flatMap((reaction) => (reaction.emoji ? [reaction.emoji] : []));
        return true;
      }
      case 'sendMessage': {
        const sent = message({ text: params.text });
        const chatId = String(params.chat_id);
        this.messages.set(FakeTelegramApi.messageKey(chatId, sent.message_id), {
          chatId,
          messageId: sent.message_id,
          text: String(params.text ?? ''),
          reactions: [],
        });
        return sent;
      }
      case 'editMessageText': {
        const held = this.messages.get(
          FakeTelegramApi.messageKey(String(params.chat_id), String(params.message_id)),
        );
        if (held) held.text = String(params.text ?? '');
        return message({
          message_id: Number(params.message_id),
          text: params.text,
          edit_date: Math.floor(Date.now() / 1000),
        });
      }
      case 'sendDocument':
        return message({
          document: { file_id: `doc-${this.#nextMessageId}`, file_name: fileName(params.document) },
        });
      case 'sendPhoto':
        return message({ photo: [{ file_id: `photo-${this.#nextMessageId}`, width: 1, height: 1 }] });
      case 'getFile':
        return {
          file_id: params.file_id,
          file_unique_id: `u-${params.file_id}`,
          file_path: `documents/${params.file_id}`,
        };
      default:
        return undefined;
    }
  }
}

function fileName(value: unknown): string | undefined {
  return value instanceof File ? value.name : typeof value === 'string' ? value : undefined;
}

async function parseBody(raw: Buffer, contentType: string | undefined): Promise<Record<string, unknown>> {
  if (raw.length === 0) return {};
  const type = contentType ?? '';
  if (type.includes('application/json')) return JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
  if (type.includes('multipart/form-data') || type.includes('application/x-www-form-urlencoded')) {
    const form = await new Response(raw, { headers: { 'content-type': type } }).formData();
    const result: Record<string, unknown> = {};
    for (const [key, value] of form.entries()) {
      if (typeof value !== 'string') {
        result[key] = value;
        continue;
      }
      try {
        result[key] = value.startsWith('{') || value.startsWith('[') ? JSON.parse(value) : value;
      } catch {
        result[key] = value;
      }
    }
    return result;
  }
  return { raw };
}

function ok(response: ServerResponse, result: unknown): void {
  response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, result }));
}

function fail(response: ServerResponse, failure: FakeTelegramFailure): void {
  const body: Record<string, unknown> = {
    ok: false,
    error_code: failure.errorCode,
    description:
      failure.description ??
      (failure.errorCode === 429
        ? `Too Many Requests: retry after ${failure.retryAfterSeconds ?? 1}`
        : 'Bad Request'),
  };
  if (failure.retryAfterSeconds !== undefined) body.parameters = { retry_after: failure.retryAfterSeconds };
  response.writeHead(failure.errorCode, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
