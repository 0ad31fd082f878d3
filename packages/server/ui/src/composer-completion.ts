/*
 * What the composer suggests while one types: `@` people (and `@room`, `@here`), `#` rooms, `:` plus two
 * letters emoji by shortcode, `/` at the start commands. Pure functions over plain lists, so they are
 * tested in Node; the Autocomplete component feeds them the chat state.
 */
import { type EmojiEntry, searchEmoji } from './emoji-data';
import { t } from './i18n';

export type CompletionKind = 'mention' | 'room' | 'emoji' | 'command';

/** The word being completed: where it starts and ends in the text, and what was typed after its sign. */
export interface CompletionTrigger {
  kind: CompletionKind;
  query: string;
  start: number;
  end: number;
}

/** One row of the list. */
export interface Suggestion {
  key: string;
  /** What the row shows first: `@ada`, `#general`, `🎉 :tada:`, `/run deploy`. */
  label: string;
  /** The greyer second part: the display name, the room topic, the command's description. */
  detail?: string;
  /** An emoji shown before the label, for emoji rows. */
  emoji?: string;
  /** The text that replaces the trigger. */
  insert: string;
}

/** Only these characters may come before a sign, so `a@b.c` and `12:30` do not open the list. */
const BEFORE = String.raw`(?:^|[\s(\[{"'])`;
const MENTION = new RegExp(`${BEFORE}@([\\p{L}\\p{N}_.-]*)$`, 'u');
const ROOM = new RegExp(`${BEFORE}#([\\p{L}\\p{N}_-]*)$`, 'u');
const EMOJI = new RegExp(`${BEFORE}:([a-z0-9_+-]{2,})$`, 'i');
const COMMAND = /^\/([a-z0-9_-]*(?: [a-z0-9_-]*)?)$/i;

/**
 * The completion the caret is in, if any.
 *
 * @example findTrigger('hi @ad', 6) // { kind: 'mention', query: 'ad', start: 3, end: 6 }
 */
export function findTrigger(text: string, caret: number): CompletionTrigger | null {
  const before = text.slice(0, caret);
  const command = COMMAND.exec(before);
  if (command) return { kind: 'command', query: command[1] ?? '', start: 0, end: caret };
  for (const [kind, pattern] of [
    ['mention', MENTION],
    ['room', ROOM],
    ['emoji', EMOJI],
  ] as const) {
    const match = pattern.exec(before);
    if (match) {
      const query = match[1] ?? '';
      return { kind, query, start: caret - query.length - 1, end: caret };
    }
  }
  return null;
}

/** The text with the trigger replaced, and where the caret goes after the inserted part. */
export function applyCompletion(
  text: string,
  trigger: CompletionTrigger,
  insert: string,
): { text: string; caret: number } {
  let rest = text.slice(trigger.end);
  if (insert.endsWith(' ') && rest.startsWith(' ')) rest = rest.slice(1);
  return { text: text.slice(0, trigger.start) + insert + rest, caret: trigger.start + insert.length };
}

export interface PersonOption {
  id: string;
  username: string;
  displayName: string;
}

const SPECIAL_MENTIONS: Suggestion[] = [
  {
    key: '@room',
    label: '@room',
    get detail() {
      return t('completion.notifyRoom');
    },
    insert: '@room ',
  },
  {
    key: '@here',
    label: '@here',
    get detail() {
      return t('completion.notifyHere');
    },
    insert: '@here ',
  },
];

/**
 * People whose username or a word of whose display name starts with the query, room members first, then
 * `@room` and `@here`.
 */
