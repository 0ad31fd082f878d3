import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  // Optional peers are loaded only by the factory that needs them.
  external: ['@kaiwa/core', 'openai', '@huggingface/transformers', 'node-llama-cpp'],
});
