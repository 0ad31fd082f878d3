/*
 * @mentions in message text. A mention is `@` plus a username, at the start of the text or after a
 * character that cannot be part of a word or an e-mail address. Text inside code (`inline` or fenced
 * blocks) never mentions anybody.
 */

const CODE = /```[\s\S]*?(?:```|$)|`[^`\n]*`/g;
const MENTION = /(?<![\p{L}\p{N}_.@/-])@([a-z0-9][a-z0-9_.-]{0,31})/giu;

export interface ParsedMentions {
  /** Lower-case usernames, each once, in order of first appearance. */
  usernames: string[];
  room: boolean;
  here: boolean;
}

/** @example parseMentions('hi @Alice and @room') // { usernames: ['alice'], room: true, here: false } */
export function parseMentions(text: string): ParsedMentions {
  const withoutCode = text.replace(CODE, ' ');
  const usernames: string[] = [];
  let room = false;
  let here = false;
  for (const match of withoutCode.matchAll(MENTION)) {
    // A trailing dot or dash ends the sentence, not the name.
    const name = match[1]!.toLowerCase().replace(/[.-]+$/, '');
    if (name === 'room') room = true;
    else if (name === 'here') here = true;
    else if (name.length >= 2 && !usernames.includes(name)) usernames.push(name);
  }
  return { usernames, room, here };
}
