import type { Message, NotifyLevel, RoomKind, RoomPreferences } from '@kaiwa/protocol';

/*
 * Who gets told about a message, and how loudly: pure rules shared by the room list badges, the tab title
 * and desktop notifications, so all three agree. No DOM here, so they are tested in Node.
 */

/** A room's preferences before the member changed any. */
export const DEFAULT_PREFERENCES: RoomPreferences = { favourite: false, notify: 'default' };

/** Whether a message mentions this user by name, or everyone with `@room` or `@here`. */
export function mentionsUser(message: Pick<Message, 'mentions'>, userId: string): boolean {
  const { mentions } = message;
  return mentions.room || mentions.here || mentions.userIds.includes(userId);
}

/** The level a room notifies at: `default` means every message in direct rooms and groups, mentions in channels. */
export function effectiveNotifyLevel(kind: RoomKind, notify: NotifyLevel): Exclude<NotifyLevel, 'default'> {
  if (notify !== 'default') return notify;
  return kind === 'channel' ? 'mentions' : 'all';
}

/** What a rule needs to know about the room a message arrived in. */
export interface NotifyContext {
  kind: RoomKind;
  preferences: RoomPreferences;
  muted: boolean;
}

/**
 * Whether a new message deserves a desktop notification for `userId`, by the room's level alone: never for
 * one's own messages, deleted ones or muted rooms. Whether the reader is looking at the room already is the
 * caller's part.
 */
export function wantsNotification(message: Message, userId: string, room: NotifyContext): boolean {
  if (message.authorId === userId || message.deletedAt !== null || room.muted) return false;
  switch (effectiveNotifyLevel(room.kind, room.preferences.notify)) {
    case 'all':
      return true;
    case 'mentions':
      return mentionsUser(message, userId);
    case 'none':
      return false;
  }
}

/** What a room adds to the attention count of the tab title. */
export interface RoomCounts extends NotifyContext {
  unread: number;
  mentions: number;
}

/**
 * The tab title's numbers, as Slack counts them: `count` is what asks for me (mentions anywhere, muted
 * rooms included, and every unread message of unmuted direct rooms); `unread` says whether anything
 * else is new in an unmuted room (shown as a dot).
 */
export function attentionCounts(rooms: Iterable<RoomCounts>): { count: number; unread: boolean } {
  let count = 0;
  let unread = false;
  for (const room of rooms) {
    // A direct message that mentions me is counted once.
    count += room.kind === 'direct' && !room.muted ? Math.max(room.unread, room.mentions) : room.mentions;
    if (!room.muted && room.unread > 0) unread = true;
  }
  return { count, unread: unread || count > 0 };
}

/** The tab title for a page title: `(3) #general · Kaiwa` with something for me, `• …` with anything new. */
export function titleWithCounts(title: string, counts: { count: number; unread: boolean }): string {
  if (counts.count > 0) return `(${counts.count > 99 ? '99+' : counts.count}) ${title}`;
  if (counts.unread) return `• ${title}`;
  return title;
}
