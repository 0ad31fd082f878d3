import {
  type ChatStore,
  type PlatformAdapter,
  type PlatformInboundCommand,
  type PlatformInboundEvent,
  type PlatformInboundMessage,
  type PlatformInboundReaction,
  type PlatformMessageRef,
  type PlatformOutboundMessage,
  type PlatformTarget,
  ValidationError,
} from '@kaiwa/core';
import { type BackoffOptions, PlatformInbox } from '@kaiwa/platform-queues';
import { type StreamReplyOptions, streamReply } from './stream-reply.js';

/** What a reply may be: the whole text, or text arriving in pieces (a model's stream). */
export type ReplyContent = string | AsyncIterable<string>;

export interface ReplyOptions {
  /** Answer in a thread on the message (where the platform has threads), even when it was not in one. */
  thread?: boolean;
  author?: PlatformOutboundMessage['author'];
}

interface ContextBase<E extends PlatformInboundEvent> {
  event: E;
  platform: string;
  adapter: PlatformAdapter;
  bot: Bot;
  /** Answers where the event happened: in its thread if it was in one, else in the channel. */
  reply(content: ReplyContent, options?: ReplyOptions): Promise<PlatformMessageRef[]>;
}

export interface MessageContext extends ContextBase<PlatformInboundMessage> {
  text: string;
  /** The pattern's match, for `onMessage(pattern, …)`. */
  match: RegExpMatchArray | null;
  react(emoji: string): Promise<void>;
}

export interface CommandContext extends ContextBase<PlatformInboundCommand | PlatformInboundMessage> {
  /** Without the slash, lower case. */
  command: string;
  /** The rest of the line. */
  args: string;
}

export interface ReactionContext extends ContextBase<PlatformInboundReaction> {
  emoji: string;
}

export type MessageHandler = (context: MessageContext) => Promise<void> | void;
export type CommandHandler = (context: CommandContext) => Promise<void> | void;
export type ReactionHandler = (context: ReactionContext) => Promise<void> | void;

export interface BotConfig {
  /** Names the bot's inbox (`bot:<name>`), so several bots can share a store. */
  name: string;
  adapters: PlatformAdapter[];
  /** Where the durable inbox lives. */
  store: ChatStore;
  /** Streamed replies: how often the message is edited in place. */
  streaming?: StreamReplyOptions;
  /** Messages from other bots are ignored unless this is true (bots answering bots loop). */
  answerBots?: boolean;
  /**
   * Inbox tuning: attempts before an event is dead, backoff, polling, and how many events are handled at
   * once (default 8, so one long streamed answer does not hold up the others).
   */
  inbox?: {
    maxAttempts?: number;
    backoff?: BackoffOptions;
    pollMs?: number;
    leaseMs?: number;
    concurrency?: number;
  };
  /** Told when a handler throws (the event is retried by the inbox either way). */
  onError?: (error: unknown, event: PlatformInboundEvent) => void;
}

const COMMAND_PATTERN = /^\/([a-z0-9][\w-]*)(?:@\S+)?(?:\s+([\s\S]*))?$/i;

/**
 * A bot written once for every platform: the same handlers run on Kaiwa rooms, Slack, Discord, Telegram
 * and Teams. Events arrive through a durable inbox (deduplicated, retried), and replies can stream.
 *
 * @example
 * const bot = createBot({ name: 'helper', adapters: [kaiwa, slack], store });
 * bot.onMention(async (context) => context.reply(model.streamText(context.text)));
 * bot.onCommand('run', async (context) => context.reply(`running ${context.args}`));
 * await bot.start();
 */
export class Bot {
  readonly name: string;
  readonly inbox: PlatformInbox;
  readonly #adapters = new Map<string, PlatformAdapter>();
  readonly #mentionHandlers: MessageHandler[] = [];
  readonly #messageHandlers: { pattern: RegExp | undefined; handler: MessageHandler }[] = [];
  readonly #commandHandlers = new Map<string, CommandHandler>();
  readonly #reactionHandlers: ReactionHandler[] = [];
  readonly #streaming: StreamReplyOptions;
  readonly #answerBots: boolean;
  readonly #onError: (error: unknown, event: PlatformInboundEvent) => void;
  #started = false;

  constructor(config: BotConfig) {
    if (!/^[\w.-]{1,56}$/.test(config.name)) {
      throw ValidationError.field('name', 'must be 1–56 letters, digits, dots, dashes or underscores');
    }
    if (config.adapters.length === 0) throw ValidationError.field('adapters', 'give at least one adapter');
    for (const adapter of config.adapters) {
      if (this.#adapters.has(adapter.platform)) {
        throw ValidationError.field('adapters', `two adapters for ${adapter.platform}`);
      }
      this.#adapters.set(adapter.platform, adapter);
    }
    this.name = config.name;
    this.#streaming = config.streaming ?? {};
    this.#answerBots = config.answerBots ?? false;
    this.#onError =
      config.onError ??
      ((error, event) => console.error(`kaiwa bot ${this.name}: handler failed on ${event.kind}`, error));
    this.inbox = new PlatformInbox({
      store: config.store,
      consumer: `bot:${config.name}`,
      handler: (event) => this.#dispatch(event),
      onError: (error, item) => this.#onError(error, item.event as unknown as PlatformInboundEvent),
      concurrency: 8,
      ...config.inbox,
    });
  }

