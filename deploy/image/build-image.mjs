#!/usr/bin/env node
/*
 * Builds the reference server's container image without pulling anything: a root file system assembled from
 * this machine's Node binary (with every shared library `ldd` lists, at the same paths), busybox for `/bin/sh`
 * when the machine has it, the CA certificates, and the built server with its production dependencies only
 * (the tree `npm ls --omit=dev --omit=peer` gives, copied from this checkout's node_modules, so native addons
 * are the ones built for this Node). `podman import` turns it into an image; nothing runs as root inside it.
 *
 *   npm install                                       # builds every package's dist and the web UI first
 *   node deploy/image/build-image.mjs                 # localhost/kaiwa:<server version>
 *   node deploy/image/build-image.mjs --tag registry.example.com/kaiwa:1.4.2
 *   node deploy/image/build-image.mjs --tar kaiwa-rootfs.tar   # only the root file system, no podman needed
 *
 * Options: --node <binary> (default: the Node running this script, whose ABI better-sqlite3 was built for),
 * --quiet (only the final line). The image: ENTRYPOINT node …/cli.js, CMD start (so `podman run IMAGE migrate`
 * works), user 10001, data in the volume /var/lib/kaiwa, port 8080. See docs/deployment.md.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = realpathSync(new URL('../..', import.meta.url));
const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));

/** The user the server runs as, and the owner of the data volume. */
const USER_ID = 10001;
const DATA_DIRECTORY = '/var/lib/kaiwa';
const APP_DIRECTORY = '/app';
const PORT = 8080;
/** Metrics on the container's own loopback, so NODE_ENV=production starts without a token; see deployment.md. */
const METRICS_PORT = 9464;

const { values: options } = parseArgs({
  options: {
    tag: { type: 'string' },
    tar: { type: 'string' },
    node: { type: 'string' },
    quiet: { type: 'boolean', default: false },
  },
});
const say = (line) => {
  if (!options.quiet) process.stdout.write(`${line}\n`);
};
/** A problem the person running the script can fix; printed without a stack. */
class BuildError extends Error {}
const fail = (message) => {
  throw new BuildError(message);
};

const serverManifest = readJson(join(root, 'packages/server/package.json'));
const tag = options.tag ?? `localhost/kaiwa:${serverManifest.version}`;
const nodeBinary = realpathSync(options.node ?? process.execPath);
const podman = options.tar ? undefined : 'podman';
const started = Date.now();
const work = mkdtempSync(join(tmpdir(), 'kaiwa-image-'));
const rootfs = join(work, 'rootfs');
const app = join(rootfs, APP_DIRECTORY);

try {
  build();
} catch (error) {
  process.stderr.write(`build-image: ${error instanceof BuildError ? error.message : error.stack}\n`);
  process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}

