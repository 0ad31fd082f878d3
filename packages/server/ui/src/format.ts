/* Formatting for people: times, dates, sizes, initials and avatar colours (message text: markdown/). */
import { formattingLocale, t } from './i18n';

const FORMATS = {
  time: { hour: '2-digit', minute: '2-digit' },
  shortTime: { hour: 'numeric', minute: '2-digit' },
  date: { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' },
  full: { dateStyle: 'medium', timeStyle: 'short' },
} satisfies Record<string, Intl.DateTimeFormatOptions>;
type FormatName = keyof typeof FORMATS;

/** How many formatted instants are kept per format (rows leave and re-enter a windowed timeline). */
const KEPT_PER_FORMAT = 2_000;

/**
 * Intl formatters for the chosen language, each made when first used (making one loads locale data: the
 * four made while the app's script was evaluated took 15–45 ms of it on this machine) and made again when
 * the language changes; with the strings they gave, by instant (formatting was a visible part of rendering
 * rows during a scroll-back, where rows leave the page and come back).
 */
let formatLocale: string | undefined;
let formatters: Partial<Record<FormatName, { format: Intl.DateTimeFormat; done: Map<string, string> }>> = {};

function formatted(name: FormatName, iso: string): string {
  const locale = formattingLocale();
  if (locale !== formatLocale) {
    formatLocale = locale;
    formatters = {};
  }
  let formatter = formatters[name];
  if (!formatter) {
    formatter = { format: new Intl.DateTimeFormat(locale, FORMATS[name]), done: new Map() };
    formatters[name] = formatter;
  }
  let text = formatter.done.get(iso);
  if (text === undefined) {
    text = formatter.format.format(new Date(iso));
    if (formatter.done.size >= KEPT_PER_FORMAT) formatter.done.clear();
    formatter.done.set(iso, text);
  }
  return text;
}

export function formatTime(iso: string): string {
  return formatted('time', iso);
}

/** The time without a leading zero (`5:27 PM`, `17:27`), narrow enough for the 36 px message gutter. */
export function formatShortTime(iso: string): string {
  return formatted('shortTime', iso);
}

export function formatFull(iso: string): string {
  return formatted('full', iso);
}

/** The local calendar day of an instant, for grouping: `2026-11-25`. */
export function dayKey(iso: string): string {
  const date = new Date(iso);
  return `${date.getFullYear()}-${date.getMonth() + 1}-${date.getDate()}`;
}

export function formatDay(iso: string, now = new Date()): string {
  const key = dayKey(iso);
  if (key === dayKey(now.toISOString())) return t('format.today');
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (key === dayKey(yesterday.toISOString())) return t('format.yesterday');
  return formatted('date', iso);
}

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** Up to two initials of a name, for avatars. */
export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0]![0], words[1]![0]] : [...(words[0] ?? '?')].slice(0, 2);
  return letters.join('').toUpperCase();
}

/** One of eight avatar colours, the same for a user everywhere. */
export function colourIndex(id: string): number {
  let hash = 0;
  for (const char of id) hash = (hash * 31 + char.charCodeAt(0)) | 0;
  return Math.abs(hash) % 8;
}
