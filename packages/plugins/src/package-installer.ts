import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdir, readdir } from 'node:fs/promises';
import { join, posix, win32 } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { extract, Parser, type ReadEntry } from 'tar';
import { PluginError, type PluginIssue } from './errors.js';
import { loadPluginPackage, MANIFEST_FILES, type PluginPackage } from './manifest.js';

export interface PluginTarballLimits {
  /** Most bytes the unpacked files may take together. Default 64 MiB. */
  maxUnpackedBytes?: number;
  /** Most entries (files and folders). Default 2000. */
  maxEntries?: number;
}

export interface UnpackPluginTarballOptions extends PluginTarballLimits {
  /** The tarball (`.tgz`, or a plain `.tar`) on disk. */
  file: string;
  /** Its SHA-256 as the admin gave it (hex; upper or lower case). */
  sha256: string;
  /** A folder that does not exist yet (or is empty): the plugin is unpacked into it. */
  destination: string;
  /** This Kaiwa's version, checked against the manifest's `engines.kaiwa`. */
  engineVersion: string;
}

const DEFAULT_MAX_UNPACKED_BYTES = 64 * 1024 * 1024;
const DEFAULT_MAX_ENTRIES = 2000;
const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);

/**
 * The SHA-256 of a file, lower-case hex.
 *
 * @example const sha256 = await sha256OfFile('/tmp/hello-1.0.0.tgz');
 */
export async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

/** What is wrong with one entry's path or type, if anything. */
function entryProblem(path: string, type: string): string | undefined {
  if (path.includes('\0')) return 'a path with a NUL character';
  if (posix.isAbsolute(path) || win32.isAbsolute(path)) return 'an absolute path';
  if (path.includes('\\')) return 'a path with a backslash';
  if (path.split('/').includes('..')) return 'a path leading out of the plugin folder ("..")';
  if (type === 'SymbolicLink' || type === 'Link') {
    return 'a link (the plugin sandbox refuses links, which could lead out of its folder)';
  }
  if (!FILE_TYPES.has(type) && type !== 'Directory') {
    return `a ${type} entry (only files and folders are allowed; no devices, FIFOs or links)`;
  }
  return undefined;
}

/**
 * Reads every entry header of the tarball without writing anything: problems of paths and types, and the
 * count and size limits (reading stops once one is passed, so a decompression bomb is not read to its end).
 */
async function scanTarball(
  file: string,
  limits: Required<PluginTarballLimits>,
): Promise<{ issues: PluginIssue[]; paths: string[] }> {
  const issues: PluginIssue[] = [];
  const paths: string[] = [];
  let bytes = 0;
  const input = createReadStream(file);
  await new Promise<void>((resolve, reject) => {
    let stopped = false;
    const stop = (issue: PluginIssue) => {
      issues.push(issue);
      stopped = true;
      input.destroy();
      resolve();
    };
    const parser = new Parser({
      strict: true,
      onReadEntry: (entry: ReadEntry) => {
        entry.resume();
        if (stopped) return;
        const problem = entryProblem(entry.path, entry.type);
        if (problem) issues.push({ path: [entry.path], message: problem });
        paths.push(entry.path);
        bytes += FILE_TYPES.has(entry.type) ? (entry.size ?? 0) : 0;
        if (paths.length > limits.maxEntries) {
          stop({ path: [], message: `more than ${limits.maxEntries} entries` });
        } else if (bytes > limits.maxUnpackedBytes) {
          stop({ path: [], message: `more than ${limits.maxUnpackedBytes} bytes unpacked` });
        }
      },
    });
    parser.on('end', () => resolve());
    parser.on('error', (error: Error) =>
      stopped ? resolve() : reject(invalidPackage([{ path: [], message: error.message }])),
    );
    input.on('error', (error) => (stopped ? resolve() : reject(error)));
    input.pipe(parser);
  });
  if (issues.length === 0 && paths.length === 0) {
    issues.push({ path: [], message: 'not a tar archive, or an empty one' });
  }
  return { issues, paths };
}

function invalidPackage(issues: PluginIssue[]): PluginError {
  return new PluginError(
    'invalid_package',
    `the plugin tarball cannot be installed: ${issues.map((issue) => `${issue.path.join('/') || '(tarball)'}: ${issue.message}`).join('; ')}`,
    { issues },
  );
}

