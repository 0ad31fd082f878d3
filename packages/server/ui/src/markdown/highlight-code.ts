/*
 * Code highlighting with @speed-highlight/core's tokenizer: tokens, never HTML, so the renderer builds the
 * spans itself. A dozen common languages are bundled (about 4 KB compressed in all), which keeps highlighting
 * synchronous: a code block never renders twice or jumps when its colours arrive.
 */
import bash from '@speed-highlight/core/languages/bash.js';
import css from '@speed-highlight/core/languages/css.js';
import diff from '@speed-highlight/core/languages/diff.js';
import go from '@speed-highlight/core/languages/go.js';
import html from '@speed-highlight/core/languages/html.js';
import js from '@speed-highlight/core/languages/js.js';
import jsdoc from '@speed-highlight/core/languages/jsdoc.js';
import json from '@speed-highlight/core/languages/json.js';
import py from '@speed-highlight/core/languages/py.js';
import regex from '@speed-highlight/core/languages/regex.js';
import rs from '@speed-highlight/core/languages/rs.js';
import sql from '@speed-highlight/core/languages/sql.js';
import todo from '@speed-highlight/core/languages/todo.js';
import ts from '@speed-highlight/core/languages/ts.js';
import xml from '@speed-highlight/core/languages/xml.js';
import yaml from '@speed-highlight/core/languages/yaml.js';
import { type ShjLanguageData, type ShjToken, tokenizeWith } from '@speed-highlight/core/tokenize';

// Keyed by the names the grammars use for each other (`sub: 'js'` inside html, `sub: 'todo'` in comments).
const LANGUAGES = {
  bash,
  css,
  diff,
  go,
  html,
  js,
  jsdoc,
  json,
  py,
  regex,
  rs,
  sql,
  todo,
  ts,
  xml,
  yaml,
} as unknown as Record<string, ShjLanguageData>;

/** What people write after the fence, mapped to a bundled grammar. */
const ALIASES: Record<string, string> = {
  javascript: 'js',
  jsx: 'js',
  mjs: 'js',
  cjs: 'js',
  typescript: 'ts',
  tsx: 'ts',
  mts: 'ts',
  jsonc: 'json',
  json5: 'json',
  sh: 'bash',
  shell: 'bash',
  zsh: 'bash',
  console: 'bash',
  shellsession: 'bash',
  python: 'py',
  python3: 'py',
  rust: 'rs',
  golang: 'go',
  yml: 'yaml',
  htm: 'html',
  svg: 'xml',
  patch: 'diff',
  postgres: 'sql',
  postgresql: 'sql',
  sqlite: 'sql',
  mysql: 'sql',
};

/** Longer code is shown plain: colours are not worth a long pause on a slow phone. */
const MAX_HIGHLIGHTED = 20_000;

/** One run of code text: plain (`type` undefined) or of a token type (`kwd`, `str`, …). */
export interface CodeToken {
  text: string;
  type: ShjToken | undefined;
}

/** The bundled grammar for a fence's language name, or undefined. */
export function codeLanguage(name: string | null | undefined): string | undefined {
  if (!name) return undefined;
  const lower = name.toLowerCase();
  const key = ALIASES[lower] ?? lower;
  return key !== 'todo' && Object.hasOwn(LANGUAGES, key) ? key : undefined;
}

const cache = new Map<string, CodeToken[] | undefined>();
const CACHE_SIZE = 200;

/**
 * The tokens of a code block, or undefined when its language is not bundled (or the code is too long).
 * Results are cached, so a re-render does not tokenize again.
 *
 * @example highlightCode('const a = 1', 'ts') // [{ text: 'const', type: 'kwd' }, { text: ' a ', type: undefined }, …]
 */
export function highlightCode(code: string, language: string | null | undefined): CodeToken[] | undefined {
  const key = codeLanguage(language);
  if (!key || code.length > MAX_HIGHLIGHTED) return undefined;
  const cacheKey = `${key}\u0000${code}`;
  if (cache.has(cacheKey)) return cache.get(cacheKey);
  const tokens: CodeToken[] = [];
  try {
    tokenizeWith(
      code,
      key,
      (text, type) => {
        if (!text) return;
        const last = tokens[tokens.length - 1];
        if (last && last.type === type) last.text += text;
        else tokens.push({ text, type });
      },
      { languages: LANGUAGES },
    );
  } catch {
    return undefined;
  }
  // A grammar that lost its way must never lose text: what is shown is exactly the code.
  const result = tokens.map((token) => token.text).join('') === code ? tokens : undefined;
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  cache.set(cacheKey, result);
  return result;
}
