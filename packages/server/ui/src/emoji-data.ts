/*
 * The emoji picker's data: a trimmed emojibase list the build writes as a hashed asset (named by the page's
 * `<meta name="kaiwa-emoji-data">`), fetched once, the first time a picker or a `:shortcode` completion
 * needs it, so the main bundle stays small. Recently used emoji are kept in localStorage.
 */

/** One emoji as the picker shows and finds it. */
export interface EmojiEntry {
  emoji: string;
  /** The Unicode name, lower case: "party popper". */
  label: string;
  /** Without colons, GitHub's spelling first: ["tada"]. */
  shortcodes: string[];
  /** Index into {@link EmojiData.groups}. */
  group: number;
  /** Words that find it too: "celebration party". */
  tags: string;
  /** Whether a skin tone applies (👋 → 👋🏽), by {@link withSkinTone}. */
  skinTones: boolean;
}

export interface EmojiData {
  /** Category names in display order: "smileys & emotion", … */
  groups: string[];
  emoji: EmojiEntry[];
}

type RawEmoji = [string, string, string, number, string, 1?];

/** Turns the asset's compact rows into entries. */
export function parseEmojiData(raw: { groups: string[]; emoji: RawEmoji[] }): EmojiData {
  return {
    groups: raw.groups,
    emoji: raw.emoji.map(([emoji, label, shortcodes, group, tags, skinTones]) => ({
      emoji,
      label,
      shortcodes: shortcodes ? shortcodes.split(' ') : [],
      group,
      tags,
      skinTones: skinTones === 1,
    })),
  };
}

let loading: Promise<EmojiData> | undefined;
let loaded: EmojiData | undefined;

/** The data if it has arrived already (for synchronous completion). */
export function emojiDataNow(): EmojiData | undefined {
  return loaded;
}

/** Fetches the data once; a failed fetch is tried again next time. */
export function loadEmojiData(): Promise<EmojiData> {
  if (!loading) {
    const url = document.querySelector<HTMLMetaElement>('meta[name="kaiwa-emoji-data"]')?.content;
    loading = (
      url
        ? fetch(url).then((response) => {
            if (!response.ok) throw new Error(`emoji data: HTTP ${response.status}`);
            return response.json() as Promise<{ groups: string[]; emoji: RawEmoji[] }>;
          })
        : Promise.reject(new Error('this page names no emoji data'))
    ).then(parseEmojiData);
    loading.then(
      (data) => {
        loaded = data;
      },
      () => {
        loading = undefined;
      },
    );
  }
  return loading;
}

/**
 * Emoji whose shortcode, name or tags start with the query (a word of them), best first: an exact
 * shortcode, then shortcode prefixes, then name words, then tags.
 *
 * @example searchEmoji(data.emoji, 'tada')[0].emoji // '🎉'
 */
export function searchEmoji(list: readonly EmojiEntry[], query: string, limit = Infinity): EmojiEntry[] {
  const needle = query.trim().toLowerCase().replace(/^:|:$/g, '');
  if (!needle) return list.slice(0, limit);
  const scored: { entry: EmojiEntry; score: number; index: number }[] = [];
  list.forEach((entry, index) => {
    let score = 0;
    if (entry.shortcodes.includes(needle)) score = 5;
    else if (entry.shortcodes.some((code) => code.startsWith(needle))) score = 4;
    else if (entry.label.startsWith(needle)) score = 3;
    else if (entry.shortcodes.some((code) => code.includes(`_${needle}`)) || wordStarts(entry.label, needle))
      score = 2;
    else if (wordStarts(entry.tags, needle)) score = 1;
    if (score > 0) scored.push({ entry, score, index });
  });
  scored.sort((a, b) => b.score - a.score || a.index - b.index);
  return scored.slice(0, limit).map((each) => each.entry);
}

function wordStarts(text: string, needle: string): boolean {
  return text.startsWith(needle) || text.includes(` ${needle}`) || text.includes(`-${needle}`);
}

const RECENT_KEY = 'kaiwa.recentEmoji';
const RECENT_MAX = 24;
const DEFAULT_RECENT = ['👍', '❤️', '😂', '🎉', '😮', '👀', '✅', '🙏'];

/** The emoji used last, most recent first (a few common ones before any were used). */
export function recentEmoji(): string[] {
  try {
    const stored = JSON.parse(localStorage.getItem(RECENT_KEY) ?? 'null');
    if (Array.isArray(stored) && stored.every((each) => typeof each === 'string')) return stored;
  } catch {
    // storage refused or damaged: the defaults
  }
  return DEFAULT_RECENT;
}

/** Puts an emoji first in the recently used list. */
export function rememberEmoji(emoji: string): void {
  const next = [emoji, ...recentEmoji().filter((each) => each !== emoji)].slice(0, RECENT_MAX);
  try {
    localStorage.setItem(RECENT_KEY, JSON.stringify(next));
  } catch {
    // private mode: not remembered
  }
}

/** The skin tones a person can choose, light to dark (the Fitzpatrick modifiers U+1F3FB–U+1F3FF). */
export const SKIN_TONES = ['\u{1F3FB}', '\u{1F3FC}', '\u{1F3FD}', '\u{1F3FE}', '\u{1F3FF}'] as const;

/** 0 for the default yellow, 1–5 for the tones light to dark. */
export type SkinTone = 0 | 1 | 2 | 3 | 4 | 5;

/**
 * An emoji in a skin tone: the tone's modifier after every modifier base (in place of a U+FE0F there), the
 * rule the build checked against emojibase's own variants for every entry marked `skinTones`.
 *
 * @example withSkinTone('👋', 3) // '👋🏽'
 */
export function withSkinTone(emoji: string, tone: SkinTone): string {
  const modifier = tone === 0 ? undefined : SKIN_TONES[tone - 1];
  return modifier ? emoji.replace(/(\p{Emoji_Modifier_Base})\uFE0F?/gu, `$1${modifier}`) : emoji;
}

const SKIN_TONE_KEY = 'kaiwa.emojiSkinTone';

/** The skin tone chosen last in a picker (default 0). */
export function preferredSkinTone(): SkinTone {
  try {
    const stored = Number(localStorage.getItem(SKIN_TONE_KEY) ?? 0);
    if (Number.isInteger(stored) && stored >= 0 && stored <= 5) return stored as SkinTone;
  } catch {
    // storage refused: the default
  }
  return 0;
}

/** Remembers the chosen skin tone for the next picker and completion. */
export function rememberSkinTone(tone: SkinTone): void {
  try {
    localStorage.setItem(SKIN_TONE_KEY, String(tone));
  } catch {
    // private mode: not remembered
  }
}
