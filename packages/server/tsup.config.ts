import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    cli: 'src/cli.ts',
    // Forked per PDF preview (src/files/pdf-preview.ts).
    'pdf-preview-child': 'src/files/pdf-preview-child.ts',
  },
  format: ['esm'],
  dts: { entry: { index: 'src/index.ts' } },
  clean: true,
  sourcemap: true,
  target: 'node20',
  // Optional dependencies stay out of the bundle like the others: loaded from node_modules when configured.
  external: ['@sentry/node'],
});
