import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  // zod comes with @kaiwa/core (same major); bundling a second copy would break instanceof checks.
  external: [/^@kaiwa\//, 'zod'],
});
