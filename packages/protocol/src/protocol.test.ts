import {
  ROOM_EVENT_TYPES as CORE_ROOM_EVENT_TYPES,
  type RoomRights as CoreRoomRights,
  permissions,
  type Room,
  type RoomEvent,
  type User,
} from '@kaiwa/core';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  type Capabilities,
  CapabilitiesSchema,
  ClientFrameSchemas,
  type ClientFrameType,
  ERROR_CODES,
  isRoomEventType,
  NO_CAPABILITIES,
  parseClientFrame,
  parseServerFrame,
  ROOM_EVENT_TYPES,
  type RoomEventFrame,
  type RoomRights,
  RoomRightsSchema,
  ServerFrameSchemas,
  type ServerFrameType,
} from './index.js';

const ROOM = '01M89YYDD9W4HBJ8RG73XQ623T';
const USER = '01M89YYDDTEXVEW0PHHEAKWVY5';
const MESSAGE = '01M89YYDE0B6M3P8E4Q1ZC5W7N';
const AT = '2026-11-25T18:19:33.690Z';
const PROJECT = {
  id: ROOM,
  name: 'Launch',
  description: '',
  status: 'active',
  ownerId: USER,
  createdAt: AT,
  updatedAt: AT,
};
const TICKET = {
  id: MESSAGE,
  projectId: ROOM,
  title: 'Ship v2',
  description: '',
  status: 'open',
  priority: 'high',
  reporterId: USER,
  assigneeId: null,
  dueDate: '2026-12-24',
  labels: ['release'],
  createdAt: AT,
  updatedAt: AT,
};

const user = {
  id: USER,
  username: 'bob',
  displayName: 'Bob',
  role: 'member',
  forcePasswordChange: false,
  createdAt: AT,
  updatedAt: AT,
};
const room = {
  id: ROOM,
  kind: 'channel',
  name: 'general',
  topic: '',
  archived: false,
  createdBy: USER,
  lastSeq: 3,
  createdAt: AT,
  updatedAt: AT,
};
const membership = {
  roomId: ROOM,
  userId: USER,
  role: 'member',
  lastReadMessageId: null,
  muted: false,
  joinedAt: AT,
};
const message = {
  id: MESSAGE,
  roomId: ROOM,
  authorId: USER,
  seq: 3,
  text: 'hello',
  mentions: { userIds: [], room: false, here: false },
  threadRootId: null,
  replyToId: null,
  attachments: [],
  reactions: [],
  replyCount: 0,
  lastReplyAt: null,
  clientMessageId: 'c1',
  metadata: {},
  createdAt: AT,
  editedAt: null,
  deletedAt: null,
};
const capabilities: Capabilities = { ...NO_CAPABILITIES, createRooms: true };
const event = { roomId: ROOM, seq: 3, createdAt: AT };
const reaction = { messageId: MESSAGE, emoji: '👍', userId: USER };

type Example = { valid: Record<string, unknown>; invalid: Record<string, unknown>; field: string };

/** Every client frame: a valid example, and a broken copy whose first issue names `field`. */
const CLIENT_EXAMPLES: Record<ClientFrameType, Example> = {
  auth: {
    valid: { type: 'auth', id: 'a1', token: 't', presence: false },
    invalid: { token: '' },
    field: 'token',
  },
  ping: { valid: { type: 'ping', id: 7 }, invalid: { id: 1.5 }, field: 'id' },
  subscribe: {
    valid: { type: 'subscribe', roomId: ROOM, lastSeq: 2 },
    invalid: { lastSeq: -1 },
    field: 'lastSeq',
  },
  unsubscribe: {
    valid: { type: 'unsubscribe', roomId: ROOM },
    invalid: { roomId: 'general' },
    field: 'roomId',
  },
  fetch: {
    valid: { type: 'fetch', roomId: ROOM, afterSeq: 0, limit: 10 },
    invalid: { limit: 0 },
    field: 'limit',
  },
  send: {
    valid: { type: 'send', roomId: ROOM, clientMessageId: 'c1', text: 'hi', metadata: { a: 1 } },
    invalid: { clientMessageId: 'with space' },
    field: 'clientMessageId',
  },
  edit: { valid: { type: 'edit', messageId: MESSAGE, text: 'hi!' }, invalid: { text: 3 }, field: 'text' },
  delete: {
    valid: { type: 'delete', messageId: MESSAGE },
    invalid: { messageId: undefined },
    field: 'messageId',
  },
  react: {
    valid: { type: 'react', messageId: MESSAGE, emoji: '👍' },
    invalid: { emoji: '' },
    field: 'emoji',
  },
  unreact: {
    valid: { type: 'unreact', messageId: MESSAGE, emoji: ':+1:' },
    invalid: { emoji: '' },
    field: 'emoji',
  },
  read: {
    valid: { type: 'read', roomId: ROOM, messageId: MESSAGE },
    invalid: { messageId: 'x' },
    field: 'messageId',
  },
  typing: {
    valid: { type: 'typing', roomId: ROOM, typing: true },
    invalid: { typing: 'yes' },
    field: 'typing',
  },
  'presence.query': {
    valid: { type: 'presence.query', userIds: [USER] },
    invalid: { userIds: [] },
    field: 'userIds',
  },
};