/**
 * How many leading path segments to drop so the manifest is at the top: none when it is there already, one
 * when every entry sits in one folder holding it (`npm pack` puts everything in `package/`). `./` counts as a
 * segment to drop.
 */
function stripOf(paths: string[]): number | undefined {
  const dotted = paths.every((path) => path === './' || path.startsWith('./'));
  const normalized = paths.map((path) => posix.normalize(path).replace(/^\.\/|\/$/g, ''));
  const extra = dotted ? 1 : 0;
  if (normalized.some((path) => (MANIFEST_FILES as readonly string[]).includes(path))) return extra;
  const tops = new Set(
    normalized.filter((path) => path !== '' && path !== '.').map((path) => path.split('/')[0]),
  );
  if (tops.size !== 1) return undefined;
  const [top] = tops;
  return MANIFEST_FILES.some((name) => normalized.includes(`${top}/${name}`)) ? extra + 1 : undefined;
}

/** Counts and sizes what was written, and that nothing but files and folders was (a second line of defence). */
async function checkUnpacked(folder: string, limits: Required<PluginTarballLimits>): Promise<void> {
  let entries = 0;
  let bytes = 0;
  const pending = [folder];
  for (let current = pending.pop(); current !== undefined; current = pending.pop()) {
    for (const name of await readdir(current)) {
      const path = join(current, name);
      const stats = await lstat(path);
      entries++;
      if (stats.isDirectory()) pending.push(path);
      else if (stats.isFile()) bytes += stats.size;
      else
        throw invalidPackage([{ path: [path.slice(folder.length + 1)], message: 'not a file or a folder' }]);
    }
  }
  if (entries > limits.maxEntries || bytes > limits.maxUnpackedBytes) {
    throw invalidPackage([{ path: [], message: 'larger unpacked than its headers said' }]);
  }
}

/**
 * Unpacks a plugin tarball into `destination` after checking it: its SHA-256 is the one given
 * (`checksum_mismatch` otherwise), every entry is a file or folder whose path stays inside (no absolute path,
 * no `..`, no link, no device or FIFO), there are at most `maxEntries` entries and `maxUnpackedBytes` bytes
 * (`invalid_package` naming each bad entry, before anything is written), and the manifest is valid and fits
 * this Kaiwa (`invalid_manifest` or `incompatible_engine` naming every problem). The manifest may sit at the
 * top or in one folder holding everything (`package/`, as `npm pack` makes). Returns the unpacked plugin; on
 * a throw, what was written to `destination` is the caller's to remove.
 *
 * @throws PluginError `checksum_mismatch`, `invalid_package`, `invalid_manifest` or `incompatible_engine`.
 * @example
 * const plugin = await unpackPluginTarball({ file, sha256, destination: '/srv/kaiwa/plugins/.staging-1', engineVersion: '0.1.0' });
 */
export async function unpackPluginTarball(options: UnpackPluginTarballOptions): Promise<PluginPackage> {
  const limits: Required<PluginTarballLimits> = {
    maxUnpackedBytes: options.maxUnpackedBytes ?? DEFAULT_MAX_UNPACKED_BYTES,
    maxEntries: options.maxEntries ?? DEFAULT_MAX_ENTRIES,
  };
  const actual = await sha256OfFile(options.file);
  if (actual !== options.sha256.trim().toLowerCase()) {
    throw new PluginError('checksum_mismatch', `the tarball's SHA-256 is ${actual}, not ${options.sha256}`, {
      issues: [{ path: ['sha256'], message: `the tarball's SHA-256 is ${actual}` }],
    });
  }
  const { issues, paths } = await scanTarball(options.file, limits);
  if (issues.length > 0) throw invalidPackage(issues);
  const strip = stripOf(paths);
  if (strip === undefined) {
    throw new PluginError('invalid_manifest', `no ${MANIFEST_FILES.join(' or ')} in the tarball`, {
      issues: [
        { path: [], message: 'manifest file missing (at the top, or in one folder holding everything)' },
      ],
    });
  }
  await mkdir(options.destination, { recursive: true });
  await extract({
    file: options.file,
    cwd: options.destination,
    strip,
    strict: true,
    preservePaths: false,
    preserveOwner: false,
    // Checked above already; a filter again, so nothing but files and folders is ever written.
    filter: (path, entry) => entryProblem(path, (entry as ReadEntry).type) === undefined,
  });
  await checkUnpacked(options.destination, limits);
  return loadPluginPackage(options.destination, { engineVersion: options.engineVersion });
}
