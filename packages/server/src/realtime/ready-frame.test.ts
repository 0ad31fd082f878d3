import { type Capabilities, PROTOCOL_VERSION, parseServerFrame } from '@kaiwa/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Chat, openChat, type Served, serve, TestClient } from './test-support.js';

describe('realtime: the ready frame', () => {
  let chat: Chat;
  let served: Served;

  beforeEach(async () => {
    chat = await openChat();
    for (const role of ['guest', 'moderator', 'admin'] as const) {
      chat.tokens.set(`token-${role}`, await chat.engine.createUser({ username: `a-${role}`, role }));
    }
    served = await serve(chat);
  });

  afterEach(async () => {
    await served.stop();
    await chat.close();
  });

  async function readyFor(token: string) {
    const client = await TestClient.connect(served.url);
    const ready = await client.request({ type: 'auth', token });
    await client.close();
    const parsed = parseServerFrame(ready);
    if (!parsed.ok)
      throw new Error(`ready does not match the shared schema: ${JSON.stringify(parsed.issues)}`);
    if (parsed.frame.type !== 'ready') throw new Error(`expected ready, got ${parsed.frame.type}`);
    return parsed.frame;
  }

  it('carries the protocol version and matches @kaiwa/protocol’s schema', async () => {
    const ready = await readyFor('token-alice');
    expect(ready.protocolVersion).toBe(PROTOCOL_VERSION);
    expect(ready.user.id).toBe(chat.alice.id);
  });

  it('tells a guest, a member, a moderator and an admin what each may do', async () => {
    const everyoneButGuests: Capabilities = {
      createRooms: true,
      joinChannels: true,
      listUsers: true,
      moderateMessages: false,
      useProjects: true,
      startWorkflows: true,
      defineWorkflows: false,
      seeAllWorkflowRuns: false,
      manageUsers: false,
      managePlugins: false,
    };
    expect((await readyFor('token-guest')).capabilities).toEqual({
      createRooms: false,
      joinChannels: false,
      listUsers: false,
      moderateMessages: false,
      useProjects: false,
      startWorkflows: false,
      defineWorkflows: false,
      seeAllWorkflowRuns: false,
      manageUsers: false,
      managePlugins: false,
    });
    expect((await readyFor('token-alice')).capabilities).toEqual(everyoneButGuests);
    expect((await readyFor('token-moderator')).capabilities).toEqual({
      ...everyoneButGuests,
      moderateMessages: true,
    });
    expect((await readyFor('token-admin')).capabilities).toEqual({
      createRooms: true,
      joinChannels: true,
      listUsers: true,
      moderateMessages: true,
      useProjects: true,
      startWorkflows: true,
      defineWorkflows: true,
      seeAllWorkflowRuns: true,
      manageUsers: true,
      managePlugins: true,
    });
  });
});
