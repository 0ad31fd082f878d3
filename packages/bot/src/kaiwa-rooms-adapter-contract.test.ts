import { ChatEngine, InProcessBus, type Message } from '@kaiwa/core';
import { platformAdapterContract } from '@kaiwa/core/testing';
import { createSqliteStore } from '@kaiwa/store-kysely';
import { KaiwaRoomsAdapter } from './kaiwa-rooms-adapter.js';

/*
 * The PlatformAdapter contract on Kaiwa's own rooms: a real ChatEngine on SQLite is the platform side,
 * alice (a person) sends the inbound messages, and Kaiwa markdown is the platform's own format, kept verbatim.
 */

const RESUME_KEY = 'contract';

platformAdapterContract({
  name: 'Kaiwa rooms',
  skipTests: {
    'retry-after':
      'the engine is called in-process and never answers 429; there is no Retry-After to wait out',
  },
  create: async (sink) => {
    const store = await createSqliteStore({ filename: ':memory:' });
    await store.migrate();
    const engine = new ChatEngine({ store, bus: new InProcessBus() });
    const bot = await engine.createUser({ username: 'helper' });
    const alice = await engine.createUser({ username: 'alice' });
    const room = await engine.createRoom(alice.id, { kind: 'channel', name: 'lobby', memberIds: [bot.id] });
    const adapter = new KaiwaRoomsAdapter({
      engine,
      botUserId: bot.id,
      resumeKey: RESUME_KEY,
      onError: () => {},
    });
    await adapter.connect(sink);
    let last: Message | undefined;
    return {
      adapter,
      target: { channelId: room.id },
      async deliverInbound(text) {
        last = await engine.sendMessage(alice.id, { roomId: room.id, text });
      },
      // A restart after the inbox recorded the event but before the cursor moved past it: the adapter
      // hands the same room event on again.
      async redeliverLast() {
        if (last === undefined) throw new Error('nothing delivered yet');
        await adapter.idle();
        await adapter.disconnect();
        await store.roomSettings.set(
          room.id,
          `platform-cursor:${bot.id}:${RESUME_KEY}`,
          last.seq - 1,
          new Date().toISOString(),
        );
        await adapter.connect(sink);
      },
      rateLimitNext() {
        throw new Error('Kaiwa rooms have no rate limit to simulate');
      },
      async platformMessage(ref) {
        const message = await engine.getMessage(bot.id, ref.messageId);
        if (message.deletedAt !== null) return undefined;
        return {
          text: message.text,
          reactions: message.reactions
            .filter((reaction) => reaction.userIds.includes(bot.id))
            .map((reaction) => reaction.emoji),
        };
      },
      toPlatformText: (markdown) => markdown,
      async close() {
        await adapter.disconnect();
        engine.close();
        await store.close();
      },
    };
  },
});
