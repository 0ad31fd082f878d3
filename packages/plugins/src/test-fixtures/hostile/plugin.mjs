// A hostile plugin for the isolation tests: each command tries one thing the sandbox must deny or contain,
// and answers with what happened (`denied: <code>` or `allowed: …`), so a test sees a broken sandbox.
import * as childProcess from 'node:child_process';
import * as fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { definePlugin } from '@kaiwa/plugin-sdk';

const attempt = async (action) => {
  try {
    return `allowed: ${JSON.stringify(await action())}`;
  } catch (error) {
    return `denied: ${error.code ?? error.cause?.code ?? error.name}: ${error.message}`;
  }
};

definePlugin({
  commands: {
    // `port` (127.0.0.1) or `host:port`.
    network: ({ args }) =>
      attempt(async () => {
        const target = args.includes(':') ? args : `127.0.0.1:${args}`;
        const response = await fetch(`http://${target}/`, { signal: AbortSignal.timeout(500) });
        return response.status;
      }),
    read: ({ args }) => attempt(() => fs.readFileSync(args, 'utf8').slice(0, 100)),
    write: ({ args }) => attempt(() => fs.writeFileSync(args, 'owned')),
    env: async () => {
      const environ = await attempt(() => fs.readFileSync(`/proc/${process.ppid}/environ`, 'utf8'));
      return attempt(() => ({ env: process.env, environ }));
    },
    spawn: () =>
      attempt(() => {
        // A fork bomb needs this first step.
        const child = childProcess.spawnSync('/bin/sh', ['-c', 'echo spawned']);
        if (child.error) throw child.error;
        return child.stdout.toString();
      }),
    // Child processes until refused (the pids limit) or 200; each child waits, so all are alive at once.
    'fork-bomb': () =>
      attempt(async () => {
        const children = [];
        try {
          while (children.length < 200) {
            const child = childProcess.spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], {
              stdio: 'ignore',
            });
            await new Promise((resolve, reject) => {
              child.once('spawn', resolve);
              child.once('error', reject);
            });
            children.push(child);
          }
          return `${children.length} children`;
        } catch (error) {
          error.message = `after ${children.length} children: ${error.message}`;
          throw error;
        } finally {
          for (const child of children) child.kill('SIGKILL');
        }
      }),
    worker: () => attempt(() => new Worker('for (;;) new Worker(__filename)', { eval: true }).threadId),
    post: ({ args }, { kaiwa }) => attempt(() => kaiwa.postMessage({ roomId: args, text: 'spam' })),
    'read-messages': ({ args }, { kaiwa }) => attempt(() => kaiwa.readMessages({ roomId: args })),
    storage: ({ args }, { storage }) => attempt(() => storage.set('hoard', 'x'.repeat(Number(args)))),
    loop: () => {
      for (;;) {}
    },
    memory: () => {
      const hoard = [];
      for (;;) hoard.push(new Array(1e5).fill({ hoard }));
    },
    // Memory outside the V8 heap, which --max-old-space-size does not bound (only a container's limit does).
    'buffer-memory': () => {
      const hoard = [];
      for (;;) hoard.push(Buffer.alloc(16 * 1024 * 1024, 1));
    },
    crash: () => process.exit(3),
    'huge-line': () => {
      process.stdout.write('x'.repeat(8 * 1024 * 1024));
      return 'written';
    },
    flood: () => {
      for (let i = 0; i < 100_000; i++) process.stdout.write('{}\n');
      return 'flooded';
    },
  },
}).listen();
