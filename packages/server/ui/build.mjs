#!/usr/bin/env node
/*
 * Builds the web chat UI into ui/dist: the JavaScript (Preact, esbuild) as two entry scripts — `start`
 * (src/first-requests.ts: the REST client and the app's first requests, run before the rest of the code is
 * evaluated) and `app` (src/main.tsx) —, the chunks they import (preloaded from the page with
 * <link rel="modulepreload">, so they are fetched beside the entries, not after them) and chunks fetched
 * only when a rarely used screen opens (`lazyComponent`, the German and Japanese texts); one stylesheet; all
 * with content hashes in their names, and an index.html that links them.
 * No inline script or style, so the server's strict Content-Security-Policy holds. Beside them: the web app manifest (its PNG icons drawn by
 * app-icon.mjs) and the service worker at /sw.js (src/service-worker.ts), which caches the app shell.
 *
 *   node ui/build.mjs                 production build into ui/dist
 *   node ui/build.mjs --outdir DIR    somewhere else (the browser test builds into a temporary folder)
 *   node ui/build.mjs --dev           not minified
 *   node ui/build.mjs --watch         rebuild on every change (not minified)
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';
import { appIconPng } from './app-icon.mjs';

const uiDirectory = dirname(fileURLToPath(import.meta.url));
const { values: options } = parseArgs({
  options: {
    outdir: { type: 'string', default: join(uiDirectory, 'dist') },
    dev: { type: 'boolean', default: false },
    watch: { type: 'boolean', default: false },
  },
});
const outdir = resolve(options.outdir);
const minify = !options.dev && !options.watch;

/** Copies a static file under a content-hashed name; returns its URL path. */
async function hashedCopy(source) {
  const bytes = await readFile(source);
  const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 10);
  const name = basename(source).replace(/(\.[^.]+)$/, `-${hash}$1`);
  await writeFile(join(outdir, 'assets', name), bytes);
  return `/assets/${name}`;
}

/** Newest Emoji version offered: later ones show as boxes on many systems still. */
const EMOJI_MAX_VERSION = 15.1;

/** The skin tone modifiers, light to dark (U+1F3FB–U+1F3FF), as emojibase names them in hexcodes. */
const SKIN_TONES = ['1F3FB', '1F3FC', '1F3FD', '1F3FE', '1F3FF'];

/**
 * Whether the picker's rule for a skin tone — the modifier after every modifier base, in place of a U+FE0F
 * there — gives exactly emojibase's variant for each of the five tones (true for 329 of its 330 emoji with
 * skins; "people holding hands" is the exception and keeps its default look). The same rule is in
 * src/emoji-data.ts (`withSkinTone`).
 */
function takesSkinTones(entry, unicode) {
  if (!entry.skins) return false;
  return SKIN_TONES.every((tone) => {
    const variant = entry.skins.find((skin) => {
      const tones = skin.hexcode.split('-').filter((part) => SKIN_TONES.includes(part));
      return tones.length > 0 && tones.every((part) => part === tone);
    });
    const modifier = String.fromCodePoint(Number.parseInt(tone, 16));
    return variant?.unicode === unicode.replace(/(\p{Emoji_Modifier_Base})\uFE0F?/gu, `$1${modifier}`);
  });
}

/**
 * The emoji picker's data, trimmed from emojibase-data (571 KB) to what the picker reads and written as a
 * hashed asset the app fetches when the picker first opens: `{ groups, emoji: [[emoji, label, shortcodes,
 * group, tags, takesSkinTones?], …] }` (a sixth element 1 where a skin tone
 * applies), shortcodes in GitHub's spelling (CLDR's where GitHub has none), space-separated.
 */
async function emojiAsset() {
  const require = createRequire(import.meta.url);
  const compact = require('emojibase-data/en/compact.json');
  const versions = new Map(
    require('emojibase-data/en/data.json').map((each) => [each.hexcode, each.version]),
  );
  const github = require('emojibase-data/en/shortcodes/github.json');
  const cldr = require('emojibase-data/en/shortcodes/cldr.json');
  const messages = require('emojibase-data/en/messages.json');
  const groups = messages.groups.filter((group) => group.key !== 'component');
  const groupIndex = new Map(groups.map((group, index) => [group.order, index]));
  const emoji = compact
    .filter((each) => groupIndex.has(each.group) && (versions.get(each.hexcode) ?? 0) <= EMOJI_MAX_VERSION)
    .sort((a, b) => a.order - b.order)
    .map((each) => {
      // 👍 rather than 👍 + U+FE0F, as typed and as the quick reactions have it: one reaction, not two.
      const unicode = each.unicode.replace(/(\p{Emoji_Presentation})\uFE0F/gu, '$1');
      const row = [
        unicode,
        each.label,
        [github[each.hexcode] ?? cldr[each.hexcode] ?? []].flat().join(' '),
        groupIndex.get(each.group),
        (each.tags ?? []).join(' '),
      ];
      return takesSkinTones(each, unicode) ? [...row, 1] : row;
    });
  const bytes = JSON.stringify({ groups: groups.map((group) => group.message), emoji });
  const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 10);
  await writeFile(join(outdir, 'assets', `emoji-${hash}.json`), bytes);
  return `/assets/emoji-${hash}.json`;
}

