/*
 * Splits Kaiwa markdown into chunks that each render within a platform's limit. It cuts between blocks first,
 * then between lines, then between words, and last between grapheme clusters (never inside a surrogate pair,
 * a ZWJ emoji or a flag). A code block that has to be cut is closed and reopened, with its language, in the
 * next chunk, so every chunk has balanced fences.
 */
import type { Code, Nodes, Root, RootContent } from 'mdast';
import { discordBlockSizes, discordLength, toDiscord } from './discord.js';
import { segmentGraphemes } from './graphemes.js';
import { parseForSplitting } from './kaiwa-markdown.js';
import { slackBlockSizes, slackTextLength, toSlack } from './slack.js';
import { teamsBlockSizes, teamsLength, toTeams } from './teams.js';
import {
  telegramBlockSizes,
  telegramTextLength,
  telegramTreeTextLength,
  toTelegramHtml,
} from './telegram.js';
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
  telegram: (chunk) => telegramTextLength(toTelegramHtml(chunk)),
  teams: (chunk) => {
    const rendered = toTeams(chunk);
    return rendered.text.length + JSON.stringify(rendered.card).length;
  },
};

// The same measures read from a parsed tree, for the whole text and for each top-level block alone, so that
// one parse serves the first measurement and every prediction.
const TREE_MEASURES: Record<PlatformName, (tree: Root) => number> = {
  slack: slackTextLength,
  discord: discordLength,
  telegram: telegramTreeTextLength,
  teams: teamsLength,
};

const BLOCK_SIZES: Record<PlatformName, (tree: Root) => number[]> = {
  slack: slackBlockSizes,
  discord: discordBlockSizes,
  telegram: telegramBlockSizes,
  teams: teamsBlockSizes,
};

/*
 * Speed: measuring renders, and rendering parses, so the cost is the number and size of the measured chunks.
 * The markdown is parsed once and each top-level block is measured alone from that parse; the sum of those
 * sizes predicts where a chunk ends, so a chunk is settled by two measurements (it fits, one block more does
 * not) instead of one per block. That gives the same chunks as adding blocks one by one only while a longer
 * chunk never measures shorter, which holds for the built-in measures because each block renders on its own,
 * except where a link definition turns an earlier reference into a link. So with definitions, or with a
 * custom measure, blocks are still added one by one, and lines and words (where closing `*` can shorten a
 * chunk) are packed exactly as before; code lines, which render literally, are packed from a prediction too.
 */

interface Block {
  node: RootContent;
  source: string;
  /** The markdown between the previous block and this one. */
  separator: string;
}

/**
 * Splits Kaiwa markdown into chunks that each render within the platform's limit.
 *
 * @example splitMarkdown(longReport, 'discord') // ['## Part 1\n\n…', '…'], each toDiscord(chunk).length <= 2000
 */
export function splitMarkdown(markdown: string, platform: SplitTarget, options: SplitOptions = {}): string[] {
  const limit = typeof platform === 'string' ? PLATFORM_TEXT_LIMITS[platform] : platform.maxLength;
  if (!Number.isInteger(limit) || limit < 16)
    throw new RangeError('maxLength must be an integer of at least 16');
  const plain = options.measure === undefined && typeof platform !== 'string';
  const measure =
    options.measure ?? (typeof platform === 'string' ? MEASURES[platform] : (chunk) => chunk.length);
  const builtIn = typeof platform === 'string' && options.measure === undefined ? platform : undefined;
  // With a platform's own measure, the one parse gives the first measurement and, if needed, the blocks.
  const parsed = builtIn ? parseForSplitting(markdown) : undefined;
  const size = builtIn && parsed?.kaiwa ? TREE_MEASURES[builtIn](parsed.kaiwa) : measure(markdown);
  if (size <= limit) return markdown.trim() === '' ? [] : [markdown];
  return splitBlocks(markdown, parsed ?? parseForSplitting(markdown), builtIn, measure, limit, plain);
}

