import type { AdaptiveCard, TeamsMentionEntity } from '@kaiwa/platform-format';
import { fromTeams, PLATFORM_TEXT_LIMITS, splitMarkdown, toTeams } from '@kaiwa/platform-format';

/*
 * Every text conversion of the Teams adapter goes through this file: Kaiwa markdown → Teams text, an
 * Adaptive Card and mention entities, and Teams text (with `<at>` tags) back to Kaiwa markdown.
 */

/** Teams' message size limit as `toTeams` measures it. */
export const TEAMS_TEXT_LIMIT = PLATFORM_TEXT_LIMITS.teams;

export interface TeamsRendered {
  text: string;
  card: AdaptiveCard;
  entities: TeamsMentionEntity[];
}

/** Looks up the Teams account of a Kaiwa `@username`. */
export type TeamsMentionLookup = (username: string) => { id: string; name: string } | undefined;

/** Kaiwa markdown → Teams text, card and mention entities. */
export function renderTeams(markdown: string, mention?: TeamsMentionLookup): TeamsRendered {
  return toTeams(markdown, mention ? { mention } : {});
}

/** Teams message text (`<at>Name</at>` mentions, light HTML) → Kaiwa markdown. */
export function parseTeams(
  text: string,
  entities: TeamsMentionEntity[],
  userName?: (id: string) => string | undefined,
): string {
  if (text === '') return '';
  return fromTeams(text, { entities, ...(userName ? { userName } : {}) });
}

/** Kaiwa markdown in parts that each render within {@link TEAMS_TEXT_LIMIT}. */
export function splitForTeams(markdown: string): string[] {
  const parts = splitMarkdown(markdown, 'teams');
  return parts.length > 0 ? parts : [''];
}
