import { type RoomRights as CoreRoomRights, MemberRoleSchema } from '@kaiwa/core';
import { z } from 'zod';

/**
 * What the signed-in user may do in one room, so clients show only the controls that will work: sent with
 * each room of the room list (`GET /rooms`), with the room's members (`GET /rooms/:roomId/members`), and in a
 * `room.rights` frame whenever they change (my role in the room changed, the room was archived or unarchived). The server computes it with @kaiwa/core's
 * `roomRightsOf`, from the rules the engine enforces; the server still checks every request. Account-wide
 * rights are in `ready`'s capabilities.
 *
 * @example
 * const { members, rights } = await rest.listMembers(roomId);
 * const removable = members.filter((member) => rights?.removeRoles.includes(member.role));
 */
export const RoomRightsSchema = z
  .object({
    manage: z
      .boolean()
      .describe(
        'archive or unarchive the room; while it is not archived, also rename it and change its topic',
      ),
    rename: z.boolean().describe('rename the room or change its topic now (managers, while not archived)'),
    invite: z.boolean().describe('add someone to the room'),
    setRoles: z.boolean().describe('make members owners, moderators or members'),
    removeRoles: z
      .array(MemberRoleSchema)
      .describe('whom I may remove from the room, by their membership role'),
    changeSettings: z.boolean().describe("change the room's own settings: the assistant's, voice, knowledge"),
    moderate: z
      .boolean()
      .describe("moderate other people's messages: delete them, ask for a voice message's transcript again"),
  })
  .describe('what I may do in this room') satisfies z.ZodType<CoreRoomRights>;

export type RoomRights = z.infer<typeof RoomRightsSchema>;
