/*
 * The platform port: one interface over Slack, Discord, Telegram, Microsoft Teams (and Kaiwa rooms
 * themselves), so bots and the bridge are written once. Adapters live in `@kaiwa/platform-*` packages.
 *
 * Text crosses this port as Kaiwa markdown (GFM, the same text a Kaiwa message holds). Each adapter turns it
 * into the platform's own format with `@kaiwa/platform-format` and back, so callers never see mrkdwn,
 * Discord markdown, Telegram HTML or Adaptive Cards.
 */

import { KaiwaBaseError } from '../errors.js';

/** `slack`, `discord`, `telegram`, `teams`, `kaiwa`, or a custom adapter's name. */
export type PlatformName = 'slack' | 'discord' | 'telegram' | 'teams' | 'kaiwa' | (string & {});

/** What a platform can do, so callers ask instead of guess. */
export interface PlatformCapabilities {
  /** Messages can be edited after sending (needed for streamed replies edited in place). */
  edit: boolean;
  delete: boolean;
  reactions: boolean;
  /** Replies can be grouped in threads (Slack thread_ts, Discord threads, Telegram reply chains, Teams replies). */
  threads: boolean;
  /** Files can be uploaded with a message. */
  uploads: boolean;
  /** A message can show another author's name and avatar (Slack username/icon_url, Discord webhooks). */
  customAuthor: boolean;
  /** Longest message text the platform accepts, counted the way the platform counts. */
  maxTextLength: number;
  /** Largest upload in bytes; 0 when uploads are not supported. */
  maxUploadBytes: number;
}

export interface PlatformUser {
  /** The platform's user id. */
  id: string;
  /** Handle or user name as the platform shows it. */
  name: string;
  displayName?: string;
  avatarUrl?: string;
  isBot: boolean;
}

/** A file on a message: inbound ones carry a URL the adapter can fetch; outbound ones carry the bytes. */
export interface PlatformAttachment {
  name: string;
  mimeType: string;
  size?: number;
  url?: string;
  data?: Uint8Array;
}

/** Where a message is or goes: a channel (or chat, conversation) and, optionally, a thread in it. */
export interface PlatformTarget {
  channelId: string;
  /** The platform's thread id (Slack thread_ts, Discord thread channel, Telegram message id of the root). */
  threadId?: string;
}

/** A sent or received message on a platform. */
export interface PlatformMessageRef extends PlatformTarget {
  messageId: string;
}

interface InboundBase {
  platform: PlatformName;
  /** The platform's id for this delivery; the inbox deduplicates on (platform, eventId). */
  eventId: string;
  channelId: string;
  /** ISO 8601 time the platform gave the event. */
  at: string;
}

export interface PlatformInboundMessage extends InboundBase {
  kind: 'message';
  messageId: string;
  threadId: string | null;
  /** The message this one quotes or answers, when the platform says. */
  replyToMessageId: string | null;
  author: PlatformUser;
  /** Kaiwa markdown, converted from the platform's format. */
  text: string;
  /** Platform user ids mentioned; `bot` is true when the adapter's own bot user is mentioned. */
  mentions: { userIds: string[]; bot: boolean };
  attachments: PlatformAttachment[];
  /** A direct (one-to-one) conversation with the bot. */
  direct: boolean;
}

export interface PlatformInboundEdit extends InboundBase {
  kind: 'message.edited';
  messageId: string;
  threadId: string | null;
  author: PlatformUser;
  text: string;
}

export interface PlatformInboundDelete extends InboundBase {
  kind: 'message.deleted';
  messageId: string;
}

export interface PlatformInboundReaction extends InboundBase {
  kind: 'reaction.added' | 'reaction.removed';
  messageId: string;
  user: PlatformUser;
  /** A Unicode emoji where the platform gives one, else `:shortcode:`. */
  emoji: string;
}

/** A slash command (`/run invoice`): Slack commands, Discord application commands, Telegram `/cmd`. */
export interface PlatformInboundCommand extends InboundBase {
  kind: 'command';
  /** Without the slash, lower case: `run`. */
  command: string;
  /** The rest of the line: `invoice`. */
  args: string;
  threadId: string | null;
  user: PlatformUser;
}

export type PlatformInboundEvent =
  | PlatformInboundMessage
  | PlatformInboundEdit
  | PlatformInboundDelete
  | PlatformInboundReaction
  | PlatformInboundCommand;

/** A message to send: Kaiwa markdown plus optional author override and files. */
export interface PlatformOutboundMessage {
  text: string;
  /** Shown as the author where `capabilities.customAuthor`; otherwise adapters prefix the name in bold. */
  author?: { name: string; avatarUrl?: string };
  attachments?: PlatformAttachment[];
  /** Answer this message (Telegram reply_to, Discord message reference). */
  replyToMessageId?: string;
}

