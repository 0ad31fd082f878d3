import type { Message, Room, RoomEvent, RoomSummary, User } from '@kaiwa/protocol';
import { describe, expect, it } from 'vitest';
import { ChatState, withReaction } from './chat-state.js';

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
  lastSeq: 0,
  createdAt: NOW,
  updatedAt: NOW,
};

function message(id: string, overrides: Partial<Message> = {}): Message {
  return {
    id,
    roomId: room.id,
    authorId: OTHER,
    seq: 1,
    text: `text ${id}`,
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
}

let seq = 0;
function event<T extends RoomEvent['type']>(type: T, payload: Extract<RoomEvent, { type: T }>['payload']) {
  seq += 1;
  return { type, roomId: room.id, seq, createdAt: NOW, payload } as RoomEvent;
}

function subscribedState(fromSeq = 0): ChatState {
  seq = fromSeq;
  const state = new ChatState();
  state.me = me;
  state.setRooms([
    {
      room,
      membership: {
        roomId: room.id,
        userId: me.id,
        role: 'member',
        lastReadMessageId: null,
        muted: false,
        joinedAt: NOW,
      },
      unreadCount: 0,
      // The cast keeps the fixture to what the state reads, whatever else a summary carries.
    } as RoomSummary,
  ]);
  state.subscribed(room, fromSeq);
  return state;
}

describe('ChatState', () => {
  it('applies each event once, however often it arrives', () => {
    const state = subscribedState();
    const created = event('message.created', { message: message('01JM0000000000000000000001') });
    expect(state.applyEvent(created)).toBe('applied');
    expect(state.applyEvent(created)).toBe('duplicate');
    expect(state.timeline(room.id).map((each) => each.id)).toEqual(['01JM0000000000000000000001']);
    expect(state.rooms.get(room.id)?.unread).toBe(1);
    expect(state.rooms.get(room.id)?.lastSeq).toBe(1);
  });

  it('holds events after a gap until the missing ones arrive, then applies them in order', () => {
    const state = subscribedState(4);
    const first = event('message.created', { message: message('01JM0000000000000000000005') });
    const edit = event('message.updated', {
      message: message('01JM0000000000000000000005', { text: 'edited', editedAt: NOW }),
    });
    const deleted = event('message.deleted', {
      message: message('01JM0000000000000000000005', { text: '', deletedAt: NOW }),
    });
    expect(state.applyEvent(deleted)).toBe('gap');
    expect(state.applyEvent(edit)).toBe('gap');
    expect(state.timeline(room.id)).toEqual([]);
    expect(state.applyEvent(first)).toBe('applied');
    expect(state.rooms.get(room.id)?.lastSeq).toBe(7);
    expect(state.message(room.id, '01JM0000000000000000000005')?.deletedAt).toBe(NOW);
  });

  it('ignores events of rooms it has not subscribed', () => {
    const state = new ChatState();
    state.me = me;
    state.upsertRoom(room);
    const created = event('message.created', { message: message('01JM0000000000000000000001') });
    expect(state.applyEvent(created)).toBe('unknown-room');
  });

  it('merges history without undoing newer events', () => {
    const state = subscribedState(10);
    state.applyEvent(
      event('message.updated', { message: message('01JM0000000000000000000001', { text: 'new' }) }),
    );
    state.mergeHistory(room.id, {
      messages: [
        message('01JM0000000000000000000001', { text: 'old' }),
        message('01JM0000000000000000000002'),
      ],
      hasMore: true,
    });
    const timeline = state.timeline(room.id);
    expect(timeline.map((each) => each.text)).toEqual(['new', 'text 01JM0000000000000000000002']);
    expect(state.rooms.get(room.id)?.hasOlder).toBe(true);
  });

  it('settles a pending send by its ack or its event, and never shows it twice', () => {
    const state = subscribedState();
    state.queue({
      clientMessageId: 'c-1',
      roomId: room.id,
      authorId: me.id,
      text: 'hello',
      threadRootId: null,
      attachments: [],
      state: 'sending',
      createdAt: NOW,
    });
    expect(state.pending(room.id, null)).toHaveLength(1);
    const sent = message('01JM0000000000000000000009', { authorId: me.id, clientMessageId: 'c-1' });
    state.applyEvent(event('message.created', { message: sent }));
    expect(state.pending(room.id, null)).toHaveLength(0);
    state.acknowledged('c-1', sent);
    expect(state.timeline(room.id)).toHaveLength(1);
    // My own messages are not unread.
    expect(state.rooms.get(room.id)?.unread).toBe(0);
  });

  it('counts a live thread reply once on its root, whether the ack or the event comes first', () => {
    const state = subscribedState();
    const root = message('01JM0000000000000000000001');
    state.applyEvent(event('message.created', { message: root }));
    const reply = message('01JM0000000000000000000002', {
      authorId: me.id,
      threadRootId: root.id,
      clientMessageId: 'c-2',
    });
    state.acknowledged('c-2', reply);
    state.applyEvent(event('message.created', { message: reply }));
    expect(state.message(room.id, root.id)?.replyCount).toBe(1);
    expect(state.threadReplies(room.id, root.id).map((each) => each.id)).toEqual([reply.id]);
    expect(state.timeline(room.id).map((each) => each.id)).toEqual([root.id]);
  });

  it('applies reactions as set changes', () => {
    const state = subscribedState();
    const target = message('01JM0000000000000000000001');
    state.applyEvent(event('message.created', { message: target }));
    state.mergeReaction(room.id, target.id, '👍', true);
    state.applyEvent(event('reaction.added', { messageId: target.id, emoji: '👍', userId: me.id }));
    state.applyEvent(event('reaction.added', { messageId: target.id, emoji: '👍', userId: OTHER }));
    expect(state.message(room.id, target.id)?.reactions).toEqual([
      { emoji: '👍', count: 2, userIds: [me.id, OTHER] },
    ]);
    state.applyEvent(event('reaction.removed', { messageId: target.id, emoji: '👍', userId: me.id }));
    state.applyEvent(event('reaction.removed', { messageId: target.id, emoji: '👍', userId: OTHER }));
    expect(state.message(room.id, target.id)?.reactions).toEqual([]);
  });

  it('forgets a room I left', () => {
    const state = subscribedState();
    state.applyEvent(event('member.left', { roomId: room.id, userId: me.id }));
    expect(state.rooms.has(room.id)).toBe(false);
  });
});

describe('withReaction', () => {
  it('returns the same message when nothing changes', () => {
    const target = message('01JM0000000000000000000001', {
      reactions: [{ emoji: '🎉', count: 1, userIds: [OTHER] }],
    });
    expect(withReaction(target, '🎉', OTHER, true)).toBe(target);
    expect(withReaction(target, '🎉', me.id, false)).toBe(target);
  });
});

describe('streamed assistant replies', () => {
  it('grows a stream with each delta, keeps thread streams apart and drops it when done', () => {
    const state = new ChatState();
    state.upsertRoom(room);
    const delta = { roomId: room.id, streamId: 's1', replyTo: 'm1', threadRootId: null, authorId: OTHER };
    state.streamDelta({ ...delta, text: 'Hello' });
    state.streamDelta({ ...delta, text: ' there' });
    state.streamDelta({ ...delta, streamId: 's2', threadRootId: 'root', text: 'in a thread' });
    expect(state.streaming(room.id, null).map((stream) => stream.text)).toEqual(['Hello there']);
    expect(state.streaming(room.id, 'root').map((stream) => stream.text)).toEqual(['in a thread']);
    state.endStream('s1');
    expect(state.streaming(room.id, null)).toEqual([]);
    state.streamDelta({ ...delta, streamId: 's2', threadRootId: 'root', text: '', done: true });
    expect(state.streams.size).toBe(0);
  });
});

describe('ChatState.mergeRange', () => {
  it('adds a range from further back and takes its hasOlder; a range inside what is loaded keeps it', () => {
    const state = subscribedState(60);
    state.mergeHistory(room.id, { messages: [message('m50'), message('m51')], hasMore: true });
    state.mergeRange(room.id, [message('m10'), message('m11'), message('m50')], false);
    expect(state.timeline(room.id).map((each) => each.id)).toEqual(['m10', 'm11', 'm50', 'm51']);
    expect(state.rooms.get(room.id)?.hasOlder).toBe(false);
    state.mergeRange(room.id, [message('m12'), message('m13')], true);
    expect(state.rooms.get(room.id)?.hasOlder).toBe(false);
  });

  it('leaves a message newer than the last event applied to its event, which then counts and notifies', () => {
    const state = subscribedState(5);
    const live: string[] = [];
    state.onLiveMessage((arrived) => live.push(arrived.id));
    const mention = message('m7', { seq: 6, mentions: { userIds: [me.id], room: false, here: false } });
    // A page read just after the message was stored, before its event arrived.
    state.mergeHistory(room.id, { messages: [message('m5', { seq: 5 }), mention], hasMore: false });
    expect(state.timeline(room.id).map((each) => each.id)).toEqual(['m5']);
    expect(state.applyEvent(event('message.created', { message: mention }))).toBe('applied');
    expect(state.timeline(room.id).map((each) => each.id)).toEqual(['m5', 'm7']);
    expect(live).toEqual(['m7']);
    const entry = state.rooms.get(room.id)!;
    expect([entry.unread, entry.mentions]).toEqual([1, 1]);
    // Before the room's events stream in, a page is taken whole.
    const fresh = new ChatState();
    fresh.me = me;
    fresh.upsertRoom(room);
    fresh.mergeHistory(room.id, { messages: [mention], hasMore: false });
    expect(fresh.timeline(room.id).map((each) => each.id)).toEqual(['m7']);
  });
});
