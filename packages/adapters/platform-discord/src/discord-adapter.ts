import {
  consolePlatformLogger,
  type PlatformAdapter,
  type PlatformAdapterDeps,
  type PlatformAdapterDescriptor,
  type PlatformCapabilities,
  PlatformError,
  type PlatformEventSink,
  type PlatformLogger,
  type PlatformMessageRef,
  type PlatformOutboundMessage,
  type PlatformTarget,
  type PlatformUser,
  platformErrorCodeForStatus,
} from '@kaiwa/core';
import { emojiFromShortcode } from '@kaiwa/platform-format';
import {
  Client,
  DiscordAPIError,
  Events,
  GatewayIntentBits,
  HTTPError,
  Partials,
  RateLimitError,
  type RawFile,
  Routes,
} from 'discord.js';
import type { z } from 'zod';
import { type DiscordAdapterConfig, discordSettingsSchema } from './discord-config.js';
import {
  DISCORD_TEXT_LIMIT,
  type DiscordFormatLookups,
  renderDiscord,
  splitForDiscord,
} from './discord-format.js';
import {
  type DiscordChannelPlace,
  type DiscordDispatch,
  type DiscordInboundContext,
  type DiscordPendingCommand,
  normaliseDispatch,
} from './discord-inbound.js';

/** 25 MiB: the upload limit of a server without boosts. */
const MAX_UPLOAD_BYTES = 25 * 1024 * 1024;
const COMMAND_ANSWER_WINDOW_MS = 15 * 60 * 1000;

interface WebhookCredentials {
  id: string;
  token: string;
}

interface SentThrough extends WebhookCredentials {
  /** Thread the webhook posted into, passed again as `thread_id` for edits and deletes. */
  threadId?: string;
}

interface RawMessageResponse {
  id: string;
  channel_id: string;
}

/**
 * Discord through discord.js: the gateway for inbound events, REST for outbound calls, both from one
 * `Client`. REST answers 429 with `retry_after`; @discordjs/rest queues per route bucket and retries, so
 * callers only see failures that outlast its retries, as {@link PlatformError}.
 *
 * @example
 * const discord = createDiscordAdapter({ token: process.env.DISCORD_TOKEN!, webhooks: true });
 * await discord.connect({ accept: (event) => inbox.record(event) });
 * await discord.send({ channelId: '1234' }, { text: 'Hello **world**', author: { name: 'alice' } });
 */
export class DiscordAdapter implements PlatformAdapter {
  readonly platform = 'discord';
  readonly capabilities: PlatformCapabilities = {
    edit: true,
    delete: true,
    reactions: true,
    threads: true,
    uploads: true,
    customAuthor: true,
    maxTextLength: DISCORD_TEXT_LIMIT,
    maxUploadBytes: MAX_UPLOAD_BYTES,
  };
  /** The discord.js client, for what the port does not cover (registering slash commands, presence...). */
  readonly client: Client;

  private readonly config: DiscordAdapterConfig;
  private readonly logger: PlatformLogger;
  private readonly webhookName: string | undefined;
  private sink: PlatformEventSink | undefined;
  private sessionId: string | undefined;
  private inbound: Promise<void> = Promise.resolve();
  private readonly usersByName = new Map<string, string>();
  private readonly webhooksByChannel = new Map<string, Promise<WebhookCredentials>>();
  private readonly ownWebhookIds = new Set<string>();
  private readonly sentThroughWebhook = new Map<string, SentThrough>();
  private readonly pendingCommands = new Map<string, DiscordPendingCommand & { expiresAt: number }>();

