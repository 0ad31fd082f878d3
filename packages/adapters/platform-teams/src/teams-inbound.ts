import type { PlatformAttachment, PlatformInboundEvent, PlatformUser } from '@kaiwa/core';
import type { TeamsMentionEntity } from '@kaiwa/platform-format';
import { parseTeams } from './teams-format.js';

/*
 * Bot Framework activities from Teams → Kaiwa inbound events.
 *
 * Channels and threads: a Teams channel conversation id looks like `19:abc@thread.tacv2;messageid=<root>`.
 * The part before `;messageid=` is the Kaiwa `channelId`; the root message id is the `threadId`, except on
 * the root post itself (where it equals the activity id), which has no thread.
 *
 * Event ids (the inbox deduplicates on them; the Bot Framework redelivers an activity with the same id):
 *   message / command  `message:<activity id>` / `command:<activity id>`
 *   message.edited     `message.edited:<message id>:<timestamp>` (every edit of a message has its id)
 *   message.deleted    `message.deleted:<message id>`
 *   reactions          `reaction.added:<activity id>:<message id>:<reaction type>`
 */

/** The parts of a Bot Framework activity this file reads. */
export interface TeamsActivity {
  type: string;
  id?: string;
  timestamp?: string | Date;
  localTimestamp?: string | Date;
  serviceUrl?: string;
  channelId?: string;
  from?: { id: string; name?: string; aadObjectId?: string; role?: string };
  recipient?: { id: string; name?: string };
  conversation?: { id: string; conversationType?: string; isGroup?: boolean; tenantId?: string };
  text?: string;
  textFormat?: string;
  replyToId?: string;
  entities?: { type: string; [key: string]: unknown }[];
  attachments?: { contentType: string; contentUrl?: string; content?: unknown; name?: string }[];
  reactionsAdded?: { type: string }[];
  reactionsRemoved?: { type: string }[];
  channelData?: { eventType?: string; [key: string]: unknown };
}

export interface TeamsInboundContext {
  /** The bot's own id (the activity's `recipient.id`). */
  selfId: string | undefined;
  userName?: (id: string) => string | undefined;
  rememberUser(user: PlatformUser): void;
  /** Commands are messages whose text (without the bot's mention) starts with this; `/` by default. */
  commandPrefix: string;
}

/** Teams reaction types → Unicode emoji. */
export const TEAMS_REACTIONS: Record<string, string> = {
  like: '👍',
  heart: '❤️',
  laugh: '😆',
  surprised: '😮',
  sad: '😢',
  angry: '😠',
};

/** Splits `19:abc@thread.tacv2;messageid=123` into the channel and the root message id. */
export function splitConversationId(conversationId: string): {
  channelId: string;
  rootId: string | undefined;
} {
  const match = /^(.*?);messageid=(.+)$/.exec(conversationId);
  if (!match) return { channelId: conversationId, rootId: undefined };
  return { channelId: match[1]!, rootId: match[2]! };
}

function iso(value: string | Date | undefined): string {
  if (value === undefined) return new Date().toISOString();
  return typeof value === 'string' ? value : value.toISOString();
}

function userOf(account: NonNullable<TeamsActivity['from']>, selfId: string | undefined): PlatformUser {
  const name = account.name ?? account.id;
  return {
    id: account.id,
    name,
    displayName: name,
    isBot: account.role === 'bot' || account.id === selfId || account.id.startsWith('28:'),
  };
}

function mentionEntities(activity: TeamsActivity): TeamsMentionEntity[] {
  return (activity.entities ?? [])
    .filter((entity) => entity.type === 'mention')
    .map((entity) => ({
      type: 'mention' as const,
      text: String(entity.text ?? ''),
      mentioned: entity.mentioned as { id: string; name: string },
    }))
    .filter((entity) => entity.mentioned?.id);
}

function attachmentsOf(activity: TeamsActivity): PlatformAttachment[] {
  const out: PlatformAttachment[] = [];
  for (const attachment of activity.attachments ?? []) {
    // Teams repeats the message as a text/html attachment and sends cards as attachments: not files.
    if (
      attachment.contentType === 'text/html' ||
      attachment.contentType.startsWith('application/vnd.microsoft.card')
    ) {
      continue;
    }
    if (attachment.contentType === 'application/vnd.microsoft.teams.file.download.info') {
      const content = (attachment.content ?? {}) as { downloadUrl?: string; fileType?: string };
      out.push({
        name: attachment.name ?? 'file',
        mimeType: 'application/octet-stream',
        ...(content.downloadUrl ? { url: content.downloadUrl } : {}),
      });
      continue;
    }
    out.push({
      name: attachment.name ?? 'file',
      mimeType: attachment.contentType,
      ...(attachment.contentUrl ? { url: attachment.contentUrl } : {}),
    });
  }
  return out;
}

