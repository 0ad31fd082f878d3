import {
  consolePlatformLogger,
  type PlatformAdapter,
  type PlatformAdapterDeps,
  type PlatformAdapterDescriptor,
  type PlatformAttachment,
  type PlatformCapabilities,
  PlatformError,
  type PlatformEventSink,
  type PlatformInboundEvent,
  type PlatformLogger,
  type PlatformMessageRef,
  type PlatformOutboundMessage,
  type PlatformTarget,
  type PlatformUser,
  type PlatformWebhookHandler,
} from '@kaiwa/core';
import {
  App,
  HTTPModuleFunctions,
  type Logger,
  LogLevel,
  type Receiver,
  type ReceiverEvent,
  SocketModeReceiver,
  verifySlackRequest,
} from '@slack/bolt';
import { type RetryOptions, WebClient } from '@slack/web-api';
import { z } from 'zod';
import { type SlackAdapterConfig, slackSettingsSchema, upgradeSlackSettings } from './slack-config.js';
import { slackErrorName, toPlatformError } from './slack-error.js';
import {
  emojiFromSlack,
  emojiToSlack,
  parseSlack,
  renderSlack,
  type SlackLookups,
  splitForSlack,
} from './slack-format.js';

/** Hands Bolt's events in from {@link SlackAdapter.handleWebhook}; nothing to start or stop. */
class WebhookReceiver implements Receiver {
  app: App | undefined;

  init(app: App): void {
    this.app = app;
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {}
}

/** Bolt's logger interface over a {@link PlatformLogger}: Bolt logs lists of values, pino a message. */
function boltLogger(logger: PlatformLogger, initial: LogLevel): Logger {
  let level = initial;
  let name = 'slack';
  const order = [LogLevel.DEBUG, LogLevel.INFO, LogLevel.WARN, LogLevel.ERROR];
  const log =
    (method: keyof PlatformLogger) =>
    (...values: unknown[]) => {
      if (order.indexOf(method as LogLevel) < order.indexOf(level)) return;
      const errors = values.filter((value) => value instanceof Error);
      const message = values
        .filter((value) => !(value instanceof Error))
        .map((value) => (typeof value === 'string' ? value : JSON.stringify(value)))
        .join(' ');
      logger[method]({ platform: 'slack', logger: name, ...(errors[0] ? { err: errors[0] } : {}) }, message);
    };
  return {
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    setLevel: (next) => {
      level = next;
    },
    getLevel: () => level,
    setName: (next) => {
      name = next;
    },
  };
}

/** The Web API client's retry options from the shared retry config. */
function retryOptions(retry: SlackAdapterConfig['retry']): RetryOptions {
  return {
    retries: Math.max(0, (retry?.maxAttempts ?? 6) - 1),
    factor: 2,
    minTimeout: retry?.backoff?.initialMs ?? 250,
    maxTimeout: retry?.backoff?.maxMs ?? 10_000,
    randomize: true,
  };
}

/* Message subtypes that carry a message someone wrote; the others (joins, topic changes, …) are not relayed. */
const MESSAGE_SUBTYPES = new Set([undefined, 'bot_message', 'file_share', 'thread_broadcast', 'me_message']);

interface SlackFile {
  id?: string;
  name?: string;
  title?: string;
  mimetype?: string;
  size?: number;
  url_private?: string;
}

interface SlackMessageEvent {
  type: string;
  subtype?: string;
  channel?: string;
  channel_type?: string;
  user?: string;
  bot_id?: string;
  username?: string;
  bot_profile?: { name?: string; icons?: { image_72?: string } };
  text?: string;
  ts?: string;
  thread_ts?: string;
  event_ts?: string;
  files?: SlackFile[];
  message?: SlackMessageEvent;
  previous_message?: SlackMessageEvent;
  deleted_ts?: string;
  reaction?: string;
  item?: { type: string; channel?: string; ts?: string };
}

interface SlackEnvelope {
  type?: string;
  event_id?: string;
  event_time?: number;
  event?: SlackMessageEvent;
  command?: string;
  text?: string;
  user_id?: string;
  user_name?: string;
  channel_id?: string;
  trigger_id?: string;
  thread_ts?: string;
}

/**
 * Slack through Bolt: Socket Mode or the Events API in, the Web API out. Inbound events are handed to the
 * sink before Slack is acknowledged, so a delivery the sink did not record is redelivered by Slack.
 *
 * @example
 * const slack = createSlackAdapter({
 *   botToken: process.env.SLACK_BOT_TOKEN!,
 *   receiver: { type: 'socket', appToken: process.env.SLACK_APP_TOKEN! },
 * });
 * await slack.connect(inbox);
 * await slack.send({ channelId: 'C123' }, { text: 'Hello **world**' });
 */
export class SlackAdapter implements PlatformAdapter, PlatformWebhookHandler {
  readonly platform = 'slack';
  readonly capabilities: PlatformCapabilities = {
    edit: true,
    delete: true,
    reactions: true,
    threads: true,
    uploads: true,
    customAuthor: true,
    maxTextLength: 40_000,
    maxUploadBytes: 1024 * 1024 * 1024,
  };
  /** The Web API client the adapter sends with (rate limits are waited out by it). */
  readonly client: WebClient;
  readonly #config: SlackAdapterConfig;
  readonly #clientOptions: { slackApiUrl?: string; retryConfig: RetryOptions };
  readonly #logger: PlatformLogger;
  readonly #boltLogger: Logger;
  readonly #users = new Map<string, PlatformUser>();
  readonly #userIdsByName = new Map<string, string>();
  #self: PlatformUser | undefined;
  #botId: string | undefined;
  #app: App | undefined;
  #socketReceiver: SocketModeReceiver | undefined;
  #webhookReceiver: WebhookReceiver | undefined;

