import type { Message, Room, RoomEvent, RoomSummary, User } from '@kaiwa/protocol';
import { describe, expect, it } from 'vitest';
import { ChatState } from './chat-state.js';

/* Mention counts and live messages in the chat state: what the badges, the tab title and notifications read. */

const NOW = '2026-11-25T09:30:00.000Z';
const me: User = {
  id: '01JAAAAAAAAAAAAAAAAAAAAAME',
  username: 'me',
  displayName: 'Me',
  role: 'member',
  forcePasswordChange: false,
  createdAt: NOW,
  updatedAt: NOW,
};
const OTHER = '01JAAAAAAAAAAAAAAAAAAOTHER';
const room: Room = {
  id: '01JBBBBBBBBBBBBBBBBBBBROOM',
  kind: 'channel',
  name: 'general',
  topic: '',
  archived: false,
  createdBy: me.id,
  lastSeq: 3,
  createdAt: NOW,
  updatedAt: NOW,
};

function summary(overrides: Partial<RoomSummary> = {}): RoomSummary {
  return {
    room,
    membership: {
      roomId: room.id,
      userId: me.id,
      role: 'member',
      lastReadMessageId: null,
      muted: false,
      joinedAt: NOW,
    },
    unreadCount: 4,
    mentionCount: 2,
    preferences: { favourite: true, notify: 'all' },
    rights: {
      manage: false,
      rename: false,
      invite: true,
      setRoles: false,
      removeRoles: [],
      changeSettings: false,
      moderate: false,
    },
    ...overrides,
  };
}

let messageNumber = 0;
function created(seq: number, overrides: Partial<Message> = {}): RoomEvent {
  messageNumber += 1;
  const message: Message = {
    id: `01JM00000000000000000000${String(messageNumber).padStart(2, '0')}`,
    roomId: room.id,
    authorId: OTHER,
    seq,
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
    createdAt: NOW,
    editedAt: null,
    deletedAt: null,
    ...overrides,
  };
  return { type: 'message.created', roomId: room.id, seq, createdAt: NOW, payload: { message } } as RoomEvent;
}

const atMe = { mentions: { userIds: [me.id], room: false, here: false } };

function stateWith(overrides: Partial<RoomSummary> = {}, fromSeq = 3): ChatState {
  const state = new ChatState();
  state.me = me;
  state.setRooms([summary(overrides)]);
  state.subscribed(room, fromSeq);
  return state;
}

describe('ChatState mention counts', () => {
  it('takes counts and preferences from the room list', () => {
    const entry = stateWith().rooms.get(room.id);
    expect(entry?.mentions).toBe(2);
    expect(entry?.preferences).toEqual({ favourite: true, notify: 'all' });
  });

  it('counts new mentions of me, @room and @here by others, thread replies included', () => {
    const state = stateWith({ mentionCount: 0, unreadCount: 0 });
    state.applyEvent(created(4, atMe));
    state.applyEvent(created(5, { mentions: { userIds: [], room: true, here: false } }));
    state.applyEvent(created(6, { mentions: { userIds: [], room: false, here: true } }));
    state.applyEvent(created(7, { ...atMe, threadRootId: '01JM0000000000000000000000' }));
    state.applyEvent(created(8)); // no mention
    state.applyEvent(created(9, { ...atMe, authorId: me.id })); // my own
    const entry = state.rooms.get(room.id);
    expect(entry?.mentions).toBe(4);
    expect(entry?.unread).toBe(4);
  });

  it('counts mentions in muted rooms too', () => {
    const state = stateWith({
      mentionCount: 0,
      membership: { ...summary().membership, muted: true },
    });
    state.applyEvent(created(4, atMe));
    expect(state.rooms.get(room.id)?.mentions).toBe(1);
  });

  it('does not count in the room on screen, and clears the count when the room is read', () => {
    const state = stateWith();
    state.markViewed(room.id);
    expect(state.rooms.get(room.id)?.mentions).toBe(0);
    state.viewing = room.id;
    state.applyEvent(created(4, atMe));
    expect(state.rooms.get(room.id)?.mentions).toBe(0);
  });

  it('clears the count when the room was read elsewhere', () => {
    const state = stateWith();
    state.setUnread(room.id, { [room.id]: 0 });
    expect(state.rooms.get(room.id)?.mentions).toBe(0);
  });

  it('keeps my preferences when a summary comes back from a change', () => {
    const state = stateWith();
    state.setSummary(summary({ preferences: { favourite: false, notify: 'none' } }));
    expect(state.rooms.get(room.id)?.preferences).toEqual({ favourite: false, notify: 'none' });
  });
});

describe('ChatState live messages', () => {
  it('tells listeners of live messages of others, once each, and not of the replay after a reconnect', () => {
    // Subscribed again from seq 3 while the room was at 5: events 4 and 5 are the replay.
    const state = stateWith({}, 3);
    state.subscribed({ ...room, lastSeq: 5 }, 3);
    const live: string[] = [];
    state.onLiveMessage((message) => live.push(message.text));
    state.applyEvent(created(4, { text: 'missed 1' }));
    state.applyEvent(created(5, { text: 'missed 2' }));
    const fresh = created(6, { text: 'live' });
    state.applyEvent(fresh);
    state.applyEvent(fresh);
    state.applyEvent(created(7, { text: 'mine', authorId: me.id }));
    expect(live).toEqual(['live']);
    // The replayed mentions still count.
    expect(state.rooms.get(room.id)?.unread).toBe(4 + 3);
  });

  it('keeps applying events when a listener throws', () => {
    const state = stateWith();
    const stop = state.onLiveMessage(() => {
      throw new Error('a view failed');
    });
    const errors: unknown[] = [];
    const original = console.error;
    console.error = (error: unknown) => errors.push(error);
    try {
      expect(state.applyEvent(created(4))).toBe('applied');
    } finally {
      console.error = original;
    }
    stop();
    expect(errors).toHaveLength(1);
    expect(state.timeline(room.id)).toHaveLength(1);
  });
});
