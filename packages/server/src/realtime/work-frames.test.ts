import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Chat, type Frame, openChat, type Served, serve, sleep, TestClient } from './test-support.js';

/*
 * Projects and tickets over the WebSocket: the engine's `project.*` / `ticket.*` events reach every connection
 * of a user who may read work (everyone but guests), unless the client asked not to get them (real engine,
 * real store, real sockets).
 */

describe('realtime: project and ticket frames', () => {
  let chat: Chat;
  let served: Served | undefined;

  beforeEach(async () => {
    chat = await openChat();
    const guest = await chat.engine.createUser({ username: 'gus', role: 'guest' });
    chat.tokens.set('token-gus', guest);
  });

  afterEach(async () => {
    await served?.stop();
    served = undefined;
    await chat.close();
  });

  const isWork = (frame: Frame) => frame.type.startsWith('project.') || frame.type.startsWith('ticket.');

  it('sends project and ticket changes to members, not to guests nor to clients that turned them off', async () => {
    served = await serve(chat);
    const bob = await TestClient.as(served.url, 'token-bob');
    const gus = await TestClient.as(served.url, 'token-gus');
    const quiet = await TestClient.as(served.url, 'token-carol', { work: false });

    const project = await chat.engine.createProject(chat.alice.id, { name: 'Launch' });
    const ticket = await chat.engine.createTicket(chat.alice.id, { projectId: project.id, title: 'Ship v2' });
    const moved = await chat.engine.updateTicket(chat.alice.id, ticket.id, { status: 'in_progress' });
    const renamed = await chat.engine.updateProject(chat.alice.id, project.id, { name: 'Launch v2' });

    await bob.waitFor((frame) => frame.type === 'project.updated');
    await sleep(50);
    expect(bob.frames.filter(isWork)).toEqual([
      { type: 'project.created', project },
      { type: 'ticket.created', ticket },
      { type: 'ticket.updated', ticket: moved },
      { type: 'project.updated', project: renamed },
    ]);
    expect(gus.frames.filter(isWork)).toEqual([]);
    expect(quiet.frames.filter(isWork)).toEqual([]);
  });
});