  constructor(config: DiscordAdapterConfig) {
    if (!config.token)
      throw new PlatformError('discord', 'invalid_request', 'DiscordAdapterConfig.token is required');
    this.config = config;
    this.logger = config.logger ?? consolePlatformLogger('discord');
    for (const option of ['backoff', 'maxRetryAfterMs'] as const) {
      if (config.retry?.[option] === undefined) continue;
      this.logger.warn(
        { platform: 'discord', option: `retry.${option}` },
        'unsupported option ignored: @discordjs/rest has its own backoff and always waits out rate limits',
      );
    }
    this.webhookName = config.webhooks
      ? ((typeof config.webhooks === 'object' ? config.webhooks.name : undefined) ?? 'Kaiwa')
      : undefined;
    if (!this.webhookName) this.capabilities.customAuthor = false;
    this.client = new Client({
      intents: [
        GatewayIntentBits.Guilds,
        GatewayIntentBits.GuildMessages,
        GatewayIntentBits.MessageContent,
        GatewayIntentBits.GuildMessageReactions,
        GatewayIntentBits.DirectMessages,
        GatewayIntentBits.DirectMessageReactions,
      ],
      // Events on uncached channels (DMs) and messages still arrive; the adapter reads raw dispatches anyway.
      partials: [Partials.Channel, Partials.Message, Partials.Reaction, Partials.User],
      ...config.client,
      rest: {
        ...(config.apiUrl ? { api: config.apiUrl } : {}),
        ...(config.retry?.maxAttempts !== undefined
          ? { retries: Math.max(0, config.retry.maxAttempts - 1) }
          : {}),
        ...config.client?.rest,
        ...config.rest,
      },
    });
    // Outbound calls work without the gateway (a bridge outbox can send before or without `connect`).
    this.client.rest.setToken(config.token);
    this.client.on(Events.Raw, (packet: DiscordDispatch) => this.onDispatch(packet));
    this.client.on(Events.Error, (error) => this.report(error));
  }

  get self(): PlatformUser | undefined {
    const user = this.client.user;
    if (!user) return undefined;
    return {
      id: user.id,
      name: user.username,
      ...(user.globalName ? { displayName: user.globalName } : {}),
      ...(user.avatar ? { avatarUrl: user.displayAvatarURL() } : {}),
      isBot: true,
    };
  }

  async connect(sink: PlatformEventSink): Promise<void> {
    this.sink = sink;
    const ready = new Promise<void>((resolve) => this.client.once(Events.ClientReady, () => resolve()));
    try {
      await this.client.login(this.config.token);
    } catch (error) {
      throw this.toPlatformError(error, 'connect');
    }
    await ready;
  }

  async disconnect(): Promise<void> {
    await this.client.destroy();
    await this.inbound;
    this.sink = undefined;
  }