function splitBlocks(
  markdown: string,
  parsed: { blocks: RootContent[]; kaiwa?: Root },
  builtIn: PlatformName | undefined,
  measure: (chunk: string) => number,
  limit: number,
  plain: boolean,
): string[] {
  const fits = (chunk: string) => measure(chunk) <= limit;
  const known = builtIn !== undefined || plain;
  const blocks: Block[] = [];
  let previousEnd = 0;
  for (const node of parsed.blocks) {
    const start = node.position!.start.offset!;
    const end = node.position!.end.offset!;
    blocks.push({
      node,
      source: markdown.slice(start, end),
      separator: markdown.slice(previousEnd, start) || '\n\n',
    });
    previousEnd = end;
  }
  // Predicted sizes: a block measured alone, plus what joining two blocks adds (for a platform, the gap its
  // renderer puts between blocks less what every measurement carries, such as an empty card).
  const predictable = known && !parsed.blocks.some(hasDefinition);
  const sizes = new Map<number, number>();
  if (predictable && builtIn && parsed.kaiwa) {
    const measured = BLOCK_SIZES[builtIn](parsed.kaiwa);
    // The Kaiwa passes keep the top-level blocks (raw HTML becomes a paragraph); if not, measure each block.
    if (measured.length === blocks.length)
      for (const [index, size] of measured.entries()) sizes.set(index, size);
  }
  const blockSize = (index: number) => {
    let size = sizes.get(index);
    if (size === undefined) {
      size = measure(blocks[index]!.source);
      sizes.set(index, size);
    }
    return size;
  };
  let gap: number | undefined;
  const joinSize = (index: number) => {
    if (plain) return blocks[index]!.separator.length;
    gap ??= measure('a\n\na') - 2 * measure('a');
    return gap;
  };
  const build = (base: string, from: number, count: number) => {
    let chunk = base;
    for (let index = from; index < from + count; index++)
      chunk += blocks[index]!.separator + blocks[index]!.source;
    return chunk;
  };

  const packing: Packing = { measure, limit, predictableText: plain, predictableCode: known };
  const chunks: string[] = [];
  let current = '';
  let currentSize = 0;
  let index = 0;
  while (index < blocks.length) {
    if (current === '') {
      const block = blocks[index]!;
      const size = measure(block.source);
      if (size <= limit) {
        current = block.source;
        currentSize = size;
      } else {
        const pieces = splitBlock(block.node, block.source, packing);
        chunks.push(...pieces.slice(0, -1));
        current = pieces[pieces.length - 1] ?? '';
        currentSize = predictable && current !== '' ? measure(current) : 0;
      }
      index++;
      continue;
    }
    // How many of the next blocks join `current`: one by one, or the predicted count with corrections.
    const from = index;
    const available = blocks.length - from;
    const joins = (count: number) => fits(build(current, from, count));
    let count = 0;
    if (predictable) {
      let predicted = 0;
      let size = currentSize;
      while (predicted < available) {
        size += joinSize(from + predicted) + blockSize(from + predicted);
        if (size > limit) break;
        predicted++;
      }
      count = largestPassing(available, predicted, joins, true);
    } else while (count < available && joins(count + 1)) count++;
    if (count > 0) current = build(current, from, count);
    index += count;
    if (index < blocks.length) {
      chunks.push(current);
      current = '';
    }
  }
  if (current !== '') chunks.push(current);
  return chunks;
}

function hasDefinition(node: Nodes): boolean {
  if (node.type === 'definition' || node.type === 'footnoteDefinition') return true;
  return 'children' in node && (node.children as Nodes[]).some(hasDefinition);
}

/**
 * The largest count in 0..max that passes `test`, assuming passing is monotone (a pass at n means passes below
 * n) and count 0 passes when `zeroPasses`. Probes `guess` first and gallops from it, so a good guess costs two
 * tests.
 */
function largestPassing(
  max: number,
  guess: number,
  test: (count: number) => boolean,
  zeroPasses: boolean,
): number {
  if (max === 0) return 0;
  let good = 0;
  let bad = max + 1;
  const first = Math.min(Math.max(guess, 1), max);
  if (test(first)) {
    good = first;
    for (let step = 1; good < max; step *= 2) {
      const next = Math.min(good + step, max);
      if (!test(next)) {
        bad = next;
        break;
      }
      good = next;
    }
  } else {
    bad = first;
    for (let step = 1; bad > 1; step *= 2) {
      const next = Math.max(bad - step, 1);
      if (test(next)) {
        good = next;
        break;
      }
      bad = next;
    }
    if (bad === 1 && !zeroPasses) return 0;
  }
  while (bad - good > 1) {
    const middle = Math.floor((good + bad) / 2);
    if (test(middle)) good = middle;
    else bad = middle;
  }
  return good;
}

