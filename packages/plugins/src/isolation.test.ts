import { readFile, rm, symlink } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PluginHost, type PluginHostConfig } from './plugin-host.js';
import type { PluginEvent, PluginSupervisor } from './plugin-supervisor.js';
import { createProcessRuntime, detectNetworkIsolation } from './process-runtime.js';
import { buildPluginFolder } from './test-support/build-plugin.js';
import { createFakePorts } from './test-support/fake-ports.js';

const hostileSource = fileURLToPath(new URL('./test-fixtures/hostile', import.meta.url));
const exampleSource = fileURLToPath(new URL('../../../examples/plugin-hello', import.meta.url));
const serverPackageJson = fileURLToPath(new URL('../../server/package.json', import.meta.url));
const isolation = detectNetworkIsolation();
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

async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('a hostile plugin under the process runtime', () => {
  let hostileFolder: string;
  let helloFolder: string;
  let server: Server;
  let port: number;
  let connections = 0;
  const { ports, posted } = createFakePorts([
    { id: 'allowed-room', pluginIsMember: false },
    { id: 'other-room', name: 'secret', pluginIsMember: true },
  ]);

  /** A host with the hostile plugin and the example plugin, both started. */
  async function startHost(options: { acceptUnisolatedNetwork?: boolean } = {}) {
    const events: PluginEvent[] = [];
    const host = new PluginHost({
      ports,
      runtime: createProcessRuntime(options),
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
    [hostileFolder, helloFolder] = await Promise.all([
      buildPluginFolder(hostileSource),
      buildPluginFolder(exampleSource),
    ]);
    server = createServer((_request, response) => response.end('reached'));
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server.close();
    await Promise.all(
      [hostileFolder, helloFolder].map((folder) => rm(folder, { recursive: true, force: true })),
    );
  });

  describe('passive attacks (one shared host)', () => {
    let context: Awaited<ReturnType<typeof startHost>>;
    beforeAll(async () => {
      context = await startHost({ acceptUnisolatedNetwork: isolation === undefined });
    });
    afterAll(() => context.host.stopAll());

    it.skipIf(!isolation)(
      'cannot reach the network: a server on 127.0.0.1 sees no connection (needs unshare)',
      async () => {
        // The control: this server is reachable from here.
        expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('reached');
        const before = connections;
        const { reply } = await context.run('network', String(port));
        expect(reply).toMatch(/^denied: /);
        expect(connections).toBe(before);
      },
    );

    it("cannot read files outside its folder: the server's package.json, /etc/passwd", async () => {
      expect(await readFile(serverPackageJson, 'utf8')).toContain('@kaiwa/server');
      expect((await context.run('read', serverPackageJson)).reply).toMatch(/^denied: ERR_ACCESS_DENIED/);
      expect((await context.run('read', '/etc/passwd')).reply).toMatch(/^denied: ERR_ACCESS_DENIED/);
      // The control: its own folder is readable.
      expect((await context.run('read', `${hostileFolder}/kaiwa-plugin.json`)).reply).toMatch(/^allowed: /);
    });

    it('cannot write anywhere, its own folder included', async () => {
      expect((await context.run('write', `${hostileFolder}/owned.txt`)).reply).toMatch(
        /^denied: ERR_ACCESS_DENIED/,
      );
      expect((await context.run('write', '/tmp/kaiwa-owned.txt')).reply).toMatch(
        /^denied: ERR_ACCESS_DENIED/,
      );
    });

    it("sees an empty environment and cannot read the host's", async () => {
      expect(process.env.PATH).toBeDefined();
      const { reply } = await context.run('env');
      expect(reply).toMatch(/^allowed: /);
      const seen = JSON.parse(reply?.slice('allowed: '.length) ?? '{}') as { env: object; environ: string };
      expect(seen.env).toEqual({});
      expect(seen.environ).toMatch(/^denied: ERR_ACCESS_DENIED/);
    });

    it('cannot start a child process or a worker (no fork bomb)', async () => {
      expect((await context.run('spawn')).reply).toMatch(/^denied: ERR_ACCESS_DENIED/);
      expect((await context.run('worker')).reply).toMatch(/^denied: ERR_ACCESS_DENIED/);
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
      expect(context.events).toContainEqual(
        expect.objectContaining({
          type: 'capability-denied',
          method: 'messages.post',
          capability: 'messages.post',
        }),
      );
      expect(context.events).toContainEqual(
        expect.objectContaining({
          type: 'capability-denied',
          method: 'messages.read',
          capability: 'messages.read',
        }),
      );
    });
  });

  describe('attacks that take the plugin down (a host each)', () => {
    const hosts: PluginHost[] = [];
    afterAll(() => Promise.all(hosts.map((host) => host.stopAll())));
    const fresh = async () => {
      const context = await startHost({ acceptUnisolatedNetwork: isolation === undefined });
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
      await helloStillAnswers(host);
      await expect(looping).rejects.toMatchObject({ code: 'timeout' });
      expect(Date.now() - started).toBeLessThan(1_900);
      await eventually(events, { type: 'unresponsive', pluginId: 'hostile' });
      expect(await eventually(events, { type: 'exited', pluginId: 'hostile' })).toMatchObject({
        reason: 'unresponsive',
      });
      await restarted(hostile, events);
      expect((await run('read', '/etc/passwd')).reply).toMatch(/^denied/);
    });

    it('memory exhaustion: stopped at its heap limit, reported, restarted', async () => {
      const { host, hostile, events, run } = await fresh();
      await expect(run('memory')).rejects.toMatchObject({
        code: expect.stringMatching(/^(not_running|timeout)$/),
      });
      const exit = await eventually(events, { type: 'exited', pluginId: 'hostile' });
      expect(exit).toMatchObject({ reason: 'out_of_memory' });
      await helloStillAnswers(host);
      await restarted(hostile, events);
    });

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
      expect(events).toContainEqual(expect.objectContaining({ type: 'exited', reason: 'crashed', code: 3 }));
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

describe('the process runtime without network isolation', () => {
  it('refuses to start a plugin unless the operator accepted it', async () => {
    const folder = await buildPluginFolder(exampleSource);
    const { ports } = createFakePorts();
    const refusing = new PluginHost({
      ports,
      runtime: createProcessRuntime({ networkIsolation: 'none' }),
      engineVersion: '0.1.0',
    });
    await refusing.add(folder);
    await expect(refusing.start('hello')).rejects.toMatchObject({
      code: 'network_isolation_unavailable',
      message: expect.stringContaining('acceptUnisolatedNetwork: true'),
    });
    const accepting = new PluginHost({
      ports,
      runtime: createProcessRuntime({ networkIsolation: 'none', acceptUnisolatedNetwork: true }),
      engineVersion: '0.1.0',
    });
    await accepting.add(folder);
    await accepting.start('hello');
    expect(await accepting.runStep({ type: 'hello.greet', input: 'Ada' })).toEqual({
      greeting: 'Hello, Ada!',
    });
    await accepting.stopAll();
    await rm(folder, { recursive: true, force: true });
  });
});

describe('the process runtime and symbolic links', () => {
  it('refuses a plugin folder holding a symbolic link (Node would follow it out of the folder)', async () => {
    const folder = await buildPluginFolder(exampleSource);
    await symlink('/etc', join(folder, 'etc'));
    const { ports } = createFakePorts();
    const host = new PluginHost({
      ports,
      runtime: createProcessRuntime({ acceptUnisolatedNetwork: true }),
      engineVersion: '0.1.0',
    });
    await host.add(folder);
    await expect(host.start('hello')).rejects.toMatchObject({
      code: 'unsupported',
      message: expect.stringContaining('symbolic link'),
    });
    await rm(folder, { recursive: true, force: true });
  });
});
