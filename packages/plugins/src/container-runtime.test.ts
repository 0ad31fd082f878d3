import { readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContainerRuntime } from './container-runtime.js';
import { loadPluginPackage } from './manifest.js';
import { PluginHost } from './plugin-host.js';
import type { PluginEvent } from './plugin-supervisor.js';
import { buildPluginFolder } from './test-support/build-plugin.js';
import { createFakePorts } from './test-support/fake-ports.js';
import { describeHostilePlugin } from './test-support/hostile-contract.js';
import { type PodmanService, requirePodman, startPodmanService } from './test-support/podman-service.js';

/*
 * Real containers on podman (its Docker-compatible API on a private socket, started here). Images persist in
 * podman's storage and are reused by content hash, so only a first run (or a changed plugin or node) builds them.
 */

const exampleSource = fileURLToPath(new URL('../../../examples/plugin-hello', import.meta.url));
const outboundSource = fileURLToPath(new URL('./test-fixtures/outbound', import.meta.url));
const runs = requirePodman('the container runtime');

describe.runIf(runs)('the container runtime on podman', () => {
  let podman: PodmanService;
  let helloFolder: string;
  beforeAll(async () => {
    [podman, helloFolder] = await Promise.all([
      startPodmanService(),
      buildPluginFolder(exampleSource, { runtime: 'container' }),
    ]);
  }, 120_000);
  afterAll(async () => {
    await podman?.stop();
    if (helloFolder) await rm(helloFolder, { recursive: true, force: true });
  });

  describe('the example plugin', () => {
    it('builds its image once: the same files give the same image, a changed file a new one', async () => {
      const runtime = createContainerRuntime({ socketPath: podman.socketPath });
      const plugin = await loadPluginPackage(helloFolder);
      const image = await runtime.prepare(plugin);
      expect(image).toMatch(/^localhost\/kaiwa-plugin-hello:[0-9a-f]{16}$/);
      const again = Date.now();
      expect(await createContainerRuntime({ socketPath: podman.socketPath }).prepare(plugin)).toBe(image);
      expect(Date.now() - again).toBeLessThan(3_000); // hashed and found, not built
      const changed = await buildPluginFolder(exampleSource, { runtime: 'container' });
      try {
        await writeFile(join(changed, 'notes.txt'), 'changed');
        expect(await runtime.prepare(await loadPluginPackage(changed))).not.toBe(image);
      } finally {
        await rm(changed, { recursive: true, force: true });
      }
    }, 120_000);

    it('keeps the newest two images of a plugin, removing older ones as new ones are built', async () => {
      const runtime = createContainerRuntime({ socketPath: podman.socketPath });
      const docker = new Docker({ socketPath: podman.socketPath });
      const repository = 'localhost/kaiwa-plugin-hello-prune';
      const tagsNow = async () =>
        (await docker.listImages({ filters: { reference: [repository] } })).flatMap(
          (image) => image.RepoTags ?? [],
        );
      const folders: string[] = [];
      try {
        const images: string[] = [];
        for (const version of ['one', 'two', 'three']) {
          const folder = await buildPluginFolder(exampleSource, { runtime: 'container' });
          folders.push(folder);
          const manifestPath = join(folder, 'kaiwa-plugin.json');
          const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
          await writeFile(
            manifestPath,
            JSON.stringify({
              ...manifest,
              id: 'hello-prune',
              // Step types are named under the plugin's id; images are what this test is about.
              capabilities: { ...manifest.capabilities, workflowSteps: [] },
            }),
          );
          await writeFile(join(folder, 'notes.txt'), `${version} ${Date.now()}`);
          images.push(await runtime.prepare(await loadPluginPackage(folder)));
        }
        expect((await tagsNow()).sort()).toEqual([images[1], images[2]].sort());
        // The removed one is built again when asked for, not taken from what this runtime built before.
        const first = await runtime.prepare(await loadPluginPackage(folders[0] as string));
        expect(first).toBe(images[0]);
        await docker.getImage(first).inspect();
        expect((await tagsNow()).sort()).toEqual([images[0], images[2]].sort());
      } finally {
        for (const tag of await tagsNow())
          await docker
            .getImage(tag)
            .remove()
            .catch(() => {});
        await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
      }
    }, 180_000);

    it('answers a slash command and a workflow step from its container, which runs with exactly the limits set', async () => {
      const runtime = createContainerRuntime({ socketPath: podman.socketPath });
      const events: PluginEvent[] = [];
      const { ports, posted } = createFakePorts([{ id: 'room-1', pluginIsMember: false }]);
      const host = new PluginHost({
        ports,
        runtime,
        engineVersion: '0.1.0',
        onEvent: (event) => events.push(event),
      });
      await host.add(helloFolder, { greeting: 'Konnichiwa' });
      await host.start('hello');
      try {
        expect(
          await host.runCommand({ command: 'hello', args: 'Ada', roomId: 'room-1', userId: 'u' }),
        ).toEqual({
          reply: 'Konnichiwa, Ada!',
          messageId: expect.any(String),
        });
        expect(posted).toEqual([{ pluginId: 'hello', roomId: 'room-1', text: 'Konnichiwa, Ada!' }]);
        expect(await host.runStep({ type: 'hello.greet', input: 'Ada' })).toEqual({
          greeting: 'Konnichiwa, Ada!',
        });
        // Its stderr and console go to the plugin's log, never into the protocol.
        expect(events).toContainEqual(
          expect.objectContaining({ type: 'log', pluginId: 'hello', message: 'greeted' }),
        );

        const docker = new Docker({ socketPath: podman.socketPath });
        const [summary] = await docker.listContainers({ filters: { label: ['kaiwa.plugin=hello'] } });
        const info = await docker.getContainer(summary?.Id ?? 'none').inspect();
        const memory = (64 + 64) * 1024 * 1024; // the manifest's 64 MiB heap and 64 MiB for the rest of node
        expect(info.HostConfig).toMatchObject({
          NetworkMode: 'none',
          ReadonlyRootfs: true,
          SecurityOpt: ['no-new-privileges'],
          Memory: memory,
          MemorySwap: memory,
          PidsLimit: 64,
          NanoCpus: 500_000_000,
        });
        expect(info.HostConfig.CapAdd ?? []).toEqual([]);
        expect(info.HostConfig.CapDrop).toEqual(
          expect.arrayContaining(['CHOWN', 'NET_RAW', 'SETUID', 'SYS_CHROOT']),
        );
        expect(info.HostConfig.Tmpfs?.['/tmp']).toMatch(/^rw,size=8m,noexec,nosuid/);
        expect(info.Config.User).toBe('65534:65534');
        expect(info.Config.Env.filter((entry) => entry.startsWith('KAIWA'))).toEqual([]);
      } finally {
        await host.stopAll();
      }
      expect(events).toContainEqual(expect.objectContaining({ type: 'exited', reason: 'stopped', code: 0 }));
      // Stopped containers are removed.
      const docker = new Docker({ socketPath: podman.socketPath });
      expect(await docker.listContainers({ all: true, filters: { label: ['kaiwa.plugin=hello'] } })).toEqual(
        [],
      );
    }, 60_000);

    it('declaring outbound hosts still gives it no network: it fetches through Kaiwa, checked by host', async () => {
      const server = createServer((_request, response) => response.end('through kaiwa'));
      let connections = 0;
      server.on('connection', () => connections++);
      await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
      const { port } = server.address() as AddressInfo;
      const folder = await buildPluginFolder(outboundSource, { runtime: 'container' });
      try {
        const manifestPath = join(folder, 'kaiwa-plugin.json');
        const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as { capabilities: object };
        await writeFile(
          manifestPath,
          JSON.stringify({
            ...manifest,
            capabilities: { ...manifest.capabilities, network: { outbound: [`http://127.0.0.1:${port}`] } },
          }),
        );
        const runtime = createContainerRuntime({ socketPath: podman.socketPath });
        const limits = await runtime.limitsFor(await loadPluginPackage(folder));
        expect(limits.networkMode).toBe('none');
        const { ports } = createFakePorts();
        const host = new PluginHost({ ports, runtime, engineVersion: '0.1.0' });
        await host.add(folder);
        await host.start('outbound');
        try {
          expect(
            await host.runStep({ type: 'outbound.fetch', input: { url: `http://127.0.0.1:${port}/` } }),
          ).toMatchObject({ status: 200, text: 'through kaiwa' });
          const before = connections;
          const external = Object.values(networkInterfaces())
            .flat()
            .find((address) => address && address.family === 'IPv4' && !address.internal)?.address;
          for (const address of ['127.0.0.1', ...(external ? [external] : [])]) {
            expect(await host.runStep({ type: 'outbound.connect', input: { host: address, port } })).toMatch(
              /^denied: /,
            );
          }
          expect(connections).toBe(before);
        } finally {
          await host.stopAll();
        }
      } finally {
        server.close();
        await rm(folder, { recursive: true, force: true });
      }
    }, 120_000);

    it('without a reachable engine the plugin does not start, and the error says why', async () => {
      const { ports } = createFakePorts();
      const events: PluginEvent[] = [];
      const host = new PluginHost({
        ports,
        runtime: createContainerRuntime({ socketPath: join(helloFolder, 'no-engine.sock') }),
        engineVersion: '0.1.0',
        onEvent: (event) => events.push(event),
      });
      await host.add(helloFolder);
      await expect(host.start('hello')).rejects.toMatchObject({
        code: 'container_engine_unavailable',
        message: expect.stringContaining('no-engine.sock'),
      });
      expect(host.list()).toEqual([{ id: 'hello', state: 'failed', version: '1.0.0' }]);
    });
  });

  // The same attacks as the process runtime's (isolation.test.ts), as a container answers them.
  describeHostilePlugin({
    name: 'container',
    runtime: () => createContainerRuntime({ socketPath: podman.socketPath }),
    manifestRuntime: 'container',
    isolatesNetwork: true,
    ownManifest: () => '/plugin/kaiwa-plugin.json',
    writeTargets: () => ['/plugin/owned.txt', '/owned.txt', '/usr/local/bin/node'],
    scratchFile: '/tmp/scratch.txt',
    // Set by podman itself; none of Kaiwa's.
    ownEnv: ['PATH', 'TERM', 'container', 'HOSTNAME', 'HOME'],
    denied: {
      read: /^denied: ENOENT/, // the server's files are not in the image
      write: /^denied: (EROFS|EACCES)/,
      spawn: /^denied: ENOENT/, // no shell in the image
      forkBomb: /^denied: EAGAIN: after \d+ children/, // the pids limit
    },
    boundsOffHeapMemory: true,
  });
});
