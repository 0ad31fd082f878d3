/*
 * Splits Kaiwa markdown into chunks that each render within a platform's limit. It cuts between blocks first,
 * then between lines, then between words, and last between grapheme clusters (never inside a surrogate pair,
 * a ZWJ emoji or a flag). A code block that has to be cut is closed and reopened, with its language, in the
 * next chunk, so every chunk has balanced fences.
 */
import type { Code, RootContent } from 'mdast';
import { toDiscord } from './discord.js';
import { parseMarkdownWithPositions } from './kaiwa-markdown.js';
import { toSlack } from './slack.js';
import { toTeams } from './teams.js';
import { parseTelegramHtml, toTelegramHtml } from './telegram.js';
import { PLATFORM_TEXT_LIMITS, type PlatformName } from './types.js';

/** A platform (its limit and renderer) or a plain length limit on the markdown itself. */
export type SplitTarget = PlatformName | { maxLength: number };

export interface SplitOptions {
  /**
   * Measures a chunk in the platform's units. Defaults to the length of the platform renderer's output
   * (without mention lookups), or the markdown's own length for `{ maxLength }`.
   */
  measure?: (chunk: string) => number;
}

const MEASURES: Record<PlatformName, (chunk: string) => number> = {
  slack: (chunk) => toSlack(chunk).text.length,
  discord: (chunk) => toDiscord(chunk).length,
  // Telegram counts the text left after parsing the HTML.
  telegram: (chunk) => parseTelegramHtml(toTelegramHtml(chunk)).text.length,
  teams: (chunk) => {
    const rendered = toTeams(chunk);
    return rendered.text.length + JSON.stringify(rendered.card).length;
  },
};

/**
 * Splits Kaiwa markdown into chunks that each render within the platform's limit.
 *
 * @example splitMarkdown(longReport, 'discord') // ['## Part 1\n\n…', '…'], each toDiscord(chunk).length <= 2000
 */
export function splitMarkdown(markdown: string, platform: SplitTarget, options: SplitOptions = {}): string[] {
  const limit = typeof platform === 'string' ? PLATFORM_TEXT_LIMITS[platform] : platform.maxLength;
  if (!Number.isInteger(limit) || limit < 16)
    throw new RangeError('maxLength must be an integer of at least 16');
  const measure =
    options.measure ?? (typeof platform === 'string' ? MEASURES[platform] : (chunk) => chunk.length);
  const fits = (chunk: string) => measure(chunk) <= limit;
  if (fits(markdown)) return markdown.trim() === '' ? [] : [markdown];

  const tree = parseMarkdownWithPositions(markdown);
  const chunks: string[] = [];
  let current = '';
  let previousEnd = 0;
  for (const node of tree.children) {
    const start = node.position!.start.offset!;
    const end = node.position!.end.offset!;
    const source = markdown.slice(start, end);
    const separator = markdown.slice(previousEnd, start) || '\n\n';
    previousEnd = end;
    if (current !== '' && fits(current + separator + source)) {
      current += separator + source;
      continue;
    }
    if (current !== '') chunks.push(current);
    current = '';
    if (fits(source)) {
      current = source;
      continue;
    }
    const pieces = splitBlock(node, source, fits);
    chunks.push(...pieces.slice(0, -1));
    current = pieces[pieces.length - 1] ?? '';
  }
  if (current !== '') chunks.push(current);
  return chunks;
}

function splitBlock(node: RootContent, source: string, fits: (chunk: string) => boolean): string[] {
  if (node.type === 'code') return splitCode(node, source, fits);
  const graphemes = (text: string) =>
    pack(
      segmentGraphemes(text),
      '',
      (piece) => piece,
      fits,
      () => [],
    );
  const words = (line: string) => pack(line.split(/(?<=\s)/), '', (piece) => piece, fits, graphemes);
  return pack(source.split('\n'), '\n', (piece) => piece, fits, words);
}

function splitCode(node: Code, source: string, fits: (chunk: string) => boolean): string[] {
  const firstLine = source.split('\n')[0]!;
  const fenced = /^\s*(`{3,}|~{3,})/.exec(firstLine);
  const longestTicks = Math.max(2, ...(node.value.match(/`+/g) ?? []).map((run) => run.length));
  const fence = fenced ? fenced[1]! : '`'.repeat(longestTicks + 1);
  const opener = fenced ? firstLine.trimStart() : `${fence}${node.lang ?? ''}`;
  const wrap = (body: string) => `${opener}\n${body}\n${fence}`;
  const graphemes = (line: string) => pack(segmentGraphemes(line), '', wrap, fits, () => []);
  return pack(node.value.split('\n'), '\n', wrap, fits, graphemes);
}

/**
 * Packs units greedily into pieces that fit; a unit too big alone goes to `fallback`, which returns finished
 * pieces. Finds each piece's size by doubling and then bisecting, so long inputs take few measurements.
 */
function pack(
  units: string[],
  joiner: string,
  wrap: (body: string) => string,
  fits: (chunk: string) => boolean,
  fallback: (unit: string) => string[],
): string[] {
  const pieces: string[] = [];
  const build = (from: number, count: number) => wrap(units.slice(from, from + count).join(joiner));
  let index = 0;
  while (index < units.length) {
    if (!fits(build(index, 1))) {
      const unit = units[index]!;
      const parts = fallback(unit);
      // A single grapheme larger than the limit is sent as is; nothing smaller exists.
      pieces.push(...(parts.length > 0 ? parts : [wrap(unit)]));
      index++;
      continue;
    }
    let good = 1;
    let step = 1;
    while (index + good < units.length && fits(build(index, Math.min(good + step, units.length - index)))) {
      good = Math.min(good + step, units.length - index);
      step *= 2;
    }
    let bad = Math.min(good + step, units.length - index + 1);
    while (bad - good > 1) {
      const middle = Math.floor((good + bad) / 2);
      if (fits(build(index, middle))) good = middle;
      else bad = middle;
    }
    const piece = build(index, good);
    if (piece.trim() !== '') pieces.push(piece);
    index += good;
  }
  return pieces;
}

function segmentGraphemes(text: string): string[] {
  const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
  return Array.from(segmenter.segment(text), (part) => part.segment);
}