/** Every server frame, the same way. */
const SERVER_EXAMPLES: Record<ServerFrameType, Example> = {
  ready: {
    valid: {
      type: 'ready',
      id: 'a1',
      protocolVersion: 1,
      user,
      capabilities,
      sessionId: MESSAGE,
      serverTime: AT,
      expiresAt: AT,
      limits: {
        maxFrameBytes: 98304,
        maxSubscriptions: 500,
        framesPerSecond: 50,
        frameBurst: 100,
        heartbeatIntervalMs: 30000,
        typingThrottleMs: 3000,
        typingExpiryMs: 6000,
      },
    },
    invalid: { capabilities: { ...capabilities, manageUsers: 'no' } },
    field: 'capabilities',
  },
  reauthenticated: {
    valid: { type: 'reauthenticated', expiresAt: AT },
    invalid: { expiresAt: 'soon' },
    field: 'expiresAt',
  },
  pong: { valid: { type: 'pong', id: 'p', serverTime: AT }, invalid: { serverTime: 1 }, field: 'serverTime' },
  subscribed: {
    valid: { type: 'subscribed', roomId: ROOM, fromSeq: 0, room },
    invalid: { room: {} },
    field: 'room',
  },
  unsubscribed: {
    valid: { type: 'unsubscribed', roomId: ROOM, reason: 'access_lost' },
    invalid: { reason: 'bored' },
    field: 'reason',
  },
  events: {
    valid: {
      type: 'events',
      roomId: ROOM,
      events: [{ type: 'message.created', ...event, payload: { message } }],
      hasMore: false,
    },
    invalid: { events: [{ type: 'message.created', ...event, payload: {} }] },
    field: 'events',
  },
  ack: {
    valid: { type: 'ack', id: 's1', clientMessageId: 'c1', message, seq: 3 },
    invalid: { message: { ...message, text: undefined } },
    // A union: no single option fits, so the issue is on the frame.
    field: '',
  },
  'typing.updated': {
    valid: { type: 'typing.updated', roomId: ROOM, userId: USER, typing: false },
    invalid: { userId: 'bob' },
    field: 'userId',
  },
  'message.delta': {
    valid: {
      type: 'message.delta',
      roomId: ROOM,
      streamId: 's',
      replyTo: MESSAGE,
      threadRootId: null,
      authorId: USER,
      text: 'Hel',
      done: true,
    },
    invalid: { done: false },
    field: 'done',
  },
  'presence.updated': {
    valid: { type: 'presence.updated', userId: USER, status: 'away' },
    invalid: { status: 'busy' },
    field: 'status',
  },
  'presence.state': {
    valid: { type: 'presence.state', id: 'q', statuses: { [USER]: 'online' } },
    invalid: { statuses: { [USER]: 'busy' } },
    field: 'statuses',
  },
  'read.updated': {
    valid: { type: 'read.updated', roomId: ROOM, userId: USER, lastReadMessageId: MESSAGE },
    invalid: { lastReadMessageId: 3 },
    field: 'lastReadMessageId',
  },
  'room.created': {
    valid: { type: 'room.created', room, memberIds: [USER] },
    invalid: { memberIds: USER },
    field: 'memberIds',
  },
  'room.rights': {
    valid: {
      type: 'room.rights',
      roomId: ROOM,
      rights: {
        manage: true,
        rename: false,
        invite: false,
        setRoles: false,
        removeRoles: ['member'],
        changeSettings: false,
        moderate: true,
      },
    },
    invalid: { rights: { manage: true } },
    field: 'rights',
  },
  'account.updated': {
    valid: { type: 'account.updated', user, capabilities },
    invalid: { capabilities: { createRooms: 'yes' } },
    field: 'capabilities',
  },
  'project.created': {
    valid: { type: 'project.created', project: PROJECT },
    invalid: { project: { ...PROJECT, status: 'gone' } },
    field: 'project',
  },
  'project.updated': {
    valid: { type: 'project.updated', project: PROJECT },
    invalid: { project: { ...PROJECT, name: '' } },
    field: 'project',
  },
  'ticket.created': {
    valid: { type: 'ticket.created', ticket: TICKET },
    invalid: { ticket: { ...TICKET, priority: 'whenever' } },
    field: 'ticket',
  },
  'ticket.updated': {
    valid: { type: 'ticket.updated', ticket: TICKET },
    invalid: { ticket: { ...TICKET, dueDate: 'soon' } },
    field: 'ticket',
  },
  'workflow.run.updated': {
    valid: {
      type: 'workflow.run.updated',
      run: {
        id: MESSAGE,
        workflowId: 'invoice-intake',
        workflowVersion: 2,
        status: 'failed',
        actorId: USER,
        trigger: { text: 'go' },
        error: { name: 'StepError', message: 'no', code: 'timeout', stepId: 'fetch' },
        createdAt: AT,
        startedAt: AT,
        finishedAt: AT,
        updatedAt: AT,
      },
    },
    invalid: { run: { status: 'done' } },
    field: 'run',
  },
  'workflow.step.updated': {
    valid: {
      type: 'workflow.step.updated',
      runId: MESSAGE,
      step: {
        stepId: 'fetch',
        position: 0,
        type: 'http.request',
        status: 'skipped',
        attempts: 0,
        output: null,
        error: null,
        startedAt: null,
        finishedAt: null,
        updatedAt: AT,
      },
    },
    invalid: { step: null },
    field: 'step',
  },
  error: {
    valid: {
      type: 'error',
      id: 's1',
      code: 'busy',
      message: 'try again',
      details: { issues: [] },
      retryable: true,
      retryAfterMs: 500,
    },
    invalid: { code: 'oops' },
    field: 'code',
  },
  'message.created': {
    valid: { type: 'message.created', ...event, payload: { message } },
    invalid: { seq: 0 },
    field: 'seq',
  },
  'message.updated': {
    valid: { type: 'message.updated', ...event, payload: { message } },
    invalid: { payload: {} },
    field: 'payload',
  },
  'message.deleted': {
    valid: {
      type: 'message.deleted',
      ...event,
      payload: { message: { ...message, text: '', deletedAt: AT } },
    },
    invalid: { createdAt: 'yesterday' },
    field: 'createdAt',
  },
  'reaction.added': {
    valid: { type: 'reaction.added', ...event, payload: reaction },
    invalid: { roomId: 1 },
    field: 'roomId',
  },
  'reaction.removed': {
    valid: { type: 'reaction.removed', ...event, payload: reaction },
    invalid: { payload: { ...reaction, userId: 'x' } },
    field: 'payload',
  },
  'room.updated': {
    valid: { type: 'room.updated', ...event, payload: { room } },
    invalid: { payload: { room: null } },
    field: 'payload',
  },
  'member.joined': {
    valid: { type: 'member.joined', ...event, payload: { membership } },
    invalid: { payload: { membership: { ...membership, role: 'king' } } },
    field: 'payload',
  },
  'member.left': {
    valid: { type: 'member.left', ...event, payload: { roomId: ROOM, userId: USER } },
    invalid: { payload: { roomId: ROOM } },
    field: 'payload',
  },
  'member.updated': {
    valid: {
      type: 'member.updated',
      ...event,
      payload: { membership: { ...membership, role: 'moderator' } },
    },
    invalid: { payload: { membership: { ...membership, muted: 'no' } } },
    field: 'payload',
  },
};

