/* Formatting for people: times, dates, sizes, initials and avatar colours (message text: markdown/). */
import { formattingLocale, t } from './i18n';

/** Intl formatters for the chosen language, made again when it changes. */
function formatters(locale: string) {
  return {
    locale,
    time: new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit' }),
    shortTime: new Intl.DateTimeFormat(locale, { hour: 'numeric', minute: '2-digit' }),
    date: new Intl.DateTimeFormat(locale, {
      weekday: 'long',
      year: 'numeric',
      month: 'long',
      day: 'numeric',
    }),
    full: new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' }),
  };
}

let cached = formatters(formattingLocale());

function format(): ReturnType<typeof formatters> {
  const locale = formattingLocale();
  if (cached.locale !== locale) cached = formatters(locale);
  return cached;
}

export function formatTime(iso: string): string {
  return format().time.format(new Date(iso));
}

/** The time without a leading zero (`5:27 PM`, `17:27`), narrow enough for the 36 px message gutter. */
export function formatShortTime(iso: string): string {
  return format().shortTime.format(new Date(iso));
}

export function formatFull(iso: string): string {
  return format().full.format(new Date(iso));
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
  return format().date.format(new Date(iso));
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