  constructor(config: SlackAdapterConfig) {
    if (!config.token) throw new PlatformError('slack', 'invalid_request', 'token is required');
    this.#config = config;
    this.#logger = config.logger ?? consolePlatformLogger('slack');
    this.#boltLogger = boltLogger(this.#logger, config.logLevel ?? LogLevel.ERROR);
    if (config.retry?.maxRetryAfterMs !== undefined) {
      this.#logger.warn(
        { platform: 'slack', option: 'retry.maxRetryAfterMs' },
        'unsupported option ignored: the Slack Web API client always waits out Retry-After',
      );
    }
    this.#clientOptions = {
      // The Web API client wants the trailing slash.
      ...(config.apiUrl ? { slackApiUrl: config.apiUrl.replace(/\/?$/, '/') } : {}),
      retryConfig: retryOptions(config.retry),
    };
    this.client = new WebClient(config.token, {
      ...this.#clientOptions,
      rejectRateLimitedCalls: false,
      logLevel: config.logLevel ?? LogLevel.ERROR,
      logger: this.#boltLogger,
    });
  }

  get self(): PlatformUser | undefined {
    return this.#self;
  }

  async connect(sink: PlatformEventSink): Promise<void> {
    if (this.#app !== undefined) throw new PlatformError('slack', 'invalid_request', 'already connected');
    const auth = await this.#call('auth.test', () => this.client.auth.test());
    this.#botId = auth.bot_id;
    this.#self = { id: auth.user_id ?? '', name: auth.user ?? 'bot', isBot: true };
    this.#remember(this.#self);

    const receiver = this.#config.receiver;
    // Bolt's own clients talk to the same API with the same retry policy.
    const clientOptions = this.#clientOptions;
    const common = {
      token: this.#config.token,
      botId: auth.bot_id,
      botUserId: auth.user_id,
      // auth.test just ran; Bolt need not call it again.
      tokenVerificationEnabled: false,
      clientOptions,
      logLevel: this.#config.logLevel ?? LogLevel.ERROR,
      logger: this.#boltLogger,
    };
    // Our own Socket Mode receiver, so disconnect can wait for the WebSocket to close.
    const socketReceiver =
      receiver.type === 'socket'
        ? new SocketModeReceiver({
            appToken: receiver.appToken,
            installerOptions: { clientOptions },
            logLevel: common.logLevel,
            logger: this.#boltLogger,
          })
        : undefined;
    const webhookReceiver = receiver.type === 'http' ? new WebhookReceiver() : undefined;
    const app =
      socketReceiver !== undefined
        ? new App({ ...common, socketMode: true, receiver: socketReceiver })
        : new App({ ...common, receiver: webhookReceiver as WebhookReceiver });

    // Bolt acknowledges Events API deliveries before any middleware runs. Recording the event first, in
    // front of Bolt's own processing, means Slack only hears "ok" once the sink holds the event; when the
    // sink fails, the webhook answers 500 (HTTP) or stays silent (Socket Mode) and Slack redelivers.
    const processEvent = app.processEvent.bind(app);
    app.processEvent = async (event: ReceiverEvent) => {
      const inbound = await this.#toInbound(event.body as SlackEnvelope);
      if (inbound !== undefined) await sink.accept(inbound);
      await processEvent(event);
    };
    // Slash commands need an explicit ack; the command itself was recorded above.
    app.command(/.*/, async ({ ack }) => {
      await ack();
    });
    app.error(async (error) => {
      this.#logger.error({ platform: 'slack', err: error }, 'Slack event processing failed');
    });

    await app.start();
    this.#app = app;
    this.#socketReceiver = socketReceiver;
    this.#webhookReceiver = webhookReceiver;
  }

  /**
   * Handles one Events API, slash command or interactivity POST for the `http` receiver, the way Bolt's own
   * HTTP receiver does: the signature (over the raw body and `X-Slack-Request-Timestamp`, at most five
   * minutes old) is checked with Bolt's `verifySlackRequest`, `url_verification` is answered, and an event is
   * acknowledged only once the sink has recorded it (a 500 makes Slack deliver it again). 404 when the
   * receiver is Socket Mode.
   *
   * @example
   * const response = await slack.handleWebhook(new Request(url, { method: 'POST', headers, body: rawBody }));
   */
  async handleWebhook(request: Request): Promise<Response> {
    const receiver = this.#config.receiver;
    if (receiver.type !== 'http') return new Response(null, { status: 404 });
    if (request.method.toUpperCase() !== 'POST') return new Response(null, { status: 405 });
    const header = (name: string) => request.headers.get(name) ?? undefined;
    const contentType = header('content-type')?.split(';')[0]?.trim();
    // The exact bytes received: the signature is computed over them.
    const rawBody = Buffer.from(await request.arrayBuffer());
    const text = rawBody.toString('utf8');
    // Slack's ssl_check carries no signature; whatever else it carries is dropped unread.
    if (
      contentType === 'application/x-www-form-urlencoded' &&
      new URLSearchParams(text).get('ssl_check') === '1'
    ) {
      return new Response(null, { status: 200 });
    }
    try {
      verifySlackRequest({
        signingSecret: receiver.signingSecret,
        body: text,
        headers: {
          'x-slack-signature': header('x-slack-signature') ?? '',
          'x-slack-request-timestamp': Number(header('x-slack-request-timestamp')),
        },
        logger: this.#boltLogger,
      });
    } catch {
      return new Response(null, { status: 401 });
    }
    let body: Record<string, unknown>;
    try {
      body = HTTPModuleFunctions.parseHTTPRequestBody({
        rawBody,
        headers: { 'content-type': contentType },
      } as never);
    } catch {
      return new Response(null, { status: 400 });
    }
    if (body?.type === 'url_verification') return Response.json({ challenge: body.challenge });
    const app = this.#webhookReceiver?.app;
    if (app === undefined) return new Response(null, { status: 503 });
    const retryNum = Number.parseInt(header('x-slack-retry-num') ?? '', 10);
    const retryReason = header('x-slack-retry-reason');
    let acked: Response | undefined;
    const event: ReceiverEvent = {
      body,
      ack: async (response?: unknown) => {
        if (acked !== undefined) throw new Error('Slack event acknowledged twice');
        acked =
          response === undefined || response === null || response === ''
            ? new Response(null, { status: 200 })
            : typeof response === 'string'
              ? new Response(response, { status: 200 })
              : Response.json(response);
      },
      ...(Number.isNaN(retryNum) ? {} : { retryNum }),
      ...(retryReason !== undefined ? { retryReason } : {}),
    };
    try {
      await app.processEvent(event);
    } catch (error) {
      this.#logger.error({ platform: 'slack', err: error }, 'Slack event processing failed');
      // Once acknowledged, Slack has its answer; otherwise it delivers again.
      return acked ?? new Response(null, { status: 500 });
    }
    return acked ?? new Response(null, { status: 404 });
  }

  async disconnect(): Promise<void> {
    const app = this.#app;
    const socketReceiver = this.#socketReceiver;
    this.#app = undefined;
    this.#socketReceiver = undefined;
    this.#webhookReceiver = undefined;
    if (socketReceiver !== undefined) await socketReceiver.client.disconnect();
    else if (app !== undefined) await app.stop();
  }

  async send(target: PlatformTarget, message: PlatformOutboundMessage): Promise<PlatformMessageRef[]> {
    const threadId = target.threadId ?? message.replyToMessageId;
    const linked = (message.attachments ?? []).filter(
      (file) => file.data === undefined && file.url !== undefined,
    );
    // Files Slack cannot take as bytes go along as links.
    const text = [message.text, ...linked.map((file) => `[${file.name}](${file.url})`)]
      .filter((part) => part.trim() !== '')
      .join('\n');
    const refs: PlatformMessageRef[] = [];
    for (const chunk of text === '' ? [] : splitForSlack(text)) {
      const rendered = renderSlack(chunk, this.#lookups());
      const sent = await this.#call('chat.postMessage', () =>
        this.client.chat.postMessage({
          channel: target.channelId,
          text: rendered.text,
          blocks: rendered.blocks as never,
          ...(threadId ? { thread_ts: threadId } : {}),
          ...(message.author ? { username: message.author.name } : {}),
          ...(message.author?.avatarUrl ? { icon_url: message.author.avatarUrl } : {}),
        }),
      );
      refs.push(this.#ref(target.channelId, threadId, sent.ts ?? ''));
    }
    for (const file of message.attachments ?? []) {
      if (file.data === undefined) continue;
      const ref = await this.#upload(target.channelId, threadId, file);
      if (ref !== undefined) refs.push(ref);
    }
    return refs;
  }

  async edit(ref: PlatformMessageRef, message: PlatformOutboundMessage): Promise<void> {
    const chunks = splitForSlack(message.text);
    if (chunks.length > 1) {
      throw new PlatformError(
        'slack',
        'invalid_request',
        `text is ${message.text.length} characters: too long for one Slack message`,
      );
    }
    const rendered = renderSlack(chunks[0] ?? message.text, this.#lookups());
    await this.#call('chat.update', () =>
      this.client.chat.update({
        channel: ref.channelId,
        ts: ref.messageId,
        text: rendered.text,
        blocks: rendered.blocks as never,
      }),
    );
  }

  async delete(ref: PlatformMessageRef): Promise<void> {
    await this.#call('chat.delete', () =>
      this.client.chat.delete({ channel: ref.channelId, ts: ref.messageId }),
    );
  }

  async react(ref: PlatformMessageRef, emoji: string): Promise<void> {
    await this.#call(
      'reactions.add',
      () =>
        this.client.reactions.add({
          channel: ref.channelId,
          timestamp: ref.messageId,
          name: emojiToSlack(emoji),
        }),
      'already_reacted',
    );
  }

  async unreact(ref: PlatformMessageRef, emoji: string): Promise<void> {
    await this.#call(
      'reactions.remove',
      () =>
        this.client.reactions.remove({
          channel: ref.channelId,
          timestamp: ref.messageId,
          name: emojiToSlack(emoji),
        }),
      'no_reaction',
    );
  }

  /** Downloads an inbound attachment (`url_private` needs the bot token). */
  async fetchAttachment(attachment: PlatformAttachment): Promise<Uint8Array> {
    if (attachment.url === undefined)
      throw new PlatformError('slack', 'invalid_request', 'attachment has no url');
    const response = await fetch(attachment.url, {
      headers: { authorization: `Bearer ${this.#config.token}` },
    });
    if (!response.ok) {
      const code =
        response.status === 404 ? 'not_found' : response.status === 403 ? 'forbidden' : 'unavailable';
      throw new PlatformError('slack', code, `Slack file download failed with HTTP ${response.status}`);
    }
    return new Uint8Array(await response.arrayBuffer());
  }

  async #upload(channelId: string, threadId: string | undefined, file: PlatformAttachment) {
    if (file.data !== undefined && file.data.byteLength > this.capabilities.maxUploadBytes) {
      throw new PlatformError('slack', 'invalid_request', `attachment ${file.name} is over the upload limit`);
    }
    const upload = {
      channel_id: channelId,
      file: Buffer.from(file.data as Uint8Array),
      filename: file.name,
      title: file.name,
    };
    const result = await this.#call('files.uploadV2', () =>
      this.client.files.uploadV2(threadId ? { ...upload, thread_ts: threadId } : upload),
    );
    // The message carrying the file shows up in the completion's shares, when Slack has it ready.
    const completed = (
      result as { files?: { files?: { shares?: Record<string, Record<string, { ts?: string }[]>> }[] }[] }
    ).files?.[0]?.files?.[0];
    const shares = completed?.shares;
    const ts = shares?.public?.[channelId]?.[0]?.ts ?? shares?.private?.[channelId]?.[0]?.ts;
    return ts === undefined ? undefined : this.#ref(channelId, threadId, ts);
  }

  #ref(channelId: string, threadId: string | undefined, messageId: string): PlatformMessageRef {
    return threadId ? { channelId, threadId, messageId } : { channelId, messageId };
  }

  async #call<T>(action: string, run: () => Promise<T>, harmless?: string): Promise<T> {
    try {
      return await run();
    } catch (error) {
      // Adding a reaction that is there (or removing one that is not) leaves the message as asked.
      if (harmless !== undefined && slackErrorName(error) === harmless) return undefined as T;
      throw toPlatformError(error, action);
    }
  }

  #lookups(): SlackLookups {
    const configured = this.#config.lookups ?? {};
    return {
      mentionId: (name) => configured.mentionId?.(name) ?? this.#userIdsByName.get(name),
      channelId: configured.channelId,
      userName: (id) => configured.userName?.(id) ?? this.#users.get(id)?.name,
      channelName: configured.channelName,
    };
  }

  #remember(user: PlatformUser): void {
    this.#users.set(user.id, user);
    this.#userIdsByName.set(user.name, user.id);
  }

  /** A Slack user by id, from the cache or `users.info`; a failed lookup still yields a usable user. */
  async #user(id: string): Promise<PlatformUser> {
    const known = this.#users.get(id);
    if (known !== undefined) return known;
    try {
      const answer = await this.client.users.info({ user: id });
      const info = answer.user;
      const user: PlatformUser = {
        id,
        name: info?.name ?? id,
        isBot: info?.is_bot ?? false,
        ...(info?.profile?.display_name || info?.real_name
          ? { displayName: info?.profile?.display_name || info?.real_name }
          : {}),
        ...(info?.profile?.image_72 ? { avatarUrl: info.profile.image_72 } : {}),
      };
      this.#remember(user);
      return user;
    } catch {
      return { id, name: id, isBot: false };
    }
  }

  #isOwn(event: SlackMessageEvent | undefined): boolean {
    if (event === undefined) return false;
    return (
      (event.user !== undefined && event.user === this.#self?.id) ||
      (event.bot_id !== undefined && event.bot_id === this.#botId)
    );
  }

  async #author(event: SlackMessageEvent): Promise<PlatformUser> {
    if (event.user !== undefined) return this.#user(event.user);
    return {
      id: event.bot_id ?? 'unknown',
      name: event.username ?? event.bot_profile?.name ?? event.bot_id ?? 'bot',
      isBot: true,
      ...(event.bot_profile?.icons?.image_72 ? { avatarUrl: event.bot_profile.icons.image_72 } : {}),
    };
  }

  /** Mentioned user ids, resolved first so the text conversion can name them. */
  async #mentions(text: string): Promise<{ userIds: string[]; bot: boolean }> {
    const userIds = [
      ...new Set([...text.matchAll(/<@([UW][A-Z0-9]+)(?:\|[^>]*)?>/g)].map((match) => match[1] as string)),
    ];
    await Promise.all(userIds.map((id) => this.#user(id)));
    return { userIds, bot: this.#self !== undefined && userIds.includes(this.#self.id) };
  }

  async #toInbound(body: SlackEnvelope): Promise<PlatformInboundEvent | undefined> {
    if (typeof body.command === 'string') return this.#command(body);
    if (body.type !== 'event_callback' || body.event === undefined) return undefined;
    const event = body.event;
    const eventId = body.event_id ?? `${event.type}:${event.event_ts ?? event.ts}`;
    const at = new Date(
      (body.event_time ?? Number(event.event_ts ?? event.ts ?? Date.now() / 1000)) * 1000,
    ).toISOString();
    switch (event.type) {
      case 'message':
        if (event.subtype === 'message_changed') return this.#edited(event, eventId, at);
        if (event.subtype === 'message_deleted') {
          if (this.#isOwn(event.previous_message) || event.deleted_ts === undefined) return undefined;
          return {
            kind: 'message.deleted',
            platform: 'slack',
            eventId,
            channelId: event.channel ?? '',
            at,
            messageId: event.deleted_ts,
          };
        }
        if (!MESSAGE_SUBTYPES.has(event.subtype)) return undefined;
        return this.#message(event, at);
      case 'app_mention':
        return this.#message(event, at);
      case 'reaction_added':
      case 'reaction_removed': {
        if (event.item?.type !== 'message' || event.user === undefined || event.user === this.#self?.id)
          return undefined;
        return {
          kind: event.type === 'reaction_added' ? 'reaction.added' : 'reaction.removed',
          platform: 'slack',
          eventId,
          channelId: event.item.channel ?? '',
          at,
          messageId: event.item.ts ?? '',
          user: await this.#user(event.user),
          emoji: emojiFromSlack(event.reaction ?? ''),
        };
      }
      default:
        return undefined;
    }
  }

  async #message(event: SlackMessageEvent, at: string): Promise<PlatformInboundEvent | undefined> {
    if (this.#isOwn(event) || event.channel === undefined || event.ts === undefined) return undefined;
    const raw = event.text ?? '';
    const mentions = await this.#mentions(raw);
    return {
      kind: 'message',
      platform: 'slack',
      // Slack delivers a mention twice (`message` and `app_mention`, with different event ids) and retries
      // with the same message: the message's own id makes all of them one event for the inbox.
      eventId: `message:${event.channel}:${event.ts}`,
      channelId: event.channel,
      at,
      messageId: event.ts,
      threadId: event.thread_ts ?? null,
      replyToMessageId: null,
      author: await this.#author(event),
      text: parseSlack(raw, this.#lookups()),
      mentions,
      attachments: (event.files ?? []).map((file) => ({
        name: file.name ?? file.title ?? file.id ?? 'file',
        mimeType: file.mimetype ?? 'application/octet-stream',
        ...(file.size !== undefined ? { size: file.size } : {}),
        ...(file.url_private ? { url: file.url_private } : {}),
      })),
      direct: event.channel_type === 'im' || event.channel.startsWith('D'),
    };
  }

  async #edited(
    event: SlackMessageEvent,
    eventId: string,
    at: string,
  ): Promise<PlatformInboundEvent | undefined> {
    const edited = event.message;
    if (edited === undefined || edited.ts === undefined || this.#isOwn(edited)) return undefined;
    // Link unfurls arrive as message_changed with the text unchanged: not an edit anyone made.
    if (event.previous_message !== undefined && event.previous_message.text === edited.text) return undefined;
    const raw = edited.text ?? '';
    await this.#mentions(raw);
    return {
      kind: 'message.edited',
      platform: 'slack',
      eventId,
      channelId: event.channel ?? '',
      at,
      messageId: edited.ts,
      threadId: edited.thread_ts ?? null,
      author: await this.#author(edited),
      text: parseSlack(raw, this.#lookups()),
    };
  }

  async #command(body: SlackEnvelope): Promise<PlatformInboundEvent> {
    const known = body.user_id
      ? await this.#user(body.user_id)
      : { id: 'unknown', name: 'unknown', isBot: false };
    // When users.info failed, the command's own user_name still names the user.
    const user = body.user_name && known.name === known.id ? { ...known, name: body.user_name } : known;
    return {
      kind: 'command',
      platform: 'slack',
      eventId: `command:${body.trigger_id ?? `${body.channel_id}:${Date.now()}`}`,
      channelId: body.channel_id ?? '',
      at: new Date().toISOString(),
      command: (body.command ?? '').replace(/^\//, '').toLowerCase(),
      args: (body.text ?? '').trim(),
      threadId: body.thread_ts ?? null,
      user,
    };
  }
}

/**
 * Creates a {@link SlackAdapter}.
 *
 * @example
 * const slack = createSlackAdapter({
 *   token: 'xoxb-…',
 *   receiver: { type: 'http', signingSecret: '…' }, // the host serves slack.handleWebhook
 * });
 */
export function createSlackAdapter(config: SlackAdapterConfig): SlackAdapter {
  return new SlackAdapter(config);
}

/**
 * Slack for hosts that configure platforms from data (the Kaiwa server's bridge file): the settings schema
 * (last release's keys still read, see {@link upgradeSlackSettings}), the secret fields and the factory.
 *
 * @example
 * const slack = slackAdapterDescriptor.create(slackAdapterDescriptor.configSchema.parse(settings), { logger });
 */
export const slackAdapterDescriptor: PlatformAdapterDescriptor<SlackSettings, SlackAdapter> = {
  platform: 'slack',
  configSchema: z.preprocess((settings) => upgradeSlackSettings(settings), slackSettingsSchema),
  secrets: ['token', 'botToken', 'receiver.appToken', 'receiver.signingSecret'],
  deprecations(settings) {
    const messages: string[] = [];
    upgradeSlackSettings(settings, (message) => messages.push(message));
    return messages;
  },
  create: (config: SlackSettings, deps: PlatformAdapterDeps = {}) =>
    new SlackAdapter({
      token: config.token,
      receiver:
        config.receiver.type === 'socket'
          ? { type: 'socket', appToken: config.receiver.appToken }
          : { type: 'http', signingSecret: config.receiver.signingSecret },
      ...(config.apiUrl !== undefined ? { apiUrl: config.apiUrl } : {}),
      ...(config.retry !== undefined ? { retry: config.retry } : {}),
      ...(deps.logger ? { logger: deps.logger } : {}),
    }),
  webhook: { receives: (config) => config.receiver.type === 'http' },
};

/** Settings as {@link slackSettingsSchema} gives them. */
export type SlackSettings = z.output<typeof slackSettingsSchema>;