function firstPathSegment(issues: { path: (string | number)[] }[]): string {
  return String(issues[0]?.path[0] ?? '');
}

describe('@kaiwa/protocol: client frames', () => {
  it('has an example of every type', () => {
    expect(Object.keys(CLIENT_EXAMPLES).sort()).toEqual(Object.keys(ClientFrameSchemas).sort());
  });

  it.each(Object.entries(CLIENT_EXAMPLES))(
    '%s: parses a valid frame and refuses a broken one',
    (_type, example) => {
      const parsed = parseClientFrame(JSON.parse(JSON.stringify(example.valid)));
      expect(parsed).toMatchObject({ ok: true, frame: example.valid });
      const broken = parseClientFrame({ ...example.valid, ...example.invalid });
      expect(broken.ok).toBe(false);
      if (broken.ok) return;
      expect(broken.unknownType).toBe(false);
      expect(firstPathSegment(broken.issues)).toBe(example.field);
    },
  );

  it('fills in defaults: fetch without a limit asks for 100', () => {
    expect(parseClientFrame({ type: 'fetch', roomId: ROOM, afterSeq: 5 })).toEqual({
      ok: true,
      frame: { type: 'fetch', roomId: ROOM, afterSeq: 5, limit: 100 },
    });
  });

  it('refuses what is not a frame, and names an unknown type', () => {
    expect(parseClientFrame([])).toMatchObject({ ok: false, issues: [{ path: [] }] });
    expect(parseClientFrame({ id: 1 })).toMatchObject({ ok: false, issues: [{ path: ['type'] }] });
    expect(parseClientFrame({ type: 'toString' })).toMatchObject({ ok: false, unknownType: true });
    expect(parseClientFrame({ type: 'ready' })).toMatchObject({ ok: false, unknownType: true });
  });
});

