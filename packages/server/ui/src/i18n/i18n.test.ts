import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { de } from './de';
import { en, type Plural } from './en';
import {
  CATALOGUES,
  detectLanguage,
  getLanguage,
  loadLanguage,
  type MessageKey,
  onLanguageChange,
  setLanguage,
  t,
  template,
} from './index';
import { ja } from './ja';

type Entry = string | Plural;

/** Every key of a catalogue with its entry: `auth.signIn` → 'Sign in'. */
function entries(catalogue: object, prefix = ''): Map<string, Entry> {
  const found = new Map<string, Entry>();
  for (const [key, value] of Object.entries(catalogue)) {
    const path = `${prefix}${key}`;
    if (typeof value === 'string' || 'other' in value) found.set(path, value as Entry);
    else for (const [inner, entry] of entries(value, `${path}.`)) found.set(inner, entry);
  }
  return found;
}

/** The placeholders of an entry, all plural forms together: `{count}`, `{name}`. */
function placeholders(entry: Entry): string[] {
  const texts = typeof entry === 'string' ? [entry] : Object.values(entry);
  return [
    ...new Set(texts.flatMap((text) => [...text.matchAll(/\{(\w+)\}/g)].map((match) => match[1]))),
  ].sort();
}

const english = entries(en);

// German and Japanese are chunks of their own in the browser: fetched before a switch to them.
beforeAll(() => Promise.all([loadLanguage('de'), loadLanguage('ja')]));

describe('catalogues', () => {
  it.each([
    ['de', de],
    ['ja', ja],
  ])('%s has every English key, no other, with the same placeholders', (_, catalogue) => {
    const translated = entries(catalogue);
    expect([...translated.keys()].sort()).toEqual([...english.keys()].sort());
    for (const [key, entry] of english) {
      expect({ key, placeholders: placeholders(translated.get(key) as Entry) }).toEqual({
        key,
        placeholders: placeholders(entry),
      });
    }
  });

  it('has no empty text and no plural without `other`', () => {
    for (const catalogue of [en, de, ja]) {
      for (const [key, entry] of entries(catalogue)) {
        const texts = typeof entry === 'string' ? [entry] : Object.values(entry);
        expect({ key, empty: texts.some((text) => text.trim() === '') }).toEqual({ key, empty: false });
        if (typeof entry !== 'string') expect(entry.other, key).toBeTypeOf('string');
      }
    }
  });
});

describe('t', () => {
  afterEach(() => setLanguage('en', false));

  it('fills in placeholders and formats numbers for the language', () => {
    expect(t('app.unreachable', { error: 'timeout' })).toBe('The server cannot be reached: timeout');
    setLanguage('de', false);
    expect(t('search.count', { count: 1234 })).toBe('1.234 Nachrichten');
  });

  it('chooses plural forms with Intl.PluralRules', () => {
    expect(t('thread.replies', { count: 1 })).toBe('1 reply');
    expect(t('thread.replies', { count: 0 })).toBe('0 replies');
    expect(t('thread.replies', { count: 2 })).toBe('2 replies');
    setLanguage('de', false);
    expect(t('thread.replies', { count: 1 })).toBe('1 Antwort');
    expect(t('thread.replies', { count: 5 })).toBe('5 Antworten');
    setLanguage('ja', false);
    expect(t('thread.replies', { count: 1 })).toBe('返信 1 件');
    expect(t('thread.replies', { count: 7 })).toBe('返信 7 件');
  });

  it('falls back to English for a key a catalogue lacks, and to the key itself as a last resort', () => {
    const auth = CATALOGUES.ja?.auth as Record<string, string>;
    const saved = auth.signIn as string;
    delete auth.signIn;
    try {
      setLanguage('ja', false);
      expect(t('auth.signIn')).toBe('Sign in');
      expect(t('auth.signOut')).toBe('サインアウト');
      expect(template('no.such.key' as MessageKey, undefined)).toBe('no.such.key');
    } finally {
      auth.signIn = saved;
    }
  });

  it('leaves a placeholder it was given no value for', () => {
    expect(t('chat.welcome', {})).toBe('Welcome, {name}');
  });
});

describe('language', () => {
  afterEach(() => setLanguage('en', false));

  it('comes from the first browser language the UI speaks, else English', () => {
    expect(detectLanguage(['de-AT', 'en'])).toBe('de');
    expect(detectLanguage(['fr-FR', 'ja-JP'])).toBe('ja');
    expect(detectLanguage(['JA'])).toBe('ja');
    expect(detectLanguage(['fr', 'es'])).toBe('en');
    expect(detectLanguage([])).toBe('en');
  });

  it('switches at once and tells who listens', () => {
    const heard: string[] = [];
    const stop = onLanguageChange((language) => heard.push(language));
    setLanguage('ja', false);
    setLanguage('ja', false);
    stop();
    setLanguage('de', false);
    expect(heard).toEqual(['ja']);
    expect(getLanguage()).toBe('de');
    expect(t('common.cancel')).toBe('Abbrechen');
  });
});
