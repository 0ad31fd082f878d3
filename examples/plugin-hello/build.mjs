// Builds the installable plugin folder, dist/: the manifest and one bundled entry with the SDK inside.
import { copyFileSync, mkdirSync } from 'node:fs';
import { build } from 'esbuild';

const here = new URL('.', import.meta.url);
mkdirSync(new URL('dist', here), { recursive: true });
copyFileSync(new URL('kaiwa-plugin.yaml', here), new URL('dist/kaiwa-plugin.yaml', here));
await build({
  entryPoints: [new URL('plugin.mjs', here).pathname],
  outfile: new URL('dist/plugin.mjs', here).pathname,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
});
