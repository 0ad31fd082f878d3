import type { PlatformAttachment, PlatformInboundEvent, PlatformUser } from '@kaiwa/core';
import type { DiscordFormatLookups } from './discord-format.js';
import { parseDiscord } from './discord-format.js';

/*
 * Gateway dispatches → Kaiwa inbound events. Works on the raw dispatch payloads (not discord.js's cached
 * objects), so an edit, delete or reaction on a message discord.js never cached is not lost.
 *
 * Event ids (the inbox deduplicates on them): the gateway sequence `s` restarts with every new session, so
 * ids come from the payload instead:
 *   message            `message:<message id>`
 *   message.edited     `message.edited:<message id>:<edited_timestamp>`
 *   message.deleted    `message.deleted:<message id>`
 *   command            `command:<interaction id>`
 *   reaction.added/removed  `reaction.added:<message id>:<user id>:<emoji>:<session id>:<s>`; a reaction can be
 *   added, removed and added again, so its id carries the session and sequence, which a RESUME replays
 *   unchanged (the only way Discord delivers a dispatch twice).
 */

/** A gateway dispatch as discord.js emits it on `raw`. */
export interface DiscordDispatch {
  t: string | null;
  s: number | null;
  op: number;
  d: unknown;
}

/** Where a channel id sits: a thread has its parent as channel and itself as thread. */
export interface DiscordChannelPlace {
  channelId: string;
  threadId: string | null;
}

export interface DiscordInboundContext {
  selfId: string | undefined;
  sessionId: string | undefined;
  resolveChannel(channelId: string, guildId: string | undefined): Promise<DiscordChannelPlace>;
  lookups: DiscordFormatLookups;
  /** CDN URL of a user's avatar hash. */
  avatarUrl(userId: string, hash: string): string;
  /** Remembers a user seen inbound, so outbound `@username` can become `<@id>`. */
  rememberUser(id: string, username: string): void;
  /** True for messages this adapter sent itself (as the bot or through its webhooks): they are not echoed. */
  isOwnMessage(authorId: string, webhookId: string | undefined): boolean;
}

interface RawUser {
  id: string;
  username: string;
  global_name?: string | null;
  avatar?: string | null;
  bot?: boolean;
}

interface RawMember {
  nick?: string | null;
  user?: RawUser;
}

interface RawMessage {
  id: string;
  channel_id: string;
  guild_id?: string;
  author?: RawUser;
  member?: RawMember;
  content?: string;
  timestamp?: string;
  edited_timestamp?: string | null;
  mentions?: (RawUser & { member?: RawMember })[];
  attachments?: { id: string; filename: string; size?: number; url: string; content_type?: string }[];
  message_reference?: { message_id?: string; channel_id?: string };
  webhook_id?: string;
}

interface RawInteractionOption {
  name: string;
  type: number;
  value?: string | number | boolean;
  options?: RawInteractionOption[];
}

interface RawInteraction {
  id: string;
  type: number;
  token: string;
  application_id: string;
  channel_id?: string;
  guild_id?: string;
  member?: RawMember;
  user?: RawUser;
  data?: { name: string; options?: RawInteractionOption[] };
}

/** A slash command waiting for its answer: Discord needs one within 15 minutes of the deferral. */
export interface DiscordPendingCommand {
  interactionId: string;
  applicationId: string;
  token: string;
  /** The channel the command came from, a thread's own id for threads. */
  channelId: string;
}

export interface DiscordNormalised {
  events: PlatformInboundEvent[];
  /** Set for INTERACTION_CREATE of a slash command: the adapter answers it after `accept`. */
  command?: DiscordPendingCommand;
}

export function toPlatformUser(
  user: RawUser,
  member: RawMember | undefined,
  context: DiscordInboundContext,
): PlatformUser {
  context.rememberUser(user.id, user.username);
  const displayName = member?.nick ?? user.global_name ?? undefined;
  return {
    id: user.id,
    name: user.username,
    ...(displayName ? { displayName } : {}),
    ...(user.avatar ? { avatarUrl: context.avatarUrl(user.id, user.avatar) } : {}),
    isBot: user.bot === true,
  };
}

/** A reaction's emoji: the Unicode character, or `:name:` for a custom guild emoji. */
export function reactionEmoji(emoji: { id?: string | null; name?: string | null }): string {
  if (!emoji.id && emoji.name) return emoji.name;
  return `:${emoji.name ?? emoji.id}:`;
}

function commandArgs(options: RawInteractionOption[] | undefined): string[] {
  const parts: string[] = [];
  for (const option of options ?? []) {
    // 1 = SUB_COMMAND, 2 = SUB_COMMAND_GROUP: their names are words of the command line.
    if (option.type === 1 || option.type === 2) parts.push(option.name, ...commandArgs(option.options));
    else if (option.value !== undefined) parts.push(String(option.value));
  }
  return parts;
}

function lookupsWithMentions(
  context: DiscordInboundContext,
  mentions: RawMessage['mentions'],
): DiscordFormatLookups {
  const names = new Map((mentions ?? []).map((user) => [user.id, user.username]));
  return {
    ...context.lookups,
    userName: (id) => names.get(id) ?? context.lookups.userName?.(id),
  };
}

