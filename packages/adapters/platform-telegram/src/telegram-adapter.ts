import { AsyncLocalStorage } from 'node:async_hooks';
import { timingSafeEqual } from 'node:crypto';
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
  withPlatformRetry,
} from '@kaiwa/core';
import type { TelegramMessageEntity } from '@kaiwa/platform-format';
import { Input, Telegraf } from 'telegraf';
import { z } from 'zod';
import {
  type TelegramAdapterConfig,
  telegramSettingsSchema,
  upgradeTelegramSettings,
} from './telegram-config.js';
import { isNotModified, toPlatformError } from './telegram-error.js';
import {
  authorPrefix,
  emojiForTelegram,
  parseTelegram,
  renderTelegram,
  splitForTelegram,
} from './telegram-format.js';

/* Updates the adapter handles; Telegram leaves `message_reaction` out unless asked for by name. */
const ALLOWED_UPDATES = [
  'message',
  'edited_message',
  'channel_post',
  'edited_channel_post',
  'message_reaction',
] as const;
const PHOTO_LIMIT_BYTES = 10 * 1024 * 1024;

interface TelegramUserLike {
  id: number;
  is_bot?: boolean;
  first_name?: string;
  last_name?: string;
  username?: string;
  title?: string;
}

interface TelegramFileLike {
  file_id: string;
  file_name?: string;
  mime_type?: string;
  file_size?: number;
}

interface TelegramMessageLike {
  message_id: number;
  message_thread_id?: number;
  is_topic_message?: boolean;
  date: number;
  edit_date?: number;
  chat: { id: number; type: string; title?: string; username?: string };
  from?: TelegramUserLike;
  sender_chat?: { id: number; title?: string; username?: string };
  text?: string;
  caption?: string;
  entities?: TelegramMessageEntity[];
  caption_entities?: TelegramMessageEntity[];
  reply_to_message?: { message_id: number };
  document?: TelegramFileLike;
  photo?: (TelegramFileLike & { width: number; height: number })[];
  video?: TelegramFileLike;
  audio?: TelegramFileLike;
  voice?: TelegramFileLike;
}

interface ReactionLike {
  type: string;
  emoji?: string;
  custom_emoji_id?: string;
}

interface TelegramUpdateLike {
  update_id: number;
  message?: TelegramMessageLike;
  edited_message?: TelegramMessageLike;
  channel_post?: TelegramMessageLike;
  edited_channel_post?: TelegramMessageLike;
  message_reaction?: {
    chat: { id: number };
    message_id: number;
    user?: TelegramUserLike;
    actor_chat?: { id: number; title?: string; username?: string };
    date: number;
    old_reaction: ReactionLike[];
    new_reaction: ReactionLike[];
  };
}

/** Where in a chat a message goes: a forum topic and/or an answer to a message. */
interface Placement {
  message_thread_id?: number;
  reply_parameters?: { message_id: number; allow_sending_without_reply: boolean };
}

/** Ties a webhook update to its HTTP answer, so a failed `accept` can answer 500 and Telegram retries. */
const webhookRequest = new AsyncLocalStorage<{ status: number }>();

