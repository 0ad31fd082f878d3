import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));

// Tests import every @kaiwa package from source, so they run without a build.
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@kaiwa\/core\/testing$/, replacement: source('./packages/core/src/testing/index.ts') },
      { find: /^@kaiwa\/core$/, replacement: source('./packages/core/src/index.ts') },
      { find: /^@kaiwa\/protocol$/, replacement: source('./packages/protocol/src/index.ts') },
      { find: /^@kaiwa\/client$/, replacement: source('./packages/client/src/index.ts') },
      {
        find: /^@kaiwa\/workflow\/testing$/,
        replacement: source('./packages/workflow/src/testing/index.ts'),
      },
      { find: /^@kaiwa\/workflow$/, replacement: source('./packages/workflow/src/index.ts') },
      {
        find: /^@kaiwa\/platform-queues\/testing$/,
        replacement: source('./packages/platform-queues/src/testing/index.ts'),
      },
      {
        find: /^@kaiwa\/platform-queues$/,
        replacement: source('./packages/platform-queues/src/index.ts'),
      },
      {
        find: /^@kaiwa\/store-kysely\/testing$/,
        replacement: source('./packages/adapters/store-kysely/src/testing.ts'),
      },
      {
        find: /^@kaiwa\/store-kysely$/,
        replacement: source('./packages/adapters/store-kysely/src/index.ts'),
      },
      { find: /^@kaiwa\/blob-fs$/, replacement: source('./packages/adapters/blob-fs/src/index.ts') },
      { find: /^@kaiwa\/llm$/, replacement: source('./packages/llm/src/index.ts') },
      { find: /^@kaiwa\/knowledge$/, replacement: source('./packages/knowledge/src/index.ts') },
      { find: /^@kaiwa\/server$/, replacement: source('./packages/server/src/index.ts') },
      { find: /^@kaiwa\/workflow-steps$/, replacement: source('./packages/workflow-steps/src/index.ts') },
      { find: /^@kaiwa\/platform-format$/, replacement: source('./packages/platform-format/src/index.ts') },
      { find: /^@kaiwa\/bot$/, replacement: source('./packages/bot/src/index.ts') },
      { find: /^@kaiwa\/bridge$/, replacement: source('./packages/bridge/src/index.ts') },
      { find: /^@kaiwa\/plugin-sdk$/, replacement: source('./packages/plugin-sdk/src/index.ts') },
      { find: /^@kaiwa\/plugins$/, replacement: source('./packages/plugins/src/index.ts') },
      {
        find: /^@kaiwa\/platform-discord\/testing$/,
        replacement: source('./packages/adapters/platform-discord/src/testing.ts'),
      },
      {
        find: /^@kaiwa\/platform-teams\/testing$/,
        replacement: source('./packages/adapters/platform-teams/src/testing.ts'),
      },
      {
        find: /^@kaiwa\/platform-slack\/testing$/,
        replacement: source('./packages/adapters/platform-slack/src/testing.ts'),
      },
      {
        find: /^@kaiwa\/platform-telegram\/testing$/,
        replacement: source('./packages/adapters/platform-telegram/src/testing.ts'),
      },
      {
        find: /^@kaiwa\/platform-slack$/,
        replacement: source('./packages/adapters/platform-slack/src/index.ts'),
      },
      {
        find: /^@kaiwa\/platform-discord$/,
        replacement: source('./packages/adapters/platform-discord/src/index.ts'),
      },
      {
        find: /^@kaiwa\/platform-telegram$/,
        replacement: source('./packages/adapters/platform-telegram/src/index.ts'),
      },
      {
        find: /^@kaiwa\/platform-teams$/,
        replacement: source('./packages/adapters/platform-teams/src/index.ts'),
      },
      { find: /^@kaiwa\/bus-redis$/, replacement: source('./packages/adapters/bus-redis/src/index.ts') },
      { find: /^@kaiwa\/bus-nats$/, replacement: source('./packages/adapters/bus-nats/src/index.ts') },
      {
        find: /^@kaiwa\/blob-s3\/testing$/,
        replacement: source('./packages/adapters/blob-s3/src/testing.ts'),
      },
      { find: /^@kaiwa\/blob-s3$/, replacement: source('./packages/adapters/blob-s3/src/index.ts') },
    ],
  },
  test: {
    include: [
      'packages/**/src/**/*.test.ts',
      'examples/**/*.test.ts',
      'bench/**/*.test.ts',
      'packages/server/ui/e2e/**/*.e2e.test.ts',
    ],
    // A folder where the browser test files of a run share one build of the web UI.
    globalSetup: ['packages/server/ui/e2e/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two files at a time even on two cores (vitest's default there is one): most files spend their time
    // waiting on databases, child processes and sockets, and every file gets a database, schema and ports of
    // its own. The whole suite passed this way under a load average of 6–10 (docs/benchmarks.md, "Test suite").
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
});
