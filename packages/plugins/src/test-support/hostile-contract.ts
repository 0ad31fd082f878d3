import { readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PluginHost, type PluginHostConfig } from '../plugin-host.js';
import type { PluginEvent, PluginSupervisor } from '../plugin-supervisor.js';
import type { PluginRuntime } from '../process-runtime.js';
import { buildPluginFolder } from './build-plugin.js';
import { createFakePorts } from './fake-ports.js';

/*
 * What every runtime must deny or contain, run against each (isolation.test.ts: process; container-runtime.test.ts:
 * container). A runtime under test says how a denial reads there (Node's permission model answers
 * ERR_ACCESS_DENIED, a container's file system ENOENT or EROFS); the attacks and the checks are the same.
 */

const hostileSource = fileURLToPath(new URL('../test-fixtures/hostile', import.meta.url));
const exampleSource = fileURLToPath(new URL('../../../../examples/plugin-hello', import.meta.url));
const serverPackageJson = fileURLToPath(new URL('../../../server/package.json', import.meta.url));
/** A secret in Kaiwa's environment that no plugin may see. */
const secret = `kaiwa-secret-${Math.random().toString(36).slice(2)}`;
process.env.KAIWA_PLUGIN_TEST_SECRET = secret;

export interface RuntimeUnderTest {
  name: string;
  /** Makes the runtime (in `beforeAll`). */
  runtime(): PluginRuntime;
  /** Plugin folders are built with this manifest `runtime`. */
  manifestRuntime: 'process' | 'container';
  /** Whether the network can be cut here (the process runtime needs `unshare`). */
  isolatesNetwork: boolean;
  /** The plugin's own manifest, as the plugin sees its path. */
  ownManifest(folder: string): string;
  /** Paths outside its tmpfs the plugin tries to write. */
  writeTargets(folder: string): string[];
  /** A path inside its tmpfs, where a write works (none: nothing is writable). */
  scratchFile?: string;
  /** Environment variables the runtime itself sets (never Kaiwa's). */
  ownEnv: string[];
  denied: {
    read: RegExp;
    write: RegExp;
    spawn: RegExp;
    /** Child processes until refused: denied outright, or stopped by the pids limit. */
    forkBomb: RegExp;
    /** Worker threads: denied by the process runtime; a container counts them against its pids limit. */
    worker?: RegExp;
  };
  /** Whether memory outside the V8 heap (Buffers) is bounded: a container's limit; not the process runtime. */
  boundsOffHeapMemory: boolean;
}

const fast: PluginHostConfig['supervision'] = {
  restart: { initialDelayMs: 20, maxDelayMs: 200, maxAttempts: 3 },
  healthCheck: { intervalMs: 60_000, timeoutMs: 300 },
  maxMessageBytes: 64 * 1024,
  maxMessagesPerSecond: 500,
};
const room = { roomId: 'allowed-room', userId: 'user-1' };

