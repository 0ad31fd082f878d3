import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PluginError } from './errors.js';
import { unpackPluginTarball } from './package-installer.js';
import { buildPluginFolder } from './test-support/build-plugin.js';
import { craftTarball, type PluginTarball, packPluginFolder } from './test-support/pack-plugin.js';

/*
 * Unpacking plugin tarballs, real ones made with tar from a built plugin, and hostile ones written header by
 * header: the checksum, every bad entry named before anything is written, limits, and the manifest's problems.
 */

const LIFECYCLE = fileURLToPath(new URL('./test-fixtures/lifecycle', import.meta.url));
const scratch: string[] = [];
let built = '';
let workspace = '';

beforeAll(async () => {
  built = await buildPluginFolder(LIFECYCLE);
  workspace = await mkdtemp(join(tmpdir(), 'kaiwa-unpack-'));
  scratch.push(built, workspace);
});

afterAll(async () => {
  for (const folder of scratch) await rm(folder, { recursive: true, force: true });
});

let count = 0;
const destination = () => join(workspace, `plugin-${++count}`);
const unpack = (
  tarball: PluginTarball,
  options: { sha256?: string; maxEntries?: number; maxUnpackedBytes?: number } = {},
) =>
  unpackPluginTarball({
    file: tarball.file,
    sha256: options.sha256 ?? tarball.sha256,
    destination: destination(),
    engineVersion: '0.1.0',
    ...(options.maxEntries ? { maxEntries: options.maxEntries } : {}),
    ...(options.maxUnpackedBytes ? { maxUnpackedBytes: options.maxUnpackedBytes } : {}),
  });
const failureOf = async (work: Promise<unknown>): Promise<PluginError> => {
  const error = await work.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(PluginError.isInstance(error), String(error)).toBe(true);
  return error as PluginError;
};

describe('unpackPluginTarball', () => {
  it('unpacks a packed plugin, files at the top or in one package/ folder', async () => {
    for (const prefix of [undefined, 'package']) {
      const tarball = await packPluginFolder(built, prefix ? { prefix } : {});
      const plugin = await unpack({ ...tarball, sha256: tarball.sha256.toUpperCase() });
      expect(plugin.manifest).toMatchObject({ id: 'lifecycle', version: '1.0.0' });
      expect((await readdir(plugin.folder)).toSorted()).toEqual(['kaiwa-plugin.json', 'plugin.mjs']);
      expect(await readFile(plugin.entryPath, 'utf8')).toContain('whoami');
    }
  });

  it('refuses a tarball whose SHA-256 is not the one given, before reading it', async () => {
    const tarball = await packPluginFolder(built);
    const target = destination();
    const error = await failureOf(
      unpackPluginTarball({
        file: tarball.file,
        sha256: 'a'.repeat(64),
        destination: target,
        engineVersion: '0.1.0',
      }),
    );
    expect(error.code).toBe('checksum_mismatch');
    expect(error.issues).toEqual([
      { path: ['sha256'], message: `the tarball's SHA-256 is ${tarball.sha256}` },
    ]);
    await expect(readdir(target)).rejects.toThrow();
  });

  it('names every entry leading out, every link and device, and writes nothing', async () => {
    const manifest = await readFile(join(built, 'kaiwa-plugin.json'));
    const tarball = await craftTarball([
      { path: 'kaiwa-plugin.json', body: manifest },
      { path: 'plugin.mjs', body: 'export {};' },
      { path: '../escaped.js', body: 'owned' },
      { path: 'lib/../../escaped-too.js', body: 'owned' },
      { path: '/etc/kaiwa-owned', body: 'owned' },
      { path: 'to-passwd', type: 'SymbolicLink', linkpath: '/etc/passwd' },
      { path: 'hard', type: 'Link', linkpath: '../../etc/shadow' },
      { path: 'null', type: 'CharacterDevice' },
      { path: 'pipe', type: 'FIFO' },
    ]);
    const target = destination();
    const error = await failureOf(
      unpackPluginTarball({
        file: tarball.file,
        sha256: tarball.sha256,
        destination: target,
        engineVersion: '0.1.0',
      }),
    );
    expect(error.code).toBe('invalid_package');
    const named = error.issues.map((issue) => issue.path.join('/'));
    expect(named).toEqual([
      '../escaped.js',
      'lib/../../escaped-too.js',
      expect.stringContaining('etc/kaiwa-owned'),
      'to-passwd',
      'hard',
      'null',
      'pipe',
    ]);
    expect(error.issues[0]?.message).toContain('..');
    expect(error.issues[3]?.message).toContain('link');
    expect(error.issues[5]?.message).toContain('CharacterDevice');
    await expect(readdir(target)).rejects.toThrow();
    await expect(readFile(join(workspace, 'escaped.js'))).rejects.toThrow();
  });

  it('stops at the entry and size limits', async () => {
    const many = await craftTarball(
      Array.from({ length: 30 }, (_, index) => ({ path: `file-${index}.txt`, body: 'x' })),
    );
    expect((await failureOf(unpack(many, { maxEntries: 10 }))).issues).toEqual([
      { path: [], message: 'more than 10 entries' },
    ]);
    const large = await craftTarball([{ path: 'big.bin', body: Buffer.alloc(200_000) }]);
    expect((await failureOf(unpack(large, { maxUnpackedBytes: 100_000 }))).issues).toEqual([
      { path: [], message: 'more than 100000 bytes unpacked' },
    ]);
  });

  it('refuses what is not a tarball, and a tarball without a manifest', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'kaiwa-not-tar-'));
    scratch.push(folder);
    const file = join(folder, 'x.tgz');
    await writeFile(file, 'this is not a tarball at all, just text');
    const { createHash } = await import('node:crypto');
    const sha256 = createHash('sha256')
      .update(await readFile(file))
      .digest('hex');
    expect((await failureOf(unpack({ file, sha256, bytes: Buffer.alloc(0) }))).code).toBe('invalid_package');
    const empty = await craftTarball([{ path: 'readme.txt', body: 'no manifest' }]);
    expect((await failureOf(unpack(empty))).code).toBe('invalid_manifest');
  });

  it('names every problem of a bad manifest', async () => {
    const tarball = await craftTarball([
      {
        path: 'kaiwa-plugin.json',
        body: JSON.stringify({
          id: 'Bad Id',
          version: 'one',
          engines: { kaiwa: '^0.1.0' },
          entry: '../outside.js',
          capabilities: { slashCommand: [] },
        }),
      },
    ]);
    const error = await failureOf(unpack(tarball));
    expect(error.code).toBe('invalid_manifest');
    expect(error.issues.map((issue) => issue.path.join('.')).toSorted()).toEqual([
      'capabilities',
      'entry',
      'id',
      'version',
    ]);
  });
});
