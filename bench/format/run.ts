import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  type PlatformName,
  parseKaiwaMarkdown,
  splitMarkdown,
  stringifyKaiwaMarkdown,
  toDiscord,
  toSlack,
  toTeams,
  toTelegramHtml,
} from '../../packages/platform-format/src/index.js';
import { mixedMarkdown } from './messages.js';

/*
 * npm run bench:format [-- --rounds N]
 *
 * Times @kaiwa/platform-format on mixed markdown (paragraphs, code blocks, lists, quotes, a table, Japanese,
 * emoji, mentions) of about 1 KB, 10 KB and 50 KB: each to* renderer, splitMarkdown per platform, and as the
 * floor remark's own parse + stringify of the same text. Prints the median of at least N rounds (default 5)
 * after one warm-up; operations under 300 ms in all are repeated more, up to 200 times.
 */

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' } } });
const rounds = Math.max(1, Number(values.rounds));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Median of at least `rounds` runs, and of more (up to 200) while they add up to under 300 ms. */
function time(run: () => unknown): number {
  run();
  const samples: number[] = [];
  let total = 0;
  while (samples.length < rounds || (total < 300 && samples.length < 200)) {
    const start = performance.now();
    run();
    const elapsed = performance.now() - start;
    samples.push(elapsed);
    total += elapsed;
  }
  return median(samples);
}

const format = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));
const PLATFORMS: PlatformName[] = ['slack', 'discord', 'telegram', 'teams'];

const rows: string[][] = [];
for (const size of [1_000, 10_000, 50_000]) {
  const markdown = mixedMarkdown(size);
  const label = `${Math.round(markdown.length / 1000)} KB`;
  const floor = time(() => stringifyKaiwaMarkdown(parseKaiwaMarkdown(markdown)));
  rows.push([label, 'remark parse + stringify (floor)', format(floor), '']);
  const renderers: [string, () => unknown][] = [
    ['toSlack', () => toSlack(markdown)],
    ['toDiscord', () => toDiscord(markdown)],
    ['toTelegramHtml', () => toTelegramHtml(markdown)],
    ['toTeams', () => toTeams(markdown)],
  ];
  for (const [name, run] of renderers) rows.push([label, name, format(time(run)), '']);
  for (const platform of PLATFORMS) {
    let chunks = 0;
    const ms = time(() => {
      chunks = splitMarkdown(markdown, platform).length;
    });
    rows.push([label, `splitMarkdown ${platform}`, format(ms), String(chunks)]);
  }
  console.error(`done ${label}`);
}

const header = ['size', 'operation', 'median ms', 'chunks'];
const widths = header.map((title, column) =>
  Math.max(title.length, ...rows.map((row) => row[column]!.length)),
);
const line = (cells: string[]) =>
  `| ${cells.map((cell, column) => (column >= 2 ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join(' | ')} |`;
console.log(`Node ${process.version}, median of at least ${rounds} rounds (more for fast operations)\n`);
console.log(line(header));
console.log(
  `| ${widths.map((width, column) => (column >= 2 ? `${'-'.repeat(width - 1)}:` : '-'.repeat(width))).join(' | ')} |`,
);
for (const row of rows) console.log(line(row));
