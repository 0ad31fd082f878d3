import type { PluginMessage } from '@kaiwa/plugin-sdk';
import type { PluginKeyValueStore } from './key-value-store.js';

/** A room as the capability checks need it. */
export interface PluginRoom {
  id: string;
  /** A channel's name, matched against the manifest's `rooms` beside the id. */
  name?: string;
  /** Whether the plugin's bot user is a member (`roomsAddedTo`). */
  pluginIsMember: boolean;
}

/**
 * Everything the plugin host needs from Kaiwa. Each plugin acts as its own bot user, so the server wires these
 * to `ChatEngine` with that user as the actor: the engine stays the one way into chat data and applies its own
 * permission checks after the host has applied the manifest's.
 *
 * @example
 * const ports: PluginHostPorts = {
 *   postMessage: async ({ pluginId, roomId, text, threadRootId }) => {
 *     const message = await engine.sendMessage(botUserIds[pluginId], { roomId, text, threadRootId });
 *     return { messageId: message.id };
 *   },
 *   readMessages: async ({ pluginId, roomId, limit }) =>
 *     (await engine.history(botUserIds[pluginId], { roomId, limit })).messages.map(toPluginMessage),
 *   describeRoom: async ({ pluginId, roomId }) => {
 *     const room = await engine.getRoom(SYSTEM, roomId).catch(() => undefined);
 *     if (!room) return undefined;
 *     const membership = await engine.findMembership(SYSTEM, roomId, botUserIds[pluginId]);
 *     return { id: room.id, name: room.name, pluginIsMember: membership !== undefined };
 *   },
 *   storage: createMemoryKeyValueStore(),
 * };
 */
export interface PluginHostPorts {
  /** Posts `text` in the room as the plugin's bot user. */
  postMessage(input: { pluginId: string; roomId: string; text: string; threadRootId?: string }): Promise<{
    messageId: string;
  }>;
  /** The room's latest messages, newest first, as the plugin's bot user may read them. */
  readMessages(input: { pluginId: string; roomId: string; limit: number }): Promise<PluginMessage[]>;
  /** The room, or `undefined` when it does not exist. */
  describeRoom(input: { pluginId: string; roomId: string }): Promise<PluginRoom | undefined>;
  storage: PluginKeyValueStore;
}