  async send(target: PlatformTarget, message: PlatformOutboundMessage): Promise<PlatformMessageRef[]> {
    const channel = target.threadId ?? target.channelId;
    const viaWebhook = message.author !== undefined && this.webhookName !== undefined;
    const prefix = message.author && !viaWebhook ? `**${escapeName(message.author.name)}**: ` : '';
    const links = (message.attachments ?? [])
      .filter((attachment) => !attachment.data && attachment.url)
      .map((attachment) => `[${attachment.name}](${attachment.url})`);
    const markdown = [message.text, ...links].filter((part) => part !== '').join('\n');
    const contents = splitForDiscord(markdown, prefix, this.lookups());
    const files: RawFile[] = (message.attachments ?? [])
      .filter((attachment) => attachment.data)
      .map((attachment) => ({
        name: attachment.name,
        data: Buffer.from(attachment.data!),
        contentType: attachment.mimeType,
      }));
    const refs: PlatformMessageRef[] = [];
    for (const [index, content] of contents.entries()) {
      const first = index === 0;
      const last = index === contents.length - 1;
      const body: Record<string, unknown> = {
        content,
        allowed_mentions: { parse: ['users'], replied_user: false },
      };
      // Files go with the last part, so they sit under the whole text.
      const partFiles = last ? files : [];
      if (partFiles.length > 0) {
        body.attachments = partFiles.map((file, position) => ({ id: position, filename: file.name }));
      }
      let sent: RawMessageResponse;
      const command = !message.author && first ? this.takePendingCommand(channel) : undefined;
      if (command) {
        sent = await this.call('send', () =>
          this.client.rest.patch(Routes.webhookMessage(command.applicationId, command.token), {
            body,
            files: partFiles,
            auth: false,
          }),
        );
        this.sentThroughWebhook.set(sent.id, { id: command.applicationId, token: command.token });
      } else if (viaWebhook) {
        const webhook = await this.webhookFor(target.channelId);
        body.username = message.author!.name.slice(0, 80);
        if (message.author!.avatarUrl) body.avatar_url = message.author!.avatarUrl;
        const query = new URLSearchParams({ wait: 'true' });
        if (target.threadId) query.set('thread_id', target.threadId);
        sent = await this.call('send', () =>
          this.client.rest.post(Routes.webhook(webhook.id, webhook.token), {
            body,
            files: partFiles,
            query,
            auth: false,
          }),
        );
        this.sentThroughWebhook.set(sent.id, {
          ...webhook,
          ...(target.threadId ? { threadId: target.threadId } : {}),
        });
      } else {
        if (first && message.replyToMessageId) {
          body.message_reference = { message_id: message.replyToMessageId, fail_if_not_exists: false };
        }
        sent = await this.postToChannel(target, body, partFiles);
      }
      refs.push({
        channelId: target.channelId,
        ...(target.threadId ? { threadId: target.threadId } : {}),
        messageId: sent.id,
      });
    }
    return refs;
  }

  async edit(ref: PlatformMessageRef, message: PlatformOutboundMessage): Promise<void> {
    const through = this.sentThroughWebhook.get(ref.messageId);
    const prefix =
      message.author && !through && !this.webhookName ? `**${escapeName(message.author.name)}**: ` : '';
    const content = prefix + renderDiscord(message.text, this.lookups());
    if (content.length > DISCORD_TEXT_LIMIT) {
      throw new PlatformError(
        'discord',
        'invalid_request',
        `text renders to ${content.length} characters, over Discord's ${DISCORD_TEXT_LIMIT}; send the rest as a new message`,
      );
    }
    const body = { content, allowed_mentions: { parse: ['users'] } };
    if (through) {
      await this.editThroughWebhook(through, ref.messageId, body);
      return;
    }
    try {
      await this.call('edit', () =>
        this.client.rest.patch(Routes.channelMessage(ref.threadId ?? ref.channelId, ref.messageId), { body }),
      );
    } catch (error) {
      // 50005: authored by someone else, such as our webhook before a restart emptied the map.
      const original = error instanceof PlatformError ? error.cause : undefined;
      if (!(original instanceof DiscordAPIError && original.code === 50005 && this.webhookName)) throw error;
      const webhook = await this.webhookFor(ref.channelId);
      await this.editThroughWebhook(
        { ...webhook, ...(ref.threadId ? { threadId: ref.threadId } : {}) },
        ref.messageId,
        body,
      );
    }
  }

  async delete(ref: PlatformMessageRef): Promise<void> {
    const through = this.sentThroughWebhook.get(ref.messageId);
    if (through) {
      const query = new URLSearchParams(through.threadId ? { thread_id: through.threadId } : {});
      await this.call('delete', () =>
        this.client.rest.delete(Routes.webhookMessage(through.id, through.token, ref.messageId), {
          query,
          auth: false,
        }),
      );
      this.sentThroughWebhook.delete(ref.messageId);
      return;
    }
    await this.call('delete', () =>
      this.client.rest.delete(Routes.channelMessage(ref.threadId ?? ref.channelId, ref.messageId)),
    );
  }

  async react(ref: PlatformMessageRef, emoji: string): Promise<void> {
    const route = Routes.channelMessageOwnReaction(
      ref.threadId ?? ref.channelId,
      ref.messageId,
      this.emojiParam(emoji),
    );
    await this.call('react', () => this.client.rest.put(route));
  }

