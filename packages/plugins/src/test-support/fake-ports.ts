import type { PluginMessage } from '@kaiwa/plugin-sdk';
import { createMemoryKeyValueStore } from '../key-value-store.js';
import type { PluginHostPorts, PluginRoom } from '../plugin-host-ports.js';

/** Ports over a few rooms in memory, recording every message plugins post. */
export function createFakePorts(rooms: PluginRoom[] = []) {
  const posted: { pluginId: string; roomId: string; text: string; threadRootId?: string }[] = [];
  const ports: PluginHostPorts = {
    async postMessage(input) {
      posted.push(input);
      return { messageId: `message-${posted.length}` };
    },
    async readMessages({ roomId, limit }): Promise<PluginMessage[]> {
      return posted
        .filter((message) => message.roomId === roomId)
        .slice(-limit)
        .reverse()
        .map((message, index) => ({
          id: `message-${index}`,
          roomId,
          authorId: message.pluginId,
          text: message.text,
          createdAt: new Date(0).toISOString(),
        }));
    },
    async describeRoom({ roomId }) {
      return rooms.find((room) => room.id === roomId);
    },
    storage: createMemoryKeyValueStore(),
  };
  return { ports, posted };
}