/** Waits until an event matching `match` was seen (events are pushed by the supervisor as things happen). */
async function eventually(
  events: PluginEvent[],
  match: Partial<PluginEvent>,
  timeoutMs = 5_000,
): Promise<PluginEvent> {
  const started = Date.now();
  for (;;) {
    const found = events.find((event) =>
      Object.entries(match).every(([key, value]) => (event as never)[key] === value),
    );
    if (found) return found;
    if (Date.now() - started > timeoutMs)
      throw new Error(`no ${JSON.stringify(match)} in ${JSON.stringify(events)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** This machine's first non-loopback IPv4 address, if any (a plugin must not reach it either). */
function externalAddress(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((address) => address && address.family === 'IPv4' && !address.internal)?.address;
}

/** The hostile plugin's attacks against one runtime, each denied or contained and reported, chat unaffected. */
export function describeHostilePlugin(target: RuntimeUnderTest): void {
  describe(`a hostile plugin under the ${target.name} runtime`, () => {
    let hostileFolder: string;
    let helloFolder: string;
    let runtime: PluginRuntime;
    let server: Server;
    let port: number;
    let connections = 0;
    const { ports, posted } = createFakePorts([
      { id: 'allowed-room', pluginIsMember: false },
      { id: 'other-room', name: 'secret', pluginIsMember: true },
    ]);

    /** A host with the hostile plugin and the example plugin, both started. */
    async function startHost() {
      const events: PluginEvent[] = [];
      const host = new PluginHost({
        ports,
        runtime,
        engineVersion: '0.1.0',
        onEvent: (event) => events.push(event),
        supervision: fast,
      });
      const hostile = await host.add(hostileFolder);
      await host.add(helloFolder);
      await Promise.all([host.start('hostile'), host.start('hello')]);
      const run = (command: string, args = '') => host.runCommand({ command, args, ...room });
      return { host, hostile, events, run };
    }

    beforeAll(async () => {
      runtime = target.runtime();
      const options = { runtime: target.manifestRuntime };
      [hostileFolder, helloFolder] = await Promise.all([
        buildPluginFolder(hostileSource, options),
        buildPluginFolder(exampleSource, options),
      ]);
      server = createServer((_request, response) => response.end('reached'));
      server.on('connection', () => connections++);
      await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
      port = (server.address() as AddressInfo).port;
    }, 60_000);

    afterAll(async () => {
      server.close();
      await Promise.all(
        [hostileFolder, helloFolder].map((folder) => rm(folder, { recursive: true, force: true })),
      );
    });

    describe('passive attacks (one shared host)', () => {
      let context: Awaited<ReturnType<typeof startHost>>;
      beforeAll(async () => {
        context = await startHost();
      }, 60_000);
      afterAll(() => context.host.stopAll());

      it.skipIf(!target.isolatesNetwork)(
        "cannot reach the network, though it declares an outbound host: a server on this machine's loopback and its external address sees no connection",
        async () => {
          const external = externalAddress();
          for (const address of ['127.0.0.1', ...(external ? [external] : [])]) {
            // The control: this server is reachable from here.
            expect(await (await fetch(`http://${address}:${port}/`)).text()).toBe('reached');
            const before = connections;
            const { reply } = await context.run('network', `${address}:${port}`);
            expect(reply).toMatch(/^denied: /);
            expect(connections).toBe(before);
          }
        },
      );

      it("cannot read the server's files: the server's package.json, the host's /etc/passwd", async () => {
        expect(await readFile(serverPackageJson, 'utf8')).toContain('@kaiwa/server');
        expect((await context.run('read', serverPackageJson)).reply).toMatch(target.denied.read);
        const hostRoot = (await readFile('/etc/passwd', 'utf8')).split('\n')[0] as string;
        // A container may have an /etc/passwd of its own (podman writes its user there), never the host's.
        expect((await context.run('read', '/etc/passwd')).reply).not.toContain(hostRoot);
        // The control: its own folder is readable.
        expect((await context.run('read', target.ownManifest(hostileFolder))).reply).toMatch(/^allowed: /);
      });

      it('cannot write outside its tmpfs, its own folder included', async () => {
        for (const path of target.writeTargets(hostileFolder)) {
          expect((await context.run('write', path)).reply).toMatch(target.denied.write);
        }
        if (target.scratchFile) {
          expect((await context.run('write', target.scratchFile)).reply).toMatch(/^allowed: /);
        }
      });

      it("sees none of the server's environment", async () => {
        expect(process.env.KAIWA_PLUGIN_TEST_SECRET).toBe(secret);
        const { reply } = await context.run('env');
        expect(reply).toMatch(/^allowed: /);
        expect(reply).not.toContain(secret);
        const seen = JSON.parse(reply?.slice('allowed: '.length) ?? '{}') as {
          env: Record<string, string>;
          environ: string;
        };
        expect(Object.keys(seen.env).filter((key) => !target.ownEnv.includes(key))).toEqual([]);
        expect(seen.environ).toMatch(/^denied: /);
      });

      it('cannot run a shell, and a fork bomb is stopped', async () => {
        expect((await context.run('spawn')).reply).toMatch(target.denied.spawn);
        expect((await context.run('fork-bomb')).reply).toMatch(target.denied.forkBomb);
        if (target.denied.worker) {
          expect((await context.run('worker')).reply).toMatch(target.denied.worker);
        }
        // Still answering afterwards.
        expect((await context.run('read', target.ownManifest(hostileFolder))).reply).toMatch(/^allowed: /);
      });

      it('is refused calls outside its declared capabilities, each reported', async () => {
        const postedBefore = posted.length;
        expect((await context.run('post', 'other-room')).reply).toMatch(
          /^denied: .*messages\.post is not declared for room other-room/,
        );
        expect((await context.run('post', 'no-such-room')).reply).toMatch(
          /^denied: .*messages\.post is not declared/,
        );
        expect((await context.run('read-messages', 'allowed-room')).reply).toMatch(
          /^denied: .*the manifest does not declare messages\.read/,
        );
        expect((await context.run('storage', '200')).reply).toMatch(/^denied: .*quota is 100/);
        expect(await ports.storage.usage('hostile')).toBe(0);
        // The one room it declared works.
        expect((await context.run('post', 'allowed-room')).reply).toMatch(/^allowed: /);
        expect(posted.slice(postedBefore).filter((message) => message.text === 'spam')).toEqual([
          { pluginId: 'hostile', roomId: 'allowed-room', text: 'spam' },
        ]);
        for (const capability of ['messages.post', 'messages.read']) {
          expect(context.events).toContainEqual(
            expect.objectContaining({ type: 'capability-denied', method: capability, capability }),
          );
        }
      });
    });

    describe('attacks that take the plugin down (a host each)', () => {
      const hosts: PluginHost[] = [];
      afterAll(() => Promise.all(hosts.map((host) => host.stopAll())));
      const fresh = async () => {
        const context = await startHost();
        hosts.push(context.host);
        return context;
      };
      /** The example plugin answers while the hostile one misbehaves. */
      const helloStillAnswers = async (host: PluginHost) =>
        expect((await host.runStep({ type: 'hello.greet', input: 'Ada' })) as object).toEqual({
          greeting: 'Hello, Ada!',
        });
      const restarted = (hostile: PluginSupervisor, events: PluginEvent[]) =>
        until(
          () => hostile.state === 'running' && events.filter((event) => event.type === 'started').length >= 3,
        );

      it('an infinite loop: the call times out, the plugin is killed and restarted, the others answer', async () => {
        const { host, hostile, events, run } = await fresh();
        const started = Date.now();
        const looping = run('loop');
        const settledAfter = looping.then(
          () => Date.now() - started,
          () => Date.now() - started,
        );
        await helloStillAnswers(host);
        await expect(looping).rejects.toMatchObject({ code: 'timeout' });
        // The manifest's callTimeoutMs (2 s), not the default 5 s (timed when the call settles, not after the
        // hello call, which a loaded machine may slow).
        expect(await settledAfter).toBeGreaterThanOrEqual(1_990);
        expect(await settledAfter).toBeLessThan(4_500);
        await eventually(events, { type: 'unresponsive', pluginId: 'hostile' });
        expect(await eventually(events, { type: 'exited', pluginId: 'hostile' })).toMatchObject({
          reason: 'unresponsive',
        });
        await restarted(hostile, events);
        expect((await run('read', serverPackageJson)).reply).toMatch(/^denied/);
      });

      it('memory exhaustion (its heap): stopped at its limit, reported, restarted', async () => {
        const { host, hostile, events, run } = await fresh();
        await expect(run('memory')).rejects.toMatchObject({
          code: expect.stringMatching(/^(not_running|timeout)$/),
        });
        const exit = await eventually(events, { type: 'exited', pluginId: 'hostile' });
        expect(exit).toMatchObject({ reason: 'out_of_memory' });
        await helloStillAnswers(host);
        await restarted(hostile, events);
      });

      it.runIf(target.boundsOffHeapMemory)(
        'memory exhaustion outside its heap (Buffers): killed at the memory limit, reported as out of memory, restarted',
        async () => {
          const { host, hostile, events, run } = await fresh();
          await expect(run('buffer-memory')).rejects.toMatchObject({
            code: expect.stringMatching(/^(not_running|timeout)$/),
          });
          const exit = await eventually(events, { type: 'exited', pluginId: 'hostile' });
          expect(exit).toMatchObject({ reason: 'out_of_memory', code: 137 });
          await helloStillAnswers(host);
          await restarted(hostile, events);
        },
      );

      it('a crash: restarted with growing delays, then given up', async () => {
        const { host, hostile, events, run } = await fresh();
        for (let crash = 1; crash <= 4; crash++) {
          await until(() => hostile.state === 'running' || hostile.state === 'failed');
          if (hostile.state === 'failed') break;
          await expect(run('crash')).rejects.toMatchObject({ code: 'not_running' });
          await until(() => hostile.state !== 'running');
        }
        await until(() => hostile.state === 'failed');
        const delays = events.flatMap((event) => (event.type === 'restart-scheduled' ? [event.delayMs] : []));
        expect(delays).toEqual([20, 40, 80]);
        expect(events).toContainEqual({ type: 'gave-up', pluginId: 'hostile', attempts: 3 });
        expect(events).toContainEqual(
          expect.objectContaining({ type: 'exited', reason: 'crashed', code: 3 }),
        );
        await expect(run('env')).rejects.toMatchObject({ code: 'not_found' });
        await helloStillAnswers(host);
      });

      it('a huge line on stdout: stopped before it is buffered, restarted', async () => {
        const { host, hostile, events, run } = await fresh();
        await expect(run('huge-line')).rejects.toMatchObject({
          code: expect.stringMatching(/^(not_running|timeout)$/),
        });
        expect(await eventually(events, { type: 'violation', pluginId: 'hostile' })).toMatchObject({
          reason: 'message_too_large',
        });
        expect(await eventually(events, { type: 'exited', pluginId: 'hostile' })).toMatchObject({
          reason: 'violation',
        });
        await helloStillAnswers(host);
        await restarted(hostile, events);
      });

      it('a flood of lines: stopped, restarted', async () => {
        const { host, hostile, events, run } = await fresh();
        await expect(run('flood')).rejects.toMatchObject({
          code: expect.stringMatching(/^(not_running|timeout)$/),
        });
        // Each of its lines is also reported as invalid; the flood stops it after maxMessagesPerSecond of them.
        await eventually(events, {
          type: 'violation',
          pluginId: 'hostile',
          reason: 'flood',
        } as Partial<PluginEvent>);
        expect(await eventually(events, { type: 'exited', pluginId: 'hostile' })).toMatchObject({
          reason: 'violation',
        });
        await helloStillAnswers(host);
        await restarted(hostile, events);
      });
    });
  });
}
