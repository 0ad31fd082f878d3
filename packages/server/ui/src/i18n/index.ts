import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { type Catalogue, en, type Plural } from './en';

/*
 * The UI's words in English, German and Japanese. Components call `t('group.key', { name })`; the catalogues
 * (en.ts is the source, de.ts and ja.ts must have every key: their type says so) hold the text, with `{name}`
 * placeholders and plural forms chosen by Intl.PluralRules. The language comes from the browser until the
 * person picks one in their profile (kept in localStorage); a change re-renders the whole app at once.
 * English is in the first script (it is also every other catalogue's fallback); German and Japanese are
 * chunks of their own, fetched before the first render when the page starts in them (main.tsx) and when
 * someone switches to them: the first script is smaller by both for everyone.
 */

export type Language = 'en' | 'de' | 'ja';

/** The languages offered, each named in itself. */
export const LANGUAGES: readonly { code: Language; name: string }[] = [
  { code: 'en', name: 'English' },
  { code: 'de', name: 'Deutsch' },
  { code: 'ja', name: '日本語' },
];

/** The catalogues fetched so far (English always). */
export const CATALOGUES: Partial<Record<Language, Catalogue>> = { en };

const pendingCatalogues = new Map<Language, Promise<void>>();

/** Fetches a language's catalogue (once); resolves when `t` can speak it. */
export function loadLanguage(language: Language): Promise<void> {
  if (CATALOGUES[language]) return Promise.resolve();
  let pending = pendingCatalogues.get(language);
  if (!pending) {
    const load =
      language === 'de'
        ? import('./de').then((module) => module.de)
        : import('./ja').then((module) => module.ja);
    pending = load.then(
      (catalogue) => {
        CATALOGUES[language] = catalogue;
      },
      (error: unknown) => {
        pendingCatalogues.delete(language);
        throw error;
      },
    );
    pendingCatalogues.set(language, pending);
  }
  return pending;
}

/** Every key of the catalogue, dotted: `auth.signIn`. */
type Keys<T, Prefix extends string = ''> = {
  [K in keyof T & string]: T[K] extends string | Plural ? `${Prefix}${K}` : Keys<T[K], `${Prefix}${K}.`>;
}[keyof T & string];
export type MessageKey = Keys<typeof en>;

export type Params = Record<string, string | number>;

const STORAGE_KEY = 'kaiwa.language';

function isLanguage(value: unknown): value is Language {
  return value === 'en' || value === 'de' || value === 'ja';
}

/** The first of the browser's languages that the UI speaks, else English. */
export function detectLanguage(preferred: readonly string[]): Language {
  for (const tag of preferred) {
    const base = tag.toLowerCase().split('-')[0];
    if (isLanguage(base)) return base;
  }
  return 'en';
}

function storedLanguage(): Language | null {
  try {
    const value = globalThis.localStorage?.getItem(STORAGE_KEY);
    return isLanguage(value) ? value : null;
  } catch {
    return null;
  }
}

function browserLanguages(): readonly string[] {
  const navigator = globalThis.navigator;
  if (!navigator) return [];
  return navigator.languages?.length ? navigator.languages : [navigator.language];
}

let current: Language = storedLanguage() ?? detectLanguage(browserLanguages());
/** The language last asked for (it becomes `current` once its catalogue is here). */
let wanted = current;
const listeners = new Set<(language: Language) => void>();

// A language chosen in another tab of this browser: this one follows at once.
globalThis.addEventListener?.('storage', (event: StorageEvent) => {
  if (event.key === STORAGE_KEY && isLanguage(event.newValue)) setLanguage(event.newValue, false);
});

function applyToDocument(): void {
  if (typeof document !== 'undefined') document.documentElement.lang = current;
}
applyToDocument();

export function getLanguage(): Language {
  return current;
}

/**
 * Switches the UI's language and remembers the choice in this browser: at once when its catalogue is here,
 * else as soon as it has been fetched (the last language asked for wins).
 */