  async unreact(ref: PlatformMessageRef, emoji: string): Promise<void> {
    const route = Routes.channelMessageOwnReaction(
      ref.threadId ?? ref.channelId,
      ref.messageId,
      this.emojiParam(emoji),
    );
    await this.call('unreact', () => this.client.rest.delete(route));
  }

  /** Posts to a channel or thread; a thread id that is a message id without a thread yet starts that thread. */
  private async postToChannel(
    target: PlatformTarget,
    body: Record<string, unknown>,
    files: RawFile[],
  ): Promise<RawMessageResponse> {
    const channel = target.threadId ?? target.channelId;
    const post = () =>
      this.call<RawMessageResponse>('send', () =>
        this.client.rest.post(Routes.channelMessages(channel), { body, files }),
      );
    try {
      return await post();
    } catch (error) {
      const original = error instanceof PlatformError ? error.cause : undefined;
      const unknownChannel = original instanceof DiscordAPIError && original.code === 10003;
      if (!unknownChannel || !target.threadId || target.threadId === target.channelId) throw error;
      // Threads started from a message share its id, so a reply "in the thread of message X" can open it.
      const name = threadName(String(body.content ?? ''));
      await this.call('send', () =>
        this.client.rest.post(Routes.threads(target.channelId, target.threadId!), {
          body: { name, auto_archive_duration: 1440 },
        }),
      );
      return post();
    }
  }

  private async editThroughWebhook(
    through: SentThrough,
    messageId: string,
    body: Record<string, unknown>,
  ): Promise<void> {
    const query = new URLSearchParams(through.threadId ? { thread_id: through.threadId } : {});
    await this.call('edit', () =>
      this.client.rest.patch(Routes.webhookMessage(through.id, through.token, messageId), {
        body,
        query,
        auth: false,
      }),
    );
  }

  /** The channel's webhook named after the config, found or created once per channel. */
  private webhookFor(channelId: string): Promise<WebhookCredentials> {
    let webhook = this.webhooksByChannel.get(channelId);
    if (!webhook) {
      webhook = (async () => {
        const existing = await this.call<{ id: string; token?: string; name: string }[]>('send', () =>
          this.client.rest.get(Routes.channelWebhooks(channelId)),
        );
        // Only webhooks this application created come back with a token.
        const usable = existing.find((candidate) => candidate.token && candidate.name === this.webhookName);
        const found =
          usable ??
          (await this.call<{ id: string; token: string }>('send', () =>
            this.client.rest.post(Routes.channelWebhooks(channelId), { body: { name: this.webhookName } }),
          ));
        this.ownWebhookIds.add(found.id);
        return { id: found.id, token: found.token! };
      })();
      this.webhooksByChannel.set(channelId, webhook);
      webhook.catch(() => this.webhooksByChannel.delete(channelId));
    }
    return webhook;
  }

  private takePendingCommand(channel: string): DiscordPendingCommand | undefined {
    if (this.config.answerCommandsInPlace === false) return undefined;
    const pending = this.pendingCommands.get(channel);
    if (!pending) return undefined;
    this.pendingCommands.delete(channel);
    return pending.expiresAt > Date.now() ? pending : undefined;
  }

  private emojiParam(emoji: string): string {
    const shortcode = /^:([\w+-]+):$/.exec(emoji);
    if (!shortcode) return encodeURIComponent(emoji);
    const unicode = emojiFromShortcode(shortcode[1]!);
    if (unicode) return encodeURIComponent(unicode);
    const custom = this.client.emojis.cache.find((candidate) => candidate.name === shortcode[1]);
    if (custom) return encodeURIComponent(`${custom.name}:${custom.id}`);
    throw new PlatformError('discord', 'invalid_request', `emoji: unknown emoji ${emoji}`);
  }

