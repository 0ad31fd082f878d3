import { defineConfig, type Options } from 'tsup';

/**
 * The build every Kaiwa package shares: ESM for Node 20 with types and source maps, other @kaiwa packages
 * left as imports. A package passes only what differs: its entry points and extra externals.
 *
 * @example export default packageBuild({ entry: { index: 'src/index.ts', testing: 'src/testing.ts' } });
 */
export function packageBuild(options: Partial<Options> & { external?: (string | RegExp)[] } = {}) {
  const { external = [], ...rest } = options;
  return defineConfig({
    entry: { index: 'src/index.ts' },
    format: ['esm'],
    dts: true,
    clean: true,
    sourcemap: true,
    target: 'node20',
    ...rest,
    external: [/^@kaiwa\//, ...external],
  });
}