/** Compares in constant time, so the secret cannot be guessed byte by byte. */
function sameSecret(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Telegram through telegraf: long polling or a webhook in, the Bot API out, text as Telegram HTML. Telegram
 * cannot show another author, so relayed messages start with the author's name in bold.
 *
 * @example
 * const telegram = createTelegramAdapter({ token: process.env.TELEGRAM_BOT_TOKEN! });
 * await telegram.connect(inbox);
 * await telegram.send({ channelId: '-100123' }, { text: 'Hello **world**' });
 */
export class TelegramAdapter implements PlatformAdapter, PlatformWebhookHandler {
  readonly platform = 'telegram';
  readonly capabilities: PlatformCapabilities = {
    edit: true,
    delete: true,
    reactions: true,
    threads: true,
    uploads: true,
    customAuthor: false,
    maxTextLength: 4096,
    maxUploadBytes: 50 * 1024 * 1024,
  };
  /** The telegraf instance (for handlers beyond the port, such as inline keyboards). */
  readonly bot: Telegraf;
  readonly #config: TelegramAdapterConfig;
  /* Forum topics seen inbound (`chat:thread`): replies there go with `message_thread_id`. */
  readonly #topics = new Set<string>();
  #self: PlatformUser | undefined;
  #username = '';
  #sink: PlatformEventSink | undefined;
  #running: Promise<void> | undefined;
  readonly #logger: PlatformLogger;
  #closing = false;
  #order: Promise<void> = Promise.resolve();

  constructor(config: TelegramAdapterConfig) {
    if (!config.token) throw new PlatformError('telegram', 'invalid_request', 'token is required');
    this.#config = config;
    this.#logger = config.logger ?? consolePlatformLogger('telegram');
    this.bot = new Telegraf(config.token, {
      telegram: { ...(config.apiUrl ? { apiRoot: config.apiUrl } : {}), webhookReply: false },
    });
    this.bot.use(async (context) => {
      await this.#handleUpdate(context.update as unknown as TelegramUpdateLike);
    });
    this.bot.catch((error) => {
      this.#logger.error({ platform: 'telegram', err: error }, 'Telegram update handling failed');
    });
  }

  get self(): PlatformUser | undefined {
    return this.#self;
  }

  async connect(sink: PlatformEventSink): Promise<void> {
    if (this.#sink !== undefined) throw new PlatformError('telegram', 'invalid_request', 'already connected');
    const me = await this.#call('getMe', () => this.bot.telegram.getMe());
    this.bot.botInfo = me;
    this.#username = me.username;
    this.#self = { id: String(me.id), name: me.username, displayName: me.first_name, isBot: true };
    this.#sink = sink;
    this.#closing = false;
    const receiver = this.#config.receiver ?? { type: 'polling' };
    if (receiver.type === 'polling') {
      await new Promise<void>((resolve) => {
        this.#running = this.bot
          .launch({ allowedUpdates: [...ALLOWED_UPDATES], dropPendingUpdates: false }, resolve)
          .catch((error: unknown) => {
            this.#logger.error({ platform: 'telegram', err: error }, 'Telegram polling stopped');
            resolve();
          });
      });
      return;
    }
    if (receiver.webhookUrl !== undefined) {
      const url = receiver.webhookUrl;
      await this.#call('setWebhook', () =>
        this.bot.telegram.setWebhook(url, {
          secret_token: receiver.secretToken,
          allowed_updates: [...ALLOWED_UPDATES],
        }),
      );
    }
  }

  async disconnect(): Promise<void> {
    if (this.#sink === undefined) return;
    this.#closing = true;
    this.#sink = undefined;
    if ((this.#config.receiver ?? { type: 'polling' }).type === 'webhook') return;
    // telegraf calls back from launch() before it has deleted the webhook and started polling; a stop in
    // that window throws "not running" and polling would then start anyway (and hold a 50 s long poll).
    // So keep asking until polling has started and stopped, or launch has ended by itself.
    const running = this.#running;
    let ended = false;
    void running?.finally(() => {
      ended = true;
    });
    for (let attempt = 0; running !== undefined && !ended; attempt += 1) {
      try {
        this.bot.stop('disconnect');
        break;
      } catch {
        if (attempt >= 500) break;
        await delay(10);
      }
    }
    await running;
    this.#running = undefined;
  }

  async send(target: PlatformTarget, message: PlatformOutboundMessage): Promise<PlatformMessageRef[]> {
    const chatId = target.channelId;
    const markdown = message.author ? `${authorPrefix(message.author.name)}${message.text}` : message.text;
    const placement = this.#placement(chatId, target.threadId, message.replyToMessageId);
    const refs: PlatformMessageRef[] = [];
    for (const chunk of message.text.trim() === '' ? [] : splitForTelegram(markdown)) {
      const html = renderTelegram(chunk, this.#config.mentionId);
      const sent = await this.#call('sendMessage', () =>
        this.bot.telegram.sendMessage(chatId, html, { parse_mode: 'HTML', ...placement }),
      );
      refs.push(this.#ref(chatId, target.threadId, sent.message_id));
    }
    for (const file of message.attachments ?? []) {
      refs.push(await this.#upload(chatId, target.threadId, placement, file));
    }
    return refs;
  }

  async edit(ref: PlatformMessageRef, message: PlatformOutboundMessage): Promise<void> {
    const markdown = message.author ? `${authorPrefix(message.author.name)}${message.text}` : message.text;
    const chunks = splitForTelegram(markdown);
    if (chunks.length > 1) {
      throw new PlatformError(
        'telegram',
        'invalid_request',
        `text is ${message.text.length} characters: too long for one Telegram message`,
      );
    }
    const html = renderTelegram(chunks[0] ?? markdown, this.#config.mentionId);
    try {
      await this.#call('editMessageText', () =>
        this.bot.telegram.editMessageText(ref.channelId, Number(ref.messageId), undefined, html, {
          parse_mode: 'HTML',
        }),
      );
    } catch (error) {
      if (!isNotModified((error as PlatformError).cause)) throw error;
    }
  }

  async delete(ref: PlatformMessageRef): Promise<void> {
    await this.#call('deleteMessage', () =>
      this.bot.telegram.deleteMessage(ref.channelId, Number(ref.messageId)),
    );
  }

  /** Sets the bot's reaction; Telegram bots hold one reaction per message, from Telegram's fixed emoji set. */
  async react(ref: PlatformMessageRef, emoji: string): Promise<void> {
    const unicode = emojiForTelegram(emoji);
    if (unicode === undefined)
      throw new PlatformError('telegram', 'invalid_request', `emoji ${emoji} has no Unicode form`);
    await this.#call('setMessageReaction', () =>
      this.bot.telegram.setMessageReaction(ref.channelId, Number(ref.messageId), [
        { type: 'emoji', emoji: unicode as never },
      ]),
    );
  }

  /** Clears the bot's reaction (it holds at most one). */
  async unreact(ref: PlatformMessageRef, _emoji: string): Promise<void> {
    await this.#call('setMessageReaction', () =>
      this.bot.telegram.setMessageReaction(ref.channelId, Number(ref.messageId), []),
    );
  }

  /** Downloads an inbound attachment; its url is `telegram-file:<file_id>` so the bot token never lands in a store. */
  async fetchAttachment(attachment: PlatformAttachment): Promise<Uint8Array> {
    const fileId = attachment.url?.startsWith('telegram-file:')
      ? attachment.url.slice('telegram-file:'.length)
      : undefined;
    if (fileId === undefined)
      throw new PlatformError('telegram', 'invalid_request', 'attachment has no telegram-file: url');
    const link = await this.#call('getFile', () => this.bot.telegram.getFileLink(fileId));
    const response = await fetch(link);
    if (!response.ok) {
      throw new PlatformError(
        'telegram',
        response.status === 404 ? 'not_found' : 'unavailable',
        `file download failed with HTTP ${response.status}`,
      );
    }
    return new Uint8Array(await response.arrayBuffer());
  }

  #placement(chatId: string, threadId: string | undefined, replyTo: string | undefined): Placement {
    const topic = threadId !== undefined && this.#topics.has(`${chatId}:${threadId}`);
    // Outside forum topics a Telegram thread is a reply chain: answering its root keeps the message in it.
    const replyId = replyTo ?? (topic ? undefined : threadId);
    return {
      ...(topic ? { message_thread_id: Number(threadId) } : {}),
      ...(replyId !== undefined
        ? { reply_parameters: { message_id: Number(replyId), allow_sending_without_reply: true } }
        : {}),
    };
  }

  async #upload(
    chatId: string,
    threadId: string | undefined,
    placement: Placement,
    file: PlatformAttachment,
  ): Promise<PlatformMessageRef> {
    if (file.data !== undefined && file.data.byteLength > this.capabilities.maxUploadBytes) {
      throw new PlatformError(
        'telegram',
        'invalid_request',
        `attachment ${file.name} is over the 50 MB upload limit`,
      );
    }
    const input =
      file.data !== undefined
        ? Input.fromBuffer(Buffer.from(file.data), file.name)
        : Input.fromURL(file.url ?? '');
    if (file.data === undefined && file.url === undefined) {
      throw new PlatformError(
        'telegram',
        'invalid_request',
        `attachment ${file.name} has neither data nor url`,
      );
    }
    const asPhoto =
      file.mimeType.startsWith('image/') &&
      (file.data?.byteLength ?? 0) <= PHOTO_LIMIT_BYTES &&
      !file.mimeType.includes('svg');
    const sent = asPhoto
      ? await this.#call('sendPhoto', () => this.bot.telegram.sendPhoto(chatId, input, placement))
      : await this.#call('sendDocument', () => this.bot.telegram.sendDocument(chatId, input, placement));
    return this.#ref(chatId, threadId, sent.message_id);
  }

  #ref(chatId: string, threadId: string | undefined, messageId: number): PlatformMessageRef {
    return threadId !== undefined
      ? { channelId: chatId, threadId, messageId: String(messageId) }
      : { channelId: chatId, messageId: String(messageId) };
  }

  /** Runs one Bot API call, waiting out 429 `retry_after` and retrying 5xx and network failures. */
  #call<T>(action: string, run: () => Promise<T>): Promise<T> {
    const retry = this.#config.retry;
    const backoffMs = retry?.backoff?.initialMs ?? 500;
    const maxBackoffMs = retry?.backoff?.maxMs ?? 30_000;
    return withPlatformRetry(run, (error) => toPlatformError(error, action), {
      retries: Math.max(0, (retry?.maxAttempts ?? 6) - 1),
      // toPlatformError gives every 429 its retry_after; the backoff is for 5xx and network failures.
      backoffMs: (attempt) => Math.min(backoffMs * 2 ** attempt, maxBackoffMs),
      maxDelayMs: this.#config.retry?.maxRetryAfterMs ?? 60_000,
      overMax: 'fail',
    });
  }

  /**
   * Handles one webhook POST for the `webhook` receiver: the secret-token header is checked (403 when it is
   * wrong), then the update goes through the same handling as a polled one; 200 once the sink recorded its
   * events, 500 when it could not (Telegram delivers again). 404 when the adapter polls.
   *
   * @example
   * const response = await telegram.handleWebhook(new Request(url, { method: 'POST', headers, body }));
   */
  async handleWebhook(request: Request): Promise<Response> {
    const receiver = this.#config.receiver;
    if (receiver?.type !== 'webhook') return new Response(null, { status: 404 });
    if (request.method.toUpperCase() !== 'POST') return new Response(null, { status: 405 });
    const given = request.headers.get('x-telegram-bot-api-secret-token') ?? undefined;
    if (!sameSecret(given, receiver.secretToken)) return new Response(null, { status: 403 });
    if (this.#sink === undefined) return new Response(null, { status: 503 });
    let update: unknown;
    try {
      update = JSON.parse(await request.text());
    } catch {
      return new Response(null, { status: 400 });
    }
    if (
      update === null ||
      typeof update !== 'object' ||
      typeof (update as { update_id?: unknown }).update_id !== 'number'
    ) {
      return new Response(null, { status: 400 });
    }
    const state = { status: 200 };
    // telegraf reports a failed update to bot.catch; the status set by #accept tells it apart.
    await webhookRequest.run(state, () => this.bot.handleUpdate(update as never));
    return new Response(null, { status: state.status });
  }

  async #handleUpdate(update: TelegramUpdateLike): Promise<void> {
    // telegraf runs a polled batch's updates at once; the sink gets them one by one, in Telegram's order.
    const previous = this.#order;
    let done = () => {};
    this.#order = new Promise((resolve) => {
      done = resolve;
    });
    try {
      await previous;
      for (const event of this.#toInbound(update)) await this.#accept(event);
    } finally {
      done();
    }
  }

  /**
   * Hands an event to the sink. A webhook answers 500 when that fails, so Telegram redelivers; polling has
   * no way to refuse one update, so it retries until the sink takes it or the adapter disconnects.
   */
  async #accept(event: PlatformInboundEvent): Promise<void> {
    const webhook = webhookRequest.getStore();
    for (let attempt = 0; ; attempt++) {
      const sink = this.#sink;
      if (sink === undefined) throw new PlatformError('telegram', 'unavailable', 'adapter is disconnected');
      try {
        await sink.accept(event);
        return;
      } catch (error) {
        if (webhook !== undefined) {
          webhook.status = 500;
          throw error;
        }
        this.#logger.warn(
          { platform: 'telegram', eventId: event.eventId, err: error },
          'Telegram event not recorded yet, retrying',
        );
        if (this.#closing) throw error;
        await delay(Math.min(100 * 2 ** attempt, 5_000));
      }
    }
  }

  #user(
    user: TelegramUserLike | undefined,
    chat?: { id: number; title?: string; username?: string },
  ): PlatformUser {
    if (user !== undefined) {
      const displayName = [user.first_name, user.last_name].filter(Boolean).join(' ');
      return {
        id: String(user.id),
        name: user.username ?? (displayName || String(user.id)),
        ...(displayName ? { displayName } : {}),
        isBot: user.is_bot ?? false,
      };
    }
    return {
      id: String(chat?.id ?? 'unknown'),
      name: chat?.username ?? chat?.title ?? String(chat?.id ?? 'unknown'),
      ...(chat?.title ? { displayName: chat.title } : {}),
      isBot: false,
    };
  }

  #toInbound(update: TelegramUpdateLike): PlatformInboundEvent[] {
    const eventId = String(update.update_id);
    const created = update.message ?? update.channel_post;
    if (created !== undefined) return this.#message(created, eventId);
    const edited = update.edited_message ?? update.edited_channel_post;
    if (edited !== undefined) {
      if (edited.from?.id !== undefined && String(edited.from.id) === this.#self?.id) return [];
      return [
        {
          kind: 'message.edited',
          platform: 'telegram',
          eventId,
          channelId: String(edited.chat.id),
          at: new Date((edited.edit_date ?? edited.date) * 1000).toISOString(),
          messageId: String(edited.message_id),
          threadId: edited.message_thread_id !== undefined ? String(edited.message_thread_id) : null,
          author: this.#user(edited.from, edited.sender_chat),
          text: parseTelegram(
            edited.text ?? edited.caption ?? '',
            edited.entities ?? edited.caption_entities,
          ),
        },
      ];
    }
    const reaction = update.message_reaction;
    if (reaction !== undefined) {
      if (reaction.user !== undefined && String(reaction.user.id) === this.#self?.id) return [];
      const key = (item: ReactionLike) => item.emoji ?? `:custom_${item.custom_emoji_id ?? item.type}:`;
      const before = new Set(reaction.old_reaction.map(key));
      const after = new Set(reaction.new_reaction.map(key));
      const changes = [
        ...[...after]
          .filter((emoji) => !before.has(emoji))
          .map((emoji) => ({ kind: 'reaction.added' as const, emoji })),
        ...[...before]
          .filter((emoji) => !after.has(emoji))
          .map((emoji) => ({ kind: 'reaction.removed' as const, emoji })),
      ];
      return changes.map((change, index) => ({
        kind: change.kind,
        platform: 'telegram',
        // One update can change several reactions; each gets an id of its own, stable across redeliveries.
        eventId: changes.length === 1 ? eventId : `${eventId}:${index}`,
        channelId: String(reaction.chat.id),
        at: new Date(reaction.date * 1000).toISOString(),
        messageId: String(reaction.message_id),
        user: this.#user(reaction.user, reaction.actor_chat),
        emoji: change.emoji,
      }));
    }
    return [];
  }

  #message(message: TelegramMessageLike, eventId: string): PlatformInboundEvent[] {
    if (message.from?.id !== undefined && String(message.from.id) === this.#self?.id) return [];
    const channelId = String(message.chat.id);
    const threadId = message.message_thread_id !== undefined ? String(message.message_thread_id) : null;
    if (message.is_topic_message && threadId !== null) this.#topics.add(`${channelId}:${threadId}`);
    const at = new Date(message.date * 1000).toISOString();
    const text = message.text ?? message.caption ?? '';
    const entities = message.entities ?? message.caption_entities ?? [];
    const author = this.#user(message.from, message.sender_chat);

    const first = entities[0];
    if (first?.type === 'bot_command' && first.offset === 0) {
      const [name = '', addressee] = text.slice(1, first.length).split('@');
      // `/run@otherbot` is for another bot in the group: it stays an ordinary message.
      if (addressee === undefined || addressee.toLowerCase() === this.#username.toLowerCase()) {
        return [
          {
            kind: 'command',
            platform: 'telegram',
            eventId,
            channelId,
            at,
            command: name.toLowerCase(),
            args: text.slice(first.length).trim(),
            threadId,
            user: author,
          },
        ];
      }
    }

    const userIds = new Set<string>();
    let bot = false;
    for (const entity of entities) {
      if (entity.type === 'text_mention' && entity.user !== undefined) userIds.add(String(entity.user.id));
      if (entity.type === 'mention') {
        const username = text.slice(entity.offset + 1, entity.offset + entity.length);
        if (username.toLowerCase() === this.#username.toLowerCase() && this.#self !== undefined)
          userIds.add(this.#self.id);
      }
    }
    if (this.#self !== undefined && userIds.has(this.#self.id)) bot = true;
    const replyTo = message.reply_to_message?.message_id;
    return [
      {
        kind: 'message',
        platform: 'telegram',
        eventId,
        channelId,
        at,
        messageId: String(message.message_id),
        threadId,
        // In a forum topic every message answers the topic's first message; that is the thread, not a reply.
        replyToMessageId: replyTo !== undefined && String(replyTo) !== threadId ? String(replyTo) : null,
        author,
        text: parseTelegram(text, entities),
        mentions: { userIds: [...userIds], bot },
        attachments: this.#attachments(message),
        direct: message.chat.type === 'private',
      },
    ];
  }

  #attachments(message: TelegramMessageLike): PlatformAttachment[] {
    const files: { file: TelegramFileLike; fallbackName: string; mimeType: string }[] = [];
    if (message.document)
      files.push({ file: message.document, fallbackName: 'document', mimeType: 'application/octet-stream' });
    const photo = message.photo?.at(-1);
    if (photo) files.push({ file: photo, fallbackName: 'photo.jpg', mimeType: 'image/jpeg' });
    if (message.video) files.push({ file: message.video, fallbackName: 'video.mp4', mimeType: 'video/mp4' });
    if (message.audio) files.push({ file: message.audio, fallbackName: 'audio.mp3', mimeType: 'audio/mpeg' });
    if (message.voice) files.push({ file: message.voice, fallbackName: 'voice.ogg', mimeType: 'audio/ogg' });
    return files.map(({ file, fallbackName, mimeType }) => ({
      name: file.file_name ?? fallbackName,
      mimeType: file.mime_type ?? mimeType,
      ...(file.file_size !== undefined ? { size: file.file_size } : {}),
      url: `telegram-file:${file.file_id}`,
    }));
  }
}

/**
 * Creates a {@link TelegramAdapter}.
 *
 * @example
 * const telegram = createTelegramAdapter({
 *   token: '123:ABC',
 *   receiver: { type: 'webhook', secretToken: 's3cret', webhookUrl: 'https://chat.example.com/api/v1/platforms/telegram/events' },
 * });
 */
export function createTelegramAdapter(config: TelegramAdapterConfig): TelegramAdapter {
  return new TelegramAdapter(config);
}

/** Settings as {@link telegramSettingsSchema} gives them. */
export type TelegramSettings = z.output<typeof telegramSettingsSchema>;

/**
 * Telegram for hosts that configure platforms from data (the Kaiwa server's bridge file): the settings
 * schema (last release's keys still read, see {@link upgradeTelegramSettings}), the secret fields and the
 * factory.
 *
 * @example
 * const telegram = telegramAdapterDescriptor.create(telegramAdapterDescriptor.configSchema.parse(settings));
 */
export const telegramAdapterDescriptor: PlatformAdapterDescriptor<TelegramSettings, TelegramAdapter> = {
  platform: 'telegram',
  configSchema: z.preprocess((settings) => upgradeTelegramSettings(settings), telegramSettingsSchema),
  secrets: ['token', 'receiver.secretToken'],
  deprecations(settings) {
    const messages: string[] = [];
    upgradeTelegramSettings(settings, (message) => messages.push(message));
    return messages;
  },
  create: (config: TelegramSettings, deps: PlatformAdapterDeps = {}) => {
    const receiver = config.receiver;
    return new TelegramAdapter({
      token: config.token,
      ...(receiver?.type === 'webhook'
        ? {
            receiver: {
              type: 'webhook',
              secretToken: receiver.secretToken,
              ...(receiver.webhookUrl !== undefined ? { webhookUrl: receiver.webhookUrl } : {}),
            },
          }
        : {}),
      ...(config.apiUrl !== undefined ? { apiUrl: config.apiUrl } : {}),
      ...(config.retry !== undefined ? { retry: config.retry } : {}),
      ...(deps.logger ? { logger: deps.logger } : {}),
    });
  },
  webhook: { receives: (config) => config.receiver?.type === 'webhook' },
};
