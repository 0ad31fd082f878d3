import { createHash } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { create, Header } from 'tar';

/** A tarball on disk and its SHA-256 (hex), as an admin would upload it. */
export interface PluginTarball {
  file: string;
  sha256: string;
  bytes: Buffer;
}

async function tarballOf(bytes: Buffer, name: string): Promise<PluginTarball> {
  const file = join(await mkdtemp(join(tmpdir(), 'kaiwa-tarball-')), name);
  await writeFile(file, bytes);
  return { file, bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/**
 * Packs a built plugin folder (`buildPluginFolder`) into a gzipped tarball, its files at the top, or in one
 * folder `prefix` (as `npm pack` puts them in `package/`).
 *
 * @example const { file, sha256 } = await packPluginFolder(await buildPluginFolder(HELLO));
 */
export async function packPluginFolder(
  folder: string,
  options: { prefix?: string } = {},
): Promise<PluginTarball> {
  const out = join(await mkdtemp(join(tmpdir(), 'kaiwa-pack-')), 'plugin.tgz');
  const names = await readdir(folder);
  if (options.prefix) {
    // A folder named like the prefix, holding the plugin, packed from its parent.
    const parent = await mkdtemp(join(tmpdir(), 'kaiwa-pack-parent-'));
    await cp(folder, join(parent, options.prefix), { recursive: true });
    await create({ gzip: true, file: out, cwd: parent, portable: true }, [options.prefix]);
  } else {
    await create({ gzip: true, file: out, cwd: folder, portable: true }, names);
  }
  return tarballOf(await readFile(out), 'plugin.tgz');
}

/** One entry of a hand-made tarball: any path and type, as a hostile tarball would have them. */
export interface CraftedEntry {
  path: string;
  type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'CharacterDevice' | 'FIFO';
  body?: string | Buffer;
  linkpath?: string;
}

/**
 * Writes a gzipped tarball entry by entry, header by header, so tests can make what no well-behaved packer
 * would: `../` paths, absolute paths, links leading out, device files.
 *
 * @example await craftTarball([{ path: '../evil.js', body: 'x' }]);
 */
export async function craftTarball(entries: CraftedEntry[]): Promise<PluginTarball> {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const body = Buffer.from(entry.body ?? '');
    const type = entry.type ?? 'File';
    const header = new Header({
      path: entry.path,
      type,
      size: type === 'File' ? body.length : 0,
      mode: type === 'Directory' ? 0o755 : 0o644,
      uid: 0,
      gid: 0,
      mtime: new Date(0),
      ...(entry.linkpath ? { linkpath: entry.linkpath } : {}),
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block);
    if (type === 'File' && body.length > 0) {
      blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return tarballOf(gzipSync(Buffer.concat(blocks)), 'crafted.tgz');
}
