import { NON_GUEST_ROLES, permissions, type User } from '@kaiwa/core';
import type { Capabilities } from '@kaiwa/protocol';

const nonGuest: ReadonlySet<string> = new Set(NON_GUEST_ROLES);

/**
 * What `user` may do, for the `ready` frame: from core's `permissions`, the same rules the engine and the
 * routes check, so clients need not spell them again.
 */
export function capabilitiesOf(user: User): Capabilities {
  const everyoneButGuests = nonGuest.has(user.role);
  return {
    createRooms: permissions.canCreateRoom(user),
    joinChannels: everyoneButGuests,
    listUsers: everyoneButGuests,
    moderateMessages: permissions.isStaff(user),
    useProjects: permissions.canReadWork(user),
    startWorkflows: everyoneButGuests,
    defineWorkflows: permissions.canDefineWorkflows(user),
    seeAllWorkflowRuns: permissions.canSeeEveryWorkflowRun(user),
    // The account routes are for admins; core's permissions have no rule of their own for them.
    manageUsers: user.role === 'admin',
    // As the plugin routes say: admins only.
    managePlugins: user.role === 'admin',
  };
}