function attachmentsOf(message: RawMessage): PlatformAttachment[] {
  return (message.attachments ?? []).map((attachment) => ({
    name: attachment.filename,
    mimeType: attachment.content_type ?? 'application/octet-stream',
    ...(attachment.size !== undefined ? { size: attachment.size } : {}),
    url: attachment.url,
  }));
}

/** Turns one dispatch into zero or more inbound events. */
export async function normaliseDispatch(
  dispatch: DiscordDispatch,
  context: DiscordInboundContext,
): Promise<DiscordNormalised> {
  const at = new Date().toISOString();
  switch (dispatch.t) {
    case 'MESSAGE_CREATE': {
      const message = dispatch.d as RawMessage;
      if (!message.author || context.isOwnMessage(message.author.id, message.webhook_id))
        return { events: [] };
      const place = await context.resolveChannel(message.channel_id, message.guild_id);
      const mentioned = (message.mentions ?? []).map((user) => user.id);
      for (const user of message.mentions ?? []) context.rememberUser(user.id, user.username);
      return {
        events: [
          {
            kind: 'message',
            platform: 'discord',
            eventId: `message:${message.id}`,
            channelId: place.channelId,
            threadId: place.threadId,
            at: message.timestamp ?? at,
            messageId: message.id,
            replyToMessageId: message.message_reference?.message_id ?? null,
            author: toPlatformUser(message.author, message.member, context),
            text: parseDiscord(message.content ?? '', lookupsWithMentions(context, message.mentions)),
            mentions: {
              userIds: mentioned,
              bot: context.selfId !== undefined && mentioned.includes(context.selfId),
            },
            attachments: attachmentsOf(message),
            direct: message.guild_id === undefined,
          },
        ],
      };
    }
    case 'MESSAGE_UPDATE': {
      const message = dispatch.d as RawMessage;
      // Discord also sends MESSAGE_UPDATE when it only adds link embeds; those carry no new edit time.
      if (!message.author || message.content === undefined || !message.edited_timestamp)
        return { events: [] };
      if (context.isOwnMessage(message.author.id, message.webhook_id)) return { events: [] };
      const place = await context.resolveChannel(message.channel_id, message.guild_id);
      return {
        events: [
          {
            kind: 'message.edited',
            platform: 'discord',
            eventId: `message.edited:${message.id}:${message.edited_timestamp}`,
            channelId: place.channelId,
            threadId: place.threadId,
            at: message.edited_timestamp,
            messageId: message.id,
            author: toPlatformUser(message.author, message.member, context),
            text: parseDiscord(message.content, lookupsWithMentions(context, message.mentions)),
          },
        ],
      };
    }
    case 'MESSAGE_DELETE':
    case 'MESSAGE_DELETE_BULK': {
      const data = dispatch.d as { id?: string; ids?: string[]; channel_id: string; guild_id?: string };
      const place = await context.resolveChannel(data.channel_id, data.guild_id);
      const ids = data.ids ?? (data.id ? [data.id] : []);
      return {
        events: ids.map((id) => ({
          kind: 'message.deleted',
          platform: 'discord',
          eventId: `message.deleted:${id}`,
          channelId: place.channelId,
          at,
          messageId: id,
        })),
      };
    }
    case 'MESSAGE_REACTION_ADD':
    case 'MESSAGE_REACTION_REMOVE': {
      const data = dispatch.d as {
        user_id: string;
        channel_id: string;
        message_id: string;
        guild_id?: string;
        member?: RawMember;
        emoji: { id?: string | null; name?: string | null };
      };
      const place = await context.resolveChannel(data.channel_id, data.guild_id);
      const kind = dispatch.t === 'MESSAGE_REACTION_ADD' ? 'reaction.added' : 'reaction.removed';
      const emoji = reactionEmoji(data.emoji);
      const user = data.member?.user
        ? toPlatformUser(data.member.user, data.member, context)
        : { id: data.user_id, name: context.lookups.userName?.(data.user_id) ?? data.user_id, isBot: false };
      return {
        events: [
          {
            kind,
            platform: 'discord',
            eventId: `${kind}:${data.message_id}:${data.user_id}:${emoji}:${context.sessionId ?? '-'}:${dispatch.s ?? '-'}`,
            channelId: place.channelId,
            at,
            messageId: data.message_id,
            user,
            emoji,
          },
        ],
      };
    }
    case 'INTERACTION_CREATE': {
      const interaction = dispatch.d as RawInteraction;
      // 2 = APPLICATION_COMMAND; components, autocomplete and modals are not commands.
      if (interaction.type !== 2 || !interaction.data || !interaction.channel_id) return { events: [] };
      const rawUser = interaction.member?.user ?? interaction.user;
      if (!rawUser) return { events: [] };
      const place = await context.resolveChannel(interaction.channel_id, interaction.guild_id);
      return {
        events: [
          {
            kind: 'command',
            platform: 'discord',
            eventId: `command:${interaction.id}`,
            channelId: place.channelId,
            threadId: place.threadId,
            at,
            command: interaction.data.name.toLowerCase(),
            args: commandArgs(interaction.data.options).join(' '),
            user: toPlatformUser(rawUser, interaction.member, context),
          },
        ],
        command: {
          interactionId: interaction.id,
          applicationId: interaction.application_id,
          token: interaction.token,
          channelId: interaction.channel_id,
        },
      };
    }
    default:
      return { events: [] };
  }
}
