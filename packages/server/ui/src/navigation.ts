/*
 * Getting around the chat: permalinks to messages, the room last shown, jumps to a message (from a search
 * result or a permalink), the open/closed state of the search and the room switcher, and the pure text
 * helpers behind them (highlighted search words, room filtering). No components here, so it is tested in
 * Node; the views live in components/SearchPanel.tsx, RoomSwitcher.tsx and TimelineNavigation.tsx.
 */

// ---------------------------------------------------------------- permalinks

const ID = /^[0-9A-Za-z]+$/;

/** The address that opens a room at a message: `/rooms/<roomId>?message=<messageId>`. */
export function permalink(roomId: string, messageId: string, origin = location.origin): string {
  return `${origin}/rooms/${roomId}?message=${messageId}`;
}

/** The message a permalink names, or null: `?message=` beside a `/rooms/<id>` path. */
export function permalinkTarget(
  pathname: string,
  search: string,
): { roomId: string; messageId: string } | null {
  const room = /^\/rooms\/([0-9A-Za-z]+)\/?$/.exec(pathname)?.[1];
  const messageId = new URLSearchParams(search).get('message');
  return room && messageId && ID.test(messageId) ? { roomId: room, messageId } : null;
}

// ---------------------------------------------------------------- the room last shown

const lastRoomKey = (userId: string) => `kaiwa.lastRoom.${userId}`;

/** Remembers the room on screen, so the next start opens it when the address names none. */
export function rememberRoom(userId: string, roomId: string): void {
  try {
    localStorage.setItem(lastRoomKey(userId), roomId);
  } catch {
    // Storage off or full: the first room is shown instead.
  }
}

export function rememberedRoom(userId: string): string | null {
  try {
    return localStorage.getItem(lastRoomKey(userId));
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------- jumps and overlays

/** A message to show in place: its room (or its thread, for a reply), scrolled to and highlighted. */
interface JumpTarget {
  roomId: string;
  messageId: string;
  /** The thread the message is a reply in; null for the room's timeline; undefined while unknown. */
  threadRootId: string | null | undefined;
  /** Tells two jumps to the same message apart. */
  nonce: number;
}

interface NavigationState {
  jump: JumpTarget | null;
  search: boolean;
  switcher: boolean;
}

type Listener = () => void;

/** The navigation state shared by the views, with its listeners (one page, one store). */
class NavigationStore {
  state: NavigationState = { jump: null, search: false, switcher: false };
  readonly #listeners = new Set<Listener>();
  #nonce = 0;

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #set(change: Partial<NavigationState>): void {
    this.state = { ...this.state, ...change };
    for (const listener of this.#listeners) listener();
  }

  jumpTo(target: Omit<JumpTarget, 'nonce'>): void {
    this.#nonce += 1;
    this.#set({ jump: { ...target, nonce: this.#nonce } });
  }

  /** The jump reached its message (or gave up): it is not repeated on the next render. */
  jumpDone(nonce: number): void {
    if (this.state.jump?.nonce === nonce) this.#set({ jump: null });
  }

  openSearch(open = true): void {
    this.#set({ search: open, ...(open ? { switcher: false } : {}) });
  }

  openSwitcher(open = true): void {
    this.#set({ switcher: open, ...(open ? { search: false } : {}) });
  }
}

export const navigation = new NavigationStore();

// ---------------------------------------------------------------- search text

/** One piece of a text: plain, or a match of a search word. */
interface TextPart {
  text: string;
  match: boolean;
}

const WORD = /[\p{L}\p{N}\p{M}]+/gu;

/** The words of a query worth highlighting: runs of letters and digits, longest first. */
export function queryWords(query: string): string[] {
  const words = new Set((query.normalize('NFKC').match(WORD) ?? []).map((word) => word.toLowerCase()));
  return [...words].sort((a, b) => b.length - a.length);
}

/**
 * A text cut to a snippet around the first match (whitespace folded), split into plain parts and matches,
 * for rendering as text nodes and `<mark>`s: never as HTML.
 *
 * @example highlight('Meet at the tower', ['tower']) // [{ text: 'Meet at the ', match: false }, { text: 'tower', match: true }]
 */
export function highlight(text: string, words: string[], maxLength = 240): TextPart[] {
  let folded = text.replace(/\s+/g, ' ').trim();
  const pattern = words.length
    ? new RegExp(words.map((word) => word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'giu')
    : null;
  if (pattern) {
    const first = folded.search(pattern);
    if (first > 60) folded = `…${folded.slice(first - 40).replace(/^\S{0,12}\s/, '')}`;
  }
  if ([...folded].length > maxLength) folded = `${[...folded].slice(0, maxLength).join('')}…`;
  if (!pattern) return [{ text: folded, match: false }];
  const parts: TextPart[] = [];
  let at = 0;
  for (const found of folded.matchAll(pattern)) {
    const index = found.index ?? 0;
    if (index > at) parts.push({ text: folded.slice(at, index), match: false });
    parts.push({ text: found[0], match: true });
    at = index + found[0].length;
  }
  if (at < folded.length) parts.push({ text: folded.slice(at), match: false });
  return parts;
}

// ---------------------------------------------------------------- room filtering

/**
 * How well a room title matches a filter typed in the room switcher: 3 for a prefix, 2 for a word prefix,
 * 1 for a substring, 0.5 for the letters in order (`gnrl` finds `general`), 0 for none.
 */
export function roomMatch(title: string, filter: string): number {
  const name = title.toLowerCase();
  const wanted = filter.trim().toLowerCase().replace(/^[#@]/, '');
  if (!wanted) return 1;
  if (name.startsWith(wanted)) return 3;
  if (name.split(/[\s\-_./]+/).some((word) => word.startsWith(wanted))) return 2;
  if (name.includes(wanted)) return 1;
  let at = 0;
  for (const char of wanted) {
    at = name.indexOf(char, at);
    if (at < 0) return 0;
    at += 1;
  }
  return 0.5;
}