export function setLanguage(language: Language, remember = true): void {
  if (remember) {
    try {
      globalThis.localStorage?.setItem(STORAGE_KEY, language);
    } catch {
      // Storage off: the choice lasts as long as the page.
    }
  }
  wanted = language;
  if (!CATALOGUES[language]) {
    loadLanguage(language).then(
      () => {
        if (wanted === language) setLanguage(language, false);
      },
      (error: unknown) => console.warn(`Kaiwa could not load the ${language} texts`, error),
    );
    return;
  }
  if (language === current) return;
  current = language;
  applyToDocument();
  for (const listener of listeners) listener(language);
}

export function onLanguageChange(listener: (language: Language) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The language, re-rendering the component when it changes (App uses it, so everything follows). */
export function useLanguage(): Language {
  const [language, setState] = useState(current);
  useEffect(() => onLanguageChange(setState), []);
  return language;
}

let knownLocale: { language: Language; locale: string } | undefined;
// The browser's languages changed in its settings: worked out again.
globalThis.addEventListener?.('languagechange', () => {
  knownLocale = undefined;
});

/**
 * The locale for Intl formatting: the browser's own when it is a variant of the chosen language (so `en-GB`
 * keeps its 24-hour clock), else the language itself.
 */
export function formattingLocale(): string {
  // Worked out once per language (every row's times ask for it; the browser's list is a new array each read).
  if (knownLocale?.language !== current) {
    const own = browserLanguages().find((tag) => tag.toLowerCase().split('-')[0] === current);
    knownLocale = { language: current, locale: own ?? current };
  }
  return knownLocale.locale;
}

function lookup(catalogue: Catalogue | undefined, key: string): string | Plural | undefined {
  let node: unknown = catalogue;
  for (const part of key.split('.')) {
    if (!node || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return typeof node === 'string' || (node && typeof node === 'object' && 'other' in node)
    ? (node as string | Plural)
    : undefined;
}

const pluralRules = new Map<Language, Intl.PluralRules>();

function pick(entry: string | Plural, language: Language, count: unknown): string {
  if (typeof entry === 'string') return entry;
  let rules = pluralRules.get(language);
  if (!rules) {
    rules = new Intl.PluralRules(language);
    pluralRules.set(language, rules);
  }
  const category = typeof count === 'number' ? rules.select(count) : 'other';
  return entry[category] ?? entry.other;
}

/** The template for a key in a language; English where that catalogue lacks it, the key itself as a last resort. */
export function template(key: MessageKey, params: Params | undefined, language = current): string {
  const entry = lookup(CATALOGUES[language], key) ?? lookup(en, key);
  return entry === undefined ? key : pick(entry, language, params?.count);
}

const PLACEHOLDER = /\{(\w+)\}/g;

/**
 * The text for a key, placeholders filled in: `t('chat.replies', { count: 3 })`. Numbers are formatted for
 * the language.
 */
export function t(key: MessageKey, params?: Params): string {
  const text = template(key, params);
  if (!params) return text;
  return text.replace(PLACEHOLDER, (whole, name: string) => {
    const value = params[name];
    if (value === undefined) return whole;
    return typeof value === 'number' ? value.toLocaleString(formattingLocale()) : value;
  });
}

/** Like `t`, for text with markup in it: `tRich('profile.signedInAs', { name: <strong>…</strong> })`. */
export function tRich(key: MessageKey, params: Record<string, ComponentChildren>): ComponentChildren[] {
  const text = template(key, params as Params);
  const parts: ComponentChildren[] = [];
  let last = 0;
  for (const match of text.matchAll(PLACEHOLDER)) {
    const name = match[1] as string;
    if (!(name in params)) continue;
    if (match.index > last) parts.push(text.slice(last, match.index));
    parts.push(params[name]);
    last = match.index + match[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}
