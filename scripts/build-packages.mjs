#!/usr/bin/env node
/*
 * Builds every workspace package that has a `build` script (`npm run build`, and `npm install` through the
 * root `prepare` script) and says so in one line per package instead of the bundler's pages of output. A
 * package's build starts once the workspace packages it depends on are built (its dependencies and peers;
 * devDependencies are for its tests), up to one build per CPU at a time; where that order has a cycle, the
 * next package in the workspaces' order goes first, as with `npm run build --workspaces`. A failed build
 * prints its whole output and fails the command.
 *
 *   node scripts/build-packages.mjs              every package
 *   node scripts/build-packages.mjs --verbose    every package, with the bundler's own output
 *
 * One package with its full output: `npm run build -w packages/core`.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const verbose = process.argv.includes('--verbose');
const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));

/** The workspace folders the root package.json names, `dir/*` patterns expanded like npm does. */
function workspaceFolders() {
  const folders = [];
  for (const pattern of readJson(join(root, 'package.json')).workspaces ?? []) {
    if (!pattern.endsWith('/*')) {
      folders.push(pattern);
      continue;
    }
    const parent = pattern.slice(0, -2);
    for (const name of readdirSync(join(root, parent)).sort()) {
      if (statSync(join(root, parent, name)).isDirectory()) folders.push(`${parent}/${name}`);
    }
  }
  return folders.filter((folder) => {
    try {
      statSync(join(root, folder, 'package.json'));
      return true;
    } catch {
      return false;
    }
  });
}

const packages = workspaceFolders().map((folder) => {
  const manifest = readJson(join(root, folder, 'package.json'));
  const dependencies = Object.keys({
    ...manifest.dependencies,
    ...manifest.peerDependencies,
    ...manifest.optionalDependencies,
  });
  return { folder, name: manifest.name, build: manifest.scripts?.build, dependencies };
});
const toBuild = packages.filter((pkg) => pkg.build);
const names = new Set(toBuild.map((pkg) => pkg.name));
for (const pkg of toBuild) pkg.waitsFor = pkg.dependencies.filter((name) => names.has(name));

/** Runs `npm run build` in one workspace; resolves with its exit code and its captured output. */
function runBuild(pkg) {
  // Under npm (`npm install`, `npm run build`) npm_execpath is npm's own CLI: run it with this Node.
  const npmCli = process.env.npm_execpath;
  const [command, args] = npmCli?.endsWith('.js')
    ? [process.execPath, [npmCli, 'run', 'build']]
    : ['npm', ['run', 'build']];
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: join(root, pkg.folder),
      stdio: verbose ? 'inherit' : ['ignore', 'pipe', 'pipe'],
      shell: command === 'npm' && process.platform === 'win32',
    });
    const output = [];
    child.stdout?.on('data', (chunk) => output.push(chunk));
    child.stderr?.on('data', (chunk) => output.push(chunk));
    child.on('error', (error) => resolve({ code: 1, output: `${error.message}\n` }));
    child.on('close', (code) => resolve({ code: code ?? 1, output: Buffer.concat(output).toString() }));
  });
}

const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
const started = Date.now();
const done = new Set();
const running = new Map();
const waiting = [...toBuild];
const concurrency = Math.max(1, Math.min(availableParallelism(), 4));
const start = (index) => {
  const [pkg] = waiting.splice(index, 1);
  const begun = Date.now();
  running.set(
    pkg.name,
    runBuild(pkg).then((result) => ({ pkg, result, ms: Date.now() - begun })),
  );
};

while (waiting.length > 0 || running.size > 0) {
  for (let i = 0; i < waiting.length && running.size < concurrency; ) {
    if (waiting[i].waitsFor.every((name) => done.has(name))) start(i);
    else i++;
  }
  // A dependency cycle among the packages: nothing is ready and nothing runs, so take the workspaces' order.
  if (running.size === 0) start(0);
  const { pkg, result, ms } = await Promise.race(running.values());
  running.delete(pkg.name);
  if (result.code !== 0) {
    process.stderr.write(result.output);
    console.error(`[build] ${pkg.name} (${pkg.folder}) failed after ${seconds(ms)}`);
    // Let the builds already running finish, so no half-written dist/ is left behind.
    await Promise.all(running.values());
    process.exit(result.code);
  }
  done.add(pkg.name);
  console.log(`[build] ${pkg.name} ${seconds(ms)}`);
}

console.log(`[build] built ${done.size} packages in ${seconds(Date.now() - started)}`);