  private lookups(): DiscordFormatLookups {
    return {
      mentionId: (username) =>
        this.usersByName.get(username) ??
        this.client.users.cache.find((user) => user.username === username)?.id,
      channelId: (name) =>
        this.client.channels.cache.find((channel) => 'name' in channel && channel.name === name)?.id,
      userName: (id) => this.client.users.cache.get(id)?.username,
      channelName: (id) => {
        const channel = this.client.channels.cache.get(id);
        return channel && 'name' in channel && channel.name ? channel.name : undefined;
      },
    };
  }

  private async resolveChannel(channelId: string, guildId: string | undefined): Promise<DiscordChannelPlace> {
    if (guildId === undefined) return { channelId, threadId: null };
    let channel = this.client.channels.cache.get(channelId);
    if (!channel) {
      channel = (await this.client.channels.fetch(channelId).catch(() => null)) ?? undefined;
    }
    if (channel?.isThread() && channel.parentId) return { channelId: channel.parentId, threadId: channel.id };
    return { channelId, threadId: null };
  }

  private onDispatch(packet: DiscordDispatch): void {
    if (packet.t === 'READY') this.sessionId = (packet.d as { session_id: string }).session_id;
    if (!packet.t) return;
    // Serial, so events reach the sink in gateway order.
    this.inbound = this.inbound.then(() => this.handleDispatch(packet)).catch((error) => this.report(error));
  }

  private async handleDispatch(packet: DiscordDispatch): Promise<void> {
    const sink = this.sink;
    if (!sink) return;
    const context: DiscordInboundContext = {
      selfId: this.client.user?.id,
      sessionId: this.sessionId,
      resolveChannel: (channelId, guildId) => this.resolveChannel(channelId, guildId),
      lookups: this.lookups(),
      avatarUrl: (userId, hash) => this.client.rest.cdn.avatar(userId, hash),
      rememberUser: (id, username) => this.usersByName.set(username, id),
      isOwnMessage: (authorId, webhookId) =>
        this.config.ignoreOwnMessages !== false &&
        (authorId === this.client.user?.id || (webhookId !== undefined && this.ownWebhookIds.has(webhookId))),
    };
    const { events, command } = await normaliseDispatch(packet, context);
    let recorded = true;
    for (const event of events) {
      recorded = (await this.acceptWithRetries(sink, event)) && recorded;
    }
    if (command) await this.answerCommand(command, recorded);
  }

