// Kept here for callers that imported it from this package before it moved to core.
export { retryAfterMs } from '@kaiwa/core';
export {
  createTeamsAdapter,
  TeamsAdapter,
  type TeamsAdapterConfig,
  type TeamsWebhookRequest,
  type TeamsWebhookResponse,
} from './teams-adapter.js';
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
