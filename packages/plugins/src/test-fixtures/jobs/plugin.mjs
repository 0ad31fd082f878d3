// A plugin with scheduled jobs, for the scheduler's tests: `tick` counts its slots in storage, `flaky` throws on
// odd minutes, `stuck` never answers on slots whose minute is a multiple of 4 (past its 500 ms deadline).
import { definePlugin } from '@kaiwa/plugin-sdk';

const minuteOf = (scheduledAt) => new Date(scheduledAt).getUTCMinutes();

definePlugin({
  jobs: {
    async tick({ scheduledAt }, { storage }) {
      await storage.set(`tick:${scheduledAt}`, true);
    },
    flaky({ scheduledAt }) {
      if (minuteOf(scheduledAt) % 2 === 1) throw new Error(`flaky at minute ${minuteOf(scheduledAt)}`);
    },
    async stuck({ scheduledAt }) {
      if (minuteOf(scheduledAt) % 4 === 0) await new Promise(() => {});
    },
  },
}).listen();