  private async acceptWithRetries(
    sink: PlatformEventSink,
    event: Parameters<PlatformEventSink['accept']>[0],
  ) {
    const attempts = this.config.acceptAttempts ?? 5;
    for (let attempt = 1; ; attempt += 1) {
      try {
        await sink.accept(event);
        return true;
      } catch (error) {
        if (attempt >= attempts) {
          this.report(
            new PlatformError('discord', 'unavailable', `could not record ${event.eventId}`, {
              cause: error,
            }),
          );
          return false;
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 50 * 2 ** attempt)));
      }
    }
  }

  /** Discord wants an answer to an interaction within 3 seconds: defer it now, answer with the next send. */
  private async answerCommand(command: DiscordPendingCommand, recorded: boolean): Promise<void> {
    const inPlace = this.config.answerCommandsInPlace !== false && recorded;
    const body = inPlace
      ? { type: 5 } // DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
      : {
          type: 4, // CHANNEL_MESSAGE_WITH_SOURCE, ephemeral
          data: {
            content: recorded ? 'Received.' : 'Sorry, that command could not be taken; try again.',
            flags: 64,
          },
        };
    // Pending before the callback, so a reply racing the callback's answer still lands in place.
    if (inPlace) {
      this.pendingCommands.set(command.channelId, {
        ...command,
        expiresAt: Date.now() + COMMAND_ANSWER_WINDOW_MS,
      });
    }
    try {
      await this.call('command', () =>
        this.client.rest.post(Routes.interactionCallback(command.interactionId, command.token), {
          body,
          auth: false,
        }),
      );
    } catch (error) {
      if (this.pendingCommands.get(command.channelId)?.interactionId === command.interactionId) {
        this.pendingCommands.delete(command.channelId);
      }
      throw error;
    }
  }

  private async call<T = RawMessageResponse>(action: string, request: () => Promise<unknown>): Promise<T> {
    try {
      return (await request()) as T;
    } catch (error) {
      throw this.toPlatformError(error, action);
    }
  }

  private toPlatformError(error: unknown, action: string): PlatformError {
    if (error instanceof PlatformError) return error;
    if (error instanceof RateLimitError) {
      return new PlatformError('discord', 'rate_limited', `${action}: rate limited on ${error.route}`, {
        retryAfterMs: error.retryAfter,
        cause: error,
      });
    }
    if (error instanceof DiscordAPIError || error instanceof HTTPError) {
      const code = platformErrorCodeForStatus(error.status);
      return new PlatformError('discord', code, `${action}: ${error.message}`, { cause: error });
    }
    if (error instanceof Error && /token/i.test(error.message) && action === 'connect') {
      return new PlatformError('discord', 'forbidden', `${action}: ${error.message}`, { cause: error });
    }
    return new PlatformError(
      'discord',
      'unavailable',
      `${action}: ${error instanceof Error ? error.message : String(error)}`,
      {
        cause: error,
      },
    );
  }

  private report(error: unknown): void {
    if (this.config.onError) this.config.onError(error);
    else this.logger.error({ platform: 'discord', err: error }, 'Discord adapter error');
  }
}

/** Escapes Discord markdown in a name used as a bold prefix. */
function escapeName(name: string): string {
  return name.replace(/[\\*_~`|<>@#:[\]()]/g, (character) => `\\${character}`);
}

function threadName(content: string): string {
  const firstLine = content.split('\n')[0]?.trim() ?? '';
  return (firstLine || 'Thread').slice(0, 100);
}

/**
 * Creates a {@link DiscordAdapter}.
 *
 * @example
 * const discord = createDiscordAdapter({ token: process.env.DISCORD_TOKEN! });
 */
export function createDiscordAdapter(config: DiscordAdapterConfig): DiscordAdapter {
  return new DiscordAdapter(config);
}

/** Settings as {@link discordSettingsSchema} gives them. */
export type DiscordSettings = z.output<typeof discordSettingsSchema>;

/**
 * Discord for hosts that configure platforms from data (the Kaiwa server's bridge file): the settings schema,
 * the secret fields and the factory. Discord receives through its gateway: no webhook for the host to serve.
 *
 * @example
 * const discord = discordAdapterDescriptor.create(discordAdapterDescriptor.configSchema.parse(settings), { logger });
 */
export const discordAdapterDescriptor: PlatformAdapterDescriptor<DiscordSettings, DiscordAdapter> = {
  platform: 'discord',
  configSchema: discordSettingsSchema,
  secrets: ['token'],
  deprecations: () => [],
  create: (config: DiscordSettings, deps: PlatformAdapterDeps = {}) =>
    new DiscordAdapter({
      token: config.token,
      ...(config.apiUrl !== undefined ? { apiUrl: config.apiUrl } : {}),
      ...(config.retry !== undefined ? { retry: config.retry } : {}),
      ...(config.webhooks !== undefined
        ? {
            webhooks:
              typeof config.webhooks === 'boolean'
                ? config.webhooks
                : config.webhooks.name !== undefined
                  ? { name: config.webhooks.name }
                  : {},
          }
        : {}),
      ...(config.answerCommandsInPlace !== undefined
        ? { answerCommandsInPlace: config.answerCommandsInPlace }
        : {}),
      ...(config.acceptAttempts !== undefined ? { acceptAttempts: config.acceptAttempts } : {}),
      ...(deps.logger ? { logger: deps.logger } : {}),
    }),
};