export function suggestPeople(
  query: string,
  people: readonly PersonOption[],
  options: { meId?: string; memberIds?: ReadonlySet<string>; limit?: number } = {},
): Suggestion[] {
  const needle = query.toLowerCase();
  const limit = options.limit ?? 8;
  const matches = people.filter(
    (person) =>
      person.id !== options.meId &&
      (person.username.toLowerCase().startsWith(needle) || wordStarts(person.displayName, needle)),
  );
  const member = (person: PersonOption) => (options.memberIds?.has(person.id) ? 0 : 1);
  matches.sort(
    (a, b) =>
      member(a) - member(b) ||
      Number(!a.username.toLowerCase().startsWith(needle)) -
        Number(!b.username.toLowerCase().startsWith(needle)) ||
      a.displayName.localeCompare(b.displayName),
  );
  const rows = matches.map((person) => ({
    key: person.id,
    label: person.displayName,
    detail: `@${person.username}`,
    insert: `@${person.username} `,
  }));
  const special = SPECIAL_MENTIONS.filter((each) => each.key.slice(1).startsWith(needle));
  return [...rows.slice(0, limit - special.length), ...special].slice(0, limit);
}

export interface RoomOption {
  id: string;
  name: string;
  topic?: string | null;
}

/** Rooms with a name (channels and groups) whose name starts with, then contains, the query. */
export function suggestRooms(query: string, rooms: readonly RoomOption[], limit = 8): Suggestion[] {
  const needle = query.toLowerCase();
  return rooms
    .filter((room) => room.name.toLowerCase().includes(needle))
    .sort(
      (a, b) =>
        Number(!a.name.toLowerCase().startsWith(needle)) - Number(!b.name.toLowerCase().startsWith(needle)) ||
        a.name.localeCompare(b.name),
    )
    .slice(0, limit)
    .map((room) => ({
      key: room.id,
      label: `#${room.name}`,
      ...(room.topic ? { detail: room.topic } : {}),
      insert: `#${room.name} `,
    }));
}

/** Emoji for `:query`, inserted as the character itself (every client shows it, known shortcode or not). */
export function suggestEmoji(query: string, list: readonly EmojiEntry[], limit = 8): Suggestion[] {
  return searchEmoji(list, query, limit).map((entry) => ({
    key: entry.emoji,
    label: `:${entry.shortcodes.find((code) => code.startsWith(query.toLowerCase())) ?? entry.shortcodes[0] ?? entry.label}:`,
    detail: entry.label,
    emoji: entry.emoji,
    insert: `${entry.emoji} `,
  }));
}

export interface CommandOption {
  /** What is typed after the slash: `run deploy`, `shrug`. */
  name: string;
  description: string;
  /** What replaces the typed command; `/name ` when absent. */
  insert?: string;
}

/** Commands the web chat itself understands: they change the text before it is sent. */
export const BUILT_IN_COMMANDS: CommandOption[] = [
  {
    name: 'shrug',
    // A getter: the description is read when the list is shown, in the language of that moment.
    get description() {
      return t('completion.shrug');
    },
    insert: '¯\\_(ツ)_/¯ ',
  },
];

/**
 * The `/run <name>` commands of the workflows started by a command (name defaults to the workflow id),
 * those bound to another room left out.
 */
export function workflowCommands(
  workflows: readonly { id: string; name: string; definition: Record<string, unknown> }[],
  roomId: string,
): CommandOption[] {
  const commands: CommandOption[] = [];
  for (const workflow of workflows) {
    const trigger = workflow.definition.trigger as
      | { type?: string; name?: string; roomId?: string }
      | undefined;
    if (trigger?.type !== 'command') continue;
    if (trigger.roomId !== undefined && trigger.roomId !== roomId) continue;
    commands.push({
      name: `run ${trigger.name ?? workflow.id}`,
      description: t('completion.runWorkflow', { name: workflow.name }),
    });
  }
  return commands;
}

/** Commands that start with what was typed after the slash. */
export function suggestCommands(query: string, commands: readonly CommandOption[], limit = 8): Suggestion[] {
  const needle = query.toLowerCase();
  return commands
    .filter((command) => command.name.startsWith(needle))
    .slice(0, limit)
    .map((command) => ({
      key: command.name,
      label: `/${command.name}`,
      detail: command.description,
      insert: command.insert ?? `/${command.name} `,
    }));
}

function wordStarts(text: string, needle: string): boolean {
  return text
    .toLowerCase()
    .split(/[\s._-]+/)
    .some((word) => word.startsWith(needle));
}