/** Removes the bot's own `<at>` mentions, so `@Bot /run x` reads as the command `/run x`. */
function withoutSelfMentions(
  text: string,
  entities: TeamsMentionEntity[],
  selfId: string | undefined,
): string {
  let out = text;
  for (const entity of entities) {
    if (entity.mentioned.id === selfId && entity.text) out = out.split(entity.text).join('');
  }
  return out.replace(/&nbsp;/g, ' ').trim();
}

/** Turns one activity into zero or more inbound events. */
export function normaliseActivity(
  activity: TeamsActivity,
  context: TeamsInboundContext,
): PlatformInboundEvent[] {
  const conversationId = activity.conversation?.id;
  if (!conversationId || !activity.from) return [];
  const { channelId, rootId } = splitConversationId(conversationId);
  const at = iso(activity.timestamp);
  const selfId = context.selfId ?? activity.recipient?.id;
  const eventType = activity.channelData?.eventType;

  if (activity.type === 'message') {
    if (activity.from.id === selfId) return [];
    const author = userOf(activity.from, selfId);
    context.rememberUser(author);
    const entities = mentionEntities(activity);
    for (const entity of entities) {
      context.rememberUser({ id: entity.mentioned.id, name: entity.mentioned.name, isBot: false });
    }
    const threadId = rootId && rootId !== activity.id ? rootId : null;
    const raw = activity.text ?? '';
    const bare = withoutSelfMentions(raw, entities, selfId);
    if (bare.startsWith(context.commandPrefix)) {
      const match = /^(\S+)\s*([\s\S]*)$/.exec(bare.slice(context.commandPrefix.length));
      if (match) {
        const [, command = '', args = ''] = match;
        return [
          {
            kind: 'command',
            platform: 'teams',
            eventId: `command:${activity.id}`,
            channelId,
            threadId,
            at,
            command: command.toLowerCase(),
            args: args.trim(),
            user: author,
          },
        ];
      }
    }
    const mentioned = entities.map((entity) => entity.mentioned.id);
    return [
      {
        kind: 'message',
        platform: 'teams',
        eventId: `message:${activity.id}`,
        channelId,
        threadId,
        at,
        messageId: activity.id ?? '',
        replyToMessageId: activity.replyToId ?? null,
        author,
        text: parseTeams(raw, entities, context.userName),
        mentions: { userIds: mentioned, bot: selfId !== undefined && mentioned.includes(selfId) },
        attachments: attachmentsOf(activity),
        direct: activity.conversation?.conversationType === 'personal',
      },
    ];
  }

  if (activity.type === 'messageUpdate' && (eventType === undefined || eventType === 'editMessage')) {
    const author = userOf(activity.from, selfId);
    return [
      {
        kind: 'message.edited',
        platform: 'teams',
        eventId: `message.edited:${activity.id}:${at}`,
        channelId,
        threadId: rootId && rootId !== activity.id ? rootId : null,
        at,
        messageId: activity.id ?? '',
        author,
        text: parseTeams(activity.text ?? '', mentionEntities(activity), context.userName),
      },
    ];
  }

  if (activity.type === 'messageDelete' && (eventType === undefined || eventType === 'softDeleteMessage')) {
    return [
      {
        kind: 'message.deleted',
        platform: 'teams',
        eventId: `message.deleted:${activity.id}`,
        channelId,
        at,
        messageId: activity.id ?? '',
      },
    ];
  }

  if (activity.type === 'messageReaction') {
    const messageId = activity.replyToId ?? '';
    const user = userOf(activity.from, selfId);
    const events: PlatformInboundEvent[] = [];
    for (const [kind, reactions] of [
      ['reaction.added', activity.reactionsAdded],
      ['reaction.removed', activity.reactionsRemoved],
    ] as const) {
      for (const reaction of reactions ?? []) {
        events.push({
          kind,
          platform: 'teams',
          eventId: `${kind}:${activity.id}:${messageId}:${reaction.type}`,
          channelId,
          at,
          messageId,
          user,
          emoji: TEAMS_REACTIONS[reaction.type] ?? `:${reaction.type}:`,
        });
      }
    }
    return events;
  }

  return [];
}
