// Kept here for callers that imported it from this package before it moved to core.
export { retryAfterMs } from '@kaiwa/core';
export {
  createTeamsAdapter,
  TeamsAdapter,
  type TeamsSettings,
  teamsAdapterDescriptor,
} from './teams-adapter.js';
export { type TeamsAdapterConfig, teamsSettingsSchema, upgradeTeamsSettings } from './teams-config.js';
export {
  parseTeams,
  renderTeams,
  splitForTeams,
  TEAMS_TEXT_LIMIT,
  type TeamsMentionLookup,
  type TeamsRendered,
} from './teams-format.js';
export {
  normaliseActivity,
  splitConversationId,
  TEAMS_REACTIONS,
  type TeamsActivity,
  type TeamsInboundContext,
} from './teams-inbound.js';
