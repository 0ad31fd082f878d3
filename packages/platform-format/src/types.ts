/** The platforms `splitMarkdown` knows the limits of. */
export type PlatformName = 'slack' | 'discord' | 'telegram' | 'teams';

/** Text limits per platform, in the units each platform counts (UTF-16 code units). */
export const PLATFORM_TEXT_LIMITS = {
  /** `text` of chat.postMessage; one `section` block holds at most 3000. */
  slack: 40000,
  slackSection: 3000,
  discord: 2000,
  telegram: 4096,
  teams: 28000,
} as const;

/** Looks up the platform id of a Kaiwa user (`@username`); `undefined` keeps the text `@username`. */
export type MentionIdLookup = (username: string) => string | undefined;
/** Looks up the platform id of a Kaiwa room (`#room-name`); `undefined` keeps the text `#room-name`. */
export type ChannelIdLookup = (name: string) => string | undefined;
/** Looks up the Kaiwa username of a platform user id; `undefined` keeps a plain-text fallback. */
export type UserNameLookup = (id: string) => string | undefined;
/** Looks up the Kaiwa room name of a platform channel id; `undefined` keeps a plain-text fallback. */
export type ChannelNameLookup = (id: string) => string | undefined;

export interface ToPlatformOptions {
  mentionId?: MentionIdLookup;
  channelId?: ChannelIdLookup;
}

export interface FromPlatformOptions {
  userName?: UserNameLookup;
  channelName?: ChannelNameLookup;
}

/** A Slack text object. */
export interface SlackTextObject {
  type: 'mrkdwn' | 'plain_text';
  text: string;
}

/** The Block Kit blocks `toSlack` produces: `section` (mrkdwn), `header`, `divider` and `rich_text`. */
export type SlackBlock =
  | { type: 'section'; text: SlackTextObject }
  | { type: 'divider' }
  | { type: 'header'; text: SlackTextObject }
  | { type: 'rich_text'; elements: unknown[] };

/** A Telegram Bot API `MessageEntity`; offsets and lengths in UTF-16 code units. */
export interface TelegramMessageEntity {
  type:
    | 'mention'
    | 'hashtag'
    | 'cashtag'
    | 'bot_command'
    | 'url'
    | 'email'
    | 'phone_number'
    | 'bold'
    | 'italic'
    | 'underline'
    | 'strikethrough'
    | 'spoiler'
    | 'blockquote'
    | 'expandable_blockquote'
    | 'code'
    | 'pre'
    | 'text_link'
    | 'text_mention'
    | 'custom_emoji'
    | (string & {});
  offset: number;
  length: number;
  url?: string;
  user?: {
    id: number | string;
    is_bot?: boolean;
    first_name?: string;
    last_name?: string;
    username?: string;
  };
  language?: string;
  custom_emoji_id?: string;
}

/** A Teams mention entity, sent beside the text and in the card's `msteams.entities`. */
export interface TeamsMentionEntity {
  type: 'mention';
  text: string;
  mentioned: { id: string; name: string };
}

/** An Adaptive Card element produced by `toTeams` (a subset of the v1.5 schema). */
export type AdaptiveCardElement =
  | {
      type: 'TextBlock';
      text: string;
      wrap: true;
      fontType?: 'Monospace' | 'Default';
      weight?: 'Bolder' | 'Default';
      size?: 'Large' | 'Medium' | 'Default';
      isSubtle?: boolean;
    }
  | { type: 'Container'; items: AdaptiveCardElement[]; style?: 'emphasis' | 'default'; separator?: boolean };

/** An Adaptive Card v1.5 as `toTeams` builds it. */
export interface AdaptiveCard {
  type: 'AdaptiveCard';
  $schema: 'http://adaptivecards.io/schemas/adaptive-card.json';
  version: '1.5';
  body: AdaptiveCardElement[];
  msteams?: { entities: TeamsMentionEntity[]; width?: 'Full' };
}

export interface ToTeamsOptions {
  /** The Teams identity of a Kaiwa user; `undefined` keeps the text `@username`. */
  mention?: (username: string) => { id: string; name: string } | undefined;
}

export interface FromTeamsOptions {
  /** The mention entities of the activity; `<at>` tags are matched to them by text. */
  entities?: TeamsMentionEntity[];
  /** The Kaiwa username of a mentioned Teams user (by `mentioned.id`); otherwise `@Name` stays text. */
  userName?: UserNameLookup;
}
