#!/usr/bin/env node
/*
 * Builds the web chat UI into ui/dist: one JavaScript bundle (Preact, esbuild) and one stylesheet, both with
 * content hashes in their names, and an index.html that links them. No inline script or style, so the
 * server's strict Content-Security-Policy holds.
 *
 *   node ui/build.mjs                 production build into ui/dist
 *   node ui/build.mjs --outdir DIR    somewhere else (the browser test builds into a temporary folder)
 *   node ui/build.mjs --dev           not minified
 *   node ui/build.mjs --watch         rebuild on every change (not minified)
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';

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

function page({ script, stylesheet, icon }) {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<title>Kaiwa</title>
<link rel="icon" href="${icon}" type="image/svg+xml">
<link rel="stylesheet" href="${stylesheet}">
<script type="module" src="${script}"></script>
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
  const entry = Object.entries(metafile.outputs).find(([, output]) => output.entryPoint);
  if (!entry) throw new Error('the build produced no entry bundle');
  const [script, output] = entry;
  if (!output.cssBundle) throw new Error('the build produced no stylesheet');
  const icon = await hashedCopy(join(uiDirectory, 'public', 'favicon.svg'));
  await writeFile(
    join(outdir, 'index.html'),
    page({ script: toUrl(script), stylesheet: toUrl(output.cssBundle), icon }),
  );
}

const buildOptions = {
  absWorkingDir: uiDirectory,
  entryPoints: { app: 'src/main.tsx' },
  outdir: join(outdir, 'assets'),
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  bundle: true,
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