describe('@kaiwa/protocol: server frames', () => {
  it('has an example of every type', () => {
    expect(Object.keys(SERVER_EXAMPLES).sort()).toEqual(Object.keys(ServerFrameSchemas).sort());
  });

  it.each(Object.entries(SERVER_EXAMPLES))(
    '%s: parses a valid frame and refuses a broken one',
    (_type, example) => {
      const parsed = parseServerFrame(JSON.parse(JSON.stringify(example.valid)));
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
      expect(parsed.frame).toEqual(example.valid);
      const broken = parseServerFrame({ ...example.valid, ...example.invalid });
      expect(broken.ok).toBe(false);
      if (broken.ok) return;
      expect(firstPathSegment(broken.issues)).toBe(example.field);
    },
  );

  it('parses every kind of ack', () => {
    for (const ack of [
      { type: 'ack', clientMessageId: 'c1', message, seq: 3 },
      { type: 'ack', message },
      { type: 'ack', roomId: ROOM, lastReadMessageId: null },
    ]) {
      expect(parseServerFrame(ack)).toEqual({ ok: true, frame: ack });
    }
  });

  it('tells a frame of a newer server (unknown type) from a broken one', () => {
    expect(parseServerFrame({ type: 'something.new', x: 1 })).toMatchObject({ ok: false, unknownType: true });
  });
});

describe('@kaiwa/protocol: shared values', () => {
  it('lists the same room events as @kaiwa/core, with the same shape', () => {
    expect([...ROOM_EVENT_TYPES].sort()).toEqual([...CORE_ROOM_EVENT_TYPES].sort());
    for (const type of ROOM_EVENT_TYPES) expect(isRoomEventType(type)).toBe(true);
    expect(isRoomEventType('ready')).toBe(false);
    expectTypeOf<RoomEventFrame>().toEqualTypeOf<RoomEvent>();
  });

  it('has no capability set by default, and every capability is a boolean', () => {
    expect(CapabilitiesSchema.parse(NO_CAPABILITIES)).toEqual(NO_CAPABILITIES);
    expect(Object.values(NO_CAPABILITIES).every((value) => value === false)).toBe(true);
    expect(Object.keys(NO_CAPABILITIES).sort()).toEqual(Object.keys(CapabilitiesSchema.shape).sort());
  });

  it("describes room rights as @kaiwa/core's roomRightsOf computes them, and refuses a role that is none", () => {
    expectTypeOf<RoomRights>().toEqualTypeOf<CoreRoomRights>();
    const admin = { id: USER, role: 'admin' } as User;
    const rights = permissions.roomRightsOf(
      admin,
      { id: ROOM, kind: 'group', archived: false } as Room,
      undefined,
    );
    expect(RoomRightsSchema.parse(rights)).toEqual(rights);
    expect(Object.keys(RoomRightsSchema.shape).sort()).toEqual(Object.keys(rights).sort());
    expect(RoomRightsSchema.safeParse({ ...rights, removeRoles: ['admin'] }).success).toBe(false);
  });

  it('has unique error codes', () => {
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
  });
});
