import { z } from 'zod';

/**
 * What the signed-in user may do, sent in `ready` so clients show only what will work instead of
 * re-encoding the server's permission rules (`role !== 'guest'`…). The server computes it from
 * @kaiwa/core's `permissions`; the server still checks every request, so these only shape the interface.
 * Rights that depend on a room (inviting, managing a room) are `RoomRights`, sent with the room's members.
 * New capabilities may be added (clients treat a missing one as false); none is removed within a
 * protocol version.
 */
export const CapabilitiesSchema = z.object({
  /** Create channels, groups and direct conversations. Everyone but guests. */
  createRooms: z.boolean(),
  /** Browse public channels and join them. Everyone but guests. */
  joinChannels: z.boolean(),
  /** List the whole user directory (`GET /users`), to start a conversation with anyone. Everyone but guests. */
  listUsers: z.boolean(),
  /** Delete other people's messages in every room they can read, as global staff. Admins and moderators. */
  moderateMessages: z.boolean(),
  /** Projects, tickets and their files. Everyone but guests. */
  useProjects: z.boolean(),
  /** See the workflows and start runs of them. Everyone but guests. */
  startWorkflows: z.boolean(),
  /** Define workflows and new versions of them. Admins. */
  defineWorkflows: z.boolean(),
  /** See and cancel every workflow run, not only the ones they started. Admins. */
  seeAllWorkflowRuns: z.boolean(),
  /** Create, change, deactivate accounts and bots and their API keys. Admins. */
  manageUsers: z.boolean(),
  /** See the installed plugins, start and stop them. Admins. */
  managePlugins: z.boolean(),
});

export type Capabilities = z.infer<typeof CapabilitiesSchema>;

export type Capability = keyof Capabilities;