function page({ start, script, preloads, stylesheet, icon, emoji, manifest }) {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<meta name="kaiwa-emoji-data" content="${emoji}">
<title>Kaiwa</title>
<link rel="icon" href="${icon}" type="image/svg+xml">
<link rel="manifest" href="${manifest}">
<meta name="theme-color" content="#3454d1">
<link rel="stylesheet" href="${stylesheet}">
<script type="module" src="${start}"></script>
<script type="module" src="${script}"></script>
${preloads.map((chunk) => `<link rel="modulepreload" href="${chunk}">\n`).join('')}
</head>
<body>
<div id="app"></div>
<noscript>Kaiwa needs JavaScript to run.</noscript>
</body>
</html>
`;
}

/** Writes index.html for the outputs of a build. */
async function writePage(metafile) {
  const toUrl = (file) => `/${relative(outdir, resolve(uiDirectory, file)).split('\\').join('/')}`;
  // (Each lazily imported module is an entry point of its own too: the app's is the one built from main.tsx.)
  const entry = Object.entries(metafile.outputs).find(
    ([, output]) => output.entryPoint === buildOptions.entryPoints.app,
  );
  if (!entry) throw new Error('the build produced no entry bundle');
  const [script, output] = entry;
  if (!output.cssBundle) throw new Error('the build produced no stylesheet');
  const start = Object.keys(metafile.outputs).find(
    (file) => metafile.outputs[file].entryPoint === buildOptions.entryPoints.start,
  );
  if (!start) throw new Error('the build produced no start script');
  // The chunks the entries import statically (and they in turn): needed before the app can start.
  const preloads = [];
  const visit = (file) => {
    for (const imported of metafile.outputs[file]?.imports ?? []) {
      if (imported.kind !== 'import-statement' || preloads.includes(imported.path)) continue;
      preloads.push(imported.path);
      visit(imported.path);
    }
  };
  visit(start);
  visit(script);
  const scripts = Object.keys(metafile.outputs).filter((file) => file.endsWith('.js'));
  const icon = await hashedCopy(join(uiDirectory, 'public', 'favicon.svg'));
  const manifest = await writeManifest(icon);
  await writeFile(
    join(outdir, 'index.html'),
    page({
      start: toUrl(start),
      script: toUrl(script),
      preloads: preloads.map(toUrl),
      stylesheet: toUrl(output.cssBundle),
      icon,
      emoji: await emojiAsset(),
      manifest,
    }),
  );
  // Every chunk is part of the shell: a screen first opened offline still has its code.
  await writeServiceWorker([...scripts.map(toUrl), toUrl(output.cssBundle), icon]);
}

/** The web app manifest, with the hashed icons of this build (SVG, and PNG drawn here); served at a fixed path. */
async function writeManifest(icon) {
  const manifest = JSON.parse(await readFile(join(uiDirectory, 'public', 'manifest.webmanifest'), 'utf8'));
  manifest.icons = manifest.icons.map((each) =>
    each.src === '/favicon.svg' ? { ...each, src: icon } : each,
  );
  for (const size of [192, 512]) {
    const bytes = appIconPng(size);
    const name = `icon-${size}-${createHash('sha256').update(bytes).digest('hex').slice(0, 10)}.png`;
    await writeFile(join(outdir, 'assets', name), bytes);
    manifest.icons.push({
      src: `/assets/${name}`,
      sizes: `${size}x${size}`,
      type: 'image/png',
      purpose: 'any',
    });
  }
  await writeFile(join(outdir, 'manifest.webmanifest'), `${JSON.stringify(manifest, null, 2)}\n`);
  return '/manifest.webmanifest';
}

/** The service worker at /sw.js (scope /), told which files make this build's app shell. */
async function writeServiceWorker(assets) {
  const shell = ['/index.html', '/manifest.webmanifest', ...assets];
  await esbuild.build({
    absWorkingDir: uiDirectory,
    entryPoints: ['src/service-worker.ts'],
    outfile: join(outdir, 'sw.js'),
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: buildOptions.target,
    tsconfig: join(uiDirectory, 'tsconfig.json'),
    minify,
    logLevel: 'warning',
    define: {
      KAIWA_SHELL: JSON.stringify(shell),
      KAIWA_BUILD: JSON.stringify(createHash('sha256').update(shell.join()).digest('hex').slice(0, 10)),
    },
  });
}

const buildOptions = {
  absWorkingDir: uiDirectory,
  // `start` first in the page: its requests leave before `app`'s code (the markdown parser…) is evaluated.
  entryPoints: { app: 'src/main.tsx', start: 'src/first-requests.ts' },
  outdir: join(outdir, 'assets'),
  entryNames: '[name]-[hash]',
  chunkNames: 'chunk-[hash]',
  assetNames: '[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022', 'chrome109', 'firefox115', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  tsconfig: join(uiDirectory, 'tsconfig.json'),
  minify,
  sourcemap: 'linked',
  legalComments: 'linked',
  metafile: true,
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': minify ? '"production"' : '"development"' },
};

await rm(outdir, { recursive: true, force: true });
await mkdir(join(outdir, 'assets'), { recursive: true });

if (options.watch) {
  const context = await esbuild.context({
    ...buildOptions,
    plugins: [
      {
        name: 'index-html',
        setup(build) {
          build.onEnd(async (result) => {
            if (result.errors.length > 0 || !result.metafile) return;
            await writePage(result.metafile);
            console.log(`[ui] rebuilt ${new Date().toLocaleTimeString()}`);
          });
        },
      },
    ],
  });
  await context.watch();
  console.log(`[ui] watching ${join(uiDirectory, 'src')}; output in ${outdir}`);
} else {
  const result = await esbuild.build(buildOptions);
  await writePage(result.metafile);
  const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
  console.log(`[ui] built ${relative(process.cwd(), outdir) || '.'} (${Math.round(bytes / 1024)} KiB)`);
}