function build() {
  for (const built of ['packages/server/dist/cli.js', 'packages/server/ui/dist/index.html']) {
    if (!existsSync(join(root, built)))
      fail(`${built} is missing: run \`npm install\` (or \`npm run build\`) first`);
  }
  if (podman && spawnSync(podman, ['--version']).status !== 0) {
    fail('podman is missing (apt-get install podman runc); --tar <file> writes the root file system only');
  }

  // Node and the libraries it needs, at the paths its loader looks them up.
  copyFile(nodeBinary, join(rootfs, 'usr/local/bin/node'));
  const libraries = new Set(sharedLibraries(nodeBinary));

  const busybox = findOnPath('busybox');
  if (busybox) {
    copyFile(busybox, join(rootfs, 'bin/busybox'));
    for (const library of sharedLibraries(busybox)) libraries.add(library);
    const applets = execFileSync(busybox, ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
    for (const applet of applets) {
      if (applet !== 'busybox') symlinkSync('busybox', join(rootfs, 'bin', applet));
    }
  } else {
    say('busybox not found: the image has no /bin/sh (apt-get install busybox-static to add one)');
  }

  copyProductionTree();
  say(`copied the server and its production dependencies (${seconds(started)})`);
  // Native addons link against the same C and C++ runtime as Node, but may need more.
  for (const addon of findFiles(app, (name) => name.endsWith('.node'))) {
    for (const library of sharedLibraries(addon)) libraries.add(library);
  }
  for (const library of libraries) copyFile(library, join(rootfs, library));

  writeSystemFiles();

  const tarFile = resolve(options.tar ?? join(work, 'rootfs.tar'));
  writeTar(tarFile);
  if (!podman) {
    say(`Wrote ${tarFile} (${megabytes(statSync(tarFile).size)}) in ${seconds(started)}`);
    return;
  }
  say(`wrote the root file system's tar (${seconds(started)})`);
  const changes = imageChanges().flatMap((change) => ['--change', change]);
  execFileSync(podman, ['import', '--quiet', ...changes, tarFile, tag], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const size = Number(
    execFileSync(podman, ['image', 'inspect', '--format', '{{.Size}}', tag], { encoding: 'utf8' }),
  );
  process.stdout.write(`Built ${tag} (${megabytes(size)}, node ${nodeVersion()}) in ${seconds(started)}\n`);
}

/** What `podman import` sets on the image (the Dockerfile instructions it accepts). */
function imageChanges() {
  return [
    `USER ${USER_ID}:${USER_ID}`,
    `WORKDIR ${APP_DIRECTORY}`,
    'ENV PATH=/usr/local/bin:/bin',
    'ENV NODE_ENV=production',
    'ENV HOST=0.0.0.0',
    `ENV PORT=${PORT}`,
    `ENV KAIWA_DATA_DIR=${DATA_DIRECTORY}`,
    `ENV KAIWA_METRICS_PORT=${METRICS_PORT}`,
    `EXPOSE ${PORT}`,
    `VOLUME ${DATA_DIRECTORY}`,
    'STOPSIGNAL SIGTERM',
    `ENTRYPOINT ["/usr/local/bin/node", "${APP_DIRECTORY}/node_modules/@kaiwa/server/dist/cli.js"]`,
    'CMD ["start"]',
    `LABEL org.opencontainers.image.title=kaiwa org.opencontainers.image.version=${serverManifest.version}`,
  ];
}

/**
 * Copies the server and every production dependency into `<app>/node_modules`, keeping npm's layout (hoisted
 * packages at the top, nested ones where npm nested them). Workspace packages (symlinks in this checkout)
 * become real folders holding what `npm pack` would publish: package.json and the `files` it lists.
 */
function copyProductionTree() {
  const listing = spawnSync(
    'npm',
    ['ls', '--omit=dev', '--omit=peer', '--all', '--parseable', '--workspace', '@kaiwa/server'],
    { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  // npm ls exits 1 on a version it calls invalid (a dedupe it would do differently) while listing the tree;
  // a missing package, though, would be missing in the image too.
  const missing = listing.stderr.split('\n').filter((line) => /\bmissing:/.test(line));
  if (missing.length > 0)
    fail(`node_modules lacks what the server needs (run npm install):\n${missing.join('\n')}`);
  const paths = [...new Set(listing.stdout.split('\n').filter((line) => line.startsWith(root)))]
    .map((path) => relative(root, path))
    .filter((path) => path !== '');
  if (!paths.some((path) => path === 'node_modules/@kaiwa/server')) {
    fail(`npm ls did not list @kaiwa/server's tree:\n${listing.stderr}`);
  }
  const workspaceNames = new Map(); // folder in the checkout -> package name
  for (const path of paths) {
    const source = join(root, path);
    if (lstatSync(source).isSymbolicLink()) {
      const folder = realpathSync(source);
      workspaceNames.set(relative(root, folder), readJson(join(folder, 'package.json')).name);
    }
  }
  for (const path of paths) {
    const source = join(root, path);
    if (lstatSync(source).isSymbolicLink()) {
      copyWorkspacePackage(realpathSync(source), join(app, path));
      continue;
    }
    // A package nested in a workspace's own node_modules: packages/knowledge/node_modules/unpdf.
    const [owner, ...rest] = path.split('/node_modules/');
    const destination = path.startsWith('node_modules/')
      ? join(app, path)
      : join(
          app,
          'node_modules',
          workspaceNames.get(owner) ?? fail(`no workspace at ${owner}`),
          'node_modules',
          rest.join('/node_modules/'),
        );
    copyPackage(source, destination);
  }
}

function copyWorkspacePackage(folder, destination) {
  const manifest = readJson(join(folder, 'package.json'));
  mkdirSync(destination, { recursive: true });
  copyFileSync(join(folder, 'package.json'), join(destination, 'package.json'));
  for (const entry of manifest.files ?? []) {
    if (existsSync(join(folder, entry))) {
      copyTree(join(folder, entry), join(destination, entry), keepFile);
    }
  }
}

/** One package's own files: its nested node_modules are copied as packages of their own (or not at all). */
function copyPackage(source, destination) {
  const compiledHere = existsSync(join(source, 'binding.gyp'));
  copyTree(source, destination, (path) => {
    const inside = relative(source, path);
    if (inside.split('/').includes('node_modules')) return false;
    // Compiled at install (better-sqlite3): the addon, not its C sources, object files or test addon.
    if (compiledHere) {
      const top = inside.split('/')[0];
      if (top === 'deps' || top === 'src') return false;
      if (top === 'build' && !lstatSync(path).isDirectory()) {
        return path.endsWith('.node') && !basename(path).startsWith('test_');
      }
      if (top === 'build' && /\/(obj|obj\.target|\.deps)$/.test(path)) return false;
    }
    return keepFile(path);
  });
}

/**
 * Copies a folder's files that `keep` accepts, as hard links where the file system allows (the tar reads
 * them once; nothing is written twice), symlinks as they are. Nothing staged is ever modified in place.
 */
function copyTree(source, destination, keep) {
  if (!keep(source)) return;
  const stat = lstatSync(source);
  if (stat.isSymbolicLink()) {
    mkdirSync(dirname(destination), { recursive: true });
    symlinkSync(readlinkSync(source), destination);
  } else if (stat.isDirectory()) {
    mkdirSync(destination, { recursive: true });
    for (const name of readdirSync(source)) copyTree(join(source, name), join(destination, name), keep);
  } else if (stat.isFile()) {
    mkdirSync(dirname(destination), { recursive: true });
    try {
      linkSync(source, destination);
    } catch {
      copyFileSync(source, destination);
      chmodSync(destination, stat.mode & 0o777);
    }
  }
}

/** Source maps, type declarations and read-mes are not needed to run (licences stay). */
function keepFile(path) {
  const name = basename(path);
  if (/\.(map|d\.ts|d\.mts|d\.cts|tsbuildinfo)$/.test(name)) return false;
  if (/^(README|CHANGELOG|HISTORY)(\.\w+)?$/i.test(name)) return false;
  return true;
}

function writeSystemFiles() {
  const write = (path, text, mode = 0o644) => {
    mkdirSync(dirname(join(rootfs, path)), { recursive: true });
    writeFileSync(join(rootfs, path), text, { mode });
  };
  write(
    'etc/passwd',
    `root:x:0:0:root:/root:/bin/sh\nkaiwa:x:${USER_ID}:${USER_ID}:Kaiwa:${DATA_DIRECTORY}:/bin/false\n`,
  );
  write('etc/group', `root:x:0:\nkaiwa:x:${USER_ID}:\n`);
  write('etc/nsswitch.conf', 'passwd: files\ngroup: files\nhosts: files dns\n');
  for (const certificates of ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt']) {
    if (existsSync(certificates)) {
      copyFile(certificates, join(rootfs, 'etc/ssl/certs/ca-certificates.crt'));
      break;
    }
  }
  // Node's own root store serves TLS; this bundle is for NODE_OPTIONS=--use-openssl-ca and extra CAs.
  mkdirSync(join(rootfs, 'tmp'), { recursive: true });
  chmodSync(join(rootfs, 'tmp'), 0o1777); // a tmpfs mounted there takes this mode
  mkdirSync(join(rootfs, DATA_DIRECTORY), { recursive: true });
  mkdirSync(join(rootfs, 'root'), { recursive: true });
}

/**
 * A tar of the root file system owned by root, except the data folder, owned by the server's user (a new
 * named volume copies that ownership). Entries sorted and dated at the epoch: the same inputs give the same tar.
 */
function writeTar(file) {
  const common = ['--numeric-owner', '--sort=name', '--mtime=@0', '--format=gnu', '-C', rootfs];
  const data = `.${DATA_DIRECTORY}`;
  execFileSync('tar', [...common, '--owner=0', '--group=0', `--exclude=${data}`, '-cf', file, '.']);
  execFileSync('tar', [...common, `--owner=${USER_ID}`, `--group=${USER_ID}`, '-rf', file, data]);
}

/** The libraries `ldd` resolves for a binary (the loader included); none for a static one. */
function sharedLibraries(binary) {
  const result = spawnSync('ldd', [binary], { encoding: 'utf8' });
  if (result.status !== 0) return []; // "not a dynamic executable"
  const found = [];
  for (const line of result.stdout.split('\n')) {
    const match = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (match?.[1]) found.push(match[1]);
  }
  const missing = result.stdout.split('\n').filter((line) => line.includes('not found'));
  if (missing.length > 0) fail(`${binary} needs libraries this machine lacks:\n${missing.join('\n')}`);
  return found;
}

/** Copies a file's contents (following symlinks) and mode. */
function copyFile(source, destination) {
  mkdirSync(dirname(destination), { recursive: true });
  copyFileSync(source, destination);
  chmodSync(destination, statSync(source).mode & 0o777);
}

function findOnPath(program) {
  for (const folder of (process.env.PATH ?? '').split(':')) {
    const candidate = join(folder, program);
    if (folder && existsSync(candidate)) return realpathSync(candidate);
  }
  return undefined;
}

function findFiles(folder, wanted) {
  return readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && wanted(entry.name))
    .map((entry) => join(entry.parentPath ?? entry.path, entry.name));
}

function nodeVersion() {
  return execFileSync(nodeBinary, ['--version'], { encoding: 'utf8' }).trim();
}

function megabytes(bytes) {
  return `${Math.round(bytes / 1e6)} MB`;
}

function seconds(since) {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}