/**
 * One raw HTTP request to a platform's inbound webhook, as the host server received it.
 * @deprecated Adapters take a web-standard `Request` in `handleWebhook` (see `PlatformWebhookHandler`);
 * this shape goes in the next release.
 */
export interface PlatformWebhookRequest {
  method: string;
  /** Header names in lower case, as node:http gives them. */
  headers: Record<string, string | string[] | undefined>;
  /** The body's bytes exactly as received (signatures are computed over them); a Node `Buffer` is one. */
  rawBody: Uint8Array;
  url?: string;
}

/**
 * The answer for the host server to send to a platform's webhook request.
 * @deprecated Adapters answer with a web-standard `Response`; this shape goes in the next release.
 */
export interface PlatformWebhookResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

/**
 * Where an adapter hands inbound events. `accept` resolves once the event is durably recorded (the inbox);
 * adapters acknowledge the platform only after that, and quickly: handling happens later, with retries.
 */
export interface PlatformEventSink {
  accept(event: PlatformInboundEvent): Promise<void>;
}

/**
 * One chat platform. Outbound calls honour the platform's rate-limit answers (429, Retry-After) with
 * retries; other failures throw {@link PlatformError}. Adapters are configured with one vocabulary
 * (`PlatformAdapterBaseConfig`), described to hosts by a `PlatformAdapterDescriptor`, and those that receive
 * through webhooks also implement `PlatformWebhookHandler` (web `Request` in, `Response` out).
 *
 * @example
 * await slack.connect({ accept: (event) => inbox.record(event) });
 * const sent = await slack.send({ channelId: 'C123' }, { text: 'Hello **world**' });
 * await slack.edit(sent[0], { text: 'Hello again' });
 */
export interface PlatformAdapter {
  readonly platform: PlatformName;
  readonly capabilities: PlatformCapabilities;
  /** The bot's own user on the platform, known after `connect`. */
  readonly self: PlatformUser | undefined;
  connect(sink: PlatformEventSink): Promise<void>;
  disconnect(): Promise<void>;
  /**
   * Sends one message; text over `capabilities.maxTextLength` is split (never inside a code block or a
   * character), so one call may produce several platform messages, returned in order.
   */
  send(target: PlatformTarget, message: PlatformOutboundMessage): Promise<PlatformMessageRef[]>;
  /** Replaces a sent message's text. @throws PlatformError `unsupported` where `capabilities.edit` is false. */
  edit(ref: PlatformMessageRef, message: PlatformOutboundMessage): Promise<void>;
  delete(ref: PlatformMessageRef): Promise<void>;
  react(ref: PlatformMessageRef, emoji: string): Promise<void>;
  unreact(ref: PlatformMessageRef, emoji: string): Promise<void>;
}

export type PlatformErrorCode =
  | 'unsupported'
  | 'not_found'
  | 'forbidden'
  | 'rate_limited'
  | 'unavailable'
  | 'invalid_request';

const marker = Symbol.for('kaiwa.error.PlatformError');

/**
 * A platform call that failed; one family of {@link KaiwaBaseError}, so it carries `code`, `cause` and
 * `isRetryable` like every Kaiwa error. `isRetryable` (default: true for `rate_limited` and `unavailable`)
 * tells outboxes whether to try again later.
 *
 * @example
 * if (PlatformError.isInstance(error) && error.isRetryable) await sleep(error.retryAfterMs ?? 1_000);
 */
export class PlatformError extends KaiwaBaseError<PlatformErrorCode> {
  readonly [marker] = true;
  readonly platform: PlatformName;
  /**
   * The same as `isRetryable`.
   * @deprecated Read `isRetryable`, which every Kaiwa error carries.
   */
  readonly retryable: boolean;
  /** Milliseconds the platform asked us to wait, when it said. */
  readonly retryAfterMs: number | undefined;

  constructor(
    platform: PlatformName,
    code: PlatformErrorCode,
    message: string,
    options: { retryable?: boolean; isRetryable?: boolean; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(code, message, {
      cause: options.cause,
      isRetryable:
        options.isRetryable ?? options.retryable ?? (code === 'rate_limited' || code === 'unavailable'),
    });
    this.name = 'PlatformError';
    this.platform = platform;
    this.retryable = this.isRetryable;
    this.retryAfterMs = options.retryAfterMs;
  }

  /**
   * True for any platform error, also one thrown by another copy of this package.
   *
   * @example
   * if (PlatformError.isInstance(error) && error.code === 'not_found') return;
   */
  static override isInstance(value: unknown): value is PlatformError {
    return KaiwaBaseError.hasMarker(value, marker);
  }
}
