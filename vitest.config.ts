import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));

// Tests import every @kaiwa package from source, so they run without a build.
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@kaiwa\/core\/testing$/, replacement: source('./packages/core/src/testing/index.ts') },
      { find: /^@kaiwa\/core$/, replacement: source('./packages/core/src/index.ts') },
      {
        find: /^@kaiwa\/store-kysely$/,
        replacement: source('./packages/adapters/store-kysely/src/index.ts'),
      },
      { find: /^@kaiwa\/blob-fs$/, replacement: source('./packages/adapters/blob-fs/src/index.ts') },
      { find: /^@kaiwa\/llm$/, replacement: source('./packages/llm/src/index.ts') },
      { find: /^@kaiwa\/server$/, replacement: source('./packages/server/src/index.ts') },
    ],
  },
  test: {
    include: [
      'packages/**/src/**/*.test.ts',
      'examples/**/*.test.ts',
      'bench/**/*.test.ts',
      'packages/server/ui/e2e/**/*.e2e.test.ts',
    ],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
