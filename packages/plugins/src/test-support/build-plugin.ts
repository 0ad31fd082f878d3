import { copyFile, mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { parse as parseYaml } from 'yaml';
import { loadPluginPackage, MANIFEST_FILES } from '../manifest.js';

const sdkSource = fileURLToPath(new URL('../../../plugin-sdk/src/index.ts', import.meta.url));

/**
 * Builds an installable plugin folder from a source folder, as a plugin's own build does: the manifest copied and
 * the entry bundled with the SDK inside (the sandbox lets a plugin read only its own folder). Tests bundle the
 * SDK from source, so they need no build of it. Returns the new folder, in a fresh temporary directory.
 * `runtime` rewrites the manifest's runtime (written as `kaiwa-plugin.json`), to run one plugin in either.
 */
export async function buildPluginFolder(
  sourceFolder: string,
  options: { runtime?: 'process' | 'container' } = {},
): Promise<string> {
  const { manifest, entryPath } = await loadPluginPackage(sourceFolder);
  const outFolder = await mkdtemp(join(tmpdir(), `kaiwa-plugin-${manifest.id}-`));
  const files = await readdir(sourceFolder);
  for (const file of MANIFEST_FILES) {
    if (!files.includes(file)) continue;
    if (!options.runtime) {
      await copyFile(join(sourceFolder, file), join(outFolder, file));
      continue;
    }
    const document = parseYaml(await readFile(join(sourceFolder, file), 'utf8')) as object; // JSON is YAML
    await writeFile(
      join(outFolder, 'kaiwa-plugin.json'),
      JSON.stringify({ ...document, runtime: options.runtime }, null, 2),
    );
    break;
  }
  const outfile = join(outFolder, manifest.entry);
  await mkdir(join(outfile, '..'), { recursive: true });
  await build({
    entryPoints: [entryPath],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'silent',
    plugins: [
      {
        name: 'plugin-sdk-from-source',
        setup(builder) {
          builder.onResolve({ filter: /^@kaiwa\/plugin-sdk$/ }, () => ({ path: sdkSource }));
        },
      },
    ],
  });
  return outFolder;
}