interface Packing {
  measure: (chunk: string) => number;
  limit: number;
  /** Whether more lines or words never measure shorter (plain length); code lines always render literally. */
  predictableText: boolean;
  predictableCode: boolean;
}

function splitBlock(node: RootContent, source: string, packing: Packing): string[] {
  if (node.type === 'code') return splitCode(node, source, packing);
  const predictable = packing.predictableText;
  const graphemes = (text: string) =>
    pack(
      segmentGraphemes(text),
      '',
      (piece) => piece,
      packing,
      predictable,
      () => [],
    );
  const words = (line: string) =>
    pack(line.split(/(?<=\s)/), '', (piece) => piece, packing, predictable, graphemes);
  return pack(source.split('\n'), '\n', (piece) => piece, packing, predictable, words);
}

function splitCode(node: Code, source: string, packing: Packing): string[] {
  const firstLine = source.split('\n')[0]!;
  const fenced = /^\s*(`{3,}|~{3,})/.exec(firstLine);
  const longestTicks = Math.max(2, ...(node.value.match(/`+/g) ?? []).map((run) => run.length));
  const fence = fenced ? fenced[1]! : '`'.repeat(longestTicks + 1);
  const opener = fenced ? firstLine.trimStart() : `${fence}${node.lang ?? ''}`;
  const wrap = (body: string) => `${opener}\n${body}\n${fence}`;
  const predictable = packing.predictableCode;
  const graphemes = (line: string) => pack(segmentGraphemes(line), '', wrap, packing, predictable, () => []);
  return pack(node.value.split('\n'), '\n', wrap, packing, predictable, graphemes);
}

/**
 * Packs units greedily into pieces that fit; a unit too big alone goes to `fallback`, which returns finished
 * pieces. Finds each piece's size by doubling and then bisecting, so long inputs take few measurements; when
 * `predictable`, it starts from a guess (the units' characters times the size per character measured so far)
 * instead of from one unit.
 */
function pack(
  units: string[],
  joiner: string,
  wrap: (body: string) => string,
  packing: Packing,
  predictable: boolean,
  fallback: (unit: string) => string[],
): string[] {
  const { measure, limit } = packing;
  const pieces: string[] = [];
  const build = (from: number, count: number) => wrap(units.slice(from, from + count).join(joiner));
  // ends[i]: the characters of units 0..i-1, each with its joiner.
  const ends = [0];
  if (predictable) for (const unit of units) ends.push(ends[ends.length - 1]! + unit.length + joiner.length);
  let perCharacter = 1;
  const fits = (chunk: string) => {
    const size = measure(chunk);
    if (chunk.length > 0 && size > 0) perCharacter = size / chunk.length;
    return size <= limit;
  };
  let index = 0;
  while (index < units.length) {
    const available = units.length - index;
    const count = predictable
      ? largestPassing(
          available,
          guessCount(ends, index, limit / perCharacter),
          (count) => fits(build(index, count)),
          false,
        )
      : gallop(available, (count) => fits(build(index, count)));
    if (count === 0) {
      const unit = units[index]!;
      const parts = fallback(unit);
      // A single grapheme larger than the limit is sent as is; nothing smaller exists.
      pieces.push(...(parts.length > 0 ? parts : [wrap(unit)]));
      index++;
      continue;
    }
    const piece = build(index, count);
    if (piece.trim() !== '') pieces.push(piece);
    index += count;
  }
  return pieces;
}

/** The most units from `index` whose characters (with joiners, from prefix sums `ends`) stay within `room`. */
function guessCount(ends: number[], index: number, room: number): number {
  let low = 0;
  let high = ends.length - 1 - index;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (ends[index + middle]! - ends[index]! <= room) low = middle;
    else high = middle - 1;
  }
  return low;
}

/**
 * The packing's original search, kept for measures that can shrink as a chunk grows (there the probes decide
 * the result): 0 if one unit does not fit, else doubling from one unit and then bisecting.
 */
function gallop(available: number, fits: (count: number) => boolean): number {
  if (!fits(1)) return 0;
  let good = 1;
  let step = 1;
  while (good < available && fits(Math.min(good + step, available))) {
    good = Math.min(good + step, available);
    step *= 2;
  }
  let bad = Math.min(good + step, available + 1);
  while (bad - good > 1) {
    const middle = Math.floor((good + bad) / 2);
    if (fits(middle)) good = middle;
    else bad = middle;
  }
  return good;
}
