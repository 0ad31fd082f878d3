import { ChatEngine, type ChatStore, NotFoundError, type Room, type User } from '@kaiwa/core';

/**
 * A small conversation driven through the engine: two people, a channel, a few messages, a thread and a
 * reaction, then the history as a transcript. Safe to run again on the same database: it reuses the people
 * and the room and adds to the conversation.
 */
export async function runEmbeddedChat(store: ChatStore): Promise<string[]> {
  const engine = new ChatEngine({ store });
  const lines: string[] = [];
  engine.events.on('message.created', ({ seq, payload }) => {
    lines.push(`  [event #${seq}] message.created ${payload.message.id}`);
  });
  try {
    const alice = await findOrCreateUser(engine, 'alice', 'Alice');
    const taro = await findOrCreateUser(engine, 'taro', '山田太郎');
    const room = await findOrCreateChannel(engine, alice, taro, 'general');

    const hello = await engine.sendMessage(alice.id, {
      roomId: room.id,
      text: `Hello @taro! Shall we plan the launch here?`,
      clientMessageId: `hello-${Date.now()}`,
    });
    await engine.sendMessage(taro.id, {
      roomId: room.id,
      text: 'はい、もちろん！スレッドで話しましょう。',
      threadRootId: hello.id,
    });
    await engine.sendMessage(alice.id, {
      roomId: room.id,
      text: 'Great — first item: the docs.',
      threadRootId: hello.id,
    });
    await engine.addReaction(taro.id, hello.id, '🎉');
    await engine.sendMessage(taro.id, { roomId: room.id, text: 'Launch is on Friday 🚀' });

    const names = new Map([alice, taro].map((user) => [user.id, user.displayName]));
    const history = await engine.history(alice.id, { roomId: room.id, limit: 10 });
    lines.push(
      `#${room.name} — latest ${history.messages.length} messages${history.hasMore ? ' (older ones exist)' : ''}:`,
    );
    for (const message of history.messages) {
      const reactions = message.reactions.map((r) => ` ${r.emoji}×${r.count}`).join('');
      lines.push(
        `${message.createdAt.slice(11, 19)} ${names.get(message.authorId)}: ${message.text}${reactions}`,
      );
      if (message.replyCount > 0) {
        const thread = await engine.history(alice.id, {
          roomId: room.id,
          threadRootId: message.id,
          limit: 3,
        });
        for (const reply of thread.messages) lines.push(`    ↳ ${names.get(reply.authorId)}: ${reply.text}`);
      }
    }
    const unread = await engine.unreadCounts(taro.id);
    lines.push(`unread for ${taro.displayName}: ${unread[room.id]}`);
    const found = await engine.search(taro.id, { query: 'スレッド' });
    lines.push(`search "スレッド": ${found.length} match(es), newest: "${found[0]?.text}"`);
    return lines;
  } finally {
    engine.close();
  }
}

async function findOrCreateUser(engine: ChatEngine, username: string, displayName: string): Promise<User> {
  try {
    return await engine.getUserByUsername(username);
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
    return engine.createUser({ username, displayName });
  }
}

async function findOrCreateChannel(
  engine: ChatEngine,
  owner: User,
  member: User,
  name: string,
): Promise<Room> {
  const existing = (await engine.listRooms(owner.id)).find((summary) => summary.room.name === name);
  if (existing) return existing.room;
  return engine.createRoom(owner.id, { kind: 'channel', name, topic: 'Everything', memberIds: [member.id] });
}