  /** Handles messages that mention the bot. */
  onMention(handler: MessageHandler): this {
    this.#mentionHandlers.push(handler);
    return this;
  }

  /**
   * Handles messages (those that mention the bot go to `onMention` handlers when there are any). With a
   * pattern, only matching messages; a string matches case-insensitively anywhere in the text.
   */
  onMessage(handler: MessageHandler): this;
  onMessage(pattern: RegExp | string, handler: MessageHandler): this;
  onMessage(patternOrHandler: RegExp | string | MessageHandler, maybeHandler?: MessageHandler): this {
    if (typeof patternOrHandler === 'function') {
      this.#messageHandlers.push({ pattern: undefined, handler: patternOrHandler });
    } else {
      const pattern =
        typeof patternOrHandler === 'string'
          ? new RegExp(patternOrHandler.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i')
          : patternOrHandler;
      this.#messageHandlers.push({ pattern, handler: maybeHandler! });
    }
    return this;
  }

  /** Handles a slash command (`/run args`), native or typed as a message. */
  onCommand(command: string, handler: CommandHandler): this {
    this.#commandHandlers.set(command.replace(/^\//, '').toLowerCase(), handler);
    return this;
  }

  /** Handles reactions added to messages. */
  onReaction(handler: ReactionHandler): this {
    this.#reactionHandlers.push(handler);
    return this;
  }

  /** Connects every adapter to the inbox and starts handling events. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    for (const adapter of this.#adapters.values()) await adapter.connect(this.inbox);
    this.inbox.start();
  }

  /** Disconnects the adapters and stops after the event in hand; unhandled events wait for the next start. */
  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    for (const adapter of this.#adapters.values()) await adapter.disconnect();
    await this.inbox.stop();
  }

  async #dispatch(event: PlatformInboundEvent): Promise<void> {
    const adapter = this.#adapters.get(event.platform);
    if (!adapter) return;
    if (event.kind === 'message') return this.#onMessageEvent(adapter, event);
    if (event.kind === 'command') {
      const handler = this.#commandHandlers.get(event.command.toLowerCase());
      if (handler) await handler(this.#commandContext(adapter, event, event.command, event.args));
      return;
    }
    if (event.kind === 'reaction.added') {
      if (event.user.id === adapter.self?.id) return;
      for (const handler of this.#reactionHandlers) {
        await handler({
          ...this.#base(adapter, event, { channelId: event.channelId }, event.messageId),
          emoji: event.emoji,
        });
      }
    }
  }

  async #onMessageEvent(adapter: PlatformAdapter, event: PlatformInboundMessage): Promise<void> {
    if (event.author.id === adapter.self?.id) return;
    if (event.author.isBot && !this.#answerBots) return;
    const command = COMMAND_PATTERN.exec(event.text.trim());
    if (command) {
      const handler = this.#commandHandlers.get(command[1]!.toLowerCase());
      if (handler) {
        await handler(
          this.#commandContext(adapter, event, command[1]!.toLowerCase(), (command[2] ?? '').trim()),
        );
        return;
      }
    }
    const context = (match: RegExpMatchArray | null): MessageContext => ({
      ...this.#base(adapter, event, this.#where(event), event.messageId),
      text: event.text,
      match,
      react: (emoji) =>
        adapter.react({ channelId: event.channelId, messageId: event.messageId, ...threadOf(event) }, emoji),
    });
    if (event.mentions.bot && this.#mentionHandlers.length > 0) {
      for (const handler of this.#mentionHandlers) await handler(context(null));
      return;
    }
    for (const { pattern, handler } of this.#messageHandlers) {
      const match = pattern ? event.text.match(pattern) : null;
      if (pattern && !match) continue;
      await handler(context(match));
    }
  }

  #commandContext(
    adapter: PlatformAdapter,
    event: PlatformInboundCommand | PlatformInboundMessage,
    command: string,
    args: string,
  ): CommandContext {
    const messageId = event.kind === 'message' ? event.messageId : undefined;
    return { ...this.#base(adapter, event, this.#where(event), messageId), command, args };
  }

  #where(event: { channelId: string; threadId: string | null }): PlatformTarget {
    return { channelId: event.channelId, ...threadOf(event) };
  }

  #base<E extends PlatformInboundEvent>(
    adapter: PlatformAdapter,
    event: E,
    target: PlatformTarget,
    messageId: string | undefined,
  ): ContextBase<E> {
    return {
      event,
      platform: adapter.platform,
      adapter,
      bot: this,
      reply: (content, options = {}) => {
        const where =
          options.thread && !target.threadId && messageId && adapter.capabilities.threads
            ? { ...target, threadId: messageId }
            : target;
        const base: Omit<PlatformOutboundMessage, 'text'> = {
          ...(options.author ? { author: options.author } : {}),
          ...(messageId && !where.threadId ? { replyToMessageId: messageId } : {}),
        };
        if (typeof content === 'string') return adapter.send(where, { ...base, text: content });
        return streamReply(adapter, where, base, content, this.#streaming);
      },
    };
  }
}

function threadOf(event: { threadId?: string | null }): { threadId?: string } {
  return event.threadId ? { threadId: event.threadId } : {};
}

/**
 * Creates a {@link Bot}.
 *
 * @example const bot = createBot({ name: 'helper', adapters: [new KaiwaRoomsAdapter({ engine, botUserId })], store });
 */
export function createBot(config: BotConfig): Bot {
  return new Bot(config);
}
