import type { Message } from '@kaiwa/protocol';
import { describe, expect, it } from 'vitest';
import {
  attentionCounts,
  DEFAULT_PREFERENCES,
  effectiveNotifyLevel,
  mentionsUser,
  type NotifyContext,
  type RoomCounts,
  titleWithCounts,
  wantsNotification,
} from './notification-rules.js';

const ME = '01JAAAAAAAAAAAAAAAAAAAAAME';
const OTHER = '01JAAAAAAAAAAAAAAAAAAOTHER';

function message(overrides: Partial<Message> = {}): Message {
  return {
    id: '01JM0000000000000000000001',
    roomId: '01JBBBBBBBBBBBBBBBBBBBROOM',
    authorId: OTHER,
    seq: 1,
    text: 'hello',
    mentions: { userIds: [], room: false, here: false },
    threadRootId: null,
    replyToId: null,
    attachments: [],
    reactions: [],
    replyCount: 0,
    lastReplyAt: null,
    clientMessageId: null,
    metadata: {},
    createdAt: '2026-11-25T09:30:00.000Z',
    editedAt: null,
    deletedAt: null,
    ...overrides,
  };
}

const atMe = message({ mentions: { userIds: [ME], room: false, here: false } });
const plain = message();

function room(overrides: Partial<NotifyContext> = {}): NotifyContext {
  return { kind: 'channel', preferences: DEFAULT_PREFERENCES, muted: false, ...overrides };
}

describe('mentionsUser', () => {
  it.each([
    ['by name', { userIds: [ME], room: false, here: false }, true],
    ['@room', { userIds: [], room: true, here: false }, true],
    ['@here', { userIds: [], room: false, here: true }, true],
    ['someone else', { userIds: [OTHER], room: false, here: false }, false],
    ['nobody', { userIds: [], room: false, here: false }, false],
  ])('%s', (_, mentions, expected) => {
    expect(mentionsUser({ mentions }, ME)).toBe(expected);
  });
});

describe('effectiveNotifyLevel', () => {
  it.each([
    ['channel', 'default', 'mentions'],
    ['group', 'default', 'all'],
    ['direct', 'default', 'all'],
    ['channel', 'all', 'all'],
    ['direct', 'mentions', 'mentions'],
    ['group', 'none', 'none'],
  ] as const)('a %s at %s notifies at %s', (kind, notify, expected) => {
    expect(effectiveNotifyLevel(kind, notify)).toBe(expected);
  });
});

describe('wantsNotification', () => {
  it('follows the level of the room', () => {
    expect(wantsNotification(atMe, ME, room())).toBe(true);
    expect(wantsNotification(plain, ME, room())).toBe(false);
    expect(wantsNotification(plain, ME, room({ kind: 'direct' }))).toBe(true);
    expect(wantsNotification(plain, ME, room({ preferences: { favourite: false, notify: 'all' } }))).toBe(
      true,
    );
    expect(
      wantsNotification(atMe, ME, room({ kind: 'direct', preferences: { favourite: true, notify: 'none' } })),
    ).toBe(false);
  });

  it('never for my own messages, deleted ones or muted rooms', () => {
    expect(wantsNotification(message({ authorId: ME, mentions: atMe.mentions }), ME, room())).toBe(false);
    expect(wantsNotification(message({ ...atMe, deletedAt: atMe.createdAt }), ME, room())).toBe(false);
    expect(wantsNotification(atMe, ME, room({ kind: 'direct', muted: true }))).toBe(false);
  });
});

describe('attentionCounts and titleWithCounts', () => {
  const counts = (overrides: Partial<RoomCounts>): RoomCounts => ({
    ...room(),
    unread: 0,
    mentions: 0,
    ...overrides,
  });

  it('counts mentions anywhere and unread direct messages once each', () => {
    const result = attentionCounts([
      counts({ unread: 5, mentions: 2 }),
      counts({ kind: 'direct', unread: 3, mentions: 1 }),
      counts({ kind: 'direct', unread: 4, muted: true }),
      counts({ unread: 1, mentions: 1, muted: true }),
    ]);
    expect(result).toEqual({ count: 2 + 3 + 0 + 1, unread: true });
    expect(titleWithCounts('#general · Kaiwa', result)).toBe('(6) #general · Kaiwa');
  });

  it('shows a dot for unread messages that ask for nobody, and nothing in muted rooms', () => {
    expect(titleWithCounts('Kaiwa', attentionCounts([counts({ unread: 2 })]))).toBe('• Kaiwa');
    expect(titleWithCounts('Kaiwa', attentionCounts([counts({ unread: 2, muted: true })]))).toBe('Kaiwa');
    expect(titleWithCounts('Kaiwa', attentionCounts([]))).toBe('Kaiwa');
  });
});
